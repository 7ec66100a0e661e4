// Writing an answer: the guest's (already checked) headers, or an error, with
// Content-Length and the request id set by the server.

import type { ServerResponse } from 'node:http';
import { errorAnswer, type Answer } from './outcome.js';

const NO_BODY = new Uint8Array(0);

export function sendAnswer(res: ServerResponse, answer: Answer, requestId: string, closing: boolean): void {
  if (res.headersSent || res.destroyed) return;
  // 204 and 304 end at their head whatever the guest wrote after it (RFC 9110 15.3.5, 15.4.5). A Content-Length
  // the guest's body set there (forbidden on a 204) made a proxy that believes it read that many bytes of the
  // next response on the same connection, another client's or tenant's, as this one's body.
  const bodiless = answer.status === 204 || answer.status === 304;
  const body = bodiless ? NO_BODY : typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
  const headers: string[] = [];
  for (const [k, v] of answer.headers) headers.push(k, v);
  if (!bodiless) headers.push('Content-Length', String(body.length));
  headers.push('X-Request-Id', requestId);
  if (closing || answer.status === 413 || answer.status === 400) headers.push('Connection', 'close');
  try {
    res.writeHead(answer.status, headers);
  } catch {
    // A header the checks let through but Node refuses: answer 502 instead of failing.
    const fallback = errorAnswer(502, 'the handler\'s response was malformed', requestId);
    const text = Buffer.from(fallback.body as string);
    res.writeHead(502, ['Content-Type', 'application/json', 'Content-Length', String(text.length), 'X-Request-Id', requestId]);
    res.end(text);
    return;
  }
  res.end(body);
}
