// `warden serve` under load, on loopback, one run, same-run ratios.
//
// Fixed conditions: autocannon in this process (one load generator), 10
// connections, thread isolation, deadline and fuel on, a fresh instance per
// request. Each server runs in its own child process.
//
//  1. hello: warden serve vs a plain node:http server returning the same bytes
//     vs a node:http server running the same module under node:wasi per request,
//     and the floor of any thread-isolated design: a node:http server that makes
//     one round trip to a worker thread per request and runs nothing, over three
//     crossings (postMessage; warden's job bell; shared memory both ways), with
//     every server's CPU per request and the load average beside them;
//  2. noisy neighbour: hello's latency while another tenant spins to its deadline;
//  3. 1,000 configured tenants: idle memory per tenant, and requests spread across them;
//  4. first request after a deploy (admit + compile + run);
//  5. a soak recording the server's RSS.
//
//   npm run bench:serve [-- --seconds 5 --soak 30]     (--soak 60 for the full minute; --only 1 for section 1 alone;
//                                                       --concurrency N: each tenant's runs at once, default the server's 2)

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { argValue, table } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const warden = join(root, 'bin', 'warden.cjs');
const helloPath = join(root, 'examples', 'tenants', 'hello.wasm');
const hostilePath = join(root, 'examples', 'tenants', 'hostile.wasm');
const seconds = argValue('seconds', 5);
const soakSeconds = argValue('soak', 30);
/** `--only 1`: the hello comparison alone (section 1), for repeated runs. */
const only = argValue('only', 0);
/** `--concurrency N`: each tenant's runs at once (its queue takes the rest); 0, the default, keeps the server's default (2). */
const tenantConcurrency = argValue('concurrency', 0);
const work = mkdtempSync(join(tmpdir(), 'warden-bench-serve-'));
const children: ChildProcess[] = [];
const TOKEN = 'bench-admin-token-0123456789abcdef';

process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface Started { url: string; admin: string | null; child: ChildProcess }

function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, WARDEN_ADMIN_TOKEN: TOKEN, ...env } });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      const url = /^listening on (\S+)/.exec(lines[0] ?? '')?.[1];
      if (url && (args[1] !== 'serve' || lines.length > 2)) resolve({ url, admin: /^admin on (\S+)/.exec(lines[1] ?? '')?.[1] ?? null, child });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

async function stop(s: Started): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

function serveConfig(name: string, tenants: string): string {
  const path = join(work, `${name}.toml`);
  writeFileSync(path, `[server]\nworkers = 4\nlive-sandboxes = 8\n${tenants}`);
  return path;
}

const limits = `[tenant.limits]\nrate = 0\nqueue = 64\n${tenantConcurrency ? `concurrency = ${tenantConcurrency}\n` : ''}[tenant.policy.limits]\nfuel = 200000000\ntimeout = "2s"\n`;
const helloTenant = (id: string, route = `/t/${id}/...`) => `\n[[tenant]]\nid = "${id}"\nroutes = ["${route}"]\nmodule = "${helloPath}"\n${limits}`;

function startWarden(config: string, name: string): Promise<Started> {
  return start([warden, 'serve', '--config', config, '--listen', '127.0.0.1:0', '--data-dir', join(work, `data-${name}`)]);
}

interface Load { rps: number; p50: number; p99: number; errors: number; non2xx: number; requests: number }

async function load(url: string, options: { connections?: number; duration?: number; paths?: () => string } = {}): Promise<Load> {
  const result = await autocannon({
    url, connections: options.connections ?? 10, duration: options.duration ?? seconds, workers: 0,
    ...(options.paths ? { requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: options.paths!() }) }] } : {}),
  } as autocannon.Options);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx, requests: result.requests.total };
}

const warm = (url: string, paths?: () => string) => load(url, { duration: 1, ...(paths ? { paths } : {}) });

