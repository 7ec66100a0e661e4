// http_request (Extism kernel ABI) against a real HTTP server on loopback:
// absent without a grant, exact origins only (redirects included), bounded by
// the deadline and the response limit, refused hosts recorded as denials; and
// the same plugin under @extism/extism with the same host allowed.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import createPlugin from '@extism/extism';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { AdmissionError } from '../../src/sandbox/prepare.js';
import { parsePolicyInput, type PolicyInput } from '../../src/policy/input.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const wasm = new Uint8Array(readFileSync(fixture('c', 'plugins', 'http-plugin.wasm')));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

let server: Server;
let origin = '';
let port = 0;
const seen: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (url === '/whoami') {
        res.end(`host=${req.headers.host} x-ok=${req.headers['x-ok'] ?? '-'} body=${Buffer.concat(chunks).toString()}`);
      } else if (url === '/hello') {
        res.end(`hello ${req.method} ${req.headers['x-plugin'] ?? '-'} ${Buffer.concat(chunks).toString()}`);
      } else if (url === '/redirect-here') {
        res.writeHead(302, { location: '/hello' }).end();
      } else if (url === '/redirect-away') {
        // The same server under another origin (a name instead of the address): not granted.
        res.writeHead(302, { location: `http://localhost:${port}/hello` }).end();
      } else if (url === '/big') {
        res.end(Buffer.alloc(300 * 1024, 0x61));
      } else if (url === '/slow') {
        // Never answers: only the deadline ends the wait.
      } else {
        res.writeHead(404).end('no such thing');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const granted = (): PolicyInput => ({ isolation: 'thread', limits: { timeout: '5s' }, plugin: { http_hosts: [origin], http_response: '256KiB' } });

describe('http_request', () => {
  it('the policy takes origins only: scheme http or https, a host, a port; no path, no credentials', () => {
    const hosts = (list: unknown[]) => parsePolicyInput({ plugin: { http_hosts: list as string[] } }).plugin.httpHosts;
    assert.deepEqual(hosts(['HTTPS://API.Example.com:443/', 'http://127.0.0.1:8080']), ['https://api.example.com', 'http://127.0.0.1:8080']);
    for (const bad of ['ftp://example.com', 'https://example.com/path', 'https://user:pw@example.com', 'example.com', 'https://*.example.com', 7]) {
      assert.throws(() => hosts([bad]), /plugin\.http_hosts\[0\]/, String(bad));
    }
  });

  it('is refused at admission without a grant, and outside thread isolation', async () => {
    const none = await createSandbox({ isolation: 'thread' });
    try {
      await assert.rejects(none.callPlugin(wasm, 'get', `${origin}/hello`), (e: AdmissionError) => e instanceof AdmissionError && /http_request.*plugin\.http_hosts/.test(e.message));
    } finally {
      await none.close();
    }
    const inline = await createSandbox({ isolation: 'none', plugin: { http_hosts: [origin] } });
    try {
      await assert.rejects(inline.callPlugin(wasm, 'get', `${origin}/hello`), (e: AdmissionError) => e instanceof AdmissionError && /thread isolation/.test(e.message));
    } finally {
      await inline.close();
    }
  });

  it('reaches a granted origin: GET and POST with headers and a body, by callPlugin and in a session', async () => {
    const sandbox = await createSandbox(granted());
    try {
      const get = await sandbox.callPlugin(wasm, 'get', `${origin}/hello`);
      assert.equal(get.trap, null);
      assert.equal(text(get.plugin.output), '200 hello GET warden-test ');
      const post = await sandbox.callPlugin(wasm, 'post', `${origin}/hello`);
      assert.equal(text(post.plugin.output), '200 hello POST warden-test ping from the plugin');
      const missing = await sandbox.callPlugin(wasm, 'get', `${origin}/nothing`);
      assert.equal(text(missing.plugin.output), '404 no such thing');
      const session = await sandbox.plugin(wasm);
      try {
        for (let i = 0; i < 2; i++) assert.equal(text((await session.call('get', `${origin}/hello`)).plugin.output), '200 hello GET warden-test ');
      } finally {
        await session.close();
      }
    } finally {
      await sandbox.close();
    }
  });

  it('a host not granted (another port, a name for the same address) is a denial, and nothing is sent', async () => {
    const sandbox = await createSandbox(granted());
    try {
      const before = seen.length;
      for (const url of [`http://127.0.0.1:${port + 1}/hello`, `http://localhost:${port}/hello`, `https://127.0.0.1:${port}/hello`]) {
        const r = await sandbox.callPlugin(wasm, 'get', url);
        assert.equal(r.trap?.kind, 'host-function');
        assert.match(r.trap!.message, /not granted/);
        assert.equal(r.deniedCount, 1);
        assert.equal(r.denied[0]?.call, 'http_request');
        assert.equal(r.denied[0]?.detail, url);
      }
      assert.equal(seen.length, before);
    } finally {
      await sandbox.close();
    }
  });

  it('lookalikes of the granted origin are denied; other spellings of it reach it and nothing else', async () => {
    const sandbox = await createSandbox(granted());
    try {
      const before = seen.length;
      // A granted address as a subdomain, as userinfo before another host, as an IPv4-mapped IPv6 literal, on a trailing-dot name.
      for (const url of [`http://127.0.0.1.evil.invalid:${port}/hello`, `http://127.0.0.1:${port}@evil.invalid/hello`, `http://[::ffff:127.0.0.1]:${port}/hello`, `http://localhost.:${port}/hello`]) {
        const r = await sandbox.callPlugin(wasm, 'get', url);
        assert.equal(r.trap?.kind, 'host-function', url);
        assert.match(r.trap!.message, /not granted/, url);
        assert.equal(r.deniedCount, 1, url);
      }
      // Credentials written into a denied URL stay out of the denial record (and so out of the audit log).
      const secret = await sandbox.callPlugin(wasm, 'get', `http://user:s3cret@127.0.0.1:${port + 1}/hello`);
      assert.equal(secret.deniedCount, 1);
      assert.equal(secret.denied[0]?.detail, `http://127.0.0.1:${port + 1}/hello`);
      assert.equal(seen.length, before, 'a denied request sends nothing');
      // Upper case, a short IPv4 form and credentials before the granted host all name the granted origin: they reach it.
      for (const url of [`HTTP://127.0.0.1:${port}/hello`, `http://127.1:${port}/hello`, `http://evil.invalid@127.0.0.1:${port}/hello`]) {
        const r = await sandbox.callPlugin(wasm, 'get', url);
        assert.equal(r.trap, null, url);
        assert.equal(r.deniedCount, 0, url);
      }
      assert.deepEqual(seen.slice(before), ['GET /hello', 'GET /hello', 'GET /hello']);
    } finally {
      await sandbox.close();
    }
  });

  it('the host decides Host and the framing: a plugin cannot name another virtual host or smuggle a request', async () => {
    const sandbox = await createSandbox(granted());
    try {
      const request = JSON.stringify({
        url: `${origin}/whoami`, method: 'POST',
        headers: { Host: 'internal.example', 'Content-Length': '4', 'Transfer-Encoding': 'chunked', 'X-Ok': 'yes' },
      });
      const before = seen.length;
      const r = await sandbox.callPlugin(wasm, 'raw', request);
      assert.equal(r.trap, null, r.trap?.message);
      assert.equal(text(r.plugin.output), `200 host=127.0.0.1:${port} x-ok=yes body=body of the request`);
      // One request reached the server, whole: nothing of the body was read as a second one.
      assert.deepEqual(seen.slice(before), ['POST /whoami']);
    } finally {
      await sandbox.close();
    }
  });

  it('follows a redirect within the granted origin, and refuses one that leaves it (a denial)', async () => {
    const sandbox = await createSandbox(granted());
    try {
      const here = await sandbox.callPlugin(wasm, 'get', `${origin}/redirect-here`);
      assert.equal(text(here.plugin.output), '200 hello GET warden-test ');
      const before = seen.length;
      const away = await sandbox.callPlugin(wasm, 'get', `${origin}/redirect-away`);
      assert.equal(away.trap?.kind, 'host-function');
      assert.match(away.trap!.message, /redirected/);
      assert.deepEqual(away.denied.map((d) => d.detail), [`http://localhost:${port}/hello`]);
      // The server saw the redirecting request only: the redirect's target was never asked for.
      assert.deepEqual(seen.slice(before), ['GET /redirect-away']);
    } finally {
      await sandbox.close();
    }
  });

  it('a response larger than plugin.http_response ends the call (host-limit)', async () => {
    const sandbox = await createSandbox(granted());
    try {
      const r = await sandbox.callPlugin(wasm, 'get', `${origin}/big`);
      assert.equal(r.trap?.kind, 'host-limit', r.trap?.message);
      const roomy = await createSandbox({ ...granted(), plugin: { http_hosts: [origin], http_response: '1MiB' } });
      try {
        // Under the limit, a body larger than one channel reply comes through whole.
        const ok = await roomy.callPlugin(wasm, 'get', `${origin}/big`);
        assert.equal(ok.trap, null);
        assert.equal(ok.plugin.output.length, 4 + 300 * 1024);
      } finally {
        await roomy.close();
      }
    } finally {
      await sandbox.close();
    }
  });

  it('a server that never answers is bounded by the deadline', async () => {
    const sandbox = await createSandbox({ ...granted(), limits: { timeout: '400ms' } });
    try {
      const r = await sandbox.callPlugin(wasm, 'get', `${origin}/slow`);
      assert.equal(r.trap?.kind, 'deadline');
      assert.equal(r.plugin.rc, null);
    } finally {
      await sandbox.close();
    }
  });

  it('warden call: granted by a policy file, refused without one with the fix named', async (t) => {
    const policy = join(tempDir(t), 'policy.toml');
    writeFileSync(policy, `[plugin]\nhttp_hosts = ["${origin}"]\n`);
    const plugin = fixture('c', 'plugins', 'http-plugin.wasm');
    const ok = await runWarden(['call', '--policy', policy, plugin, 'get', '--input', '-'], { input: `${origin}/hello` });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '200 hello GET warden-test ');
    const refused = await runWarden(['call', plugin, 'get', '--input', '-'], { input: `${origin}/hello` });
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /http_hosts/);
  });

  it('gives the same output as @extism/extism with the same host allowed', async () => {
    const sandbox = await createSandbox(granted());
    const peer = await createPlugin({ wasm: [{ data: wasm }] }, { useWasi: false, runInWorker: true, allowedHosts: ['127.0.0.1'] });
    try {
      for (const [fn, path] of [['get', '/hello'], ['post', '/hello'], ['get', '/nothing'], ['get', '/redirect-here']] as const) {
        const mine = await sandbox.callPlugin(wasm, fn, `${origin}${path}`);
        const theirs = await peer.call(fn, `${origin}${path}`);
        assert.equal(mine.trap, null);
        assert.deepEqual(mine.plugin.output, theirs!.bytes(), `${fn} ${path}`);
      }
    } finally {
      await peer.close();
      await sandbox.close();
    }
  });
});
