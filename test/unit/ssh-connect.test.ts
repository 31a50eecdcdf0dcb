// A host that drops the connection before the SSH handshake finishes: the worker gets one clear,
// retryable error naming the host, and never an uncaught exception (ssh2 can raise two errors for
// one lost connection: a protocol error, then the reset).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SshTarget } from '../../src/inventory/model';
import { ConnectError, SshPool } from '../../src/remote/ssh';

/** What the listener does with each connection it accepts. */
type Drop = (s: net.Socket) => void;

async function listen(drop: Drop): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    s.on('error', () => undefined);
    drop(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

void describe('a host that drops the connection before the handshake', () => {
  let dir: string;
  const uncaught: Error[] = [];
  const record = (e: Error) => uncaught.push(e);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'api7-ha-ssh-connect-'));
    writeFileSync(join(dir, 'known_hosts'), '');
    process.on('uncaughtException', record);
  });
  after(() => {
    process.off('uncaughtException', record);
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (port: number): SshTarget => ({
    host: 'ha9',
    address: '127.0.0.1',
    port,
    user: 'root',
    agent: false,
    sudo: false,
    knownHosts: join(dir, 'known_hosts'),
    hostKeyPolicy: 'accept-new',
    connectTimeoutS: 5,
  });

  const cases: [string, Drop][] = [
    ['accepts and closes at once', (s) => s.destroy()],
    ['accepts and resets at once', (s) => s.resetAndDestroy()],
    // ssh2 raises "Bad packet length" for the junk, then ECONNRESET for the reset: two errors.
    ['sends a banner and junk, then resets', (s) => {
      s.write(`SSH-2.0-OpenSSH_9.2\r\n${'z'.repeat(300)}`);
      setTimeout(() => s.resetAndDestroy(), 20);
    }],
  ];
  for (const [what, drop] of cases) {
    void it(`${what}: one retryable ConnectError naming the host, nothing uncaught`, async () => {
      const server = await listen(drop);
      const pool = new SshPool();
      try {
        const err = await pool.get(target(server.port)).then(
          () => assert.fail('connected to a host that dropped the connection'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ConnectError, String(err));
        assert.match(err.message, /^ha9: cannot connect over SSH: /);
        assert.equal(err.permanent, false, 'a dropped connection is worth a retry');
        assert.equal(server.accepted(), 1);
        // Whatever ssh2 raises after the first error arrives within a few event-loop turns.
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(uncaught.map((e) => e.message), []);
        // The pool does not keep the failed connection: the next use connects again.
        await pool.get(target(server.port)).catch(() => undefined);
        assert.equal(server.accepted(), 2);
      } finally {
        await pool.closeAll();
        await server.close();
      }
    });
  }
});
