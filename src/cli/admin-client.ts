// A small client for the serve admin API (`warden deploy`, `warden rollback`):
// http://HOST:PORT or unix:PATH, bearer token from $WARDEN_ADMIN_TOKEN.

import { request } from 'node:http';
import { flag, parsePositiveDuration, type ParsedArgs } from './args.js';
import { InputError, UsageError } from './errors.js';
import type { CommandIO } from './io.js';
import { printJson, terminalSafe } from './terminal-text.js';

export interface AdminResponse {
  status: number;
  body: Record<string, unknown>;
  /** The admin URL that answered, for messages. */
  url: string;
}

/** The largest answer read; warden's are a few hundred bytes. */
const MAX_ANSWER = 1024 * 1024;
/** How long a call may take in all when `--timeout` is not given: a deploy admits and compiles a module (seconds for 30 MB). */
export const DEFAULT_ADMIN_TIMEOUT_MS = 120_000;

export function adminToken(io: CommandIO): string {
  const token = io.env.WARDEN_ADMIN_TOKEN;
  if (!token) throw new UsageError('set WARDEN_ADMIN_TOKEN to the server\'s admin token');
  const trimmed = token.trim();
  // The server's tokens are printable ASCII without spaces (admin-token.ts); anything else could
  // never be accepted, and was sent anyway (blank, as an empty credential) or failed as an internal error.
  if (!/^[\x21-\x7e]+$/.test(trimmed)) throw new UsageError(`WARDEN_ADMIN_TOKEN ${trimmed ? 'has characters a bearer token cannot carry (printable ASCII, no spaces)' : 'is blank'}`);
  return trimmed;
}

/** `--timeout DURATION`, the whole call's deadline; a zero one is a usage error. */
export function adminTimeout(args: ParsedArgs): number {
  const text = flag(args, 'timeout');
  if (text === undefined) return DEFAULT_ADMIN_TIMEOUT_MS;
  return parsePositiveDuration(text, '--timeout');
}

export function adminCall(url: string, path: string, token: string, body?: { type: string; data: Uint8Array }, timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS): Promise<AdminResponse> {
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
      ...target, path, method: 'POST',
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': body.type, 'Content-Length': body.data.length } : { 'Content-Length': 0 }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let ended = false;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER) { chunks.push(c); return; }
        // An answer that never ends kept the command reading (and waiting) for ever.
        reject(new InputError(`the admin API at ${url} answered more than ${MAX_ANSWER} bytes: not a warden server`));
        req.destroy();
      });
      // An answer cut short must not pass for one: without these the command's promise was
      // left pending, the process ran out of work and exited 0, as if the deploy had succeeded.
      const cut = () => { if (!ended) reject(new InputError(`the admin API at ${url} closed the connection before its answer was complete`)); };
      res.on('aborted', cut);
      res.on('error', cut);
      res.on('close', cut);
      res.on('end', () => {
        ended = true;
        // Only warden's own answer, a JSON object, is read: anything else (a web page, a proxy's
        // error, `null`) is some other server, whose 200 would otherwise print as a deploy.
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch { /* not JSON */ }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          reject(new InputError(`the admin API at ${url} answered HTTP ${res.statusCode ?? 0} with something that is not warden's (not a JSON object)`));
          return;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as Record<string, unknown>, url });
      });
    });
    // A deadline on the whole call, not on silence: a server answering a byte a minute kept an idle timeout from
    // ever firing, and the command (a deploy step in a pipeline) waiting for ever.
    const deadline = setTimeout(() => {
      reject(new InputError(`the admin API at ${url} did not answer within ${timeoutMs / 1000} s`));
      req.destroy();
    }, timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', (error: NodeJS.ErrnoException) => reject(new InputError(`cannot reach the admin API at ${url} (${error.code ?? error.message})`)));
    req.end(body?.data);
  });
}

/** Maps an admin answer to an exit code and one line. */
export function reportAdmin(io: CommandIO, command: string, res: AdminResponse, json: boolean, success: (body: Record<string, unknown>) => string): number {
  // A success names the digest now served; a 200 without one is not warden's answer.
  if (res.status === 200 && typeof res.body.digest !== 'string') {
    throw new InputError(`the admin API at ${res.url} answered HTTP 200 without the digest a warden server reports; nothing is known to be ${command === 'deploy' ? 'deployed' : 'rolled back'}`);
  }
  if (json) printJson(io, { status: res.status, ...res.body });
  if (res.status === 200) {
    // The server's answer is quoted: none of its characters may act on the terminal.
    if (!json) io.stdout(terminalSafe(success(res.body)) + '\n');
    return 0;
  }
  const reason = String(res.body.reason ?? res.body.error ?? `HTTP ${res.status}`);
  if (res.status === 409) {
    io.stderr(`warden ${command}: ${terminalSafe(reason)}\n`);
    return 1;
  }
  const why = res.status === 401 ? 'the admin token was not accepted' : reason;
  io.stderr(`warden ${command}: ${terminalSafe(why)}\n`);
  return 2;
}
