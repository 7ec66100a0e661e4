// Memory per run: one sandbox on a shared worker pool (as `warden serve` runs
// a thread-isolated tenant) runs the hello tenant many times with the
// server's WAGI inputs; after each checkpoint every isolate is collected
// (main thread and workers, `--expose-gc`) and RSS, the JS heap, external
// memory and ArrayBuffers are recorded. Growth per run between checkpoints
// says whether memory is retained per run (a leak: linear) or taken by the
// allocator and kept (levels off).
//
//   npm run build && node --expose-gc dist/bench/run-memory.js [--runs 24000 --checkpoints 8 --workers 2]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSandbox, createSharedPool } from '../src/sandbox/sandbox.js';
import { argValue, table } from './stats.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const bytes = new Uint8Array(readFileSync(join(root, 'examples', 'tenants', 'hello.wasm')));
const runs = argValue('runs', 20_000);
const checkpoints = argValue('checkpoints', 8);
const poolSize = argValue('workers', 2);

const env = {
  GATEWAY_INTERFACE: 'CGI/1.1', SERVER_SOFTWARE: 'wasm-warden', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_NAME: '127.0.0.1', SERVER_PORT: '8080',
  REQUEST_METHOD: 'GET', SCRIPT_NAME: '/t/hello', PATH_INFO: '/', X_RAW_PATH_INFO: '/', QUERY_STRING: '', X_MATCHED_ROUTE: '/t/hello/...',
  X_FULL_URL: 'http://127.0.0.1:8080/t/hello/', REMOTE_ADDR: '127.0.0.1', CONTENT_LENGTH: '0', HTTP_HOST: '127.0.0.1:8080', HTTP_USER_AGENT: 'bench',
};
const pool = createSharedPool({ size: poolSize, queue: 64 * poolSize });
await pool.ready();
// The serve defaults for a tenant (config.ts), without the root mount: hello opens no files.
const sandbox = await createSandbox({ clock: 'frozen', random: 'os', isolation: 'thread', limits: { memory: '64MiB', fuel: 200_000_000, timeout: '2s', output: '4MiB', concurrency: 8, queue: 8 } }, { pool });

/**
 * Collects garbage on this thread and waits. The workers collect on their own
 * schedule: nothing outside a worker can make it collect (a worker heap
 * snapshot, which would, ended this Node 20 in a segmentation fault), so
 * their garbage shows in RSS until V8 collects it.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 200));
  }
}

function sample(done: number) {
  const m = process.memoryUsage();
  return { done, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

// Two warm-up rounds: compile, first instantiations, the workers' JIT.
for (let i = 0; i < 200; i++) await sandbox.run(bytes, { args: ['/t/hello'], env, stdin: new Uint8Array(0) });
await settle();
const samples = [sample(0)];
const step = Math.floor(runs / checkpoints);
let done = 0;
const started = performance.now();
for (let c = 0; c < checkpoints; c++) {
  // Eight runs in flight at once, as a loaded tenant would have.
  for (let i = 0; i < step; i += 8) {
    await Promise.all(Array.from({ length: 8 }, () => sandbox.run(bytes, { args: ['/t/hello'], env, stdin: new Uint8Array(0) })));
  }
  done += step;
  await settle();
  samples.push(sample(done));
}
const seconds = (performance.now() - started) / 1000;
await sandbox.close();
await pool.close();

const kb = (b: number) => (b / 1024).toFixed(0);
const perRun = (a: number, b: number, n: number) => (n === 0 ? '' : ((b - a) / n).toFixed(1));
console.log(`runs of hello in one sandbox on a ${poolSize}-worker shared pool, GC'd at each checkpoint (${done} runs in ${seconds.toFixed(1)} s)\n`);
console.log(table(['runs', 'RSS KiB', 'heap KiB', 'external KiB', 'ArrayBuffers KiB', 'RSS B/run since last', 'heap B/run since last'], samples.map((s, i) => [
  String(s.done), kb(s.rss), kb(s.heapUsed), kb(s.external), kb(s.arrayBuffers),
  i === 0 ? '' : perRun(samples[i - 1]!.rss, s.rss, s.done - samples[i - 1]!.done),
  i === 0 ? '' : perRun(samples[i - 1]!.heapUsed, s.heapUsed, s.done - samples[i - 1]!.done),
])));
const half = Math.floor(samples.length / 2);
console.log(`\nRSS per run: ${perRun(samples[0]!.rss, samples[half]!.rss, samples[half]!.done)} B over the first half, ${perRun(samples[half]!.rss, samples.at(-1)!.rss, samples.at(-1)!.done - samples[half]!.done)} B over the second`);
