// What goes into each lab image: root filesystem entries and the image config. Host binaries
// come from Debian packages (etcd-server, etcd-client, busybox-static, haproxy); the vendor
// images get the stand-in binary from lab/standins.
import type { ImageConfigSpec } from './archive';
import { ENTRYPOINT_SH, LIBLOG_SH, RUN_SH } from './etcd-scripts';
import { API7_DASHBOARD_CONF, API7_GATEWAY_CONFIG, APISIX_DASHBOARD_CONF, APISIX_GATEWAY_CONFIG } from './templates';
import {
  accountEntries,
  baseEntries,
  busyboxApplets,
  busyboxEntries,
  copy,
  dir,
  type Entry,
  libraryEntries,
  librariesOf,
  symlink,
  text,
} from './rootfs';
import { run } from './proc';

/** Host files the images are made of (Debian paths). */
export const HOST = {
  busybox: '/bin/busybox',
  etcd: '/usr/bin/etcd',
  etcdctl: '/usr/bin/etcdctl',
  haproxy: '/usr/sbin/haproxy',
} as const;

export interface ImagePlan {
  name: string;
  /** File name of the gzipped `docker save` tarball. */
  file: string;
  entries: Entry[];
  config: ImageConfigSpec;
}

const LABEL_DESC = 'org.opencontainers.image.description';
const LAB_LABEL = 'io.api7-ha.lab';

async function busybox(): Promise<Entry[]> {
  return busyboxEntries(HOST.busybox, await busyboxApplets(HOST.busybox));
}

/** First line of `etcd --version`'s "etcd Version: 3.4.23". */
async function etcdVersion(binary: string = HOST.etcd): Promise<string> {
  const out = await run(binary, ['--version']);
  return /etcd Version:\s*(\S+)/.exec(out)?.[1] ?? 'unknown';
}

/** etcd 3.5 (static binaries built from the Go module proxy: scripts/tools/etcd-3.5.sh). */
export interface Etcd35Binaries {
  etcd: string;
  etcdctl: string;
}

/**
 * bitnami/etcd:3.4.13, compatible enough for the runbook's `docker run` line: same ENTRYPOINT
 * and CMD as the 3.4.13 image (`/entrypoint.sh etcd`, what the runbook's `docker ps` shows),
 * ETCD_* variables read by Debian's etcd 3.4.23, `bash -c` for `docker exec`.
 */
export async function etcdImage(v35?: Etcd35Binaries): Promise<ImagePlan> {
  // 3.4: Debian's dynamically linked etcd with its libraries; 3.5: the static builds, as they are.
  const bin = v35 ?? { etcd: HOST.etcd, etcdctl: HOST.etcdctl };
  const libs = v35 ? [] : await librariesOf([HOST.etcd, HOST.etcdctl]);
  const version = await etcdVersion(bin.etcd);
  const tag = v35 ? version : '3.4.13';
  return {
    name: `bitnami/etcd:${tag}`,
    file: `bitnami-etcd-${tag}.tar.gz`,
    entries: [
      ...baseEntries(),
      ...(await busybox()),
      ...(await libraryEntries(libs)),
      ...accountEntries([
        { name: 'root', uid: 0, home: '/root' },
        { name: 'etcd', uid: 1001, home: '/opt/bitnami/etcd' },
      ]),
      copy('/usr/bin/etcd', bin.etcd),
      copy('/usr/bin/etcdctl', bin.etcdctl),
      symlink('/opt/bitnami/etcd/bin/etcd', '/usr/bin/etcd'),
      symlink('/opt/bitnami/etcd/bin/etcdctl', '/usr/bin/etcdctl'),
      text('/opt/bitnami/scripts/liblog.sh', LIBLOG_SH),
      text('/opt/bitnami/scripts/etcd/entrypoint.sh', ENTRYPOINT_SH, 0o755),
      text('/opt/bitnami/scripts/etcd/run.sh', RUN_SH, 0o755),
      symlink('/entrypoint.sh', '/opt/bitnami/scripts/etcd/entrypoint.sh'),
      symlink('/run.sh', '/opt/bitnami/scripts/etcd/run.sh'),
      dir('/bitnami/etcd/data', 0o700),
      dir('/opt/bitnami/etcd/conf'),
    ],
    config: {
      env: ['PATH=/opt/bitnami/etcd/bin:/usr/bin:/bin', 'ETCDCTL_API=3', 'BITNAMI_APP_NAME=etcd', `APP_VERSION=${tag}`],
      entrypoint: ['/entrypoint.sh'],
      cmd: ['etcd'],
      workingDir: '/opt/bitnami/etcd',
      exposedPorts: ['2379/tcp', '2380/tcp'],
      labels: {
        [LAB_LABEL]: 'etcd',
        [LABEL_DESC]: `bitnami/etcd:${tag} stand-in: ${v35 ? 'etcd built from go.etcd.io' : 'Debian etcd'} ${version} + busybox, bitnami-style entrypoint`,
        'org.opencontainers.image.version': version,
      },
    },
  };
}

/** Minimal config so the image starts without a mount (the tool mounts its own file). */
const HAPROXY_DEFAULT_CFG = `# Default config of the api7-ha lab HAProxy image: mount yours at
# /usr/local/etc/haproxy/haproxy.cfg (or the whole directory).
global
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend placeholder
    bind :8404
    http-request return status 200 content-type text/plain string "api7-ha lab haproxy: no configuration mounted"
`;

