// HTTP for registry clients: every request bounded in time and size, redirects
// followed only on the same host, and the registry's auth challenges answered
// (basic credentials, or a bearer token from the same host's token endpoint).

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * Why a registry operation failed. `refused`: the registry answered and the
 * answer was rejected on inspection (a digest mismatch, not a Wasm artifact,
 * oversized, a redirect or token endpoint off-host, an unsigned module).
 * `unavailable`: no usable answer (connection failed, timed out, was cut, or an
 * HTTP error status such as 404 or 401).
 */
export type RegistryFailure = 'refused' | 'unavailable';

export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(message: string, readonly failure: RegistryFailure = 'refused') {
    super(message);
  }
}

export interface Credentials {
  username: string;
  password: string;
}

export interface ClientOptions {
  /** Use plain HTTP (loopback registries get it automatically). */
  insecure?: boolean;
  credentials?: Credentials;
  /** Connecting, waiting for the response headers, and any pause in a body (default 30 s). */
  timeoutMs?: number;
  /** A whole response body, however steadily it trickles in (default 10 min). */
  bodyTimeoutMs?: number;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body; empty when a sink consumed it. */
  body: Uint8Array;
}

export interface RequestInit {
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** The largest body accepted (declared or sent). */
  maxBytes: number;
  /** The token scope to ask for if the registry challenges with Bearer. */
  scope?: string;
  /** Receives a 2xx body chunk by chunk instead of buffering it; a throw aborts the request. */
  sink?: (chunk: Uint8Array) => void;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;
/** Bodies of error and redirect responses are read (to reuse the connection) but capped and dropped. */
const DISCARDED_BODY_CAP = 64 * 1024;
const MAX_REDIRECTS = 5;

export function isLoopbackRegistry(registry: string): boolean {
  return LOOPBACK.test(registry);
}

export class RegistryClient {
  private token: string | null = null;
  private readonly base: URL;

  constructor(readonly registry: string, private readonly options: ClientOptions = {}) {
    const scheme = options.insecure || isLoopbackRegistry(registry) ? 'http' : 'https';
    this.base = new URL(`${scheme}://${registry}`);
  }

  /** Sends a request, answering one auth challenge and following same-host redirects. */
  async send(method: string, path: string, init: RequestInit): Promise<Response> {
    let url = new URL(path, this.base);
    let challenged = false;
    let redirects = 0;
    for (;;) {
      const response = await this.once(method, url, init);
      if (response.status === 401) {
        if (challenged) throw new RegistryError(`${this.registry} refused the credentials (401)`, 'unavailable');
        challenged = true;
        if (await this.answer(String(response.headers['www-authenticate'] ?? ''), init.scope)) continue;
        throw new RegistryError(`${this.registry} requires authentication (401); set WARDEN_REGISTRY_USER and WARDEN_REGISTRY_PASSWORD`, 'unavailable');
      }
      if (response.status >= 300 && response.status < 400 && response.headers.location) {
        let next: URL;
        try {
          next = new URL(response.headers.location, url);
        } catch {
          throw new RegistryError(`${this.registry} redirected to an invalid location`);
        }
        if (next.host !== this.base.host || next.protocol !== this.base.protocol) {
          throw new RegistryError(`${this.registry} redirected to another host (${next.protocol}//${next.host}); refused`);
        }
        if (++redirects > MAX_REDIRECTS) throw new RegistryError(`${this.registry} redirected more than ${MAX_REDIRECTS} times`);
        url = next;
        continue;
      }
      return response;
    }
  }

