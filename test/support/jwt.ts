// API keys for a self-hosted server with authorization on (the server's default JWT claim mapper and
// authorizer): an RSA key made at test time, its JWKS served on loopback for the server to fetch, and
// signed tokens with Temporal's `permissions` claim ("<namespace>:<role>", "temporal-system:admin").
import { createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class TestIssuer {
  private readonly key: KeyObject;
  readonly kid = randomBytes(6).toString('hex');
  private readonly jwk: Record<string, unknown>;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.key = privateKey;
    this.jwk = { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: this.kid, alg: 'RS256', use: 'sig' };
  }

  /** A signed token (what Temporal Cloud calls an API key is used the same way: `Authorization: Bearer`). */
  token(subject: string, permissions: string[], ttlS = 3600): string {
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: this.kid }));
    const body = b64url(JSON.stringify({ sub: subject, permissions, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + ttlS }));
    const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(this.key);
    return `${head}.${body}.${b64url(sig)}`;
  }

  /** Serves {"keys": [jwk]} on 127.0.0.1; resolves to its URL. */
  async serveJwks(): Promise<{ url: string; server: Server }> {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [this.jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, server };
  }
}
