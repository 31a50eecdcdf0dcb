// What a person sees in the Temporal Web UI with the payload codec on: the dev server's UI pointed at
// `api7-ha codec-server` (--ui-codec-endpoint) shows the deploy's input decoded; the same history
// without the codec endpoint shows ciphertext. Headless Chromium (Debian's) driven by playwright-core.
// Set API7HA_UI_KEEP=<dir> to keep the two screenshots for a human look.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { run } from '../support/lab';
import { deployInput, labSpec } from '../support/fixtures';
import { repoRoot, temporalBin } from '../support/paths';
import { createClient, temporalSettings } from '../../src/client';
import { deployCluster } from '../../src/workflows';

const CHROMIUM = process.env['API7HA_CHROMIUM'] ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (scripts/provision.sh installs Debian's chromium)`;

/** What the UI shows for a payload it cannot decode: its data, base64 (one long unbroken run). */
// Split on what base64 cannot hold, then measure the runs: linear, unlike an unanchored {200,} regex.
const hasCiphertext = (text: string) => text.split(/[^A-Za-z0-9+/]/).some((run) => run.length >= 200);

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

void describe('Temporal Web UI with the codec server', { skip }, () => {
  const dir = mkdtempSync(join(repoRoot(), '.data', 'test-ui-codec-'));
  const keys = join(dir, 'codec-keys');
  let browser: Browser;
  let devServer: ChildProcess | undefined;
  let codecServer: ChildProcessWithoutNullStreams | undefined;
  let grpcPort: number;
  let uiPort: number;
  let codecPort: number;
  let workflowId: string;
  let runId: string;
  const address = '10.9.0.11'; // ha1 in the lab-shaped inventory

  /** The dev server's UI on the same database, with or without the codec endpoint. */
  async function startDevServer(codecEndpoint?: string): Promise<void> {
    devServer = spawn(temporalBin(), ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(grpcPort), '--ui-port', String(uiPort), '--db-filename', join(dir, 'temporal.db'), '--log-level', 'error', '--ui-disable-news-fetch', ...(codecEndpoint ? ['--ui-codec-endpoint', codecEndpoint] : [])], { stdio: 'ignore' });
    await waitFor('the dev server', async () => (await run(temporalBin(), ['operator', 'cluster', 'health', '--address', `127.0.0.1:${grpcPort}`], { timeoutMs: 5000 })).stdout.includes('SERVING'));
    await waitFor('the Web UI', async () => (await fetch(`http://127.0.0.1:${uiPort}/`).then((r) => r.ok).catch(() => false)));
  }

  async function stopDevServer(): Promise<void> {
    const d = devServer;
    devServer = undefined;
    if (!d || d.exitCode !== null) return;
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await exited;
  }

  /** The history page's text once the input is shown (decoded or not), and a screenshot of it. */
  async function inputPage(name: string): Promise<string> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/${workflowId}/${runId}/history`, { waitUntil: 'domcontentloaded' });
      // The input card shows once the history has loaded; the codec call (when configured) follows.
      const body = page.locator('body');
      const shown = async () => hasCiphertext(await body.innerText()) || (await body.innerText()).includes(address);
      await waitFor('the input on the page', shown, 30_000).catch(() => undefined);
      const shot = join(dir, `${name}.png`);
      await page.screenshot({ path: shot, fullPage: false });
      if (process.env['API7HA_UI_KEEP']) {
        mkdirSync(process.env['API7HA_UI_KEEP'], { recursive: true });
        copyFileSync(shot, join(process.env['API7HA_UI_KEEP'], `${name}.png`));
      }
      return await body.innerText();
    } finally {
      await page.close();
    }
  }

  before(async () => {
    writeFileSync(keys, `ui:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    [grpcPort, uiPort, codecPort] = await Promise.all([freePort(), freePort(), freePort()]);
    codecServer = spawn(process.execPath, [join(repoRoot(), 'bin', 'api7-ha.js'), 'codec-server', '--codec-key', `file:${keys}`, '--listen', `127.0.0.1:${codecPort}`, '--cors-origin', `http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`]);
    let out = '';
    codecServer.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the codec server', async () => out.includes('api7-ha codec server on'));
    await startDevServer(`http://127.0.0.1:${codecPort}`);
    // A deploy started with the codec on: its input (the inventory) is encrypted in the history.
    const client = await createClient(temporalSettings({ address: `127.0.0.1:${grpcPort}`, codecKey: `file:${keys}` }, {}));
    workflowId = `deploy-ui-codec-${process.pid}`;
    const handle = await client.workflow.start(deployCluster, { taskQueue: `no-worker-${process.pid}`, workflowId, args: [deployInput(labSpec())] });
    runId = handle.firstExecutionRunId;
    await client.connection.close();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await stopDevServer();
    codecServer?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  void it('shows the decoded deploy input when the UI has the codec endpoint', async () => {
    const text = await inputPage('ui-with-codec');
    assert.ok(text.includes(address), `the decoded inventory (${address}) is on the page:\n${text.slice(0, 3000)}`);
  });

  void it('shows only ciphertext without it, and the exported history holds none of the inventory', async () => {
    await stopDevServer();
    await startDevServer();
    const text = await inputPage('ui-without-codec');
    assert.ok(!text.includes(address), 'no host address on the page');
    assert.ok(hasCiphertext(text), `the input is shown as ciphertext:\n${text.slice(0, 3000)}`);
    const shown = await run(temporalBin(), ['workflow', 'show', '-w', workflowId, '--address', `127.0.0.1:${grpcPort}`, '--output', 'json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(!shown.stdout.includes(address));
    assert.match(shown.stdout, /"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="/, 'binary/encrypted, in base64 as the export writes metadata');
  });
});
