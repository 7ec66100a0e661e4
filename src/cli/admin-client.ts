// A small client for the serve admin API (`warden deploy`, `warden rollback`):
// http://HOST:PORT or unix:PATH, bearer token from $WARDEN_ADMIN_TOKEN.

import { request } from 'node:http';
import { InputError, UsageError } from './errors.js';
import type { CommandIO } from './io.js';

export interface AdminResponse {
  status: number;
  body: Record<string, unknown>;
}

export function adminToken(io: CommandIO): string {
  const token = io.env.WARDEN_ADMIN_TOKEN;
  if (!token) throw new UsageError('set WARDEN_ADMIN_TOKEN to the server\'s admin token');
  return token.trim();
}

export function adminCall(url: string, path: string, token: string, body?: { type: string; data: Uint8Array }): Promise<AdminResponse> {
  let target: { socketPath?: string; host?: string; port?: number };
  if (url.startsWith('unix:')) target = { socketPath: url.slice(5) };
  else {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--admin: '${url}' is not http://HOST:PORT or unix:PATH`);
    }
    if (parsed.protocol !== 'http:') throw new UsageError(`--admin: '${url}' is not http://HOST:PORT or unix:PATH`);
    target = { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 80) };
  }
  return new Promise((resolve, reject) => {
    const req = request({
      ...target, path, method: 'POST', timeout: 120_000,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': body.type, 'Content-Length': body.data.length } : { 'Content-Length': 0 }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => { size += c.length; if (size <= 1024 * 1024) chunks.push(c); });
      res.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => reject(new InputError(`cannot reach the admin API at ${url} (${error.code ?? error.message})`)));
    req.end(body?.data);
  });
}

/** Maps an admin answer to an exit code and one line. */
export function reportAdmin(io: CommandIO, command: string, res: AdminResponse, json: boolean, success: (body: Record<string, unknown>) => string): number {
  if (json) io.stdout(JSON.stringify({ status: res.status, ...res.body }, null, 2) + '\n');
  if (res.status === 200) {
    if (!json) io.stdout(success(res.body) + '\n');
    return 0;
  }
  const reason = String(res.body.reason ?? res.body.error ?? `HTTP ${res.status}`);
  if (res.status === 409) {
    io.stderr(`warden ${command}: ${reason}\n`);
    return 1;
  }
  const why = res.status === 401 ? 'the admin token was not accepted' : reason;
  io.stderr(`warden ${command}: ${why}\n`);
  return 2;
}
