// Reloading the server-wide settings, through the library entry (the CLI's
// --listen/--admin flags would pin the addresses): a changed `listen` or
// `admin.listen` moves the listener while requests in flight on the old one
// finish there; a changed `server.workers` resizes the shared pool and the
// scheduler without cutting a run short; the keys a running server cannot
// change are reported per key with "restart to apply", in the reload's answer
// and in the log; an address that cannot be bound leaves the old one serving.

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { describe, it } from 'node:test';
import { startServer, type StartedServer } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, example, fixture, http, serve, TOKEN, writeConfig } from './harness.js';

/** A port that was free a moment ago (the test binds it next; a race with another process would fail loudly, not pass). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function table(dataDir: string, settings: { listen: string; admin: string; workers: number }): Record<string, unknown> {
  return {
    'listen': settings.listen,
    'data-dir': dataDir,
    'admin': { listen: settings.admin },
    // isolate-after 0: the spinning tenant stays thread-isolated however often it hits its deadline.
    'server': { 'workers': settings.workers, 'isolate-after': 0 },
    'tenant': [
      { id: 'hello', routes: ['/hello/...'], module: example('hello.wasm') },
      { id: 'kv', routes: ['/kv/...'], module: example('kv.wasm') },
      { id: 'app', routes: ['/app/...'], module: fixture('versioned-v1.wasm'), policy: { limits: { fuel: 0, timeout: '20s' } } },
      // Spins to its deadline on /spin/spin: a run that holds its worker for a while. The resize test
      // watches states that last only while such a run holds its worker (one runs and one waits,
      // then a reload, then both run): with 1.5 s, a reload slowed by a loaded machine outlasted
      // the first run, and "both run" was never seen. 4 s leaves the observation room.
      { id: 'spinner', routes: ['/spin/...'], module: example('hostile.wasm'), limits: { concurrency: 4 }, policy: { limits: { fuel: 0, timeout: '4s' } } },
    ],
  };
}

async function start(t: { after: (fn: () => Promise<void>) => void }, current: () => Record<string, unknown>): Promise<{ started: StartedServer; lines: string[] }> {
  const lines: string[] = [];
  const started = await startServer({ config: current, env: { WARDEN_ADMIN_TOKEN: TOKEN }, log: (line) => lines.push(line) });
  t.after(async () => { await started.stop(0); });
  return { started, lines };
}

const adminCall = (url: string, path: string, method = 'GET') => http(url + path, { method, headers: { Authorization: `Bearer ${TOKEN}` } });

/** A PUT whose body arrives in two parts: the request is in flight between them. */
function slowPut(url: string, first: string, rest: string): { sendRest: () => void; reply: Promise<{ status: number; text: string }> } {
  const target = new URL(url);
  let req!: ReturnType<typeof request>;
  const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'PUT', agent: false, headers: { 'Content-Length': String(first.length + rest.length) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.write(first);
  });
  return { sendRest: () => req.end(rest), reply };
}

