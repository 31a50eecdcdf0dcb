// The inventory's patterns cannot hang: each is proven linear by recheck's automaton checker (a
// precise analysis, not a timing), and each field refuses long adversarial values promptly, run in a
// worker thread that a hang cannot take down with the test. Once, `etcd.data_dir: "/" + 30 letters +
// "!"` took 21 s in `validate`, `deploy` and the worker.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { checkSync } from 'recheck';
import { excerpt, hasControlCharacters, matches, patterns, printable, type Pattern } from '../../src/inventory/patterns';

/**
 * The pattern with every bounded repeat widened ({m,n}, {n} and {m,} become * or +). A bound only
 * removes paths through the automaton, so its ambiguity (what makes backtracking super-linear) is at
 * most the widened one's; and the widened automaton stays small enough to analyse exactly.
 */
function widened(re: RegExp): string {
  return re.source.replace(/(?<!\\)\{(\d+)(?:,\d*)?\}/g, (_, min: string) => (Number(min) === 0 ? '*' : '+'));
}

void describe('every inventory pattern is linear-time (recheck, automaton checker)', () => {
  for (const [name, p] of Object.entries(patterns) as [string, Pattern][]) {
    void it(`${name}: ${p.re.source.slice(0, 60)}${p.re.source.length > 60 ? '…' : ''}`, () => {
      const r = checkSync(widened(p.re), p.re.flags, { checker: 'automaton', timeout: 60_000 });
      assert.equal(r.checker, 'automaton', `analysed exactly, not fuzzed (${JSON.stringify(r)})`);
      assert.equal(r.status, 'safe', `${name} is ${r.status}${r.status === 'vulnerable' ? `: ${r.complexity.summary}, attack ${r.attack.pattern}` : r.status === 'unknown' ? `: ${JSON.stringify(r.error)}` : ''}`);
    });
  }

  void it('recheck does find the old remotePath pattern exponential (the check can fail)', () => {
    // As a string: the lint refuses it as a literal, rightly.
    const r = checkSync(String.raw`^\/(?:[A-Za-z0-9._-]+\/?)*$`, '', { checker: 'automaton' });
    assert.equal(r.status, 'vulnerable');
    assert.equal(r.status === 'vulnerable' && r.complexity.type, 'exponential');
  });
});

void describe('patterns accept what they describe and refuse the rest', () => {
  const cases: [keyof typeof patterns, string[], string[]][] = [
    ['remotePath', ['/opt/api7', '/usr/local/etcd/etcd_data', '/a/', '/data/etcd-1_x.y'], ['opt', '//x', '/a b', `/${'a'.repeat(30)}!`, `/${'a'.repeat(2000)}`]],
    ['address', ['10.0.0.11', 'ha1', 'ha1.example.com', 'a-b.c-d.example'], ['10.88.0.256', '1.2.3', '-ha1', 'ha1.', 'a..b', `${'a'.repeat(64)}.com`, `${'a.'.repeat(127)}com`]],
    ['fileName', ['api7-2.13.2304-cp.tar.gz', 'etcd_3.4.13+build.tar'], ['.hidden.tar.gz', '-rf.tar', 'a b.tar.gz', 'a;b.tar', 'ａpi7.tar.gz']],
    ['argument', ['off', '--host={host}', '{address}', 'chassis', 'a=b,c:d/e@f%g+h'], ['{hostname}', 'a b', "it's", '$(id)', '{host', 'x\ny']],
    ['program', ['ipmitool', '/usr/bin/virsh', './power.sh'], ['a b', '$(id)', '{host}']],
  ];
  for (const [name, good, bad] of cases) {
    void it(name, () => {
      for (const v of good) assert.ok(matches(name, v), `${name} accepts ${JSON.stringify(v)}`);
      for (const v of bad) assert.ok(!matches(name, v), `${name} refuses ${JSON.stringify(v)}`);
    });
  }

  void it('values are printed with control characters escaped and long ones cut short', () => {
    assert.equal(printable('a\nb\u001b[31m\u0000\u202e'), 'a\\nb\\u001b[31m\\0\\u202e');
    assert.ok(hasControlCharacters('x\u0085') && !hasControlCharacters('plain ü'));
    assert.equal(excerpt('x'.repeat(100_000), 5), '"xxxxx… (100000 characters)"');
  });
});

/** Every inventory string field, with a value just past the pattern's reach: long runs of the characters
 *  its pattern loops on, then one it refuses. */