  private async answer(challenge: string, scope: string | undefined): Promise<boolean> {
    const creds = this.options.credentials;
    if (/^basic\b/i.test(challenge)) return !!creds && (this.token = null, true);
    if (!/^bearer\b/i.test(challenge)) return false;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) return false;
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw new RegistryError(`${this.registry} sent an invalid token endpoint`);
    }
    if (realm.hostname !== this.base.hostname) throw new RegistryError(`${this.registry} sent a token endpoint on another host (${realm.host}); refused`);
    if (realm.protocol !== this.base.protocol) throw new RegistryError(`${this.registry} sent a token endpoint over ${realm.protocol} while the registry is on ${this.base.protocol}; refused`);
    if (params.service) realm.searchParams.set('service', params.service);
    const wanted = params.scope ?? scope;
    if (wanted) realm.searchParams.set('scope', wanted);
    const headers: Record<string, string> = creds ? { authorization: basicAuth(creds) } : {};
    const response = await this.once('GET', realm, { headers, maxBytes: 1 << 20 }, false);
    if (response.status !== 200) throw new RegistryError(`the token endpoint answered ${response.status}`, 'unavailable');
    let token: unknown;
    try {
      const json = JSON.parse(new TextDecoder().decode(response.body)) as { token?: unknown; access_token?: unknown };
      token = json.token ?? json.access_token;
    } catch {
      throw new RegistryError('the token endpoint sent something that is not JSON');
    }
    if (typeof token !== 'string' || !token || /[\r\n]/.test(token)) throw new RegistryError('the token endpoint sent no usable token');
    this.token = token;
    return true;
  }

  private once(method: string, url: URL, init: RequestInit, authorize = true): Promise<Response> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const bodyTimeoutMs = this.options.bodyTimeoutMs ?? 600_000;
    const headers: Record<string, string> = { ...init.headers };
    if (authorize && !headers.authorization) {
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      else if (this.options.credentials) headers.authorization = basicAuth(this.options.credentials);
    }
    if (init.body) headers['content-length'] = String(init.body.length);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const registry = this.registry;
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
        req.destroy();
      };
      const succeed = (response: Response): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(response);
      };
      // The socket timeout covers connecting and every pause; these timers bound the totals.
      timer = setTimeout(() => fail(new RegistryError(`${registry} did not answer within ${timeoutMs} ms`, 'unavailable')), timeoutMs);
      const req = send(url, { method, headers, timeout: timeoutMs }, (res) => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(new RegistryError(`${registry} did not finish sending within ${bodyTimeoutMs} ms`, 'unavailable')), bodyTimeoutMs);
        const status = res.statusCode ?? 0;
        const success = status >= 200 && status < 300;
        const sink = success ? init.sink : undefined;
        const cap = success ? init.maxBytes : Math.min(init.maxBytes, DISCARDED_BODY_CAP);
        const declared = Number(res.headers['content-length']);
        if (success && method !== 'HEAD' && Number.isFinite(declared) && declared > cap) {
          fail(new RegistryError(`${registry} announced ${declared} bytes, more than the ${cap} expected`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          size += chunk.length;
          if (size > cap) {
            if (success) fail(new RegistryError(`${registry} sent more than ${cap} bytes`));
            return; // a discarded body is simply not kept past the cap
          }
          if (!sink) { chunks.push(chunk); return; }
          try {
            sink(chunk);
          } catch (error) {
            fail(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('end', () => succeed({ status, headers: res.headers, body: sink ? new Uint8Array(0) : new Uint8Array(Buffer.concat(chunks)) }));
        res.on('error', () => fail(new RegistryError(`${registry} closed the connection mid-response`, 'unavailable')));
        res.on('aborted', () => fail(new RegistryError(`${registry} closed the connection mid-response`, 'unavailable')));
      });
      req.on('timeout', () => fail(new RegistryError(`${registry} did not answer within ${timeoutMs} ms`, 'unavailable')));
      req.on('error', (error: NodeJS.ErrnoException) => fail(new RegistryError(`${registry}: ${error.code ?? error.message}`, 'unavailable')));
      req.end(init.body ? Buffer.from(init.body.buffer, init.body.byteOffset, init.body.length) : undefined);
    });
  }
}

function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
