// The embedder's side of a plugin's http_request (Extism kernel ABI): the
// request runs on this thread's event loop, asynchronously, while the
// plugin's isolate waits on the channel. Bounded three ways: only granted
// origins (redirects included, each hop checked), the call's deadline (the
// request is aborted there), and the policy's response size (the host stops
// reading past it; what it keeps is counted, not what the server announced).

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { allowedUrl, urlForRecord } from './http-allow.js';
import { decodeOffset, decodeRequest, encodeFailure, encodeResponse, HTTP_BODY, HTTP_REQUEST, HttpFailure } from './http-wire.js';

/** Redirects followed at most; a longer chain fails the request. */
const MAX_REDIRECTS = 5;

export interface HttpGrant {
  /** Granted origins ("http://127.0.0.1:8080"). */
  origins: readonly string[];
  /** Response bodies larger than this fail the request (host-limit). */
  maxResponseBytes: number;
}

type Handler = (arg: number, data?: Uint8Array) => Promise<Uint8Array> | Uint8Array;

/**
 * The channel's handlers for one run: a request, then its body piece by
 * piece (`piece` bytes at most per reply). `deadlineAt` is on
 * performance.now()'s scale, null for none.
 */
export function httpHandlers(grant: HttpGrant, deadlineAt: number | null, piece: number): Array<[string, Handler]> {
  // The last response's body: the isolate fetches it in pieces. One at a time (the guest waits for each request).
  let body: Uint8Array = new Uint8Array(0);
  const failing = (error: unknown): never => { throw new Error(encodeFailure(error)); };
  const request: Handler = async (_arg, data) => {
    try {
      const { head, body: sent } = decodeRequest(data ?? new Uint8Array(0));
      const response = await fetchWithin(grant, head.url, head.method, head.headers, sent, deadlineAt);
      body = response.body;
      return encodeResponse({ status: response.status, headers: response.headers, length: body.length }, body, piece);
    } catch (error) {
      return failing(error);
    }
  };
  const more: Handler = (_arg, data) => {
    const offset = decodeOffset(data ?? new Uint8Array(0));
    // The isolate asks for what it was told exists; any other offset is a malformed request.
    if (!Number.isInteger(offset) || offset < 0 || offset > body.length) return failing(new HttpFailure('host-function', 'a malformed body request'));
    return body.slice(offset, offset + piece);
  };
  return [[`host:${HTTP_REQUEST}`, request], [`host:${HTTP_BODY}`, more]];
}

/**
 * Headers the host decides, never the plugin: Host (a plugin naming another
 * virtual host would reach a site behind the granted origin that was never
 * granted) and the message's framing (a Content-Length or Transfer-Encoding of
 * its own could smuggle a second request to the server in the body).
 */
const HOST_DECIDES = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

function pluginHeaders(headers: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) if (!HOST_DECIDES.has(name.toLowerCase())) kept[name] = value;
  return kept;
}

async function fetchWithin(grant: HttpGrant, rawUrl: string, method: string, given: Record<string, string>, body: Uint8Array | null, deadlineAt: number | null): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }> {
  const headers = pluginHeaders(given);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new HttpFailure('host-function', `http_request: ${JSON.stringify(rawUrl.slice(0, 200))} is not a URL`);
  }
  for (let hop = 0; ; hop++) {
    // The allowlist, checked for the first URL and for every redirect target: a granted host cannot hand the plugin on to another.
    if (!allowedUrl(url, grant.origins)) throw new HttpFailure('denied', urlForRecord(url));
    const left = deadlineAt === null ? null : deadlineAt - performance.now();
    if (left !== null && left <= 0) throw new HttpFailure('host-function', 'http_request: the call reached its deadline');
    const response = await send(url, method, headers, body, left);
    const location = response.statusCode !== undefined && [301, 302, 303, 307, 308].includes(response.statusCode) ? response.headers.location : undefined;
    if (location) {
      response.resume();
      if (hop >= MAX_REDIRECTS) throw new HttpFailure('host-function', `http_request: more than ${MAX_REDIRECTS} redirects`);
      url = new URL(location, url);
      // As fetch does: 303 (and 301/302 after a POST) turn into a GET without a body.
      if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
      }
      continue;
    }
    const kept = await readWithin(response, grant.maxResponseBytes);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
    return { status: response.statusCode ?? 0, headers: out, body: kept };
  }
}

function send(url: URL, method: string, headers: Record<string, string>, body: Uint8Array | null, msLeft: number | null): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method, headers,
        // Aborted at the call's deadline: the guest's wait ends there anyway, and so does the host's work.
        ...(msLeft !== null ? { signal: AbortSignal.timeout(Math.max(1, Math.ceil(msLeft))) } : {}),
      });
    } catch (error) {
      // Node refuses malformed methods and header names or values before sending anything.
      reject(new HttpFailure('host-function', `http_request: ${(error as Error).message}`));
      return;
    }
    req.once('response', resolve);
    req.once('error', (error) => reject(new HttpFailure('host-function', `http_request to ${url.origin} failed: ${error.message}`)));
    req.end(body ?? undefined);
  });
}

function readWithin(response: IncomingMessage, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // The policy's bound on what the host keeps for a plugin: past it, stop reading and fail the request.
      if (size > max) {
        // Rejected first: destroying the response emits its own events, which then change nothing.
        reject(new HttpFailure('host-limit', `http_request: the response is larger than ${max} bytes (plugin.http_response)`));
        chunks.length = 0;
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    response.once('error', (error) => reject(new HttpFailure('host-function', `http_request: ${error.message}`)));
    response.once('aborted', () => reject(new HttpFailure('host-function', 'http_request: the response was cut off')));
  });
}
