// The WAGI contract (deislabs/wagi): a request becomes CGI/1.1 variables and
// stdin; the guest's stdout becomes the response (headers, a blank line, the
// body). Everything the guest prints is untrusted: header names and values are
// checked before they reach the client.

import type { IncomingMessage } from 'node:http';

/**
 * Request headers never passed unless the tenant's `pass-headers` names them:
 * credentials (a tenant should not see a user's session with the operator's
 * other services) and proxy headers (they reveal the operator's network).
 */
export const WITHHELD_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'cookie', 'proxy-authorization', 'proxy-authenticate', 'forwarded', 'via', 'x-real-ip',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server',
  'proxy-connection', 'true-client-ip', 'cf-connecting-ip',
]);

/** Hop-by-hop headers and those CGI carries as its own variables. */
const NOT_AS_HTTP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-type', 'content-length']);

export interface CgiInputs {
  request: IncomingMessage;
  scriptName: string;
  rawPathInfo: string;
  query: string;
  matchedRoute: string;
  serverName: string;
  serverPort: number;
  remoteAddr: string;
  remotePort: number;
  bodyLength: number;
  passHeaders: readonly string[];
}

/** Decodes %XX (UTF-8); a malformed escape leaves the text as sent. */
function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function cgiEnvironment(inputs: CgiInputs): Record<string, string> {
  const { request } = inputs;
  const host = typeof request.headers.host === 'string' ? request.headers.host : inputs.serverName;
  const pathInfo = decodePath(inputs.rawPathInfo);
  const env: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'wasm-warden',
    SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
    SERVER_NAME: inputs.serverName,
    SERVER_PORT: String(inputs.serverPort),
    REQUEST_METHOD: request.method ?? 'GET',
    SCRIPT_NAME: inputs.scriptName,
    PATH_INFO: pathInfo,
    X_RAW_PATH_INFO: inputs.rawPathInfo,
    PATH_TRANSLATED: pathInfo,
    QUERY_STRING: inputs.query,
    X_MATCHED_ROUTE: inputs.matchedRoute,
    X_FULL_URL: `http://${host}${inputs.scriptName}${inputs.rawPathInfo}${inputs.query ? '?' + inputs.query : ''}`,
    REMOTE_ADDR: inputs.remoteAddr,
    REMOTE_HOST: inputs.remoteAddr,
    X_REMOTE_PORT: String(inputs.remotePort),
    CONTENT_TYPE: typeof request.headers['content-type'] === 'string' ? request.headers['content-type'] : '',
    CONTENT_LENGTH: String(inputs.bodyLength),
    AUTH_TYPE: '',
    REMOTE_USER: '',
  };
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (NOT_AS_HTTP.has(name)) continue;
    if (WITHHELD_HEADERS.has(name) && !inputs.passHeaders.includes(name)) continue;
    // `X_Foo` and `X-Foo` would both become HTTP_X_FOO: a header with an
    // underscore could impersonate one a proxy set. Such names are dropped.
    if (!/^[a-z0-9-]+$/.test(name)) continue;
    const key = `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
    // Repeated headers are one list joined by commas, except Cookie, whose pairs are joined by
    // "; " (RFC 9113 8.2.3): joined by commas, `a=1, b=2` reads as one cookie `a` worth "1, b=2".
    env[key] = env[key] !== undefined ? `${env[key]}${name === 'cookie' ? '; ' : ', '}${raw[i + 1]}` : raw[i + 1]!;
  }
  return env;
}

export interface GuestResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Visible ASCII, spaces and tabs; anything else (CR, LF, NUL) could split the response. */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers the server sets itself, whatever the guest says. */
const SERVER_OWNED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te', 'date', 'x-request-id']);
const MAX_HEADERS = 100;
const MAX_HEAD_BYTES = 64 * 1024;

/** Parses the guest's stdout, or returns why it is not a response (answered 502). */
export function parseGuestResponse(stdout: Uint8Array): GuestResponse | string {
  const limit = Math.min(stdout.length, MAX_HEAD_BYTES + 4);
  let end = -1;
  let bodyStart = -1;
  for (let i = 0; i < limit; i++) {
    if (stdout[i] !== 0x0a) continue;
    if (stdout[i + 1] === 0x0a) { end = i; bodyStart = i + 2; break; }
    if (stdout[i + 1] === 0x0d && stdout[i + 2] === 0x0a) { end = i; bodyStart = i + 3; break; }
  }
  if (end === -1) return stdout.length > MAX_HEAD_BYTES ? 'the response headers are too long' : 'no blank line after the response headers';
  const head = Buffer.from(stdout.buffer, stdout.byteOffset, end).toString('latin1');
  const headers: Array<[string, string]> = [];
  let status: number | null = null;
  let hasContentType = false;
  let hasLocation = false;
  const lines = head.split('\n');
  if (lines.length > MAX_HEADERS) return 'too many response headers';
  for (let line of lines) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const colon = line.indexOf(':');
    if (colon <= 0) return 'a response header line without a name and a colon';
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name)) return 'a response header name that is not a token';
    if (!VALUE.test(value)) return 'a response header value with control characters';
    const lower = name.toLowerCase();
    if (lower === 'status') {
      // Two Status lines are two answers: which one a proxy or client believes is not ours to guess.
      if (status !== null) return 'more than one Status header';
      const match = /^([1-5]\d\d)(?:\s.*)?$/.exec(value);
      if (!match || Number(match[1]) < 200) return 'a Status header that is not a 3-digit code from 200 to 599';
      status = Number(match[1]);
      continue;
    }
    if (lower === 'content-type') hasContentType = true;
    if (lower === 'location') hasLocation = true;
    if (SERVER_OWNED.has(lower)) continue;
    headers.push([name, value]);
  }
  if (!hasContentType && !hasLocation) return 'neither Content-Type nor Location in the response';
  return { status: status ?? (hasLocation ? 302 : 200), headers, body: stdout.subarray(bodyStart) };
}
