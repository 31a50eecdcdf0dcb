// Judging etcd quorum from etcdctl 3.4's own JSON: health, status --cluster, alarm list and member
// list, with 64-bit member IDs kept exact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NOSPACE_FIX, canonicalJson, configHash, judgeQuorum, parseAlarms, parseHealth, parseJsonBigInts } from '../../src/reconcile/etcd';

// Member IDs as etcd 3.4 prints them: unquoted uint64 JSON numbers, beyond 2^53.
const ID1 = '10501334649042878790';
const ID2 = '9372538179322589801';
const ID3 = '17013689112286221834';
const CLUSTER_ID = '14841639068965178418';
const IDS = [ID1, ID2, ID3];
const IP = ['10.0.0.11', '10.0.0.12', '10.0.0.13'];

const expectedMembers = IP.map((ip, i) => ({ name: `api7-etcd-${i + 1}`, peerUrl: `http://${ip}:2380` }));

/** `etcdctl endpoint health -w json` (3.4): one object per endpoint; "error" only when unhealthy. */
function healthJson(down: number[] = [], missing: number[] = []): string {
  const entries = IP.map((ip, i) => ({ i, ip }))
    .filter(({ i }) => !missing.includes(i))
    .map(({ i, ip }) =>
      down.includes(i)
        ? `{"endpoint":"http://${ip}:2379","health":false,"took":"5.000823459s","error":"failed to commit proposal: context deadline exceeded"}`
        : `{"endpoint":"http://${ip}:2379","health":true,"took":"${(1.468755 + i).toFixed(6)}ms"}`,
    );
  return `[${entries.join(',')}]\n`;
}

interface StatusOpts {
  leader?: (i: number) => string | undefined;
  term?: (i: number) => number;
  only?: number[];
  errors?: string[];
}
/** `etcdctl endpoint status --cluster -w json` (3.4): encoding/json of StatusResponse, omitempty fields left out. */
function statusJson(o: StatusOpts = {}): string {
  const entries = IP.map((ip, i) => ({ i, ip }))
    .filter(({ i }) => !o.only || o.only.includes(i))
    .map(({ i, ip }) => {
      const leader = o.leader ? o.leader(i) : ID1;
      const term = o.term ? o.term(i) : 2;
      const parts = [
        `"header":{"cluster_id":${CLUSTER_ID},"member_id":${IDS[i]},"revision":5,"raft_term":${term}}`,
        '"version":"3.4.13"',
        '"dbSize":20480',
        ...(leader !== undefined ? [`"leader":${leader}`] : []),
        '"raftIndex":9',
        `"raftTerm":${term}`,
        '"raftAppliedIndex":9',
        ...(o.errors ? [`"errors":${JSON.stringify(o.errors)}`] : []),
        '"dbSizeInUse":20480',
      ];
      return `{"Endpoint":"http://${ip}:2379","Status":{${parts.join(',')}}}`;
    });
  return `[${entries.join(',')}]\n`;
}

/** `etcdctl member list -w json` (3.4). */
function memberListJson(members: { id: string; name: string; peer: string; client: string }[] = IDS.map((id, i) => ({ id, name: `api7-etcd-${i + 1}`, peer: `http://${IP[i]}:2380`, client: `http://${IP[i]}:2379` }))): string {
  const m = members.map((x) => `{"ID":${x.id},"name":"${x.name}","peerURLs":["${x.peer}"],"clientURLs":["${x.client}"]}`);
  return `{"header":{"cluster_id":${CLUSTER_ID},"member_id":${ID1},"raft_term":2},"members":[${m.join(',')}]}\n`;
}

const healthy = () => ({ health: healthJson(), status: statusJson(), alarms: '', members: memberListJson() });

void describe('parseJsonBigInts keeps 64-bit IDs exact', () => {
  void it('reads 10501334649042878790 as the exact string (JSON.parse would round it)', () => {
    assert.notEqual(String(JSON.parse(`{"ID":${ID1}}`).ID), ID1, 'precondition: plain JSON.parse loses precision');
    assert.deepEqual(parseJsonBigInts(`{"ID":${ID1}}`), { ID: ID1 });
  });

  void it('handles arrays, whitespace, the largest uint64 and pretty-printed JSON', () => {
    assert.deepEqual(parseJsonBigInts(`[${ID1}, 18446744073709551615 ,${ID2}]`), [ID1, '18446744073709551615', ID2]);
    assert.deepEqual(parseJsonBigInts(`{\n  "ID": ${ID3},\n  "n": 5\n}`), { ID: ID3, n: 5 });
  });

  void it('leaves small numbers as numbers and strings alone', () => {
    assert.deepEqual(parseJsonBigInts('{"revision":5,"dbSize":20480,"name":"10501334649042878790"}'), { revision: 5, dbSize: 20480, name: '10501334649042878790' });
  });

  void it('parses the whole member list with every ID exact', () => {
    const parsed = parseJsonBigInts<{ header: { cluster_id: string }; members: { ID: string }[] }>(memberListJson());
    assert.equal(parsed.header.cluster_id, CLUSTER_ID);
    assert.deepEqual(parsed.members.map((m) => m.ID), IDS);
  });

  void it('parseHealth reads the array and answers [] to garbage', () => {
    assert.deepEqual(parseHealth(healthJson([2])).map((h) => [h.endpoint, h.health]), [
      ['http://10.0.0.11:2379', true],
      ['http://10.0.0.12:2379', true],
      ['http://10.0.0.13:2379', false],
    ]);
    assert.deepEqual(parseHealth('Error: context deadline exceeded'), []);
    assert.deepEqual(parseHealth(''), []);
  });
});

