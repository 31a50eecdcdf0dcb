// Preflight helpers: version floors from the runbook (kernel 3.10.0-927, Docker 20.10.7), listening
// ports from /proc/net/tcp, the problems table and clock skew.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions, listeningPorts, type PreflightReport, type Problem } from '../../src/reconcile/preflight';
import { clockProblemsOf, preflightTable } from '../../src/runbook/problems';

void describe('compareVersions (the runbook\'s kernel and Docker floors)', () => {
  const cases: [string, string, '>' | '<' | '='][] = [
    ['3.10.0-1160.76.1.el7', '3.10.0-927', '>'], // the runbook's own uname -r
    ['3.10.0-1160.76.1.el7.x86_64', '3.10.0-927', '>'],
    ['3.10.0-957.el7', '3.10.0-927', '>'],
    ['3.10.0-927', '3.10.0-927', '='],
    ['3.10.0-327', '3.10.0-927', '<'], // CentOS 7.2: known incompatible
    ['3.10.0-327.el7.x86_64', '3.10.0-927', '<'],
    ['5.15.0-91-generic', '3.10.0-927', '>'],
    ['4.18.0-372.9.1.el8_6.x86_64', '3.10.0-927', '>'],
    ['20.10.24+dfsg1', '20.10.7', '>'], // Debian's docker.io
    ['20.10.7', '20.10.7', '='],
    ['20.10.5', '20.10.7', '<'],
    ['24.0.7', '20.10.7', '>'],
    ['1.13.1', '20.10.7', '<'], // RHEL's old docker
    ['20.10', '20.10.0', '='],
  ];
  for (const [a, b, want] of cases) {
    void it(`${a} ${want} ${b}`, () => {
      const d = compareVersions(a, b);
      if (want === '>') assert.ok(d > 0, `got ${d}`);
      else if (want === '<') assert.ok(d < 0, `got ${d}`);
      else assert.equal(d, 0);
      if (want !== '=') assert.equal(Math.sign(compareVersions(b, a)), -Math.sign(d), 'not antisymmetric');
    });
  }
});

void describe('listeningPorts from /proc/net/tcp and /proc/net/tcp6', () => {
  const PROC_NET_TCP = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19315 1 0000000000000000 100 0 0 10 0',
    '   1: 00000000:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41237 1 0000000000000000 100 0 0 10 0',
    '   2: 00000000:094C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41238 1 0000000000000000 100 0 0 10 0',
    '   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 52110 1 0000000000000000 100 0 0 10 0',
    '   4: 0B00000A:094B 0C00000A:B3F2 01 00000000:00000000 02:00000B52 00000000     0        0 41299 2 0000000000000000 20 4 30 10 -1',
    '   5: 0B00000A:0016 0100000A:D2C4 01 00000000:00000000 02:0008F9E1 00000000     0        0 62114 4 0000000000000000 20 4 1 10 -1',
    '   6: 0B00000A:8F2A 0D00000A:094C 06 00000000:00000000 03:00000DA3 00000000     0        0 0 3 0000000000000000',
  ].join('\n');
  const PROC_NET_TCP6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000000000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 71230 1 0000000000000000 100 0 0 10 0',
    '   1: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19317 1 0000000000000000 100 0 0 10 0',
    '   2: 0000000000000000FFFF00000B00000A:2328 0000000000000000FFFF00000100000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 71240 1 0000000000000000 20 4 30 10 -1',
  ].join('\n');

  void it('reads only LISTEN sockets (state 0A), IPv4 and IPv6, decoding the hex port', () => {
    // `cat /proc/net/tcp /proc/net/tcp6` prints both files one after the other.
    assert.deepEqual([...listeningPorts(`${PROC_NET_TCP}\n${PROC_NET_TCP6}\n`)].sort((a, b) => a - b), [22, 2379, 2380, 8080, 9000]);
  });

  void it('ignores established (01) and TIME_WAIT (06) sockets and the header lines', () => {
    const onlyEstablished = PROC_NET_TCP.split('\n').filter((l) => !/ 0A /.test(l)).join('\n');
    assert.deepEqual([...listeningPorts(onlyEstablished)], []);
  });

  void it('answers an empty set to empty or missing output', () => {
    assert.equal(listeningPorts('').size, 0);
    assert.equal(listeningPorts('cat: /proc/net/tcp6: No such file or directory').size, 0);
  });
});

