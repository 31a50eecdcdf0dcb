// The staging commands a sudo user's writes and uploads go through (run on the lab in
// test/lab/deploy-variants.test.ts): exact argv, run as the connecting user where the folder must be theirs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as staging from '../../src/commands/staging';

void describe('private staging folders in /tmp', () => {
  void it('are made by mktemp -d as the connecting user, and found again only as real folders of that user, mode 0700', () => {
    const prefix = staging.uploadStagingPrefix('/opt/api7/packages/api7-2.13.2304-cp.tar.gz');
    assert.equal(prefix, 'api7-ha-upload-opt_api7_packages_api7-2.13.2304-cp.tar.gz');
    const make = staging.makePrivateDir(prefix);
    assert.deepEqual([make.argv, make.sudo, make.mutates], [['mktemp', '-d', `/tmp/${prefix}.XXXXXXXXXX`], false, true]);
    const find = staging.findPrivateDirs(prefix, 'deploy');
    assert.deepEqual(find.argv, ['find', '/tmp', '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '-user', 'deploy', '-perm', '700', '-name', `${prefix}.*`]);
    assert.deepEqual([find.sudo, find.mutates], [false, false]);
    assert.deepEqual(staging.removePrivateDir('/tmp/x.AAAAAAAAAA').argv, ['rmdir', '--', '/tmp/x.AAAAAAAAAA']);
    assert.deepEqual(staging.removeStagedFile('/tmp/x.AAAAAAAAAA/f').argv, ['rm', '-f', '--', '/tmp/x.AAAAAAAAAA/f']);
    assert.deepEqual(staging.ownByRoot('/tmp/x.AAAAAAAAAA/f'), { argv: ['chown', 'root:root', '/tmp/x.AAAAAAAAAA/f'], mutates: true, sudo: true, describe: 'make /tmp/x.AAAAAAAAAA/f root\'s' });
  });

  void it('accepts only a path mktemp can have printed for that prefix', () => {
    const p = 'api7-ha-write';
    assert.ok(staging.isPrivateDirOf(p, '/tmp/api7-ha-write.Ab3dE6gH9j'));
    for (const bad of ['/tmp/api7-ha-write.Ab3dE6gH9', '/tmp/api7-ha-write.Ab3dE6gH9j/..', '/var/tmp/api7-ha-write.Ab3dE6gH9j', '/tmp/api7-ha-write.Ab3d/6gH9j', '/tmp/api7-ha-upload-x.Ab3dE6gH9j', ''])
      assert.ok(!staging.isPrivateDirOf(p, bad), bad);
  });
});
