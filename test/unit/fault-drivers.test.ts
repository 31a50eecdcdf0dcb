// Host-fault drivers: the built-in `commands` driver runs the operator's argv on the worker machine,
// placeholders filled, never through a shell; drivers from modules register by type; a missing one
// is a clear, non-retryable refusal.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FaultDrivers, DriverModuleError } from '../../src/drills/drivers';
import { faultArgv } from '../../src/drills/drivers/commands';
import type { HostFaultCommands } from '../../src/inventory/model';
import { PermanentError } from '../../src/reconcile/context';

const dir = mkdtempSync(join(tmpdir(), 'api7ha-drivers-'));
const host = { name: 'ha4', address: '10.0.0.14' };
const commands = (c: Partial<HostFaultCommands>): HostFaultCommands => ({ powerOff: ['true'], powerOn: ['true'], timeoutS: 10, ...c });

void describe('the commands host-fault driver', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('fills {host} and {address} in every element', () => {
    assert.deepEqual(faultArgv(commands({ powerOff: ['ipmitool', '-H', 'bmc-{host}', 'chassis', 'power', 'off', '--ip={address}'] }), 'power-off', host), ['ipmitool', '-H', 'bmc-ha4', 'chassis', 'power', 'off', '--ip=10.0.0.14']);
    assert.equal(faultArgv(commands({}), 'disconnect', host), undefined);
  });

  void it('runs the command on this machine and journals it', async () => {
    const marker = join(dir, 'off-{host}-{address}');
    const driver = new FaultDrivers().create({ type: 'commands', commands: commands({ powerOff: ['touch', marker] }) });
    const line = await driver.run('power-off', host);
    assert.ok(existsSync(join(dir, 'off-ha4-10.0.0.14')), 'the command ran with the placeholders filled');
    assert.match(line, /^power-off ha4: touch .*off-ha4-10\.0\.0\.14$/);
  });

  void it('never goes through a shell: metacharacters reach the program as they are', async () => {
    const out = join(dir, 'argv');
    const script = join(dir, 'print-args.js');
    writeFileSync(script, `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(2)))`);
    const driver = new FaultDrivers().create({ type: 'commands', commands: commands({ powerOn: [process.execPath, script, '$(touch pwned) {host}', '; rm -rf /', '`id`'] }) });
    await driver.run('power-on', host);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), ['$(touch pwned) ha4', '; rm -rf /', '`id`']);
    assert.ok(!existsSync('pwned') && !existsSync(join(dir, 'pwned')));
  });

  void it('reports a failing command with its exit code and output, and one that hangs with its timeout', async () => {
    const drivers = new FaultDrivers();
    const failing = drivers.create({ type: 'commands', commands: commands({ powerOff: [process.execPath, '-e', 'console.error("BMC unreachable"); process.exit(3)'] }) });
    await assert.rejects(failing.run('power-off', host), /exit 3: BMC unreachable/);
    const hanging = drivers.create({ type: 'commands', commands: commands({ powerOff: ['sleep', '30'], timeoutS: 1 }) });
    await assert.rejects(hanging.run('power-off', host), /sleep 30: timed out after 1 s/);
    const noCut = drivers.create({ type: 'commands', commands: commands({}) });
    assert.equal(noCut.canDisconnect, false);
    await assert.rejects(noCut.run('disconnect', host), /has no disconnect command/);
  });
});

void describe('fault driver modules', () => {
  void it('a worker without the lab driver refuses a lab fault, naming the fix (not retried)', () => {
    assert.throws(
      () => new FaultDrivers().create({ type: 'lab', labDir: '/tmp/lab' }),
      (e: unknown) => e instanceof PermanentError && /no "lab" host-fault driver.*--fault-driver MODULE \(the lab's: dist\/lab\/fault-driver\.js\)/.test(e.message),
    );
  });

  void it('registers the lab driver from its module, and refuses a module that is not a driver', () => {
    const lab = FaultDrivers.load([join(__dirname, '..', '..', 'lab', 'fault-driver.js')]);
    assert.equal(lab.create({ type: 'lab', labDir: '/tmp/lab' }).canDisconnect, true);
    assert.throws(() => FaultDrivers.load([join(__dirname, '..', 'support', 'paths.js')]), (e: unknown) => e instanceof DriverModuleError && /exports no hostFaultDriver/.test(e.message));
    assert.throws(() => FaultDrivers.load([join(dir, 'missing.js')]), (e: unknown) => e instanceof DriverModuleError && /cannot load the fault driver module/.test(e.message));
  });
});
