// Hostile guest output: random and mutated stdout bytes, parsed as a WAGI
// response and sent over real HTTP on loopback as the server sends them. The
// answer is 200, 302, the guest's own Status (200-599, only when it wrote a
// well-formed one) or 502; never a throw, never a header the guest may not
// set, never a split response.

import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { answerFor } from '../../src/server/outcome.js';
import { sendAnswer } from '../../src/server/respond.js';
import { parseGuestResponse } from '../../src/server/wagi.js';
import type { SandboxResult } from '../../src/sandbox/sandbox.js';

const RUNS = Number(process.env.WARDEN_FUZZ_RUNS ?? 300);

function finished(stdout: Uint8Array): SandboxResult {
  return {
    exitCode: 0, trap: null, stdout, stderr: new Uint8Array(0), limitsHit: [], denied: [], deniedCount: 0, fuelUsed: null,
    usage: { wallMs: 0, bytesWritten: 0, filesCreated: 0, outputBytes: stdout.length, peakMemoryBytes: 0 },
  } as SandboxResult;
}

/** The status the documented rules give an accepted stdout: its Status line's code, else 302 with a Location, else 200; 502 when refused. */
function expectedStatus(stdout: Uint8Array): number {
  if (typeof parseGuestResponse(stdout) === 'string') return 502;
  const text = Buffer.from(stdout).toString('latin1');
  const lines = text.slice(0, /\n\r?\n/.exec(text)!.index).split('\n').map((l) => l.replace(/\r$/, ''));
  const status = lines.find((l) => /^status:/i.test(l));
  if (status) return Number(status.slice(7).trim().slice(0, 3));
  return lines.some((l) => /^location:/i.test(l)) ? 302 : 200;
}

const headerLine = fc.oneof(
  fc.constantFrom('Content-Type: text/plain', 'Location: /x', 'Status: 404 Not Found', 'Status: 302', 'Status: 199', 'Status: 600', 'Status: abc',
    'Content-Length: 5', 'Transfer-Encoding: chunked', 'Connection: keep-alive', 'X-Request-Id: forged', 'Set-Cookie: a=b', 'X: a\rb', 'X: \u0000',
    'Bad Name: x', ': empty', 'no-colon', 'X-Long: ' + 'v'.repeat(70_000), 'content-type:text/html', '\tX: folded', 'Status: 503 Unavailable'),
  fc.tuple(fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 20 })).map(([n, v]) => `${n}: ${v}`),
);
const separator = fc.constantFrom('\n', '\r\n');
/** Heads the parser might accept, then a body; mutated by flipped, dropped and inserted bytes. */
const shaped = fc.tuple(fc.array(headerLine, { maxLength: 6 }), separator, fc.uint8Array({ maxLength: 64 })).map(([lines, sep, body]) => {
  const head = Buffer.from(lines.map((l) => l + sep).join('') + sep, 'latin1');
  return new Uint8Array(Buffer.concat([head, body]));
});
const mutated = fc.tuple(shaped, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'drop', 'insert')), { maxLength: 4 })).map(([bytes, edits]) => {
  const out = [...bytes];
  for (const [at, byte, kind] of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (kind === 'set' && out.length) out[i] = byte; else if (kind === 'drop') out.splice(i, 1); else out.splice(i, 0, byte);
  }
  return new Uint8Array(out);
});
const stdoutBytes = fc.oneof(fc.uint8Array({ maxLength: 256 }), shaped, mutated);

describe('guest responses, on hostile stdout', () => {
  let server: Server;
  let port = 0;
  before(async () => {
    // The server's own path from a finished run to the wire: answerFor, then sendAnswer.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => sendAnswer(res, answerFor(finished(new Uint8Array(Buffer.concat(chunks))), 'req-1'), 'req-1', false));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (stdout: Uint8Array) => new Promise<{ status: number; headers: Record<string, unknown>; raw: string[] }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'Content-Length': String(stdout.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw: res.rawHeaders }));
    });
    req.on('error', reject);
    req.end(stdout);
  });

  it('parses any bytes to a response or a reason, never throwing, with only headers a guest may set', () => {
    fc.assert(fc.property(stdoutBytes, (stdout) => {
      const parsed = parseGuestResponse(stdout);
      if (typeof parsed === 'string') return;
      assert.ok(parsed.status >= 200 && parsed.status <= 599);
      for (const [name, value] of parsed.headers) {
        assert.match(name, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
        assert.doesNotMatch(value, /[\r\n\0]/);
        assert.ok(!['content-length', 'transfer-encoding', 'connection', 'x-request-id', 'status'].includes(name.toLowerCase()));
      }
      assert.equal(parsed.status, expectedStatus(stdout));
    }), { numRuns: RUNS * 10 });
  });

  it('answers 200, 302, the guest\'s own well-formed Status or 502 over real HTTP, and the request id is the server\'s', async () => {
    await fc.assert(fc.asyncProperty(stdoutBytes, async (stdout) => {
      const reply = await send(stdout);
      assert.equal(reply.status, expectedStatus(stdout));
      assert.equal(reply.headers['x-request-id'], 'req-1');
      assert.equal(reply.raw.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-request-id').length, 1);
      assert.equal(reply.headers['transfer-encoding'], undefined);
    }), { numRuns: RUNS });
  });

  it('answers 502 for two Status lines (found by the property above: the last one used to win)', async () => {
    const twice = new Uint8Array(Buffer.from('Status: 503 Unavailable\nStatus: 302\nContent-Type: text/plain\n\n'));
    assert.equal(parseGuestResponse(twice), 'more than one Status header');
    assert.equal((await send(twice)).status, 502);
  });

  it('sends no Content-Length and no body with a 204 or 304, so a connection reused for the next response stays in step', async () => {
    // A guest wrote `Status: 204` and a body: the server sent `Content-Length: <its length>` with no body, which
    // RFC 9110 forbids on a 204; a proxy believing it reads that many bytes of the next response on the same
    // connection (another client's, another tenant's) as this one's body.
    for (const status of [204, 304]) {
      const stdout = Buffer.from(`Status: ${status}\nContent-Type: text/plain\n\n` + 'x'.repeat(40));
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${stdout.length}\r\n\r\n`);
          socket.write(stdout);
          const next = Buffer.from('Content-Type: text/plain\n\nnext');
          socket.write(`POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: ${next.length}\r\n\r\n`);
          socket.write(next);
        });
        let text = '';
        socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const headEnd = raw.indexOf('\r\n\r\n');
      const head = raw.slice(0, headEnd);
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.doesNotMatch(head, /^content-length:/im, `no Content-Length on a ${status}`);
      assert.match(raw.slice(headEnd + 4), /^HTTP\/1\.1 200 [^]*\r\n\r\nnext$/, `the next response follows the ${status}'s head at once`);
    }
  });

  it('answers 200, 302 or 502 for random bytes with no Status line', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 512 }).filter((b) => !/status:/i.test(Buffer.from(b).toString('latin1'))), async (stdout) => {
      assert.ok([200, 302, 502].includes((await send(stdout)).status));
    }), { numRuns: RUNS });
  });
});
