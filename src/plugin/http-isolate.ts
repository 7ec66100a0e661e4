// The isolate's side of a plugin's http_request: checks the origin against
// the grant here (a refused host is a denial in the record, and costs no
// crossing), then asks the embedder's thread over the channel and waits,
// never past the call's deadline; the body comes back in pieces.

import { GuestTrap } from '../wasi/trap.js';
import { allowedUrl, urlForRecord } from './http-allow.js';
import type { KernelNetwork } from './extism-kernel.js';
import { decodeFailure, decodeResponse, encodeOffset, encodeRequest, HTTP_BODY, HTTP_REQUEST } from './http-wire.js';

/** The channel's synchronous call, as the isolate has it (IsolateChannel.callWith with its memory bound). */
export type SyncCall = (fn: number, data: Uint8Array) => { status: number; bytes: Uint8Array };

const OK = 0;
const fromUtf8 = new TextDecoder();

export function channelNetwork(call: SyncCall, grant: { origins: readonly string[]; maxResponseBytes: number }, limit: number, deny: (url: string) => void): KernelNetwork {
  const fail = (bytes: Uint8Array): never => {
    const { kind, message } = decodeFailure(fromUtf8.decode(bytes));
    if (kind === 'denied') {
      deny(message);
      throw new GuestTrap('host-function', `http_request: redirected to ${message}, whose origin the policy does not grant (plugin.http_hosts)`);
    }
    throw new GuestTrap(kind === 'host-limit' ? 'host-limit' : 'host-function', message || 'http_request failed');
  };
  return {
    request(head, body) {
      let url: URL;
      try {
        url = new URL(head.url);
      } catch {
        throw new GuestTrap('host-function', `http_request: ${JSON.stringify(head.url.slice(0, 200))} is not a URL`);
      }
      // The allowlist: exact origins only. A refusal is recorded as a denial and ends the call, as a failed request would.
      if (!allowedUrl(url, grant.origins)) {
        deny(urlForRecord(url));
        throw new GuestTrap('host-function', `http_request: ${url.origin} is not granted (plugin.http_hosts)`);
      }
      const data = encodeRequest({ ...head, url: url.href }, body);
      if (data.length > limit) throw new GuestTrap('host-limit', `http_request: a request (head and body) larger than ${limit} bytes`);
      const first = call(HTTP_REQUEST, data);
      if (first.status !== OK) fail(first.bytes);
      const { head: response, first: start } = decodeResponse(first.bytes);
      // The host bounded the body by the policy; the isolate holds no more than that either.
      if (!Number.isInteger(response.length) || response.length < start.length || response.length > grant.maxResponseBytes) throw new GuestTrap('host-function', 'http_request: a malformed reply');
      const out = new Uint8Array(response.length);
      out.set(start);
      for (let at = start.length; at < out.length;) {
        const piece = call(HTTP_BODY, encodeOffset(at));
        if (piece.status !== OK) fail(piece.bytes);
        if (piece.bytes.length === 0) throw new GuestTrap('host-function', 'http_request: the body ended early');
        const n = Math.min(piece.bytes.length, out.length - at);
        out.set(piece.bytes.subarray(0, n), at);
        at += n;
      }
      return { status: response.status, headers: response.headers, body: out };
    },
  };
}
