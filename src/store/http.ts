// HTTP for registry clients: every request bounded in time and size, redirects
// followed only on the same host, and the registry's auth challenges answered
// (basic credentials, or a bearer token from the same host's token endpoint).

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export class RegistryError extends Error {
  override name = 'RegistryError';
}

export interface Credentials {
  username: string;
  password: string;
}

export interface ClientOptions {
  /** Use plain HTTP (loopback registries get it automatically). */
  insecure?: boolean;
  credentials?: Credentials;
  /** Per request: connecting, waiting for headers, and any pause in the body. */
  timeoutMs?: number;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

export class RegistryClient {
  private token: string | null = null;
  private readonly base: URL;

  constructor(readonly registry: string, private readonly options: ClientOptions = {}) {
    const scheme = options.insecure || LOOPBACK.test(registry) ? 'http' : 'https';
    this.base = new URL(`${scheme}://${registry}`);
  }

  /** Sends a request; `maxBytes` caps the response body. */
  async send(method: string, path: string, init: { headers?: Record<string, string>; body?: Uint8Array; maxBytes: number; scope?: string }): Promise<Response> {
    let url = new URL(path, this.base);
    let challenged = false;
    let redirects = 0;
    for (;;) {
      const response = await this.once(method, url, init);
      if (response.status === 401) {
        if (challenged) throw new RegistryError(`${this.registry} refused the credentials (401)`);
        challenged = true;
        if (await this.answer(String(response.headers['www-authenticate'] ?? ''), init.scope)) continue;
        throw new RegistryError(`${this.registry} requires authentication (401); set WARDEN_REGISTRY_USER and WARDEN_REGISTRY_PASSWORD`);
      }
      if (response.status >= 300 && response.status < 400 && response.headers.location) {
        const next = new URL(response.headers.location, url);
        if (next.host !== this.base.host || next.protocol !== this.base.protocol) throw new RegistryError(`${this.registry} redirected to another host (${next.host}); refused`);
        if (++redirects > 5) throw new RegistryError('too many redirects');
        url = next;
        continue;
      }
      return response;
    }
  }

  private async answer(challenge: string, scope: string | undefined): Promise<boolean> {
    const creds = this.options.credentials;
    if (/^basic/i.test(challenge)) return !!creds && (this.token = null, true);
    if (!/^bearer/i.test(challenge)) return false;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) return false;
    const realm = new URL(params.realm);
    if (realm.hostname !== this.base.hostname) throw new RegistryError(`${this.registry} sent a token endpoint on another host (${realm.host}); refused`);
    if (params.service) realm.searchParams.set('service', params.service);
    if (params.scope ?? scope) realm.searchParams.set('scope', (params.scope ?? scope)!);
    const headers: Record<string, string> = creds ? { authorization: basicAuth(creds) } : {};
    const response = await this.once('GET', realm, { headers, maxBytes: 1 << 20 }, false);
    if (response.status !== 200) throw new RegistryError(`the token endpoint answered ${response.status}`);
    let token: unknown;
    try {
      const json = JSON.parse(new TextDecoder().decode(response.body)) as { token?: unknown; access_token?: unknown };
      token = json.token ?? json.access_token;
    } catch {
      throw new RegistryError('the token endpoint sent something that is not JSON');
    }
    if (typeof token !== 'string' || !token) throw new RegistryError('the token endpoint sent no token');
    this.token = token;
    return true;
  }

  private once(method: string, url: URL, init: { headers?: Record<string, string>; body?: Uint8Array; maxBytes: number }, authorize = true): Promise<Response> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const headers: Record<string, string> = { ...init.headers };
    if (authorize && !headers.authorization) {
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      else if (this.options.credentials) headers.authorization = basicAuth(this.options.credentials);
    }
    if (init.body) headers['content-length'] = String(init.body.length);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > init.maxBytes) {
            req.destroy(new RegistryError(`${this.registry} sent more than ${init.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) }));
        res.on('error', reject);
        res.on('aborted', () => reject(new RegistryError(`${this.registry} closed the connection mid-response`)));
      });
      req.on('timeout', () => req.destroy(new RegistryError(`${this.registry} did not answer within ${timeoutMs} ms`)));
      req.on('error', (error) => reject(error instanceof RegistryError ? error : new RegistryError(`${this.registry}: ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
      req.end(init.body ? Buffer.from(init.body.buffer, init.body.byteOffset, init.body.length) : undefined);
    });
  }
}

function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