describe('warden serve: reloading listen, admin and workers', () => {
  it('moves the tenants\' listener on reload; a request in flight on the old one is answered there, new ones go to the new address', async (t) => {
    const dataDir = `${tempDir(t)}/data`;
    const [a, b] = [await freePort(), await freePort()];
    let settings = { listen: `127.0.0.1:${a}`, admin: '127.0.0.1:0', workers: 2 };
    const { started, lines } = await start(t, () => table(dataDir, settings));
    const oldUrl = started.url;
    assert.equal(oldUrl, `http://127.0.0.1:${a}`);
    assert.equal((await http(`${oldUrl}/hello/`)).status, 200);

    // A request whose body is still arriving when the listener moves.
    const inFlight = slowPut(`${oldUrl}/kv/moved`, 'first half, ', 'second half');
    await eventually(async () => /warden_inflight_requests [1-9]/.test((await adminCall(started.adminUrl, '/metrics')).text), 'the PUT is being answered');
    settings = { ...settings, listen: `127.0.0.1:${b}` };
    const result = await started.reload();
    assert.deepEqual(result.rebound, [{ key: 'listen', url: `http://127.0.0.1:${b}` }]);
    assert.deepEqual(result.restartToApply, []);
    assert.deepEqual(result.failed, []);
    assert.equal(started.url, `http://127.0.0.1:${b}`);
    inFlight.sendRest();
    const answered = await inFlight.reply;
    assert.equal(answered.status, 201, answered.text);
    // The new address serves (and holds what the old one stored); the old one accepts nothing more.
    assert.equal((await http(`${started.url}/kv/moved`)).text, 'first half, second half');
    await assert.rejects(http(`${oldUrl}/hello/`), /ECONNREFUSED/);
    assert.ok(lines.some((l) => /"kind":"rebound","key":"listen","url":"http:\/\/127\.0\.0\.1:\d+"/.test(l)));
  });

  it('moves the admin listener, answering the reload that moved it on the old one', async (t) => {
    const dataDir = `${tempDir(t)}/data`;
    const port = await freePort();
    let settings = { listen: '127.0.0.1:0', admin: '127.0.0.1:0', workers: 2 };
    const { started } = await start(t, () => table(dataDir, settings));
    const oldAdmin = started.adminUrl;
    settings = { ...settings, admin: `127.0.0.1:${port}` };
    const reply = await adminCall(oldAdmin, '/reload', 'POST');
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual((JSON.parse(reply.text) as { rebound: unknown }).rebound, [{ key: 'admin.listen', url: `http://127.0.0.1:${port}` }]);
    assert.equal(started.adminUrl, `http://127.0.0.1:${port}`);
    const tenants = await adminCall(started.adminUrl, '/tenants');
    assert.equal(tenants.status, 200);
    assert.equal((await http(`${started.adminUrl}/tenants`)).status, 401);
    await eventually(async () => { try { await adminCall(oldAdmin, '/tenants'); return false; } catch { return true; } }, 'the old admin address is closed');
    // A port 0 address that did not change is not re-bound (it would pick another port).
    assert.deepEqual((await started.reload()).rebound, []);
  });

  it('moves a unix-socket admin listener to a new path: the new socket is 0600, the old file goes once its connections end', async (t) => {
    const dir = tempDir(t);
    const [first, second] = [`${dir}/admin-1.sock`, `${dir}/admin-2.sock`];
    let settings = { listen: '127.0.0.1:0', admin: `unix:${first}`, workers: 2 };
    const { started } = await start(t, () => table(`${dir}/data`, settings));
    assert.equal(started.adminUrl, `unix:${first}`);
    settings = { ...settings, admin: `unix:${second}` };
    assert.deepEqual((await started.reload()).rebound, [{ key: 'admin.listen', url: `unix:${second}` }]);
    assert.equal(statSync(second).mode & 0o777, 0o600);
    const viaSocket = (socketPath: string) => new Promise<number>((resolve, reject) => {
      const req = request({ socketPath, path: '/tenants', headers: { Authorization: `Bearer ${TOKEN}` }, agent: false }, (res) => { res.resume(); resolve(res.statusCode!); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(await viaSocket(second), 200);
    await eventually(async () => !existsSync(first), 'the old socket file is removed');
    await assert.rejects(viaSocket(first));
  });

  it('resizes the shared pool and the scheduler to a changed server.workers; runs in progress are never cut short', async (t) => {
    const dataDir = `${tempDir(t)}/data`;
    let settings = { listen: '127.0.0.1:0', admin: '127.0.0.1:0', workers: 1 };
    const { started, lines } = await start(t, () => table(dataDir, settings));
    const load = () => started.server.load;
    assert.equal(load().workers, 1);
    // Two requests that spin to their deadline: with one worker, one runs and one waits.
    const spinBoth = () => [http(`${started.url}/spin/spin`), http(`${started.url}/spin/spin`)];
    // A run that ends normally (the guest's own 404) clears the tenant's strikes, which would
    // otherwise hold it to one run at a time after two deadlines (Tenant.strike).
    const clearStrikes = async () => assert.equal((await http(`${started.url}/spin/none`)).status, 404);
    let answers = spinBoth();
    await eventually(async () => load().running === 1 && load().queued === 1, 'one runs, one waits');
    settings = { ...settings, workers: 2 };
    const grown = await started.reload();
    assert.deepEqual(grown.restartToApply, []);
    assert.equal(load().workers, 2);
    await eventually(async () => load().running === 2 && load().queued === 0, 'the waiting request takes the new worker');
    assert.match(lines.find((l) => l.includes('"kind":"workers"'))!, /"from":1,"to":2/);
    assert.deepEqual((await Promise.all(answers)).map((a) => a.status), [504, 504]);
    await clearStrikes();
    // Shrinking under two running requests: both run to their own end (their deadline), none is cut short.
    answers = spinBoth();
    await eventually(async () => load().running === 2, 'both run');
    settings = { ...settings, workers: 1 };
    await started.reload();
    assert.equal(load().workers, 1);
    assert.equal(load().running, 2);
    assert.deepEqual((await Promise.all(answers)).map((a) => a.status), [504, 504]);
    await clearStrikes();
    answers = spinBoth();
    await eventually(async () => load().running === 1 && load().queued === 1, 'one worker again: one runs, one waits');
    assert.deepEqual((await Promise.all(answers)).map((a) => a.status), [504, 504]);
    assert.equal((await http(`${started.url}/hello/`)).status, 200);
    const metrics = (await adminCall(started.adminUrl, '/metrics')).text;
    assert.match(metrics, /^warden_workers 1$/m);
  });

  it('reports a key a running server cannot change with "restart to apply", in the answer and one log line, and keeps serving', async (t) => {
    const dataDir = `${tempDir(t)}/data`;
    const settings = { listen: '127.0.0.1:0', admin: '127.0.0.1:0', workers: 2 };
    let maxHeader = '16KiB';
    const { started, lines } = await start(t, () => {
      const config = table(dataDir, settings);
      return { ...config, server: { ...(config.server as object), 'max-header': maxHeader } };
    });
    maxHeader = '32KiB';
    const result = await started.reload();
    assert.deepEqual(result.restartToApply, [{ key: 'server.max-header', from: '16384', to: '32768' }]);
    const pending = lines.filter((l) => l.includes('"kind":"reload-pending"'));
    assert.equal(pending.length, 1);
    assert.match(pending[0]!, /"key":"server.max-header","message":"server.max-header changed from 16384 to 32768: restart to apply"/);
    assert.equal((await http(`${started.url}/hello/`)).status, 200);
    // Back to the running value: nothing pending.
    maxHeader = '16KiB';
    assert.deepEqual((await started.reload()).restartToApply, []);
  });

  it('keeps the old address serving when the new one cannot be bound, and says so', async (t) => {
    const dataDir = `${tempDir(t)}/data`;
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    let settings = { listen: '127.0.0.1:0', admin: '127.0.0.1:0', workers: 2 };
    const { started } = await start(t, () => table(dataDir, settings));
    const before = started.url;
    settings = { ...settings, listen: `127.0.0.1:${(taken.address() as { port: number }).port}` };
    const result = await started.reload();
    assert.deepEqual(result.rebound, []);
    assert.equal(result.failed.length, 1);
    assert.match(result.failed[0]!.error, /^cannot listen on http:\/\/127\.0\.0\.1:\d+ \(EADDRINUSE\)$/);
    assert.equal(result.failed[0]!.key, 'listen');
    assert.equal(started.url, before);
    assert.equal((await http(`${before}/hello/`)).status, 200);
  });

  it('over SIGHUP, warden serve applies a changed server.workers and logs it', async (t) => {
    const dir = tempDir(t);
    const dataDir = `${dir}/data`;
    const text = (workers: number) => `data-dir = "${dataDir}"\n[server]\nworkers = ${workers}\n[[tenant]]\nid = "hello"\nroutes = ["/hello/..."]\nmodule = "${example('hello.wasm')}"\n`;
    const configPath = writeConfig(dir, text(2));
    const served = await serve(t, { config: configPath, dataDir });
    writeConfig(dir, text(4));
    served.child.kill('SIGHUP');
    await eventually(async () => served.stderr().includes('"kind":"reload"'), 'the reload is logged');
    assert.match(served.stderr(), /"kind":"workers","from":2,"to":4/);
    assert.doesNotMatch(served.stderr(), /reload-pending/);
    assert.equal((await http(`${served.url}/hello/`)).status, 200);
  });
});
