// Shell quoting: every argv element must arrive byte for byte when the line is parsed by a real POSIX
// shell (an SSH exec is always a shell command line), and plans must stay readable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { quoteArg, shellLine } from '../../src/commands/shell';

/**
 * What the remote shell would hand to a program: run `printf '%s\0' <quoted args>` through /bin/sh
 * (as sshd runs a command line through the login shell) and split the output on NUL.
 */
function throughShell(args: string[]): Buffer[] {
  const line = shellLine(['printf', '%s\\0', ...args]);
  const r = spawnSync('/bin/sh', ['-c', line]);
  assert.equal(r.status, 0, `sh failed on: ${line}\n${r.stderr.toString()}`);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < r.stdout.length; i++) {
    if (r.stdout[i] === 0) {
      out.push(r.stdout.subarray(start, i));
      start = i + 1;
    }
  }
  assert.equal(start, r.stdout.length, 'output ended without a NUL');
  return out;
}

function assertRoundTrip(args: string[]): void {
  const got = throughShell(args);
  assert.equal(got.length, args.length, 'the shell split or merged arguments');
  got.forEach((b, i) => assert.ok(b.equals(Buffer.from(args[i]!, 'utf8')), `argument ${i} ${JSON.stringify(args[i])} arrived as ${JSON.stringify(b.toString('utf8'))}`));
}

const HOSTILE: [string, string][] = [
  ['single quote', "it's"],
  ['only single quotes', "'''"],
  ['double quotes', '"double" "quotes"'],
  ['command substitution', '$(id)'],
  ['backticks', '`id`'],
  ['variable', '$HOME'],
  ['braced variable', '${PATH:-x}'],
  ['arithmetic', '$((1+1))'],
  ['newline', 'line1\nline2'],
  ['trailing newline', 'value\n'],
  ['carriage return and tab', 'a\r\tb'],
  ['glob star', '*'],
  ['glob question', '?'],
  ['glob class', '[a-z]*'],
  ['tilde', '~'],
  ['tilde user', '~root/x'],
  ['spaces', 'a b  c'],
  ['leading space', ' lead'],
  ['empty string', ''],
  ['backslash', '\\'],
  ['backslash n', '\\n'],
  ['bang', '!!'],
  ['comment', '#not-a-comment'],
  ['separator', ';rm -rf /'],
  ['and', 'a && b'],
  ['pipe', 'a|b'],
  ['redirects', '>out <in 2>&1'],
  ['brace expansion', '{a,b}'],
  ['background', 'sleep 1 &'],
  ['subshell', '(exit 1)'],
  ['dash option', '-n'],
  ['double dash', '--'],
  ['percent format', '%s%d%%'],
  ['assignment-looking', 'A=b'],
  ['unicode', '中文 ✓ é ß'],
  ['emoji', '🚀 launch'],
  ['control characters', '\x01\x02\x1b[31m\x7f'],
  ['the etcd cluster flag', 'ETCD_INITIAL_CLUSTER=api7-etcd-1=http://10.0.0.11:2380,api7-etcd-2=http://10.0.0.12:2380'],
  ['the etcdctl auth script', 'read -r ETCDCTL_USER && export ETCDCTL_USER && exec etcdctl "$@"'],
];

void describe('shell quoting round-trips through a real /bin/sh', () => {
  for (const [what, value] of HOSTILE) {
    void it(`${what}: ${JSON.stringify(value)}`, () => assertRoundTrip([value]));
  }

  void it('all of them at once, in one command line, stay separate arguments', () => {
    assertRoundTrip(HOSTILE.map(([, v]) => v));
  });

  void it('every byte from 1 to 255 (as UTF-8 text) and a long value', () => {
    const all = Array.from({ length: 255 }, (_x, i) => String.fromCharCode(i + 1)).join('');
    assertRoundTrip([all, 'x'.repeat(20_000), `${all}'${all}'`]);
  });

  void it('pseudo-random strings of shell metacharacters', () => {
    const alphabet = ['\'', '"', '\\', '$', '`', '(', ')', '{', '}', '*', '?', '[', ']', '~', '!', '#', ';', '&', '|', '<', '>', ' ', '\t', '\n', 'a', '=', '%', '-', 'é'];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const values = Array.from({ length: 200 }, () => Array.from({ length: 1 + (next() % 24) }, () => alphabet[next() % alphabet.length]).join(''));
    assertRoundTrip(values);
  });
});

void describe('shell quoting rules', () => {
  void it('refuses a NUL byte, which no shell argument can carry', () => {
    assert.throws(() => quoteArg('a\0b'), /a NUL byte cannot be passed through a shell/);
    assert.throws(() => shellLine(['echo', '\0']), /NUL/);
  });

  void it('refuses an empty command', () => {
    assert.throws(() => shellLine([]), /empty command/);
  });

  void it('quotes the empty string as \'\'', () => {
    assert.equal(quoteArg(''), "''");
  });

  void it('wraps in single quotes and writes a single quote as \'\\\'\'', () => {
    assert.equal(quoteArg("it's"), "'it'\\''s'");
    assert.equal(quoteArg('$(id)'), "'$(id)'");
    assert.equal(quoteArg('a b'), "'a b'");
  });

  void it('leaves plain words unquoted, so plans read like the runbook', () => {
    for (const w of ['docker', '--network=host', '-v', '/usr/local/etcd/etcd_data:/etcd_data', 'ETCD_INITIAL_CLUSTER=api7-etcd-1=http://10.0.0.11:2380,api7-etcd-2=http://10.0.0.12:2380', 'bitnami/etcd:3.4.13', 'user@host', '+x', '50%'])
      assert.equal(quoteArg(w), w);
    assert.equal(shellLine(['docker', 'exec', 'etcd', 'etcdctl', '--endpoints', '10.0.0.11:2379,10.0.0.12:2379', 'endpoint', 'health']), 'docker exec etcd etcdctl --endpoints 10.0.0.11:2379,10.0.0.12:2379 endpoint health');
  });

  void it('quotes glob and tilde characters that a shell would expand', () => {
    for (const w of ['*', '?', '[a]', '~', '~root', '{a,b}']) assert.equal(quoteArg(w), `'${w}'`);
  });
});