/**
 * api7-ha/haproxy:2.6 like the official haproxy:2.6 image: master-worker in the foreground
 * (so `docker kill -s USR2` reloads), config in /usr/local/etc/haproxy, SIGUSR1 to stop
 * gracefully. Runs as root (the official image runs as user haproxy, which cannot bind :80
 * without extra sysctls).
 */
export async function haproxyImage(): Promise<ImagePlan> {
  const libs = await librariesOf([HOST.haproxy]);
  return {
    name: 'api7-ha/haproxy:2.6',
    file: 'api7-ha-haproxy-2.6.tar.gz',
    entries: [
      ...baseEntries(),
      ...(await busybox()),
      ...(await libraryEntries(libs)),
      ...accountEntries([
        { name: 'root', uid: 0, home: '/root' },
        { name: 'haproxy', uid: 99, home: '/var/lib/haproxy', shell: '/bin/false' },
      ]),
      copy('/usr/sbin/haproxy', HOST.haproxy),
      // The official image's path; master-worker reloads re-exec argv[0] through PATH.
      symlink('/usr/local/sbin/haproxy', '/usr/sbin/haproxy'),
      text('/usr/local/etc/haproxy/haproxy.cfg', HAPROXY_DEFAULT_CFG),
      dir('/var/lib/haproxy'),
      dir('/run'),
      dir('/var/run'),
    ],
    config: {
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cmd: ['haproxy', '-W', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
      workingDir: '/var/lib/haproxy',
      stopSignal: 'SIGUSR1',
      labels: { [LAB_LABEL]: 'haproxy', [LABEL_DESC]: 'HAProxy 2.6 from Debian 12 + busybox, laid out like the official haproxy:2.6 image' },
    },
  };
}

export type Flavor = 'api7' | 'apisix';

/** The vendor names and tarball names of the stand-in images, per flavor. */
export const VENDOR_IMAGES = {
  api7: {
    dashboard: { name: 'api7ee.azurecr.io/api7-dashboard:2.13.2304', file: 'api7-dashboard-2.13.2304.tar.gz', version: '2.13.2304' },
    gateway: { name: 'api7ee.azurecr.io/api7-gateway:2.13.2304', file: 'api7-gateway-2.13.2304.tar.gz', version: '2.13.2304' },
  },
  apisix: {
    dashboard: { name: 'apache/apisix-dashboard:3.0.1-alpine', file: 'apisix-dashboard-3.0.1.tar.gz', version: '3.0.1' },
    gateway: { name: 'apache/apisix:3.9.1-debian', file: 'apisix-3.9.1.tar.gz', version: '3.9.1' },
  },
} as const;

/** Paths inside the vendor images (the same for both flavors). */
export const DASHBOARD_HOME = '/usr/local/apisix-dashboard';
export const GATEWAY_HOME = '/usr/local/apisix';

/** API7-Dashboard / apisix-dashboard: the stand-in as manager-api. */
export async function dashboardImage(flavor: Flavor, standin: string): Promise<ImagePlan> {
  const v = VENDOR_IMAGES[flavor].dashboard;
  const conf = `${DASHBOARD_HOME}/conf/conf.yaml`;
  return {
    name: v.name,
    file: v.file,
    entries: [
      ...baseEntries(),
      ...(await busybox()),
      ...accountEntries([{ name: 'root', uid: 0, home: '/root' }]),
      copy(`${DASHBOARD_HOME}/manager-api`, standin),
      text(conf, flavor === 'api7' ? API7_DASHBOARD_CONF : APISIX_DASHBOARD_CONF),
      dir(`${DASHBOARD_HOME}/logs`),
    ],
    config: {
      env: [`PATH=${DASHBOARD_HOME}:/usr/bin:/bin`],
      entrypoint: [`${DASHBOARD_HOME}/manager-api`],
      cmd: ['dashboard', '-c', conf, '--flavor', flavor],
      workingDir: DASHBOARD_HOME,
      exposedPorts: ['9000/tcp'],
      labels: { [LAB_LABEL]: `${flavor}-dashboard`, [LABEL_DESC]: `${v.name} stand-in (api7-ha lab/standins)`, 'org.opencontainers.image.version': v.version },
    },
  };
}

/** API7-Gateway / APISIX: the stand-in as bin/apisix. */
export async function gatewayImage(flavor: Flavor, standin: string): Promise<ImagePlan> {
  const v = VENDOR_IMAGES[flavor].gateway;
  const conf = `${GATEWAY_HOME}/conf/config.yaml`;
  return {
    name: v.name,
    file: v.file,
    entries: [
      ...baseEntries(),
      ...(await busybox()),
      ...accountEntries([{ name: 'root', uid: 0, home: '/root' }]),
      copy(`${GATEWAY_HOME}/bin/apisix`, standin),
      text(conf, flavor === 'api7' ? API7_GATEWAY_CONFIG : APISIX_GATEWAY_CONFIG),
      dir(`${GATEWAY_HOME}/logs`),
    ],
    config: {
      env: [`PATH=${GATEWAY_HOME}/bin:/usr/bin:/bin`],
      entrypoint: [`${GATEWAY_HOME}/bin/apisix`],
      cmd: ['gateway', '-c', conf],
      workingDir: GATEWAY_HOME,
      exposedPorts: flavor === 'api7' ? ['80/tcp', '443/tcp', '9091/tcp'] : ['9080/tcp', '9443/tcp', '9091/tcp', '7085/tcp'],
      labels: { [LAB_LABEL]: `${flavor}-gateway`, [LABEL_DESC]: `${v.name} stand-in (api7-ha lab/standins)`, 'org.opencontainers.image.version': v.version },
    },
  };
}
