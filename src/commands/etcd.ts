// The runbook's etcd member (`docker run ... bitnami/etcd:3.4.13`) and the etcdctl checks around it.
import { LABELS, exec, run, type ContainerRunSpec } from './docker';
import { secretPlaceholder } from '../products/types';
import type { ClusterSpec } from '../inventory/model';
import type { RemoteCommand } from './types';

export interface EtcdPeer {
  name: string;
  address: string;
}

/** One member's settings: the inventory's etcd section, with TLS reduced to on/off and the peers named. */
export interface EtcdMemberInput extends Omit<ClusterSpec['etcd'], 'tls'> {
  cluster: string;
  member: EtcdPeer;
  members: EtcdPeer[];
  image: string;
  tls: boolean;
}

/** Where the member's certificates live on its host, and as the container sees them. */
export const certsDirOnHost = (dataDir: string) => `${parentDir(dataDir)}/api7-ha-etcd-certs`;
export const CERTS_IN_CONTAINER = '/etcd_certs';
/** The env file holding ETCD_ROOT_PASSWORD (mode 600), so the password is never on a command line. */
export const envFileOnHost = (dataDir: string) => `${parentDir(dataDir)}/api7-ha-etcd.env`;

/** A path without its trailing slashes (linear: the lookbehind anchors the run of slashes). */
export const withoutTrailingSlash = (path: string) => path.replace(/(?<!\/)\/+$/, '');