/** CPU ticks (1/100 s) a process has used, on its main thread and on all its other threads; NaN once it has exited. */
function cpuTicks(pid: number): { main: number; others: number } {
  const out = { main: 0, others: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // The server is gone (it crashed under the load): its row says n/a rather than the benchmark dying.
    return { main: Number.NaN, others: Number.NaN };
  }
  for (const tid of tids) {
    try {
      // Fields after the command name: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number(tid) === pid) out.main += ticks; else out.others += ticks;
    } catch { /* a thread that ended meanwhile */ }
  }
  return out;
}

/** Runs `load` and says how much CPU the server used per request, on its main thread and its other threads (µs). */
async function withCpu(pid: number, run: () => Promise<Load>): Promise<Load & { mainUs: number; othersUs: number }> {
  const before = cpuTicks(pid);
  const result = await run();
  const after = cpuTicks(pid);
  const per = (ticks: number) => (ticks * 10_000) / Math.max(1, result.requests);
  return { ...result, mainUs: per(after.main - before.main), othersUs: per(after.others - before.others) };
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

const row = (name: string, l: Load, base?: Load) => [name, l.rps.toFixed(0), l.p50.toFixed(2), l.p99.toFixed(2), base ? (l.rps / base.rps).toFixed(2) : '1.00', `${l.errors + l.non2xx}`];
const headers = ['server', 'req/s', 'p50 ms', 'p99 ms', 'x plain', 'failed'];

// A plain node:http server and a node:wasi-per-request server, each in its own process.
const plainScript = `
const http = require('node:http');
const body = Buffer.from('Hello from wasm-warden!\\n');
const s = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length }); res.end(body); });
s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
`;
const wasiScript = `
const http = require('node:http');
const fs = require('node:fs');
const { WASI } = require('node:wasi');
const module = new WebAssembly.Module(fs.readFileSync(${JSON.stringify(helloPath)}));
const dir = fs.mkdtempSync(${JSON.stringify(join(work, 'wasi-'))});
let n = 0;
const s = http.createServer((req, res) => {
  // A fresh instance per request; stdout captured through a file, as node:wasi needs a descriptor.
  const path = dir + '/out' + (n++ % 64);
  const fd = fs.openSync(path, 'w+');
  const wasi = new WASI({ version: 'preview1', args: ['hello'], env: { REQUEST_METHOD: req.method, PATH_INFO: req.url }, stdout: fd, returnOnExit: true });
  wasi.start(new WebAssembly.Instance(module, wasi.getImportObject()));
  const out = fs.readFileSync(path);
  fs.closeSync(fd);
  const split = out.indexOf('\\n\\n');
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': out.length - split - 2 });
  res.end(out.subarray(split + 2));
});
s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
`;

// The floor of any thread-isolated design: one main → worker → main round trip
// per request (4 workers, as warden's pool), no wasm, in three crossings:
//  - postMessage both ways, the worker idle in its event loop;
//  - warden's own crossing: the job posted, then a shared-memory job bell rung
//    (Atomics.notify) for a worker idle in Atomics.wait, which takes the job
//    with receiveMessageOnPort and posts its answer (src/sandbox/channel.ts);
//  - shared memory both ways: the bell rung, the answer a counter the main
//    thread waits on with Atomics.waitAsync (no message at all).
const floorServer = (setup: string, send: string) => `
const http = require('node:http');
const { Worker } = require('node:worker_threads');
const body = Buffer.from('Hello from wasm-warden!\\n');
const idle = [];
const waiting = [];
const answered = (w) => { const done = w.done; w.done = null; done(); const next = waiting.shift(); if (next) next(w); else idle.push(w); };
for (let i = 0; i < 4; i++) {
  ${setup}
  idle.push(w);
}
const s = http.createServer((req, res) => {
  const go = (w) => { w.done = () => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length }); res.end(body); }; ${send} };
  const w = idle.pop();
  if (w) go(w); else waiting.push(go);
});
s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
`;
const roundTripScript = floorServer(
  `const w = new Worker("const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));", { eval: true });
  w.on('message', () => answered(w));`,
  'w.postMessage(1);');
// Worker: wait on the bell, take the job from the port synchronously, answer by message (as src/sandbox/worker-entry.ts).
const bellWorker = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { port, sab } = workerData;
const i32 = new Int32Array(sab);
for (;;) {
  const rung = Atomics.load(i32, 0);
  const m = receiveMessageOnPort(port);
  if (m) { port.postMessage(m.message); continue; }
  Atomics.wait(i32, 0, rung);
}`;
const bellScript = floorServer(
  `const { port1, port2 } = new (require('node:worker_threads').MessageChannel)();
  const sab = new SharedArrayBuffer(8);
  const w = new Worker(${JSON.stringify(bellWorker)}, { eval: true, workerData: { port: port2, sab }, transferList: [port2] });
  w.i32 = new Int32Array(sab); w.port = port1;
  port1.on('message', () => answered(w));`,
  'w.port.postMessage(1); Atomics.add(w.i32, 0, 1); Atomics.notify(w.i32, 0);');
// Worker: wait on the bell; answer by bumping a counter the main thread waits on with Atomics.waitAsync.
const sharedWorker = `
const { workerData } = require('node:worker_threads');
const i32 = new Int32Array(workerData.sab);
let seen = 0;
for (;;) {
  const rung = Atomics.load(i32, 0);
  if (rung !== seen) { seen = rung; Atomics.add(i32, 1, 1); Atomics.notify(i32, 1); continue; }
  Atomics.wait(i32, 0, rung);
}`;
const sharedScript = floorServer(
  `const sab = new SharedArrayBuffer(8);
  const w = new Worker(${JSON.stringify(sharedWorker)}, { eval: true, workerData: { sab } });
  w.i32 = new Int32Array(sab);`,
  'const replies = Atomics.load(w.i32, 1); Atomics.add(w.i32, 0, 1); Atomics.notify(w.i32, 0); const r = Atomics.waitAsync(w.i32, 1, replies); if (r.async) r.value.then(() => answered(w)); else answered(w);');

/** Starts a server script, loads it for `seconds` after a warm-up second, and stops it; with the CPU it used per request. */
async function measureScript(script: string): Promise<Load & { mainUs: number; othersUs: number }> {
  const server = await start(['--no-warnings', '-e', script]);
  await warm(server.url);
  const result = await withCpu(server.child.pid!, () => load(server.url));
  await stop(server);
  return result;
}

console.log(`wasm-warden serve benchmark: ${seconds}s per run, 10 connections, one load generator, loopback\n`);

// 1. hello beside its peers.
const plainLoad = await measureScript(plainScript);
const wasiLoad = await measureScript(wasiScript);
const roundTripLoad = await measureScript(roundTripScript);
const bellLoad = await measureScript(bellScript);
const sharedLoad = await measureScript(sharedScript);
const two = await startWarden(serveConfig('two', helloTenant('hello') + helloTenant('other')), 'two');
const helloUrl = `${two.url}/t/hello/`;
await new Promise((r) => setTimeout(r, 500));
// Idle: configured, no request yet (so no tenant has started its isolates).
const idleTwoKb = rssKb(two.child.pid!);
await warm(helloUrl);
const wardenLoad = await withCpu(two.child.pid!, () => load(helloUrl));
const loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
// On a machine with few cores, throughput is CPU per request: where it goes (threads other than the main one: workers and V8's helpers).
const us = (l: { mainUs: number; othersUs: number }) => [l.mainUs, l.othersUs].map((v) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a'));
console.log(`1. hello tenant (fresh instance per request; warden: thread isolation, fuel 2e8, deadline 2s); load average ${loadAverage} on ${availableParallelism()} cores\n`);
console.log(table([...headers, 'CPU µs/req main', 'other threads'], [
  [...row('plain node:http, same bytes', plainLoad), ...us(plainLoad)],
  [...row('node:http + node:wasi per request', wasiLoad, plainLoad), ...us(wasiLoad)],
  [...row('floor: a worker round trip, postMessage both ways', roundTripLoad, plainLoad), ...us(roundTripLoad)],
  [...row('floor: job bell + posted answer (warden\'s crossing)', bellLoad, plainLoad), ...us(bellLoad)],
  [...row('floor: shared memory both ways (bell, waitAsync)', sharedLoad, plainLoad), ...us(sharedLoad)],
  [...row('warden serve', wardenLoad, plainLoad), ...us(wardenLoad)],
]));
console.log(`\n   warden / node:wasi throughput: ${(wardenLoad.rps / wasiLoad.rps).toFixed(2)}; warden / its own crossing's floor: ${(wardenLoad.rps / bellLoad.rps).toFixed(2)}`);
if (only === 1) process.exit(0);

// 2. Noisy neighbour: another tenant spinning to its deadline on every request.
await stop(two);
const noisy = await startWarden(serveConfig('noisy', helloTenant('hello') + `\n[[tenant]]\nid = "spinner"\nroutes = ["/t/spinner/..."]\nmodule = "${hostilePath}"\n[tenant.limits]\nrate = 0\n[tenant.policy.limits]\nfuel = 0\ntimeout = "100ms"\n`), 'noisy');
const noisyHello = `${noisy.url}/t/hello/`;
await warm(noisyHello);
const alone = await load(noisyHello);
const spinning = load(`${noisy.url}/t/spinner/spin`, { connections: 2, duration: seconds + 1 });
await new Promise((r) => setTimeout(r, 500));
const withNeighbour = await load(noisyHello);
const spun = await spinning;
console.log('\n2. noisy neighbour: hello alone, then beside a tenant spinning to its 100 ms deadline (2 connections)\n');
console.log(table(['hello', 'req/s', 'p50 ms', 'p99 ms', 'p99 x alone', 'failed'], [
  ['alone', alone.rps.toFixed(0), alone.p50.toFixed(2), alone.p99.toFixed(2), '1.00', `${alone.errors + alone.non2xx}`],
  ['with the spinner', withNeighbour.rps.toFixed(0), withNeighbour.p50.toFixed(2), withNeighbour.p99.toFixed(2), (withNeighbour.p99 / alone.p99).toFixed(2), `${withNeighbour.errors + withNeighbour.non2xx}`],
]));
console.log(`   spinner: ${spun.requests} requests answered (504 at its deadline; 429 once it runs one request a second for repeatedly hitting it)`);
await stop(noisy);

// 3. 1,000 configured tenants.
let many = '';
for (let i = 0; i < 1000; i++) many += helloTenant(`n${i}`);
const thousand = await startWarden(serveConfig('thousand', many), 'thousand');
await new Promise((r) => setTimeout(r, 500));
const idleThousandKb = rssKb(thousand.child.pid!);
const spread = () => `/t/n${Math.floor(Math.random() * 1000)}/`;
const few = () => `/t/n${Math.floor(Math.random() * 2)}/`;
await warm(thousand.url, few);
const twoTenants = await load(thousand.url, { paths: few });
const spreadLoad = await load(thousand.url, { paths: spread });
// Thread-isolated tenants' sandboxes run on the server's shared pool: after the spread, most of the 1,000 hold a live one.
const liveThousandKb = rssKb(thousand.child.pid!);
console.log('\n3. 1,000 configured tenants (sandboxes started on demand, on the shared worker pool)\n');
console.log(`   idle RSS (configured, before any request): ${(idleThousandKb / 1024).toFixed(1)} MiB with 1,000 tenants vs ${(idleTwoKb / 1024).toFixed(1)} MiB with 2: ${((idleThousandKb - idleTwoKb) / 998).toFixed(1)} KB per extra tenant`);
console.log(`   RSS after the spread (live sandboxes on the shared pool): ${(liveThousandKb / 1024).toFixed(1)} MiB: ${((liveThousandKb - idleTwoKb) / 998).toFixed(1)} KB per extra tenant`);
console.log(table(['requests to', 'req/s', 'p50 ms', 'p99 ms', 'p99 x the 2-tenant server (1.)', 'failed'], [
  ['1 of the 2-tenant server (1.)', wardenLoad.rps.toFixed(0), wardenLoad.p50.toFixed(2), wardenLoad.p99.toFixed(2), '1.00', `${wardenLoad.errors + wardenLoad.non2xx}`],
  ['2 of the 1,000', twoTenants.rps.toFixed(0), twoTenants.p50.toFixed(2), twoTenants.p99.toFixed(2), (twoTenants.p99 / wardenLoad.p99).toFixed(2), `${twoTenants.errors + twoTenants.non2xx}`],
  ['all 1,000 at random', spreadLoad.rps.toFixed(0), spreadLoad.p50.toFixed(2), spreadLoad.p99.toFixed(2), (spreadLoad.p99 / wardenLoad.p99).toFixed(2), `${spreadLoad.errors + spreadLoad.non2xx}`],
]));
await stop(thousand);

// 4. First request after a deploy: a module with a digest the server has never seen.
const deployServer = await startWarden(serveConfig('deploy', helloTenant('hello')), 'deploy');
await warm(`${deployServer.url}/t/hello/`);
const hello = readFileSync(helloPath);
const deployMs: number[] = [];
const firstMs: number[] = [];
for (let i = 0; i < 7; i++) {
  // A custom section with a fresh name makes a new digest of the same program.
  const name = Buffer.from(`bench-${i}-${Date.now()}`);
  const variant = Buffer.concat([hello, Buffer.from([0, name.length + 1, name.length]), name]);
  let t0 = performance.now();
  await post(`${deployServer.admin}/tenants/hello/deploy`, variant);
  deployMs.push(performance.now() - t0);
  t0 = performance.now();
  await post(`${deployServer.url}/t/hello/`, null, 'GET');
  firstMs.push(performance.now() - t0);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\n4. deploy of a new digest: admit + store ${med(deployMs).toFixed(1)} ms; first request after it (compile + run) ${med(firstMs).toFixed(1)} ms; together ${(med(deployMs) + med(firstMs)).toFixed(1)} ms (medians of 7)`);
await stop(deployServer);

// 5. Soak.
const soak = await startWarden(serveConfig('soak', helloTenant('hello')), 'soak');
const soakUrl = `${soak.url}/t/hello/`;
await warm(soakUrl);
const samples: number[] = [];
const sampler = setInterval(() => samples.push(rssKb(soak.child.pid!)), 1000);
const soakLoad = await load(soakUrl, { duration: soakSeconds });
clearInterval(sampler);
const first = samples[Math.min(2, samples.length - 1)]!;
// Heaps grow while the isolates warm up; growth is judged after the first third.
const settled = samples[Math.floor(samples.length / 3)]!;
const late = samples[samples.length - 1]!;
const pct = (a: number, b: number) => (((b - a) / a) * 100).toFixed(1);
console.log(`\n5. soak: ${soakSeconds}s of hello, ${soakLoad.requests} requests, ${soakLoad.errors + soakLoad.non2xx} failed; RSS ${(first / 1024).toFixed(1)} MiB at 3 s, ${(settled / 1024).toFixed(1)} MiB at ${Math.floor(samples.length / 3)} s, ${(late / 1024).toFixed(1)} MiB at the end: ${pct(settled, late)}% after the first third (${pct(first, late)}% from 3 s); peak ${(Math.max(...samples) / 1024).toFixed(1)} MiB`);
await stop(soak);

function post(url: string, body: Uint8Array | null, method = 'POST'): Promise<number> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method, headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/wasm', 'Content-Length': body.length } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(200) : reject(new Error(`${method} ${url}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}
