// A request body, read up to a cap and counted as it arrives, so a body past
// the cap is never held whole.

import type { IncomingMessage } from 'node:http';

const NO_BODY = new Uint8Array(0);

/**
 * The body of a request that has none, at once: neither Content-Length (or
 * a length of 0) nor Transfer-Encoding, which HTTP/1.1 says means no body
 * (bytes after the headers are the next request), so nothing is waited for;
 * its empty stream is resumed. Null when there may be a body (readBody).
 */
export function emptyBody(req: IncomingMessage): Uint8Array | null {
  const length = req.headers['content-length'];
  if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return NO_BODY;
  }
  return null;
}

/** Reads a request body up to `cap` bytes: the bytes, null when larger, 'aborted' when the client stopped. */
export function readBody(req: IncomingMessage, cap: number): Promise<Uint8Array | null | 'aborted'> {
  const none = emptyBody(req);
  if (none) return Promise.resolve(none);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: Uint8Array | null | 'aborted') => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      // Counted as it arrives: a body past the cap is never held whole.
      if (size > cap) { chunks.length = 0; finish(null); req.resume(); return; }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('aborted', () => finish('aborted'));
    req.once('error', () => finish('aborted'));
  });
}
