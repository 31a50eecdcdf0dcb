// Upgrades without hosts: the HAProxy runtime API and snapshot commands as data, `show stat` parsing, and
// the order the runbook and `--plan` share (canary first, batches that never drain every gateway,
// dashboards one at a time, rollbacks refused with the reason when the previous release is gone).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStat, setServerState, showStat } from '../../src/commands/haproxy-runtime';
import { snapshotSave, copyOut } from '../../src/commands/etcd-snapshot';
import { renderConfig } from '../../src/commands/haproxy';
import { factsOf, productProfile } from '../../src/products';
import type { HostRelease } from '../../src/reconcile/release';
import { DEFAULT_UPGRADE_OPTIONS, snapshotInput, summarizeProbe, upgradeOrder, type UpgradeInput } from '../../src/runbook/upgrade';
import { loadBalancerInput, imageDelivery } from '../../src/steps/inputs';
import { fakeArtifacts, labSpec } from '../support/fixtures';

void test('runtime API commands: exact argv, names validated, nothing interpolated into the script', () => {
  const c = setServerState(9999, 'gateways', 'ha4', 'drain');
  assert.deepEqual(c.argv, ['bash', '-c', 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "%s\\n" "$2" >&3 && cat <&3', 'haproxy-runtime', '9999', 'set server gateways/ha4 state drain']);
  assert.equal(c.mutates, true);
  assert.equal(showStat(9999).mutates, false);
  assert.throws(() => setServerState(9999, 'gateways', 'ha4; shutdown', 'drain'), /not a valid HAProxy name/);
  assert.throws(() => setServerState(0, 'gateways', 'ha4', 'ready'), /out of range/);
});

void test('show stat: one row per backend server with sessions and state', () => {
  const csv = [
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight',
    'gateways,FRONTEND,,,0,3,,120,0,0,0,0,0,,,,,OPEN,',
    'gateways,ha4,0,0,2,5,,60,0,0,,0,,0,0,0,0,DRAIN,1',
    'gateways,ha5,0,0,0,5,,60,0,0,,0,,0,0,0,0,UP,1',
    'gateways,BACKEND,0,0,2,5,,120,0,0,0,0,,0,0,0,0,UP,2',
  ].join('\n');
  assert.deepEqual(parseStat(csv), [
    { backend: 'gateways', server: 'ha4', scur: 2, stot: 60, status: 'DRAIN' },
    { backend: 'gateways', server: 'ha5', scur: 0, stot: 60, status: 'UP' },
  ]);
});

void test('the managed HAProxy opens its runtime API on the loopback only, at admin level', () => {
  const spec = labSpec();
  const product = factsOf(productProfile(spec.product));
  const cfg = renderConfig(loadBalancerInput(spec, spec.hosts.find((h) => h.name === 'lb')!, imageDelivery(spec, { name: 'x' }), product, 's').haproxy);
  assert.match(cfg, /^ {2}stats socket ipv4@127\.0\.0\.1:9999 level admin$/m);
});

void test('snapshot: etcdctl against one member, copied out of the container beside the data dir', () => {
  const spec = labSpec();
  const s = snapshotInput(spec, '20261202T020000Z', 'upgrade');
  assert.equal(s.name, 'pre-upgrade-20261202T020000Z.db');
  assert.equal(s.dir, '/usr/local/etcd/api7-ha-snapshots');
  const cmd = snapshotSave({ ...s.etcdctl, endpoints: [s.members[0]!.endpoint] }, s.name);
  assert.deepEqual(cmd.argv.slice(0, 6), ['docker', 'exec', 'etcd', 'etcdctl', '--endpoints', 'http://10.9.0.11:2379']);
  assert.deepEqual(cmd.argv.slice(-3), ['snapshot', 'save', '/tmp/pre-upgrade-20261202T020000Z.db']);
  assert.deepEqual(copyOut('etcd', s.name, s.dir).argv, ['docker', 'cp', 'etcd:/tmp/pre-upgrade-20261202T020000Z.db', '/usr/local/etcd/api7-ha-snapshots/pre-upgrade-20261202T020000Z.db']);
});

const rel = (dir: string, version: string, component: 'data_plane' | 'control_plane') => ({ dir: `/opt/${dir}`, image: `api7ee.azurecr.io/api7-${component === 'data_plane' ? 'gateway' : 'dashboard'}:${version}`, version });

function input(direction: 'upgrade' | 'rollback', gateways = 4, batchSize = 2): UpgradeInput {
  const spec = labSpec({ gateways, extra: `data_plane: { batch_size: ${batchSize} }` });
  return { spec, product: factsOf(productProfile(spec.product)), direction, options: DEFAULT_UPGRADE_OPTIONS };
}

void test('upgrade order: the canary alone first, then batches that leave a gateway in rotation, dashboards one at a time', () => {
  const inp = input('upgrade', 4, 5);
  const a = fakeArtifacts();
  const next = { ...a, dataPlane: { ...a.dataPlane, topDir: 'api7-2.13.2305-dp', images: [{ ...a.dataPlane.images[0]!, tags: ['api7ee.azurecr.io/api7-gateway:2.13.2305'] }] } };
  const cpDir = `${inp.spec.controlPlane.installDir}/api7-2.13.2304-cp`;
  const running: HostRelease[] = [
    ...['ha4', 'ha5', 'ha6', 'ha7'].map((host): HostRelease => ({ host, component: 'data_plane', running: rel('api7-ha/gateway/api7-2.13.2304-dp', '2.13.2304', 'data_plane') })),
    ...['ha1', 'ha2'].map((host): HostRelease => ({ host, component: 'control_plane', running: { dir: cpDir, image: 'api7ee.azurecr.io/api7-dashboard:2.13.2304', version: '2.13.2304' } })),
  ];
  const o = upgradeOrder(inp, next, running, 's');
  assert.deepEqual(o.canary.map((i) => [i.host, i.from?.version, i.toVersion]), [['ha4', '2.13.2304', '2.13.2305']]);
  // batch_size 5 with 4 gateways: at most 3 drained at once.
  assert.deepEqual(o.dataPlane.map((b) => b.map((i) => i.host)), [['ha5', 'ha6', 'ha7']]);
  assert.deepEqual(o.controlPlane.map((i) => i.host), [], 'dashboards already on the inventory\'s package are unchanged');
  assert.deepEqual(o.unchanged.map((u) => u.host), ['ha1', 'ha2']);
  assert.equal(o.canary[0]!.lb.backend, 'gateways');
  assert.equal(o.canary[0]!.lb.server, 'ha4');
});

void test('rollback: back to the recorded previous release; refused, naming host and reason, when it is gone', () => {
  const inp = input('rollback', 2);
  const cur = rel('x/api7-2.13.2305-dp', '2.13.2305', 'data_plane');
  const prev = rel('x/api7-2.13.2304-dp', '2.13.2304', 'data_plane');
  const ok: HostRelease[] = [
    { host: 'ha4', component: 'data_plane', running: cur, previous: prev },
    { host: 'ha5', component: 'data_plane', running: cur, previous: prev },
  ];
  const o = upgradeOrder(inp, fakeArtifacts(), ok, 's');
  assert.deepEqual(o.canary, [], 'a rollback has no canary');
  assert.deepEqual(o.dataPlane.map((b) => b.map((i) => [i.host, i.to.packageDir, i.toVersion])), [[['ha4', '/opt/x/api7-2.13.2304-dp', '2.13.2304']], [['ha5', '/opt/x/api7-2.13.2304-dp', '2.13.2304']]]);
  const gone = upgradeOrder(inp, fakeArtifacts(), [ok[0]!, { ...ok[1]!, previousMissing: 'the previous release\'s image api7ee.azurecr.io/api7-gateway:2.13.2304 is gone from the host' }], 's');
  assert.deepEqual(gone.refusals, ["ha5: cannot roll back to 2.13.2304: the previous release's image api7ee.azurecr.io/api7-gateway:2.13.2304 is gone from the host"]);
  assert.deepEqual(upgradeOrder(inp, fakeArtifacts(), [], 's').refusals, ['nothing to roll back: no host has a previous release recorded by an upgrade']);
});

void test('probe summary: requests, failures, longest outage, which version answered', () => {
  const s = summarizeProbe({
    name: 'dp',
    target: 't',
    startedAt: 0,
    ratePerS: 20,
    okStatus: [200],
    samples: [
      [0, 200, 1, '2.13.2304'],
      [50, 200, 1, '2.13.2305'],
      [100, 502, 1],
      [150, 502, 1],
      [200, 200, 1, '2.13.2305'],
    ],
  });
  assert.equal(s.requests, 5);
  assert.equal(s.failures, 2);
  assert.ok(s.longestOutageMs >= 100);
  assert.deepEqual(s.versions, [
    { version: '2.13.2304', fromMs: 0, toMs: 0, count: 1 },
    { version: '2.13.2305', fromMs: 50, toMs: 200, count: 2 },
    { version: 'unknown', fromMs: 100, toMs: 150, count: 2 },
  ]);
});
