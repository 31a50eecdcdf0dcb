// Pieces both products share: APISIX-shaped route bodies and YAML rendering with a managed-file header.
import { stringify } from 'yaml';
import { secretPlaceholder, type ControlPlaneConfigInput, type EtcdClientSettings, type ProbeRoute } from './types';

export const MANAGED_HEADER = '# Managed by api7-ha: edits are replaced on the next deploy; earlier versions are kept beside this file as *.bak-<time>.\n';

export function renderYaml(doc: unknown): string {
  return MANAGED_HEADER + stringify(doc, { lineWidth: 0, indent: 2 });
}

/** "http://addr:port" per member: APISIX and the dashboards want the scheme spelled out. */
export const etcdUrls = (etcd: EtcdClientSettings): string[] => etcd.endpoints.map((e) => `${etcd.scheme}://${e}`);

export function apisixRouteBody(route: ProbeRoute): Record<string, unknown> {
  return {
    uri: route.uri,
    host: route.host,
    ...(route.methods ? { methods: route.methods } : {}),
    ...(route.desc ? { desc: route.desc } : {}),
    upstream: { type: 'roundrobin', nodes: route.upstreamNodes },
  };
}

/** Both dashboards answer {"code":0,"data":{"token":"..."}} to a login. */
export function tokenFromLoginResponse(body: unknown): string {
  const token = (body as { data?: { token?: unknown } } | undefined)?.data?.token;
  if (typeof token !== 'string' || token.length === 0) throw new Error('the dashboard answered the login without a token');
  return token;
}

/** Both dashboards' authentication section: the shared secret (one for all, or tokens from one
 *  dashboard are refused by another) and the admin user, as placeholders for the secrets. */
export function dashboardAuthentication(input: ControlPlaneConfigInput): Record<string, unknown> {
  return {
    secret: input.sharedSecret ? secretPlaceholder('dashboard_secret') : 'secret',
    expire_time: input.tokenExpireS,
    users: [{ username: input.adminUser, password: input.adminPassword ? secretPlaceholder('admin_password') : 'admin' }],
  };
}