export function parentDir(path: string): string {
  const i = withoutTrailingSlash(path).lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

const scheme = (tls: boolean) => (tls ? 'https' : 'http');

/**
 * The part of the member's configuration whose change means "recreate the container". Left out: the
 * initial cluster state (a member recreated with `existing` has the same configuration), and the
 * initial cluster and its token, which etcd reads only when it bootstraps a member: once a data dir
 * exists they are ignored (membership lives in the data, changed by member add/remove), so a
 * replaced member does not restart every healthy one, and a restore's new token changes nothing.
 */
export function memberConfigForHash(input: EtcdMemberInput): unknown {
  return { ...input, cluster: undefined, members: undefined, clusterToken: undefined };
}

/**
 * The runbook's line, flag for flag, plus labels (ownership and a configuration hash) and, when
 * enabled, auth (env file) and TLS. `state` is "new" when bootstrapping the cluster and "existing"
 * when recreating one member with its data dir: starting a bootstrapped member with "new" fails
 * ("member ... has already been bootstrapped", etcd#2780).
 */
export function memberRunSpec(input: EtcdMemberInput, state: 'new' | 'existing', configHash: string): ContainerRunSpec {
  const s = scheme(input.tls);
  const me = input.member;
  const env: [string, string][] = [];
  if (!input.auth.enabled) env.push(['ALLOW_NONE_AUTHENTICATION', 'yes']);
  env.push(
    ['ETCD_NAME', me.name],
    ['ETCD_LISTEN_PEER_URLS', `${s}://0.0.0.0:${input.peerPort}`],
    ['ETCD_LISTEN_CLIENT_URLS', `${s}://0.0.0.0:${input.clientPort}`],
    ['ETCD_ADVERTISE_CLIENT_URLS', `${s}://${me.address}:${input.clientPort}`],
    ['ETCD_INITIAL_ADVERTISE_PEER_URLS', `${s}://${me.address}:${input.peerPort}`],
    ['ETCD_INITIAL_CLUSTER_TOKEN', input.clusterToken],
    ['ETCD_INITIAL_CLUSTER', input.members.map((m) => `${m.name}=${s}://${m.address}:${input.peerPort}`).join(',')],
    ['ETCD_DATA_DIR', '/etcd_data'],
    ['ETCD_ENABLE_V2', String(input.enableV2)],
  );
  if (state === 'existing') env.push(['ETCD_INITIAL_CLUSTER_STATE', 'existing']);
  if (input.heartbeatIntervalMs) env.push(['ETCD_HEARTBEAT_INTERVAL', String(input.heartbeatIntervalMs)]);
  if (input.electionTimeoutMs) env.push(['ETCD_ELECTION_TIMEOUT', String(input.electionTimeoutMs)]);
  // Upkeep, explicit: old revisions compacted, and the quota at which NOSPACE is raised.
  env.push(
    ['ETCD_AUTO_COMPACTION_MODE', input.autoCompactionMode],
    ['ETCD_AUTO_COMPACTION_RETENTION', input.autoCompactionRetention],
    ['ETCD_QUOTA_BACKEND_BYTES', String(input.quotaBackendBytes)],
  );
  if (input.tls) {
    const c = CERTS_IN_CONTAINER;
    env.push(
      ['ETCD_CERT_FILE', `${c}/server.pem`],
      ['ETCD_KEY_FILE', `${c}/server-key.pem`],
      ['ETCD_TRUSTED_CA_FILE', `${c}/ca.pem`],
      ['ETCD_CLIENT_CERT_AUTH', 'true'],
      ['ETCD_PEER_CERT_FILE', `${c}/server.pem`],
      ['ETCD_PEER_KEY_FILE', `${c}/server-key.pem`],
      ['ETCD_PEER_TRUSTED_CA_FILE', `${c}/ca.pem`],
      ['ETCD_PEER_CLIENT_CERT_AUTH', 'true'],
    );
  }
  const volumes = [`${input.dataDir}:/etcd_data`];
  if (input.tls) volumes.push(`${certsDirOnHost(input.dataDir)}:${CERTS_IN_CONTAINER}:ro`);
  return {
    name: input.containerName,
    image: input.image,
    restart: 'always',
    user: 'root',
    network: 'host',
    volumes,
    env,
    envFiles: input.auth.enabled ? [envFileOnHost(input.dataDir)] : [],
    labels: [
      [LABELS.managedBy, 'api7-ha'],
      [LABELS.cluster, input.cluster],
      [LABELS.role, 'etcd'],
      [LABELS.configHash, configHash],
    ],
  };
}

export const runMember = (input: EtcdMemberInput, state: 'new' | 'existing', configHash: string): RemoteCommand =>
  ({ ...run(memberRunSpec(input, state, configHash)), describe: `start etcd member ${input.member.name} (${state} cluster)` });

/** The env file content for an auth-enabled member; the executor substitutes the placeholder. */
export const authEnvFile = () => `ETCD_ROOT_PASSWORD=${secretPlaceholder('etcd_password')}\n`;

export interface EtcdctlTarget {
  containerName: string;
  endpoints: string[];
  auth: { enabled: boolean; user: string };
  tls: boolean;
}

/** etcdctl's connection flags: endpoints, timeouts, and the client certificate where the container sees it. */
export function etcdctlFlags(t: Pick<EtcdctlTarget, 'endpoints' | 'tls'>, commandTimeoutS = 5): string[] {
  const s = scheme(t.tls);
  const flags = ['--endpoints', t.endpoints.map((e) => `${s}://${e}`).join(','), '--dial-timeout', '2s', '--command-timeout', `${commandTimeoutS}s`];
  if (t.tls) flags.push('--cacert', `${CERTS_IN_CONTAINER}/ca.pem`, '--cert', `${CERTS_IN_CONTAINER}/client.pem`, '--key', `${CERTS_IN_CONTAINER}/client-key.pem`);
  return flags;
}

/** With auth, the credentials arrive on stdin and become ETCDCTL_USER, so they are never on a command line. */
const AUTH_WRAPPER = ['sh', '-c', 'IFS= read -r ETCDCTL_USER && export ETCDCTL_USER && exec etcdctl "$@"', 'etcdctl'];
export const authStdin = (user: string) => `${user}:${secretPlaceholder('etcd_password')}\n`;

/** The argv after the container (etcdctl or the auth wrapper) and what goes on stdin. */
export function etcdctlInvocation(t: Pick<EtcdctlTarget, 'endpoints' | 'tls' | 'auth'>, args: string[], commandTimeoutS = 5): { argv: string[]; stdin?: string } {
  const flags = etcdctlFlags(t, commandTimeoutS);
  return t.auth.enabled ? { argv: [...AUTH_WRAPPER, ...flags, ...args], stdin: authStdin(t.auth.user) } : { argv: ['etcdctl', ...flags, ...args] };
}

/**
 * etcdctl inside a member's container, as the runbook does (`docker exec etcd bash -c "etcdctl ..."`).
 * With auth, the credentials arrive on stdin and become ETCDCTL_USER inside the container, so they are
 * never on a command line (ps, shell history, docker events).
 */
export function etcdctl(t: EtcdctlTarget, args: string[], describe: string, extra: Partial<RemoteCommand> & { commandTimeoutS?: number } = {}): RemoteCommand {
  const { commandTimeoutS, ...rest } = extra;
  const inv = etcdctlInvocation(t, args, commandTimeoutS);
  return exec(t.containerName, inv.argv, describe, { ...rest, ...(inv.stdin !== undefined ? { stdin: inv.stdin } : {}) });
}

// The quorum check reads more than `endpoint health`: that is only a quorum read and says healthy
// under a NOSPACE or corruption alarm (etcd#12032, #16337).
export const endpointHealth = (t: EtcdctlTarget) => etcdctl(t, ['endpoint', 'health', '-w', 'json'], 'etcd endpoint health', { okExit: [0, 1] });
export const endpointStatus = (t: EtcdctlTarget) => etcdctl(t, ['endpoint', 'status', '--cluster', '-w', 'json'], 'etcd endpoint status --cluster', { okExit: [0, 1] });
export const alarmList = (t: EtcdctlTarget) => etcdctl(t, ['alarm', 'list'], 'etcd alarm list');
export const memberList = (t: EtcdctlTarget) => etcdctl(t, ['member', 'list', '-w', 'json'], 'etcd member list');
export const put = (t: EtcdctlTarget, key: string, value: string) => ({ ...etcdctl(t, ['put', key, value], `etcd put ${key}`), mutates: true });
export const get = (t: EtcdctlTarget, key: string) => etcdctl(t, ['get', key, '--print-value-only'], `etcd get ${key}`);
