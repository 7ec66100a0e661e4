// `warden deploy` and `warden rollback` against an --admin URL that is not a
// warden server, or one whose answer is cut: never a success (exit 0), always
// one line on stderr and exit 2; and with a $WARDEN_ADMIN_TOKEN no server could
// accept, or a store digest whose stored bytes were changed: one line, nothing
// sent. Real HTTP servers on loopback, the real CLI.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const TOKEN = 'admin-client-test-token-0123456789';

async function hostile(t: TestContext, answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const answers: Array<[string, (req: IncomingMessage, res: ServerResponse) => void]> = [
  ['a 200 HTML page', (_req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<html><body>welcome</body></html>'); }],
  ['a 200 JSON null', (_req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('null'); }],
  ['a 200 JSON array', (_req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('[{"digest": "x"}]'); }],
  ['a 200 JSON object without a digest', (_req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"ok": true}'); }],
  ['a 409 that is not JSON', (_req, res) => { res.writeHead(409, { 'Content-Type': 'text/plain' }); res.end('conflict'); }],
  ['an answer that never ends', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const more = () => { while (res.write(chunk)); };
    res.on('drain', more);
    more();
  }],
  ['an answer cut halfway', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4096' });
    res.write('{"tenant": "app", "digest": "sha256:');
    setImmediate(() => res.socket?.destroy());
  }],
];

describe('warden deploy/rollback against a server that is not warden', () => {
  for (const [what, answer] of answers) {
    it(`never reports success for ${what}: one line, exit 2`, async (t) => {
      const url = await hostile(t, answer);
      const dir = tempDir(t);
      const module = join(dir, 'm.wasm');
      writeFileSync(module, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
      for (const args of [['deploy', 'app', module, '--admin', url], ['rollback', 'app', '--admin', url]]) {
        const r = await runWarden(args, { env: { WARDEN_ADMIN_TOKEN: TOKEN } });
        assert.equal(r.code, 2, `${args[0]}: ${JSON.stringify(r)}`);
        assert.equal(r.stdout, '', args[0]);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^warden ${args[0]}: .*${url.replace(/[.]/g, '\\.')}`), r.stderr);
        assert.doesNotMatch(r.stderr, /internal error|undefined/, r.stderr);
      }
    });
  }
});

describe('warden deploy/rollback with a token no server could accept', () => {
  for (const [what, token] of [['only spaces', '   '], ['a line break inside', 'first-half-of-token\nsecond-half'], ['a space inside', 'first-half-of-token second-half'], ['a character outside ASCII', 'token-with-é-inside-0123456789']]) {
    it(`${what}: a usage error naming the variable, and nothing sent`, async (t) => {
      let requests = 0;
      const url = await hostile(t, (_req, res) => { requests++; res.writeHead(401, { 'Content-Type': 'application/json' }); res.end('{"error": "a valid bearer token is required"}'); });
      const r = await runWarden(['rollback', 'app', '--admin', url], { env: { WARDEN_ADMIN_TOKEN: token } });
      assert.equal(r.code, 2, JSON.stringify(r));
      assert.match(r.stderr, /^warden rollback: .*WARDEN_ADMIN_TOKEN.*\n$/);
      assert.doesNotMatch(r.stderr, /internal error/);
      assert.equal(requests, 0);
    });
  }
});

describe('warden deploy of a store digest whose stored bytes were changed', () => {
  it('refuses with one line naming the corruption, exit 2, and sends nothing', async (t) => {
    let requests = 0;
    const url = await hostile(t, (_req, res) => { requests++; res.writeHead(500); res.end('{}'); });
    const data = tempDir(t);
    const module = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);
    const digest = createHash('sha256').update(module).digest('hex');
    mkdirSync(join(data, 'blobs', 'sha256'), { recursive: true });
    // The bytes kept under the digest are not the module's any more.
    writeFileSync(join(data, 'blobs', 'sha256', digest), Uint8Array.of(...module, 0));
    const r = await runWarden(['deploy', 'app', `sha256:${digest}`, '--admin', url, '--data-dir', data], { env: { WARDEN_ADMIN_TOKEN: TOKEN } });
    assert.equal(r.code, 2, JSON.stringify(r));
    assert.match(r.stderr, /^warden deploy: the stored bytes for sha256:[0-9a-f]{64} are corrupted .*\n$/);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.equal(requests, 0);
  });
});

describe('warden deploy/rollback against a server that answers a byte at a time', () => {
  it('gives up at --timeout for the whole call, one line, exit 2; a zero --timeout is a usage error', async (t) => {
    // An idle timeout never fired for a server sending a byte now and then: the command waited for ever.
    const url = await hostile(t, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const drip = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(drip));
    });
    for (const args of [['rollback', 'app', '--admin', url, '--timeout', '600ms'], ['deploy', 'app', 'sha256:' + '0'.repeat(64), '--admin', url, '--timeout', '600ms', '--data-dir', tempDir(t)]]) {
      const r = await runWarden(args, { env: { WARDEN_ADMIN_TOKEN: TOKEN } });
      assert.equal(r.code, 2, JSON.stringify(r));
      assert.equal(r.stderr, `warden ${args[0]}: the admin API at ${url} did not answer within 0.6 s\n`);
    }
    for (const timeout of ['0s', '2', 'soon']) {
      const r = await runWarden(['rollback', 'app', '--admin', url, '--timeout', timeout], { env: { WARDEN_ADMIN_TOKEN: TOKEN } });
      assert.equal(r.code, 2, timeout);
      assert.match(r.stderr, /^warden rollback: --timeout: /, r.stderr);
    }
  });
});
