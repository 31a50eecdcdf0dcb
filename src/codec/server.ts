// The Temporal codec server protocol (docs.temporal.io: codec server): POST /encode and /decode (also
// under a namespace segment, /{namespace}/decode, for the CLI's --codec-endpoint templating), bodies
// `{"payloads": [...]}` in proto3 JSON (bytes as base64). CORS for the Web UI's origin: the preflight
// answers the methods and the headers the UI sends (Content-Type, X-Namespace, Authorization), with
// credentials allowed, since the UI can pass its access token. An optional token guards both routes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Origins allowed to call from a browser (the Web UI's), exactly as the browser sends them. */
  origins: string[];
  /** If set, requests must carry `Authorization: <this>` (e.g. "Bearer abc"). */
  authorization?: string;
  /** If set, only these namespaces (X-Namespace or the path segment). */
  namespaces?: string[];
  /** Largest request body accepted. */
  maxBodyBytes?: number;
}

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('base64');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromJson(p: JsonPayload): Payload {
  const bytes = (what: string, s: string) => {
    if (!BASE64.test(s)) throw new TypeError(`${what} is not base64`);
    return new Uint8Array(Buffer.from(s, 'base64'));
  };
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, bytes(`metadata ${k}`, String(v))])),
    data: bytes('data', String(p.data ?? '')),
  };
}

function toJson(p: Payload): JsonPayload {
  return { metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])), data: b64(p.data) };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function codecRequestHandler(opts: CodecServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBody = opts.maxBodyBytes ?? 64 << 20;
  const expected = opts.authorization ? digest(opts.authorization) : undefined;
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin && opts.origins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://codec');
    const m = /^(?:\/([^/]+))?\/(encode|decode)$/.exec(url.pathname);
    if (!m) return send(404, { error: 'not found: POST /encode or /decode' });
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method !== 'POST') return send(405, { error: 'use POST' });
    // Constant-time comparison of digests (equal length whatever the header's).
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) return send(401, { error: 'missing or wrong Authorization header' });
    const namespace = m[1] ? decodeURIComponent(m[1]) : String(req.headers['x-namespace'] ?? '');
    if (opts.namespaces && !opts.namespaces.includes(namespace)) return send(403, { error: `namespace ${JSON.stringify(namespace)} is not served here` });

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        send(413, { error: `body larger than ${maxBody} bytes` });
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let payloads: Payload[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
        if (!Array.isArray(body.payloads)) throw new TypeError('expected {"payloads": [...]}');
        payloads = body.payloads.map(fromJson);
      } catch (e) {
        return send(400, { error: `bad request: ${(e as Error).message}` });
      }
      const run = m[2] === 'encode' ? opts.codec.encode(payloads) : opts.codec.decode(payloads);
      run.then(
        (out) => send(200, { payloads: out.map(toJson) }),
        // The codec's messages name key IDs and the ring's reference, never key material.
        (e: unknown) => send(400, { error: (e as Error).message }),
      );
    });
  };
}

/** Listen on host:port; resolves once listening (port 0 picks a free one: read server.address()). */
export function startCodecServer(opts: CodecServerOptions & { host: string; port: number }): Promise<Server> {
  const server = createServer(codecRequestHandler(opts));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
