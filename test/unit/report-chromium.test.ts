// The report in a real browser: headless Chromium loads the file offline, its DOM still has one
// timeline per scenario and the verdict, and a screenshot comes out with real content. Skipped with
// a message when Chromium is not installed (scripts/provision.sh installs Debian's `chromium`).
// Set API7HA_REPORT_KEEP=<dir> to keep the report and the screenshot for a human look.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { demoJournal } from '../fixtures/report/demo-journal';
import { renderReport } from '../../src/report/html';

const CHROMIUM = process.env.API7HA_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium, or scripts/provision.sh) to run the browser checks`;
const run = promisify(execFile);

/**
 * The flags matter here: this machine has no network, so everything that would phone home (QUIC,
 * component updates, sync, background fetches) is off, and each run gets a fresh profile.
 */
function chromiumArgs(profile: string, extra: string[], file: string): string[] {
  return [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    ...extra,
    `file://${file}`,
  ];
}

async function chromium(work: string, name: string, extra: string[], file: string): Promise<string> {
  const profile = join(work, `profile-${name}`);
  mkdirSync(profile);
  const { stdout } = await run(CHROMIUM, chromiumArgs(profile, extra, file), { timeout: 90_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Width and height from a PNG's IHDR chunk (bytes 16-23). */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.ok(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a PNG signature');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

void describe('the report in headless Chromium', { skip }, () => {
  const j = demoJournal();
  let work = '';
  let report = '';

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'api7ha-report-'));
    report = join(work, 'report.html');
    writeFileSync(report, renderReport(j));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  void it('loads offline and keeps one timeline per scenario and the verdict in the DOM', async () => {
    const dom = await chromium(work, 'dom', ['--dump-dom'], report);
    assert.match(dom, /<html[^>]*>/, 'Chromium dumped a document');
    const svgs = [...dom.matchAll(/<svg\b[^>]*>/g)].map((m) => m[0]).filter((t) => /\sclass="timeline"/.test(t));
    assert.deepEqual(
      svgs.map((t) => /data-scenario="([^"]*)"/.exec(t)?.[1]),
      j.scenarios.map((s) => s.id),
      'one timeline per scenario, in order',
    );
    for (const t of svgs) assert.match(t, /role="img"/);
    assert.match(dom, /<div class="verdict b-bad" role="status">FAILED<\/div>/);
    assert.match(dom, /<b class="score-value">92<\/b>/);
    // The parser did not lose anything on the way: every scenario section and summary row is there.
    for (const s of j.scenarios) {
      assert.match(dom, new RegExp(`<tr data-scenario="${s.id}"`));
      assert.match(dom, new RegExp(`<section class="scenario" id="scenario-\\d+-${s.id}"`));
    }
    assert.doesNotMatch(dom, /<script/i);
  });

  void it('renders a screenshot with real content', async () => {
    const png = join(work, 'report.png');
    await chromium(work, 'shot', [`--screenshot=${png}`, '--window-size=1280,2400', '--hide-scrollbars'], report);
    assert.ok(existsSync(png), 'the screenshot was written');
    const size = statSync(png).size;
    assert.ok(size > 10_000, `the screenshot has content (${size} bytes)`);
    assert.deepEqual(pngSize(readFileSync(png)), { width: 1280, height: 2400 });
    const keep = process.env.API7HA_REPORT_KEEP;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      copyFileSync(png, join(keep, 'report.png'));
      copyFileSync(report, join(keep, 'report.html'));
    }
  });
});
