// The deploy in a harder setting than the runbook's: Apache APISIX 3 (the second product profile),
// a non-root SSH user that needs sudo, and etcd with auth and mTLS (certificates made here with
// openssl); plus host-key pinning failures. Real lab, real Temporal, a worker in its own process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabInfo } from '../../lab/lab';
import * as staging from '../../src/commands/staging';
import { loadInventory } from '../../src/inventory/load';
import { http, looksLikeUpstream } from '../../src/reconcile/http';
import { HostExecutor } from '../../src/remote/executor';
import { SshPool } from '../../src/remote/ssh';
import type { DeployResult } from '../../src/runbook/types';
import type { DrillJournal } from '../../src/drills/journal';
import { cli, startWorker, temporalEnv, type WorkerProcess } from '../support/cli';
import { directRunner } from '../support/day2-runner';
import { backup, type BackupStepId } from '../../src/runbook/backup';
import { hostOf, labSkip, ssh, sshOk, testLab } from '../support/lab';

const lab = testLab('variants');
const env = temporalEnv(`api7-ha-lab-variants-${process.pid}`);

/** A CA, one member certificate for every etcd address (server and client use) and a client certificate. */
function makeCertificates(dir: string, ips: string[]): void {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=api7-ha-test-ca', '-keyout', 'ca-key.pem', '-out', 'ca.pem']);
  const issue = (name: string, cn: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', cn ? `/CN=${cn}` : '/O=api7-ha', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  };
  issue('server', 'etcd', `subjectAltName=${[...ips, '127.0.0.1'].map((ip) => `IP:${ip}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  // No CommonName: with auth on, etcd's gRPC gateway (which the dashboards and gateways use) refuses
  // a client certificate that has one.
  issue('client', '', 'extendedKeyUsage=clientAuth\n');
}

void describe('deploy variants on the lab: APISIX 3, a sudo user, etcd auth + mTLS, host keys', { skip: labSkip }, () => {
  let info: LabInfo;
  let worker: WorkerProcess;
  let inventory: string;
  let etcdPassword: string;

  before(async () => {
    info = await lab.up();
    // A deploy user as on most servers: key login, no password, sudo without a password.
    await Promise.all(
      info.hosts.map(async (h) => {
        const r = await lab.hostExec(h.name, [
          'sh',
          '-c',
          "id deploy >/dev/null 2>&1 || useradd -m -s /bin/bash deploy; usermod -p '*' deploy; echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy; chmod 440 /etc/sudoers.d/deploy",
        ]);
        assert.equal(r.code, 0, r.stderr);
      }),
    );
    const tls = join(info.dir, 'tls');
    mkdirSync(tls, { recursive: true });
    makeCertificates(tls, ['ha1', 'ha2', 'ha3'].map((n) => hostOf(info, n).address));
    etcdPassword = `e"tcd:${Date.now()}#pw`;
    writeFileSync(join(info.dir, 'secrets', 'etcd-password'), `${etcdPassword}\n`, { mode: 0o600 });
    const base = readFileSync(info.inventoryPath, 'utf8');
    const variant = base
      .replace('product: api7-ee-2.13', 'product: apisix-3')
      .replace('  user: root', '  user: deploy\n  sudo: true')
      .replace('api7-2.13.2304-cp.tar.gz', 'apisix-dashboard-3.0.1-cp.tar.gz')
      .replace('api7-2.13.2304-dp.tar.gz', 'apisix-3.9.1-dp.tar.gz')
      .concat(
        [
          'etcd:',
          '  auth: { enabled: true, user: root, password: { file: secrets/etcd-password } }',
          '  tls: { enabled: true, ca_file: tls/ca.pem, server_cert_file: tls/server.pem, server_key_file: tls/server-key.pem, client_cert_file: tls/client.pem, client_key_file: tls/client-key.pem }',
          '',
        ].join('\n'),
      );
    assert.match(variant, /user: deploy/);
    assert.match(variant, /apisix-3\.9\.1-dp\.tar\.gz/);
    inventory = join(info.dir, 'inventory-variant.yaml');
    writeFileSync(inventory, variant);
    worker = await startWorker(env);
  });
  after(async () => {
    await worker?.kill('SIGTERM');
    await lab.down();
    // What this test added to the lab folder (certificates, inventories) goes too.
    rmSync(info.dir, { recursive: true, force: true });
  });

  void it('stages as the sudo user in private folders: files another user put in /tmp are never followed, and an upload resumes', async () => {
    const onHost = async (script: string) => {
      const r = await lab.hostExec('ha4', ['sh', '-c', script]);
      assert.equal(r.code, 0, `${script}: ${r.stderr}`);
      return r.stdout.trim();
    };
    const dest = '/opt/api7-ha-staging-test';
    const [remoteA, remoteB] = [`${dest}/a.tar.gz`, `${dest}/b.tar.gz`];
    // Another local user lays traps where api7-ha staged before: the old fixed upload names (a
    // symlink to a file the deploy user can write, and a world-writable file of its own), and
    // folders named like the new ones (its own, world-writable, and a symlink to one of deploy's).
    const oldPart = (remote: string) => `/tmp/.api7-ha-upload-${remote.replace(/[^A-Za-z0-9._-]/g, '_')}.part`;
    const prefixA = staging.uploadStagingPrefix(remoteA);
    await onHost(
      [
        'id mallory >/dev/null 2>&1 || useradd -m -s /bin/sh mallory',
        `mkdir -p ${dest}`,
        "su deploy -c 'echo precious > /home/deploy/victim; mkdir -m 700 /home/deploy/trap'",
        `su mallory -s /bin/sh -c 'ln -s /home/deploy/victim ${oldPart(remoteA)}; echo mallory > ${oldPart(remoteB)}; chmod 666 ${oldPart(remoteB)}; mkdir -m 700 /tmp/${prefixA}.AAAAAAAAAA; mkdir -m 777 /tmp/${prefixA}.BBBBBBBBBB; ln -s /home/deploy/trap /tmp/${prefixA}.CCCCCCCCCC'`,
      ].join(' && '),
    );
    const local = join(info.dir, 'staging-test.bin');
    const content = Buffer.alloc(3 << 20, 'api7-ha staging ');
    writeFileSync(local, content);
    const sha = createHash('sha256').update(content).digest('hex');

    const { spec } = loadInventory(inventory);
    const target = spec.hosts.find((h) => h.name === 'ha4')!.ssh;
    assert.deepEqual([target.user, target.sudo], ['deploy', true]);
    const pool = new SshPool();
    try {
      const x = new HostExecutor(target, pool, 'apply', spec.secrets);
      assert.deepEqual(await x.upload(local, remoteA, sha), { uploaded: true, bytes: content.length, resumedFrom: 0 });
      assert.deepEqual(await x.upload(local, remoteB, sha), { uploaded: true, bytes: content.length, resumedFrom: 0 });
      await x.ensureFile({ path: `${dest}/conf.yaml`, content: 'key: value\n', mode: 0o600, secrets: 'none', backup: true, describe: 'a test config' }, 'test');

      // A previous attempt died half way: its private folder and .part are there; the retry resumes.
      const remoteC = `${dest}/c.tar.gz`;
      const dir = (await x.output(staging.makePrivateDir(staging.uploadStagingPrefix(remoteC))))!;
      const sftp = await (await pool.get(target)).sftp();
      const half = content.length >> 1;
      await new Promise<void>((resolve, reject) => sftp.writeFile(`${dir}/c.tar.gz.part`, content.subarray(0, half), (e) => (e ? reject(e) : resolve())));
      assert.deepEqual(await x.upload(local, remoteC, sha), { uploaded: true, bytes: content.length - half, resumedFrom: half });
    } finally {
      await pool.closeAll();
    }

    // Every file arrived whole and is root's; nothing of the traps was followed, written or moved.
    for (const f of ['a.tar.gz', 'b.tar.gz', 'c.tar.gz']) {
      assert.equal(await onHost(`sha256sum ${dest}/${f} | cut -d' ' -f1`), sha, f);
      assert.equal(await onHost(`stat -c '%F %U' ${dest}/${f}`), 'regular file root', f);
    }
    assert.equal(await onHost(`stat -c '%U %a' ${dest}/conf.yaml; cat ${dest}/conf.yaml`), 'root 600\nkey: value');
    assert.equal(await onHost('cat /home/deploy/victim'), 'precious');
    assert.equal(await onHost(`readlink ${oldPart(remoteA)}; cat ${oldPart(remoteB)}; stat -c %U ${oldPart(remoteB)}`), '/home/deploy/victim\nmallory\nmallory');
    assert.equal(await onHost(`ls -A /tmp/${prefixA}.AAAAAAAAAA /tmp/${prefixA}.BBBBBBBBBB /home/deploy/trap | grep -v ':$' | grep -v '^$' || true`), '', 'the decoy folders are empty');
    // And the deploy user's own staging folders are gone.
    assert.equal(await onHost("find /tmp -maxdepth 1 -user deploy -name 'api7-ha-*'"), '');
    await onHost(`rm -rf ${dest} /tmp/.api7-ha-upload-* /tmp/${prefixA}.*`);
  });

  void it('refuses a host whose key changed, naming it, and touches nothing', async () => {
    const tampered = join(info.dir, 'ssh', 'known_hosts.tampered');
    const lines = readFileSync(info.knownHosts, 'utf8').split('\n');
    const other = lines.find((l) => l.startsWith(`${hostOf(info, 'ha2').address} `))!.split(' ').slice(1).join(' ');
    writeFileSync(tampered, lines.map((l) => (l.startsWith(`${hostOf(info, 'ha1').address} `) ? `${hostOf(info, 'ha1').address} ${other}` : l)).join('\n'));
    const inv = join(info.dir, 'inventory-tampered.yaml');
    writeFileSync(inv, readFileSync(info.inventoryPath, 'utf8').replace('known_hosts: ssh/known_hosts', 'known_hosts: ssh/known_hosts.tampered'));
    const r = await cli(['deploy', '-i', inv, '--plan'], env);
    assert.match(r.stdout + r.stderr, /ha1 \([\d.]+:22\): HOST KEY CHANGED/);
    assert.match(r.stdout, /ha1: no changes \(unreachable: not probed\)|Unreachable \(not probed\): ha1/);
    // A plan that found a blocker says so last, and fails.
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout.trim().split('\n').at(-1)!, /^BLOCKED: the deploy would stop: preflight found problems that block the deploy/);
  });

  void it('with accept-new, a plan reports the host keys it would record and writes no known_hosts', async () => {
    const fresh = join(info.dir, 'ssh', 'known_hosts.new');
    writeFileSync(fresh, '');
    chmodSync(fresh, 0o600);
    const missing = join(info.dir, 'ssh', 'known_hosts.missing');
    rmSync(missing, { force: true });
    for (const file of [fresh, missing]) {
      const inv = join(info.dir, 'inventory-accept-new.yaml');
      writeFileSync(inv, readFileSync(info.inventoryPath, 'utf8').replace('known_hosts: ssh/known_hosts', `known_hosts: ssh/${basename(file)}`).replace('host_key_policy: strict', 'host_key_policy: accept-new'));
      const r = await cli(['deploy', '-i', inv, '--plan', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const reported = (JSON.parse(r.stdout) as { newHostKeys: { host: string; line: string; fingerprint: string }[] }).newHostKeys;
      assert.deepEqual(reported.map((k) => k.host).sort(), info.hosts.map((h) => h.name).sort(), 'one new key per host');
      const pinned = new Set(readFileSync(info.knownHosts, 'utf8').trim().split('\n'));
      for (const k of reported) {
        assert.ok(pinned.has(k.line), `the reported key is the host's real key: ${k.line}`);
        assert.match(k.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      }
      if (file === fresh) assert.equal(readFileSync(fresh, 'utf8'), '', 'the plan wrote nothing to known_hosts');
      else assert.equal(existsSync(missing), false, 'the plan created no known_hosts file');
    }
    const text = await cli(['deploy', '-i', join(info.dir, 'inventory-accept-new.yaml'), '--plan'], env);
    assert.match(text.stdout, /Host keys not yet in known_hosts \(host_key_policy: accept-new records them on the first deploy; verify them\):\n {2}ha1: \S+ ssh-ed25519 \S+ {2}\(SHA256:/);
  });

  void it('deploys APISIX 3 as a sudo user, with etcd auth and mTLS, and serves through the load balancer', async () => {
    const r = await cli(['deploy', '-i', inventory, '--wait', '--json', '--failover', 'never'], env);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const result = JSON.parse(r.stdout) as DeployResult;
    assert.equal(result.product, 'apisix-3');
    assert.equal(result.etcd.quorum.healthy, true);
    const lb = hostOf(info, 'lb').address;
    const res = await http(`http://${lb}/get`, { headers: { Host: 'test.com' } });
    assert.equal(res.status, 200);
    assert.ok(looksLikeUpstream(res.body));
    // APISIX's own port, status API and config file.
    const ha4 = hostOf(info, 'ha4');
    assert.equal((await http(`http://${ha4.address}:7085/status/ready`)).status, 200);
    const conf = await sshOk(info, ha4, 'sudo cat /opt/api7/apisix-3.9.1-dp/apisix_conf/config.yaml');
    assert.match(conf, /deployment:\n {2}role: traditional/);
    assert.match(conf, /https:\/\/[\d.]+:2379/);
    assert.ok(conf.includes(JSON.stringify(etcdPassword)), 'the password is rendered as a quoted YAML string');
    assert.equal((await sshOk(info, ha4, 'sudo stat -c %a /opt/api7/apisix-3.9.1-dp/apisix_conf/config.yaml')).trim(), '600');
    // etcd refuses clients without a certificate, and without credentials.
    const ha1 = hostOf(info, 'ha1');
    const noCert = await ssh(info, ha1, `docker exec etcd etcdctl --endpoints https://${ha1.address}:2379 --cacert /etcd_certs/ca.pem get /apisix --prefix --keys-only`);
    assert.notEqual(noCert.code, 0, 'a client without a certificate is refused');
    const certs = '--cacert /etcd_certs/ca.pem --cert /etcd_certs/client.pem --key /etcd_certs/client-key.pem';
    const noAuth = await ssh(info, ha1, `docker exec etcd etcdctl --endpoints https://${ha1.address}:2379 ${certs} get /apisix --prefix --keys-only`);
    assert.notEqual(noAuth.code, 0, `no credentials, no data: ${noAuth.stdout}`);
    const authed = await ssh(info, ha1, `docker exec -i etcd sh -c 'IFS= read -r ETCDCTL_USER && export ETCDCTL_USER && exec etcdctl --endpoints https://${ha1.address}:2379 ${certs} get /apisix/routes --prefix --keys-only'`, { input: `root:${etcdPassword}\n` });
    assert.equal(authed.code, 0, authed.stderr);
    assert.match(authed.stdout, /\/apisix\/routes\/api7-ha-probe/);
    // The etcd root password is on no command line: not in the member's docker inspect Cmd/Args.
    const inspect = await sshOk(info, ha1, "docker inspect --format '{{json .Config.Cmd}} {{json .Args}} {{json .Path}}' etcd");
    assert.ok(!inspect.includes(etcdPassword));
  });

  void it('drills the etcd member loss on it: faults as the sudo user, the victim probed over mTLS', async () => {
    const r = await cli(['drill', '-i', inventory, '--scenarios', 'etcd-member-loss', '--wait', '--json'], env);
    const journal = JSON.parse(r.stdout) as DrillJournal;
    assert.equal(r.code, 0, `${journal.summary}\n${r.stderr.slice(-2000)}`);
    const s = journal.scenarios[0]!;
    assert.equal(s.status, 'passed');
    // The victim's own /health (https, client certificate) went down with the fault and came back.
    const victim = s.probes.find((p) => p.name === 'victim')!;
    assert.match(victim.target, /^GET https:/);
    assert.ok(victim.samples.some(([, status]) => status === 0), 'the victim was seen down');
    assert.equal(victim.samples[victim.samples.length - 1]![1], 200, 'and healthy again');
  });

  void it('is converged on a second run as the sudo user', async () => {
    const r = await cli(['deploy', '-i', inventory, '--wait', '--json', '--failover', 'never'], env);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const result = JSON.parse(r.stdout) as DeployResult;
    assert.equal(result.changed, false);
  });

  void it('backs up with etcd auth and mTLS as the sudo user and verifies it; status reports the certificates\' expiry', async () => {
    const spec = loadInventory(inventory).spec;
    const pool = new SshPool();
    try {
      const res = await backup(directRunner<BackupStepId>(pool, 'backup-lab-variants', '20250101T000000Z'), { spec, reason: 'manual' });
      assert.equal(res.verdict, 'verified', JSON.stringify(res.verification));
      assert.ok((res.verification?.snapshot?.keys ?? 0) >= 1, 'the probe route is in the snapshot');
      assert.equal(res.verification?.prefix, '/apisix');
      // The host's copy went to the sudo user only for the copy, and is gone.
      const left = await ssh(info, hostOf(info, res.source.host), 'sudo ls -A /usr/local/etcd/api7-ha-snapshots');
      assert.equal(left.stdout.trim(), '');
    } finally {
      await pool.closeAll();
    }
    const st = await cli(['status', '-i', inventory], env);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^etcd of lab: HEALTHY/);
    assert.match(st.stdout, /verification: VERIFIED/);
    // The lab's certificates are valid for 2 days: inside the 30-day warning window.
    assert.match(st.stdout, /\n(api7-etcd-\d) .* \d{4}-\d\d-\d\d \([01] d\)\n/);
    assert.match(st.stdout, /warning: ha1: server\.pem \(CN=etcd\) expires in [01] days/);
    assert.ok(!st.stdout.includes(etcdPassword), 'no secret in the status');
  });
});
