// HTTP for registry clients: every request bounded in size, every operation (a
// pull, a push: all its requests) bounded by one total deadline, redirects
// followed only on the same origin, and the registry's auth challenges answered
// (basic credentials, or a bearer token from a token endpoint on the same
// origin). Credentials and tokens go to that one origin and nowhere else.

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
  /**
   * A total deadline for everything this client does (one pull or one push: every
   * request in it, from connecting to the last byte of the last body), however
   * steadily a registry trickles bytes. Default 5 min.
   */
  timeoutMs?: number;
}

export const DEFAULT_REGISTRY_TIMEOUT_MS = 5 * 60_000;

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
/** Bodies of error and redirect responses are read (to reuse the connection) up to this cap, then the connection is dropped. */
const DISCARDED_BODY_CAP = 64 * 1024;
const MAX_REDIRECTS = 5;

export function isLoopbackRegistry(registry: string): boolean {
  return LOOPBACK.test(registry);
}

export class RegistryClient {
  private token: string | null = null;
  private readonly base: URL;
  private readonly timeoutMs: number;
  /** When every request of this client must have finished (performance.now() time). */
  private readonly deadline: number;

  /** One client per operation: its deadline starts now. */
  constructor(readonly registry: string, private readonly options: ClientOptions = {}) {
    const scheme = options.insecure || isLoopbackRegistry(registry) ? 'http' : 'https';
    this.base = new URL(`${scheme}://${registry}`);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
    this.deadline = performance.now() + this.timeoutMs;
  }

  /** Credentials and tokens are for the configured origin (scheme, host and port) alone. */
  private sameOrigin(url: URL): boolean {
    return url.origin === this.base.origin;
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
        if (!this.sameOrigin(next)) {
          throw new RegistryError(`${this.registry} redirected to another origin (${next.origin}); refused`);
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
    // The credentials would go to the realm: it must be the registry's own origin. A realm on
    // the same host but another port or scheme is another server (and plain http leaks them).
    if (realm.hostname !== this.base.hostname) throw new RegistryError(`${this.registry} sent a token endpoint on another host (${realm.host}); refused`);
    if (!this.sameOrigin(realm)) throw new RegistryError(`${this.registry} sent a token endpoint on another origin (${realm.origin}, the registry is ${this.base.origin}); refused`);
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
    const timeoutMs = this.timeoutMs;
    const remaining = Math.max(0, this.deadline - performance.now());
    const headers: Record<string, string> = { ...init.headers };
    // Second line of defence behind the redirect and realm checks: nothing of the
    // credentials leaves for another origin, whatever path a URL took to get here.
    if (!this.sameOrigin(url)) delete headers.authorization;
    else if (authorize && !headers.authorization) {
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
      // One timer to the operation's deadline covers connecting, the headers and the whole
      // body: a registry trickling a byte a second cannot keep the request alive past it
      // (an idle timeout would be reset by every byte).
      const late = () => fail(new RegistryError(`${registry} did not finish within the ${formatMs(timeoutMs)} deadline (--timeout)`, 'unavailable'));
      if (remaining <= 0) { settled = true; reject(new RegistryError(`${registry} did not finish within the ${formatMs(timeoutMs)} deadline (--timeout)`, 'unavailable')); return; }
      timer = setTimeout(late, remaining);
      const req = send(url, { method, headers }, (res) => {
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
            else {
              // An error or a redirect is its status and headers: a body past the cap is not
              // read on. Read to its end (dropped), an endless one held the pull until the deadline.
              succeed({ status, headers: res.headers, body: new Uint8Array(0) });
              req.destroy();
            }
            return;
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
      req.on('error', (error: NodeJS.ErrnoException) => fail(new RegistryError(`${registry}: ${error.code ?? error.message}`, 'unavailable')));
      req.end(init.body ? Buffer.from(init.body.buffer, init.body.byteOffset, init.body.length) : undefined);
    });
  }
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000}m` : ms % 1000 === 0 && ms > 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