const FIELDS: [field: string, adversarial: string][] = [
  ['cluster.name', `a${'-'.repeat(100_000)}!`],
  ['cluster.cluster_id', `${'1'.repeat(100_000)}!`],
  ['hosts[0].name', `h${'1'.repeat(100_000)}!`],
  ['hosts[0].address', `${'a.'.repeat(50_000)}!`],
  ['hosts[1].address', `${'a-'.repeat(50_000)}!`],
  ['hosts[0].etcd_name', `${'_'.repeat(100_000)}!`],
  ['ssh.user', `${'_'.repeat(100_000)}!`],
  ['etcd.data_dir', `/${'a'.repeat(100_000)}!`],
  ['control_plane.install_dir', `/${'a/'.repeat(50_000)}!`],
  ['data_plane.install_dir', `${'/a'.repeat(50_000)}//!`],
  ['load_balancer.install_dir', `/${'-'.repeat(100_000)}\n`],
  ['etcd.container_name', `a${'.'.repeat(100_000)}!`],
  ['etcd.cluster_token', `${'-'.repeat(100_000)}!`],
  ['packages.etcd_image.name', `a${'/a'.repeat(50_000)}!`],
  ['packages.haproxy_image.name', `a:1${'.'.repeat(100_000)}!`],
  ['verification.host', `a${'.'.repeat(100_000)}!`],
  ['verification.path', `/${'%'.repeat(100_000)}!`],
  ['verification.upstream', `${'1.'.repeat(50_000)}:80!`],
  ['verification.route_id', `${'a'.repeat(100_000)}!`],
  ['control_plane.auth_secret.env', `${'A'.repeat(100_000)}!`],
  ['packages.control_plane', `${'a'.repeat(100_000)}!.tar.gz`],
  ['lab.upstream_host', `a${'-'.repeat(100_000)}!`],
  ['drills.host_faults.commands.power_off[1]', `${'{host}'.repeat(20_000)}{hos`],
];

void describe('every inventory string field refuses a long adversarial value (in a worker: a hang fails, it cannot stall the run)', () => {
  void it(`${FIELDS.length} fields, 100k characters each`, async () => {
    const load = path.join(__dirname, '..', '..', 'src', 'inventory', 'load.js');
    const fixture = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'inventory', 'lab.yaml');
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      const { parse, stringify } = require('yaml');
      const { parseInventory, InventoryError } = require(workerData.load);
      const base = parse(readFileSync(workerData.fixture, 'utf8'));
      function set(doc, dotted, value) {
        const keys = dotted.split('.').flatMap((s) => { const m = /^([^[]+)((?:\\[\\d+\\])*)$/.exec(s); return [m[1], ...[...m[2].matchAll(/\\[(\\d+)\\]/g)].map((x) => Number(x[1]))]; });
        let cur = doc;
        keys.slice(0, -1).forEach((k, i) => { if (cur[k] == null) cur[k] = typeof keys[i + 1] === 'number' ? [] : {}; cur = cur[k]; });
        cur[keys[keys.length - 1]] = value;
      }
      for (const [field, value] of workerData.fields) {
        const d = structuredClone(base);
        if (field.startsWith('drills.host_faults')) set(d, 'drills.host_faults', { commands: { power_off: ['ipmitool', 'off'], power_on: ['ipmitool', 'on'] } });
        if (field.startsWith('control_plane.auth_secret')) set(d, 'control_plane.auth_secret', {});
        set(d, field, value);
        try {
          parseInventory(stringify(d), workerData.fixture);
          parentPort.postMessage({ field, accepted: true });
        } catch (e) {
          parentPort.postMessage({ field, paths: e instanceof InventoryError ? e.issues.map((i) => i.path) : String(e) });
        }
      }
      parentPort.postMessage({ done: true });
      `,
      { eval: true, workerData: { load, fixture, fields: FIELDS } },
    );
    const results = new Map<string, unknown>();
    try {
      await new Promise<void>((resolve, reject) => {
        // Generous: the whole list takes well under a second; the old remotePath took 21 s for 31 characters.
        const guard = setTimeout(() => reject(new Error(`a field's check hung; still waiting after: ${[...results.keys()].pop() ?? 'the first field'}`)), 120_000);
        worker.on('message', (m: { done?: true; field?: string }) => {
          if (m.done) {
            clearTimeout(guard);
            resolve();
          } else results.set(m.field!, m);
        });
        worker.on('error', reject);
      });
    } finally {
      await worker.terminate();
    }
    for (const [field] of FIELDS) {
      const r = results.get(field) as { accepted?: true; paths?: string[] | string };
      assert.ok(!r.accepted, `${field}: the adversarial value was accepted`);
      assert.ok(Array.isArray(r.paths) && r.paths.includes(field), `${field}: refused at ${JSON.stringify(r.paths)}`);
    }
  });
});
