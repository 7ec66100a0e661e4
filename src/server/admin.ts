// The admin API, on its own listener. Every endpoint needs the bearer token:
// an unknown path without it is 401, not 404, so nothing about the server can
// be learnt without the token.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from './config.js';
import { DeployRefused, UnknownTenant, type WardenServer } from './server.js';

/** Largest module accepted by a deploy upload. */
const MAX_UPLOAD = 256 * 1024 * 1024;
const MAX_JSON = 64 * 1024;

const digestOf = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares in constant time: both sides are hashed first, so lengths leak nothing either. */
export function tokenMatches(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(digestOf(presented), expected);
}

export function adminHandler(token: string): (server: WardenServer) => (req: IncomingMessage, res: ServerResponse) => void {
  const expected = digestOf(token);
  return (server) => (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n';
      res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain; version=0.0.4' : 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    const auth = req.headers.authorization;
    // The scheme is case-insensitive (RFC 9110 11.1): `bearer` is the same credential, not a refusal.
    const presented = typeof auth === 'string' && /^bearer [\x21-\x7e]+$/i.test(auth) ? auth.slice(7) : null;
    if (presented === null || !tokenMatches(presented, expected)) {
      req.resume();
      // The path only: a token put in the query string by mistake (`?access_token=…`) went
      // into the log stream and the audit file with the rest of the URL.
      server.log.audit({ event: 'admin-unauthorized', method: req.method, path: (req.url ?? '').split('?')[0]!.slice(0, 200), token: presented === null ? 'missing' : 'wrong' });
      send(401, { error: 'a valid bearer token is required' }, { 'WWW-Authenticate': 'Bearer realm="warden-admin"' });
      return;
    }
    void route(server, req, send).catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof UnknownTenant) send(404, { error: error.message });
      else if (error instanceof DeployRefused) send(409, { error: 'refused', reason: error.message, violations: error.violations });
      else if (error instanceof ConfigError) send(400, { error: 'the config is not valid', reason: error.message });
      else if (error instanceof BadRequest) send(error.status, { error: error.message }, error.headers);
      else {
        server.log.event({ kind: 'admin-error', error: error instanceof Error ? error.message : String(error) });
        send(500, { error: error instanceof Error ? error.message : 'internal error' });
      }
    });
  };
}

class BadRequest extends Error {
  constructor(message: string, readonly status = 400, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

type Send = (status: number, body: unknown, headers?: Record<string, string>) => void;

/** The one method each endpoint takes. */
const METHODS: Record<string, 'GET' | 'POST'> = { metrics: 'GET', tenants: 'GET', reload: 'POST', stats: 'GET', deploy: 'POST', rollback: 'POST' };

async function route(server: WardenServer, req: IncomingMessage, send: Send): Promise<void> {
  const path = (req.url ?? '').split('?')[0]!;
  const method = req.method ?? 'GET';
  const match = /^\/tenants\/([a-z0-9][a-z0-9_-]{0,62})\/(stats|deploy|rollback)$/.exec(path);
  const endpoint = match ? match[2]! : path === '/metrics' || path === '/tenants' || path === '/reload' ? path.slice(1) : null;
  if (!endpoint) { req.resume(); throw new BadRequest('no such endpoint', 404); }
  // A known endpoint asked with another method is 405 naming the one it takes (it was 404 for
  // /metrics, /tenants and /reload), and nothing is done.
  if (method !== METHODS[endpoint]) { req.resume(); throw new BadRequest(`${method} is not allowed here`, 405, { Allow: METHODS[endpoint]! }); }
  if (endpoint === 'metrics') return send(200, renderMetrics(server));
  if (endpoint === 'tenants') return send(200, { tenants: server.listTenants().map(describeTenant) });
  if (endpoint === 'reload') { req.resume(); return send(200, await server.reload()); }
  const [, id, action] = match as unknown as [string, string, string];
  if (action === 'stats') {
    const tenant = server.tenant(id);
    return send(200, { ...describeTenant(tenant), stats: tenant.stats, queued: tenant.lane.waiting.length, running: tenant.lane.running, storageBytes: tenant.storage.usedBytes });
  }
  if (action === 'deploy') {
    server.tenant(id);
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('application/json')) {
      let body: { module?: unknown };
      try {
        body = JSON.parse(Buffer.from(await readAll(req, MAX_JSON)).toString('utf8')) as { module?: unknown };
      } catch (error) {
        if (error instanceof BadRequest) throw error;
        throw new BadRequest('the body is not JSON');
      }
      if (typeof body?.module !== 'string') throw new BadRequest('expected {"module": "sha256:… or REGISTRY/REPO@sha256:…"}');
      return send(200, { tenant: id, ...(await server.deploy(id, { ref: body.module })) });
    }
    const bytes = await readAll(req, MAX_UPLOAD);
    if (bytes.length === 0) throw new BadRequest('upload the module (application/wasm) or send {"module": REF} as JSON');
    return send(200, { tenant: id, ...(await server.deploy(id, { bytes })) });
  }
  req.resume();
  return send(200, { tenant: id, ...(await server.rollback(id)) });
}

function describeTenant(tenant: import('./tenant.js').Tenant): Record<string, unknown> {
  const { spec } = tenant;
  const l = spec.policy.limits;
  return {
    id: spec.id,
    routes: spec.routes.map((r) => r.text),
    digest: tenant.current.digest,
    previousDigest: tenant.previous,
    isolation: tenant.isolation,
    autoIsolated: tenant.autoIsolated,
    limits: {
      memory: l.memory, fuel: l.fuel, timeoutMs: l.timeoutMs, output: l.outputBytes,
      concurrency: spec.limits.concurrency, queue: spec.limits.queue, rate: spec.limits.rate, burst: spec.limits.burst,
      body: spec.limits.bodyBytes, storage: spec.limits.storageBytes,
    },
  };
}

function renderMetrics(server: WardenServer): string {
  for (const t of server.listTenants()) {
    server.metrics.queueDepth.set({ tenant: t.id }, t.lane.waiting.length);
    server.metrics.compiles.set({ tenant: t.id }, t.stats.compiles);
    server.metrics.cacheHits.set({ tenant: t.id, level: 'memory' }, t.stats.cacheHits.memory);
    server.metrics.cacheHits.set({ tenant: t.id, level: 'disk' }, t.stats.cacheHits.disk);
  }
  const load = server.load;
  return server.metrics.render([
    { name: 'warden_inflight_requests', help: 'Requests being answered.', type: 'gauge', lines: [`warden_inflight_requests ${load.inflight}`] },
    { name: 'warden_running', help: 'Runs holding a slot of the shared pool.', type: 'gauge', lines: [`warden_running ${load.running}`] },
    { name: 'warden_workers', help: 'Worker threads of the shared pool (server.workers; a reload resizes it).', type: 'gauge', lines: [`warden_workers ${load.workers}`] },
    { name: 'warden_tenants', help: 'Tenants configured.', type: 'gauge', lines: [`warden_tenants ${server.listTenants().length}`] },
    { name: 'warden_resident_memory_bytes', help: 'Resident memory of the server process, its worker threads included.', type: 'gauge', lines: [`warden_resident_memory_bytes ${process.memoryUsage.rss()}`] },
  ]);
}

function readAll(req: IncomingMessage, cap: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > cap) { req.resume(); reject(new BadRequest(`the body is larger than ${cap} bytes`, 413)); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) { req.destroy(); reject(new BadRequest(`the body is larger than ${cap} bytes`, 413)); return; }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
