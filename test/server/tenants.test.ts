// Tenants over real HTTP: each sees only its own root, path tricks and
// sockets get nowhere, the hostile tenant's requests end with the right
// statuses while others keep answering, and error bodies reveal nothing.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { admin, eventually, example, http, serve, writeConfig, type Served, suiteHooks } from './harness.js';


function config(dataDir: string): string {
  return `
data-dir = "${dataDir}"
[server]
isolate-after = 0

[[tenant]]
id = "hello"
routes = ["/t/hello/..."]
module = "${example('hello.wasm')}"

[[tenant]]
id = "kv"
routes = ["/t/kv/..."]
module = "${example('kv.wasm')}"

[[tenant]]
id = "kv2"
routes = ["/t/kv2/...", "kv2.example/..."]
module = "${example('kv.wasm')}"

[[tenant]]
id = "kvp"
routes = ["/t/kvp/..."]
module = "${example('kv.wasm')}"
[tenant.policy]
isolation = "process"

[[tenant]]
id = "env"
routes = ["/t/env/..."]
module = "${example('env.wasm')}"
[tenant.limits]
body = "1KiB"

[[tenant]]
id = "envpass"
routes = ["/t/envpass/..."]
module = "${example('env.wasm')}"
pass-headers = ["authorization"]

[[tenant]]
id = "hostile"
routes = ["/t/hostile/..."]
module = "${example('hostile.wasm')}"
[tenant.policy.limits]
fuel = 20000000
output = "256KiB"

[[tenant]]
id = "spinner"
routes = ["/t/spinner/..."]
module = "${example('hostile.wasm')}"
[tenant.policy.limits]
fuel = 0
timeout = "300ms"

[[tenant]]
id = "net"
routes = ["/t/net/..."]
module = "${example('hostile-net.wasm')}"

[[tenant]]
id = "small"
routes = ["/t/small/..."]
module = "${example('kv.wasm')}"
[tenant.limits]
storage = "64KiB"
body = "64KiB"

[[tenant]]
id = "upload"
routes = ["/t/upload/..."]
module = "${example('hello.wasm')}"
[tenant.limits]
concurrency = 1
queue = 1
rate = 0

[[tenant]]
id = "narrow"
routes = ["/t/narrow/..."]
module = "${example('hostile.wasm')}"
[tenant.limits]
concurrency = 1
queue = 0
rate = 1
burst = 3
[tenant.policy.limits]
fuel = 0
timeout = "300ms"
`;
}