void describe('the preflight table', () => {
  const problems: Problem[] = [
    { host: 'ha2', severity: 'warn', check: 'size', message: '1 CPU, 1985 MiB: below the runbook\'s 2C4G per node', fix: 'use nodes with at least 2 CPUs and 4 GB of memory in production' },
    { host: 'ha4', severity: 'block', check: 'docker', message: 'Docker 19.03.15 is older than 20.10.7', fix: 'upgrade Docker to 20.10.7 or later' },
    { host: 'ha1', severity: 'info', check: 'kernel', message: 'Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64' },
    { host: 'ha1', severity: 'block', check: 'ports', message: 'port 2379 (etcd) is already in use by another process', fix: "stop what listens on 2379 (ss -ltnp 'sport = :2379') or move the role to another host" },
  ];
  const table = preflightTable(problems);
  const lines = table.split('\n');

  void it('has a header, then one row per problem: blocks first, then warnings, then info, by host', () => {
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, /^HOST\s+SEVERITY\s+CHECK\s+PROBLEM\s+FIX$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3)),
      [
        ['ha1', 'BLOCK', 'ports'],
        ['ha4', 'BLOCK', 'docker'],
        ['ha2', 'WARN', 'size'],
        ['ha1', 'INFO', 'kernel'],
      ],
    );
  });

  void it('shows each problem\'s message and fix on its row', () => {
    assert.ok(lines[1]!.includes('port 2379 (etcd) is already in use by another process'));
    assert.ok(lines[1]!.endsWith("stop what listens on 2379 (ss -ltnp 'sport = :2379') or move the role to another host"));
    assert.ok(lines[2]!.includes('Docker 19.03.15 is older than 20.10.7') && lines[2]!.endsWith('upgrade Docker to 20.10.7 or later'));
  });

  void it('aligns the columns', () => {
    const col = (l: string, word: string) => l.indexOf(word);
    assert.equal(col(lines[1]!, 'BLOCK'), col(lines[0]!, 'SEVERITY'));
    assert.equal(col(lines[3]!, 'WARN'), col(lines[0]!, 'SEVERITY'));
    assert.equal(col(lines[2]!, 'docker'), col(lines[0]!, 'CHECK'));
  });

  void it('does not reorder the caller\'s array', () => {
    assert.deepEqual(problems.map((p) => p.host), ['ha2', 'ha4', 'ha1', 'ha1']);
  });
});

void describe('clock skew across hosts', () => {
  const report = (host: string, clockOffsetMs?: number): PreflightReport => ({ host, reachable: true, facts: clockOffsetMs === undefined ? {} : { clockOffsetMs }, problems: [] });

  void it('no problem within one second', () => {
    assert.deepEqual(clockProblemsOf([report('ha1', 0), report('ha2', 300), report('ha3', 1000)]), []);
  });

  void it('warns between one and five seconds, on the host that is ahead, naming the one behind', () => {
    assert.deepEqual(clockProblemsOf([report('ha1', -800), report('ha2', 700), report('ha3', 0)]), [
      { host: 'ha2', severity: 'warn', check: 'clock', message: 'clock is 1500 ms ahead of ha1', fix: 'synchronise clocks with NTP (chronyd or systemd-timesyncd) on every host' },
    ]);
    assert.equal(clockProblemsOf([report('ha1', 0), report('ha2', 5000)])[0]?.severity, 'warn');
  });

  void it('blocks beyond five seconds', () => {
    const p = clockProblemsOf([report('ha1', 0), report('ha4', 6000)]);
    assert.equal(p.length, 1);
    assert.equal(p[0]?.severity, 'block');
    assert.equal(p[0]?.message, 'clock is 6000 ms ahead of ha1');
  });

  void it('uses the given maximum skew', () => {
    assert.equal(clockProblemsOf([report('ha1', 0), report('ha2', 300)], 200)[0]?.severity, 'warn');
    assert.equal(clockProblemsOf([report('ha1', 0), report('ha2', 1100)], 200)[0]?.severity, 'block');
  });

  void it('ignores hosts without a clock reading, and needs two readings', () => {
    assert.deepEqual(clockProblemsOf([report('ha1', 0), report('ha2'), report('ha3')]), []);
    assert.deepEqual(clockProblemsOf([]), []);
    assert.deepEqual(clockProblemsOf([report('ha1', 0), report('ha2'), report('ha3', 2000)]).map((p) => p.host), ['ha3']);
  });
});