void describe('judgeQuorum', () => {
  void it('a healthy cluster: one leader (named), one term, every member healthy', () => {
    assert.deepEqual(judgeQuorum({ expectedMembers }, healthy()), {
      healthy: true,
      problems: [],
      leader: ID1,
      leaderName: 'api7-etcd-1',
      term: '2',
      revision: '5',
      members: IDS.map((id, i) => ({
        name: `api7-etcd-${i + 1}`,
        id,
        peerUrl: `http://${IP[i]}:2380`,
        healthy: true,
        endpoint: `http://${IP[i]}:2379`,
        isLeader: i === 0,
        dbSize: 20480,
        dbSizeInUse: 20480,
        version: '3.4.13',
      })),
    });
  });

  void it('a leader that is not the first member is found by its exact 64-bit ID', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), status: statusJson({ leader: () => ID3 }) });
    assert.equal(r.healthy, true);
    assert.equal(r.leader, ID3);
    assert.equal(r.leaderName, 'api7-etcd-3');
    assert.deepEqual(r.members.map((m) => m.isLeader), [false, false, true]);
  });

  void it('one member down: unhealthy, naming the endpoint, the error and the missing status', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), health: healthJson([2]), status: statusJson({ only: [0, 1] }) });
    assert.equal(r.healthy, false);
    assert.deepEqual(r.problems, ['http://10.0.0.13:2379 is unhealthy: failed to commit proposal: context deadline exceeded', '2 of 3 members answered endpoint status']);
    assert.deepEqual(r.members.map((m) => m.healthy), [true, true, false]);
    assert.equal(r.leaderName, 'api7-etcd-1', 'the other two still agree on the leader');
  });

  void it('a member missing from the health answer is counted', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), health: healthJson([], [1]) });
    assert.deepEqual(r.problems, ['2 of 3 endpoints answered the health check']);
    assert.deepEqual(r.members.map((m) => m.healthy), [true, false, true]);
  });

  void it('two leaders: the members disagree, and no leader is reported', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), status: statusJson({ leader: (i) => (i === 2 ? ID3 : ID1) }) });
    assert.equal(r.healthy, false);
    assert.deepEqual(r.problems, [`members disagree on the leader (${ID1}, ${ID3})`]);
    assert.equal(r.leader, undefined);
    assert.equal(r.leaderName, undefined);
  });

  void it('different raft terms are a problem', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), status: statusJson({ term: (i) => (i === 1 ? 3 : 2) }) });
    assert.deepEqual(r.problems, ['members are in different raft terms (2, 3)']);
    assert.equal(r.term, undefined);
  });

  void it('a NOSPACE alarm makes the cluster unhealthy even though endpoint health says healthy (etcd#12032)', () => {
    const alarm = `memberID:${ID2} alarm:NOSPACE\n`;
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), status: statusJson({ errors: [`memberID:${ID2} alarm:NOSPACE `] }), alarms: alarm });
    assert.equal(r.healthy, false);
    assert.deepEqual(r.problems, [`alarms raised: memberID:${ID2} alarm:NOSPACE`, NOSPACE_FIX]);
    assert.match(NOSPACE_FIX, /api7-ha etcd disarm -i INVENTORY/);
    assert.match(NOSPACE_FIX, /etcdctl compaction <revision> --physical.*etcdctl defrag.*etcdctl alarm disarm/);
    assert.deepEqual(r.alarms, [{ memberId: ID2, alarm: 'NOSPACE' }]);
    assert.ok(r.members.every((m) => m.healthy), 'endpoint health alone would have said healthy');
  });

  void it('reads each member\'s backend size and version from endpoint status, and warns near the quota', () => {
    const r = judgeQuorum({ expectedMembers, quotaBytes: 24_000 }, healthy());
    assert.equal(r.healthy, true);
    assert.deepEqual(r.members.map((m) => [m.name, m.dbSize, m.dbSizeInUse, m.version]), [
      ['api7-etcd-1', 20480, 20480, '3.4.13'],
      ['api7-etcd-2', 20480, 20480, '3.4.13'],
      ['api7-etcd-3', 20480, 20480, '3.4.13'],
    ]);
    assert.equal(r.warnings?.length, 3);
    assert.match(r.warnings![0]!, /^http:\/\/10\.0\.0\.11:2379: backend 0 MiB is 85 % of the quota/);
    assert.equal(judgeQuorum({ expectedMembers, quotaBytes: 2 ** 31 }, healthy()).warnings, undefined);
  });

  void it('parses alarm list lines', () => {
    assert.deepEqual(parseAlarms(`memberID:${ID1} alarm:NOSPACE\nmemberID:${ID2} alarm:CORRUPT\n`), [
      { memberId: ID1, alarm: 'NOSPACE' },
      { memberId: ID2, alarm: 'CORRUPT' },
    ]);
    assert.deepEqual(parseAlarms(''), []);
  });

  void it('several alarms are listed on one line', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), alarms: `memberID:${ID1} alarm:NOSPACE\nmemberID:${ID2} alarm:CORRUPT\n` });
    assert.deepEqual(r.problems, [`alarms raised: memberID:${ID1} alarm:NOSPACE; memberID:${ID2} alarm:CORRUPT`, NOSPACE_FIX]);
  });

  void it('a member list that differs from the inventory is named on both sides', () => {
    const members = memberListJson([
      { id: ID1, name: 'api7-etcd-1', peer: 'http://10.0.0.11:2380', client: 'http://10.0.0.11:2379' },
      { id: ID2, name: 'api7-etcd-2', peer: 'http://10.0.0.12:2380', client: 'http://10.0.0.12:2379' },
      { id: ID3, name: 'etcd-old', peer: 'http://10.0.0.13:2380', client: 'http://10.0.0.13:2379' },
    ]);
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), members });
    assert.deepEqual(r.problems, ['member list is [api7-etcd-1, api7-etcd-2, etcd-old], the inventory says [api7-etcd-1, api7-etcd-2, api7-etcd-3]']);
  });

  void it('a member advertising the wrong peer URL is named with both URLs', () => {
    const members = memberListJson(IDS.map((id, i) => ({ id, name: `api7-etcd-${i + 1}`, peer: i === 2 ? 'http://10.0.0.99:2380' : `http://${IP[i]}:2380`, client: `http://${IP[i]}:2379` })));
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), members });
    assert.deepEqual(r.problems, ['member api7-etcd-3 advertises http://10.0.0.99:2380, expected http://10.0.0.13:2380']);
  });

  void it('an extra (fourth) member is reported', () => {
    const four = memberListJson([
      ...IDS.map((id, i) => ({ id, name: `api7-etcd-${i + 1}`, peer: `http://${IP[i]}:2380`, client: `http://${IP[i]}:2379` })),
      { id: '12297688346371396404', name: 'api7-etcd-4', peer: 'http://10.0.0.14:2380', client: 'http://10.0.0.14:2379' },
    ]);
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), members: four });
    assert.deepEqual(r.problems, ['member list is [api7-etcd-1, api7-etcd-2, api7-etcd-3, api7-etcd-4], the inventory says [api7-etcd-1, api7-etcd-2, api7-etcd-3]']);
  });

  void it('nothing answered: every check is reported', () => {
    const r = judgeQuorum({ expectedMembers }, { health: '', status: '', alarms: '', members: '' });
    assert.equal(r.healthy, false);
    assert.deepEqual(r.problems, ['0 of 3 endpoints answered the health check', '0 of 3 members answered endpoint status']);
    assert.deepEqual(r.members, []);
  });

  void it('garbage from etcdctl is reported as not answering', () => {
    const r = judgeQuorum({ expectedMembers }, { health: healthJson(), status: 'Error: context deadline exceeded', alarms: '', members: '{"members": [' });
    assert.ok(r.problems.includes('endpoint status did not answer'));
    assert.ok(r.problems.includes('member list did not answer'));
  });

  void it('a member that lost its leader (etcdctl omits "leader":0) is reported as having no leader', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), status: statusJson({ leader: (i) => (i === 2 ? undefined : ID1) }) });
    assert.equal(r.healthy, false);
    assert.ok(r.problems.includes('a member has no leader'), r.problems.join('; '));
    assert.ok(!r.problems.some((p) => p.includes('undefined')), r.problems.join('; '));
  });

  void it('a cluster where no member has a leader reports no leader', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), health: healthJson([0, 1, 2]), status: statusJson({ leader: () => undefined }) });
    assert.equal(r.leader, undefined);
    assert.ok(r.problems.includes('a member has no leader'), r.problems.join('; '));
  });

  void it('a leader of 0, where printed, is a member without a leader', () => {
    const r = judgeQuorum({ expectedMembers }, { ...healthy(), status: statusJson({ leader: () => '0' }) });
    assert.ok(r.problems.includes('a member has no leader'));
  });
});

void describe('configuration hashes', () => {
  void it('canonical JSON ignores key order and undefined values, keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, 1], c: undefined } }), '{"a":{"d":[3,1]},"b":1}');
    assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.equal(canonicalJson(undefined), 'null');
  });

  void it('configHash is 16 hex characters and stable across key order', () => {
    const h = configHash({ image: 'bitnami/etcd:3.4.13', dataDir: '/usr/local/etcd/etcd_data' });
    assert.match(h, /^[0-9a-f]{16}$/);
    assert.equal(configHash({ dataDir: '/usr/local/etcd/etcd_data', image: 'bitnami/etcd:3.4.13' }), h);
    assert.notEqual(configHash({ image: 'bitnami/etcd:3.4.14', dataDir: '/usr/local/etcd/etcd_data' }), h);
  });
});