describe('warden serve: tenants', () => {
  let served: Served;
  let dataDir: string;
  const hooks = suiteHooks();
  before(async () => {
    const dir = tempDir(hooks);
    dataDir = `${dir}/data`;
    served = await serve(hooks, { config: writeConfig(dir, config(dataDir)), dataDir });
  });

  const get = (path: string, options?: Parameters<typeof http>[1]) => http(served.url + path, options);

  it('prints the listening and admin lines first', () => {
    assert.match(served.stdout[0]!, /^listening on http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(served.stdout[1]!, /^admin on http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('runs the hello tenant', async () => {
    const r = await get('/t/hello/');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Hello from wasm-warden!\n');
    assert.equal(r.headers['content-type'], 'text/plain');
  });

  it('gives two tenants the same module but separate roots', async () => {
    assert.equal((await get('/t/kv/secret', { method: 'PUT', body: 'kv-only' })).status, 201);
    assert.equal((await get('/t/kv/secret')).text, 'kv-only');
    assert.equal((await get('/t/kv2/secret')).status, 404);
    assert.equal((await get('/t/kv2/mine', { method: 'PUT', body: 'kv2-only' })).status, 201);
    assert.equal((await get('/t/kv/mine')).status, 404);
    // Host routing reaches the same tenant as its path route.
    assert.equal((await http(`${served.url}/mine`, { headers: { Host: 'kv2.example' } })).text, 'kv2-only');
    assert.equal(readFileSync(`${dataDir}/tenant/kv/kv/secret`, 'utf8'), 'kv-only');
    assert.equal(readFileSync(`${dataDir}/tenant/kv2/kv/mine`, 'utf8'), 'kv2-only');
    assert.equal(existsSync(`${dataDir}/tenant/kv2/kv/secret`), false);
  });

  it('runs a tenant pinned to process isolation with its own root', async () => {
    assert.equal((await get('/t/kvp/p', { method: 'PUT', body: 'in a process' })).status, 201);
    assert.equal((await get('/t/kvp/p')).text, 'in a process');
    assert.equal(readFileSync(`${dataDir}/tenant/kvp/kv/p`, 'utf8'), 'in a process');
    const tenants = JSON.parse((await admin(served, '/tenants')).text) as { tenants: Array<{ id: string; isolation: string }> };
    assert.equal(tenants.tenants.find((t) => t.id === 'kvp')!.isolation, 'process');
  });

  it('refuses every path out of the hostile tenant\'s root', async () => {
    await get('/t/kv/secret', { method: 'PUT', body: 'kv-only' });
    mkdirSync(`${dataDir}/outside`, { recursive: true });
    writeFileSync(`${dataDir}/outside/secret`, 'host secret');
    const hostPaths = [`${dataDir}/tenant/kv/kv/secret`, `${dataDir}/outside/secret`, '/etc/passwd', '/proc/self/environ'];
    const reads = ['../kv/kv/secret', '/../kv/kv/secret', '/../../tenant/kv/kv/secret', '../../outside/secret', 'kv/../../kv/kv/secret', '/./../kv/kv/secret', ...hostPaths];
    for (const path of reads) {
      const r = await get(`/t/hostile/read?${encodeURIComponent(path)}`);
      assert.equal(r.status, 200, path);
      assert.doesNotMatch(r.text, /ESCAPED/, `${path}: ${r.text}`);
      assert.doesNotMatch(r.text, /kv-only|host secret|root:/, path);
    }
    const targets = ['..', '../kv', '../../outside', '/', '/..', `${dataDir}/tenant/kv`, `${dataDir}/outside`, '.'];
    for (const target of targets) {
      const r = await get(`/t/hostile/symlink?${encodeURIComponent(target)}`);
      assert.equal(r.status, 200, target);
      assert.doesNotMatch(r.text, /ESCAPED/, `${target}: ${r.text}`);
    }
    // Dot segments in the URL are refused before routing: no path names one tenant and means another.
    // Percent-encoded dots are dots (RFC 3986 6.2.2.2): a proxy that normalises `/t/hostile/%2e%2e/kv/x` sees
    // /t/kv/x and would check that tenant's access while this server routed the request to hostile.
    for (const path of ['/t/hostile/../kv/secret', '/t/hostile/./x', '/t/kv/..', '/t/hostile/%2e%2e/x/..', '/t/env/a%00b',
      '/t/hostile/%2e%2e/kv/secret', '/t/hostile/%2E%2E/kv', '/t/hostile/.%2e/kv', '/t/hostile/%2e/x', '/t/hostile/x/%2e%2E']) {
      assert.match(await rawRequest(served.url, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 400 /, path);
    }
  });

  it('gives no network: a module importing socket calls is refused (502) and nothing runs', async () => {
    const r = await get('/t/net/');
    assert.equal(r.status, 502);
    assert.doesNotMatch(r.text, /sock_|ESCAPED/);
    const body = JSON.parse(r.text) as { request_id: string };
    assert.equal(body.request_id, r.headers['x-request-id']);
  });

  it('ends each hostile request with its status while the others keep answering', async () => {
    const attacks: Array<[string, number]> = [
      ['/t/hostile/spin', 503], ['/t/spinner/spin', 504], ['/t/hostile/grow', 503], ['/t/hostile/flood', 502],
      ['/t/hostile/no-headers', 502], ['/t/hostile/bad-headers', 502], ['/t/hostile/exit', 500],
    ];
    const hostile = attacks.map(async ([path, status]) => {
      const r = await get(path);
      assert.equal(r.status, status, `${path}: ${r.text}`);
      const body = JSON.parse(r.text) as { error: string; request_id: string };
      assert.equal(body.request_id, r.headers['x-request-id']);
      // Nothing of the host, the module or other tenants in an error body.
      assert.doesNotMatch(r.text, new RegExp(dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      assert.doesNotMatch(r.text, /wasm|sha256|kv|hello|unreachable|fuel budget/i);
    });
    const others = Array.from({ length: 10 }, async () => {
      const r = await get('/t/hello/');
      assert.equal(r.status, 200);
    });
    await Promise.all([...hostile, ...others]);
    assert.equal((await get('/t/kv/secret')).text, 'kv-only');
  });

  it('passes CGI variables and withholds credentials and proxy headers', async () => {
    const r = await get('/t/env/a%20b/c?x=1&y=2', {
      method: 'POST', body: 'hello',
      headers: { 'Content-Type': 'text/plain', Authorization: 'Bearer user-secret', Cookie: 'session=s', 'X-Forwarded-For': '10.0.0.1', Forwarded: 'for=10.0.0.1', 'X-Custom': 'yes', 'X_Custom': 'spoof' },
    });
    assert.equal(r.status, 200);
    const env = new Map(r.text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(env.get('REQUEST_METHOD'), 'POST');
    assert.equal(env.get('GATEWAY_INTERFACE'), 'CGI/1.1');
    assert.equal(env.get('SCRIPT_NAME'), '/t/env');
    assert.equal(env.get('PATH_INFO'), '/a b/c');
    assert.equal(env.get('X_RAW_PATH_INFO'), '/a%20b/c');
    assert.equal(env.get('QUERY_STRING'), 'x=1&y=2');
    assert.equal(env.get('X_MATCHED_ROUTE'), '/t/env/...');
    assert.match(env.get('X_FULL_URL')!, /^http:\/\/127\.0\.0\.1:\d+\/t\/env\/a%20b\/c\?x=1&y=2$/);
    assert.equal(env.get('CONTENT_TYPE'), 'text/plain');
    assert.equal(env.get('CONTENT_LENGTH'), '5');
    assert.equal(env.get('REMOTE_ADDR'), '127.0.0.1');
    assert.equal(env.get('SERVER_NAME'), '127.0.0.1');
    assert.equal(env.get('HTTP_X_CUSTOM'), 'yes');
    assert.equal(env.get('body-bytes'), '5');
    for (const withheld of ['HTTP_AUTHORIZATION', 'HTTP_COOKIE', 'HTTP_X_FORWARDED_FOR', 'HTTP_FORWARDED']) assert.equal(env.has(withheld), false, withheld);
    assert.doesNotMatch(r.text, /user-secret|session=s|spoof/);
    const passed = await get('/t/envpass/', { headers: { Authorization: 'Bearer user-secret', Cookie: 'session=s' } });
    assert.match(passed.text, /^HTTP_AUTHORIZATION=Bearer user-secret$/m);
    assert.doesNotMatch(passed.text, /session=s/);
  });

  it('answers oversized bodies 413, oversized headers 431 and garbage 400, and keeps serving', async () => {
    assert.equal((await get('/t/env/', { method: 'POST', body: 'x'.repeat(2048) })).status, 413);
    const chunked = await rawRequest(served.url, 'POST /t/env/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n' + 'y'.repeat(2048) + '\r\n0\r\n\r\n');
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    assert.match(await rawRequest(served.url, `GET /t/hello/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'z'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    assert.match(await rawRequest(served.url, 'THIS IS NOT HTTP\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await rawRequest(served.url, 'GET /t/hello/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'), /^HTTP\/1\.1 400 /);
    assert.match(await rawRequest(served.url, 'GET http://evil.example/t/hello/ HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400 /);
    // Two Host headers name two tenants (kv2 is routed by host): a proxy in front may believe the other one (RFC 9112 3.2: 400).
    for (const hosts of ['Host: kv2.example\r\nHost: x', 'Host: x\r\nHost: kv2.example', 'Host: kv2.example\r\nhost: kv2.example']) {
      assert.match(await rawRequest(served.url, `GET /t/hello/ HTTP/1.1\r\n${hosts}\r\n\r\n`), /^HTTP\/1\.1 400 /, hosts);
    }
    assert.equal((await get('/nowhere')).status, 404);
    assert.equal((await get('/t/hello/')).status, 200);
  });

  it('answers CONNECT 400 with a request id and closes the connection, and keeps serving', async () => {
    // Node closed a CONNECT's socket with no answer and no log line when the server had no 'connect' listener.
    const reply = await rawRequest(served.url, 'CONNECT kv2.example:443 HTTP/1.1\r\nHost: kv2.example:443\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /\r\nConnection: close\r\n/i);
    assert.match(reply, /\r\nx-request-id: [0-9a-f]{32}\r\n/i);
    assert.equal((await get('/t/hello/')).status, 200);
  });

  it('answers 429 with Retry-After when a tenant\'s queue or rate is exhausted', async () => {
    const replies = await Promise.all(Array.from({ length: 3 }, () => get('/t/narrow/spin')));
    const statuses = replies.map((r) => r.status).sort();
    assert.ok(statuses.includes(429), `statuses ${statuses}`);
    assert.ok(statuses.includes(504), `statuses ${statuses}`);
    for (const r of replies.filter((x) => x.status === 429)) assert.match(String(r.headers['retry-after']), /^\d+$/);
    // The bucket held 3; those are spent: the next is refused by rate.
    const limited = await get('/t/narrow/exit');
    assert.equal(limited.status, 429);
    assert.match(String(limited.headers['retry-after']), /^\d+$/);
    assert.equal((await get('/t/hello/')).status, 200);
  });

  it('counts requests still sending their bodies against the tenant\'s queue, and frees their places when they are cut off', async () => {
    // Bodies were read before a request took a place in the queue: any number of slow uploads to one tenant, each
    // held up to the body cap in the server's memory, passed a queue bound of 1 (the server's memory, not the tenant's limit).
    const { hostname, port } = new URL(served.url);
    const held: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      held.push(await new Promise<Socket>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(`POST /t/upload/ HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(10)}`);
          resolve(socket);
        });
        socket.on('error', reject);
      }));
    }
    try {
      // concurrency 1 + queue 1, both taken by the uploads in progress: a third request is refused.
      let last = 0;
      await eventually(async () => (last = (await get('/t/upload/', { method: 'POST', body: 'done' })).status) === 429, 'a third request refused while two uploads hold the tenant\'s places');
      assert.equal(last, 429);
    } finally {
      for (const socket of held) socket.destroy();
    }
    // Cut off mid-body, the uploads give their places back.
    await eventually(async () => (await get('/t/upload/', { method: 'POST', body: 'done' })).status === 200, 'the places freed by aborted uploads');
  });

  it('answers Expect: 100-continue with the final refusal before inviting the body, and with 100 when it will read it', async () => {
    // Node sent `100 Continue` for every such request before the server looked at it: a client announcing a body
    // over the tenant's cap (or to a tenant at its rate or queue limit, or to no route) was invited to upload it.
    const head = (path: string, length: number) => `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`;
    assert.match(await rawRequest(served.url, head('/t/env/', 1_000_000)), /^HTTP\/1\.1 413 /);
    assert.match(await rawRequest(served.url, head('/nowhere', 10)), /^HTTP\/1\.1 404 /);
    // A body the tenant takes is invited, then served.
    const { hostname, port } = new URL(served.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write(head('/t/env/', 5).replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n')));
      let text = '';
      socket.on('data', (d: Buffer) => {
        const first = text === '';
        text += d.toString('latin1');
        if (first) socket.write('hello');
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });

  it('holds a tenant to its storage quota: over it, nothing grows its root', async () => {
    const value = 'q'.repeat(40 * 1024);
    assert.equal((await get('/t/small/a', { method: 'PUT', body: value })).status, 201);
    assert.equal((await get('/t/small/b', { method: 'PUT', body: value })).status, 201);
    const refused = await get('/t/small/c', { method: 'PUT', body: value });
    assert.equal(refused.status, 507, refused.text);
    assert.equal((await get('/t/small/a')).text, value);
    assert.equal(existsSync(`${dataDir}/tenant/small/kv/c`), false);
  });

  it('logs a tenant\'s stderr within its budget and counts the rest', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get('/t/hostile/stderr')).status, 200);
    const lines = served.stderr().split('\n').filter((l) => l.includes('"kind":"stderr"')).map((l) => JSON.parse(l) as { tenant: string; text: string; dropped_bytes?: number });
    assert.ok(lines.length >= 1);
    for (const line of lines) {
      assert.equal(line.tenant, 'hostile');
      assert.ok(line.text.length <= 2048);
    }
    const logged = lines.reduce((n, l) => n + l.text.length, 0);
    assert.ok(logged <= 16 * 1024 + 4096, `logged ${logged}`);
    assert.ok(lines.some((l) => (l.dropped_bytes ?? 0) > 0));
  });

  it('reports requests, traps and limit hits in /metrics and per-tenant stats', async () => {
    const metrics = (await admin(served, '/metrics')).text;
    assert.match(metrics, /warden_requests_total\{status="200",tenant="hello"\} \d+/);
    assert.match(metrics, /warden_traps_total\{kind="deadline",tenant="spinner"\} \d+/);
    assert.match(metrics, /warden_traps_total\{kind="fuel",tenant="hostile"\} \d+/);
    assert.match(metrics, /warden_request_duration_seconds_bucket\{tenant="hello",le="\+Inf"\} \d+/);
    assert.match(metrics, /warden_isolate_replacements_total\{tenant="spinner"\} \d+/);
    assert.match(metrics, /warden_compiles_total\{tenant="hello"\} \d+/);
    assert.match(metrics, /warden_denied_total\{tenant="hostile"\} \d+/);
    const stats = JSON.parse((await admin(served, '/tenants/hostile/stats')).text) as { stats: { traps: Record<string, number>; denied: number } };
    assert.ok(stats.stats.traps.fuel! >= 1);
    assert.ok(stats.stats.denied >= 1);
    const audit = readFileSync(`${dataDir}/serve/audit.log`, 'utf8');
    assert.match(audit, /"event":"trap","tenant":"hostile"/);
    assert.match(audit, /"event":"denied","tenant":"hostile"/);
    assert.match(served.stderr(), /"kind":"request","request_id":"[^"]+","tenant":"hello","route":"\/t\/hello\/\.\.\.","method":"GET","status":200/);
  });
});

/** Sends raw bytes and returns what comes back before the server closes or 2 s pass. */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let reply = '';
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (/\r\n\r\n/.test(reply)) socket.destroy();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (reply ? resolve(reply) : error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(reply) : reject(error)));
    socket.on('close', () => resolve(reply));
    socket.setTimeout(5000, () => socket.destroy());
  });
}
