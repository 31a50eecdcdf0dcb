// HTTP from the worker to dashboards, gateways and load balancers. node:http rather than fetch:
// probes must set the Host header (routes match on it), which fetch treats as forbidden.
import { request, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { productProfile, type HttpRequestSpec } from '../products';
import type { ApiTarget } from '../steps/inputs';
import { resolveSecret } from '../remote/secrets';
import { tunnelAgentFor } from '../remote/ssh';
import { PermanentError } from './context';

export interface HttpResult {
  status: number;
  body: string;
  ms: number;
  /** Set when no HTTP answer came back (refused, reset, timeout). */
  error?: string;
}

/** Client TLS for https URLs (etcd with mTLS): PEM contents, never logged. */
export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

export interface HttpOptions {
  tls?: ClientTls;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  agent?: Agent;
  signal?: AbortSignal;
}

export function http(url: string, opts: HttpOptions = {}): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    // A host behind a jump host: the connection is a channel through it (the worker has no route).
    const tunnel = tunnelAgentFor(u.hostname, secure);
    const timeoutMs = opts.timeoutMs ?? 5000;
    const req = (secure ? httpsRequest : request)(
      {
        protocol: u.protocol,
        hostname: u.hostname,
        port: u.port || (secure ? 443 : 80),
        ...(secure && opts.tls ? { ca: opts.tls.ca, ...(opts.tls.cert ? { cert: opts.tls.cert } : {}), ...(opts.tls.key ? { key: opts.tls.key } : {}) } : {}),
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? 'GET',
        headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) } : {}), ...opts.headers },
        agent: tunnel ?? opts.agent ?? false,
        timeout: timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', (e) => resolve({ status: 0, body: '', ms: performance.now() - started, error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    // A tunnelled socket has no idle timer, and its channel may wait on a host that is gone: a deadline.
    if (tunnel) {
      const deadline = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
      req.on('close', () => clearTimeout(deadline));
    }
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, body: '', ms: performance.now() - started, error: e.code ?? e.message }));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Does a response look like the runbook's httpbin answer (the upstream really answered)? */
export function looksLikeUpstream(body: string): boolean {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    return typeof j === 'object' && j !== null && 'headers' in j && 'url' in j;
  } catch {
    return false;
  }
}

// ---- the dashboards' route API ----------------------------------------------------------------

export class DashboardClient {
  private token?: string;
  private readonly profile;

  constructor(
    private readonly api: ApiTarget,
    private readonly opts: { timeoutMs?: number; agent?: Agent } = {},
  ) {
    this.profile = productProfile(api.product).routeApi;
  }

  private async send(spec: HttpRequestSpec, baseUrl = this.api.baseUrl, auth = true): Promise<HttpResult> {
    return http(`${baseUrl}${spec.path}`, {
      method: spec.method,
      headers: { ...(spec.headers ?? {}), ...(auth && this.token ? this.profile.authHeaders(this.token) : {}) },
      ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
      timeoutMs: this.opts.timeoutMs ?? 8000,
      ...(this.opts.agent ? { agent: this.opts.agent } : {}),
    });
  }

  /** Log in with the admin password (resolved here; never logged or returned). */
  async login(baseUrl = this.api.baseUrl): Promise<HttpResult> {
    const ref = this.api.secrets.admin_password;
    if (!ref) throw new PermanentError('no control_plane.admin.password reference: cannot log in to the dashboard');
    const password = await resolveSecret(ref);
    const res = await this.send(this.profile.login(this.api.adminUser, password), baseUrl, false);
    if (res.status === 200) this.token = this.profile.tokenFrom(JSON.parse(res.body));
    else if (res.status === 401 || res.status === 400) throw new PermanentError(`the dashboard at ${baseUrl} refused the admin login (${res.status}); check control_plane.admin`);
    return res;
  }

  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** Use a token obtained earlier (e.g. before a fault, as drills do). */
  useToken(token: string): void {
    this.token = token;
  }

  get currentToken(): string | undefined {
    return this.token;
  }

  putRoute(id: string, route: Parameters<typeof this.profile.putRoute>[2], baseUrl?: string) {
    return this.send(this.profile.putRoute(this.api.clusterId, id, route), baseUrl);
  }
  getRoute(id: string, baseUrl?: string) {
    return this.send(this.profile.getRoute(this.api.clusterId, id), baseUrl);
  }
  deleteRoute(id: string, baseUrl?: string) {
    return this.send(this.profile.deleteRoute(this.api.clusterId, id), baseUrl);
  }
  listRoutes(baseUrl?: string) {
    return this.send(this.profile.listRoutes(this.api.clusterId), baseUrl);
  }
}
