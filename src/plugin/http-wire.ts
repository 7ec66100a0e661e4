// http_request across the channel between the plugin's isolate and the
// embedder's thread. The request goes as a JSON head and the body; the reply
// as the status, the response headers (JSON), the body's length and its first
// bytes; the rest of the body is fetched in pieces (each reply is at most the
// channel's reply region). A failure crosses as "kind\0message".

/** Host-call numbers on the channel (granted host functions use 0 and up). */
export const HTTP_REQUEST = -1;
export const HTTP_BODY = -2;

export interface HttpRequestHead {
  url: string;
  method: string;
  headers: Record<string, string>;
}

export interface HttpResponseHead {
  status: number;
  headers: Record<string, string>;
  length: number;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function encodeRequest(head: HttpRequestHead, body: Uint8Array | null): Uint8Array {
  const json = utf8.encode(JSON.stringify(head));
  const out = new Uint8Array(4 + json.length + (body?.length ?? 0));
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  if (body) out.set(body, 4 + json.length);
  return out;
}

/** The embedder's side: the request as the isolate sent it (shape checked again: the isolate is not trusted either). */
export function decodeRequest(data: Uint8Array): { head: HttpRequestHead; body: Uint8Array | null } {
  if (data.length < 4) throw new Error('a malformed request');
  const n = new DataView(data.buffer, data.byteOffset, data.length).getUint32(0, true);
  if (n > data.length - 4) throw new Error('a malformed request');
  const head = JSON.parse(fromUtf8.decode(data.subarray(4, 4 + n))) as HttpRequestHead;
  if (typeof head?.url !== 'string' || typeof head.method !== 'string' || typeof head.headers !== 'object' || head.headers === null) throw new Error('a malformed request');
  const body = data.subarray(4 + n);
  return { head, body: body.length > 0 ? body.slice() : null };
}

/** The reply to a request, at most `limit` bytes: the head and as much of the body as fits (the rest is fetched in pieces). */
export function encodeResponse(head: HttpResponseHead, body: Uint8Array, limit: number): Uint8Array {
  const json = utf8.encode(JSON.stringify(head.headers));
  if (16 + json.length > limit) throw new HttpFailure('host-limit', `http_request: the response headers are larger than ${limit - 16} bytes`);
  const first = body.subarray(0, limit - 16 - json.length);
  const out = new Uint8Array(16 + json.length + first.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.status, true);
  view.setUint32(4, json.length, true);
  view.setFloat64(8, head.length, true);
  out.set(json, 16);
  out.set(first, 16 + json.length);
  return out;
}

export function decodeResponse(bytes: Uint8Array): { head: HttpResponseHead; first: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const n = view.getUint32(4, true);
  const headers = JSON.parse(fromUtf8.decode(bytes.subarray(16, 16 + n))) as Record<string, string>;
  return { head: { status: view.getUint32(0, true), headers, length: view.getFloat64(8, true) }, first: bytes.slice(16 + n) };
}

export function encodeOffset(offset: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, offset, true);
  return out;
}

export function decodeOffset(data: Uint8Array): number {
  return data.length === 8 ? new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, true) : -1;
}

/** A failure with a kind the isolate turns into a trap or a denial. */
export class HttpFailure extends Error {
  constructor(readonly kind: 'denied' | 'host-limit' | 'host-function', message: string) {
    super(message);
  }
}

export function encodeFailure(error: unknown): string {
  if (error instanceof HttpFailure) return `${error.kind}\u0000${error.message}`;
  return `host-function\u0000${error instanceof Error ? error.message : String(error)}`;
}

export function decodeFailure(text: string): { kind: string; message: string } {
  const at = text.indexOf('\u0000');
  return at < 0 ? { kind: 'host-function', message: text } : { kind: text.slice(0, at), message: text.slice(at + 1) };
}
