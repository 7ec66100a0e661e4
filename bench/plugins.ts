// Plugin call overheads, one run, medians and same-run ratios:
//  1. a trivial plugin call (echo of 16 bytes), warm: wasm-warden (thread and
//     none isolation) against @extism/extism (in-process, and in its worker);
//  2. a host function loaded in the isolate: round trip per call;
//  3. a closure on the embedder's thread called from a worker: round trip per
//     call, against a MessagePort round trip to a worker measured here too.
//
//   npm run bench:plugins    (node dist/bench/plugins.js [--calls 300 --loop 200000 --closure 3000])

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import createPlugin from '@extism/extism';
import { createSandbox } from '../src/sandbox/sandbox.js';
import { wat } from '../test/helpers/wat.js';
import { argValue, median, ms, table, timeRunsAsync } from './stats.js';

const calls = argValue('calls', 300);
const loop = argValue('loop', 200_000);
const closureCalls = argValue('closure', 3000);
const root = new URL('../../', import.meta.url);
const plugin = new Uint8Array(readFileSync(new URL('test/fixtures/c/plugins/kernel-plugin.wasm', root)));
const input = 'sixteen bytes!!!';
const noopPath = fileURLToPath(new URL('bench/host-noop.mjs', root));

const rows: Array<Array<string | number>> = [];
const us = (n: number) => (n * 1000).toFixed(2);

// 1. A trivial plugin call.
const perCall: Record<string, number> = {};
for (const isolation of ['thread', 'none'] as const) {
  const sandbox = await createSandbox({ isolation });
  const times = await timeRunsAsync(calls, async () => { await sandbox.callPlugin(plugin, 'echo', input); }, 20);
  perCall[`wasm-warden (${isolation})`] = median(times);
  await sandbox.close();
}
for (const runInWorker of [false, true]) {
  const peer = await createPlugin({ wasm: [{ data: plugin }] }, { useWasi: false, runInWorker });
  const times = await timeRunsAsync(calls, async () => { await peer.call('echo', input); }, 20);
  perCall[`@extism/extism (${runInWorker ? 'its worker' : 'in-process'})`] = median(times);
  await peer.close();
}
const extismBase = perCall['@extism/extism (in-process)']!;
for (const [name, t] of Object.entries(perCall)) rows.push([`plugin call: ${name}`, ms(t) + ' ms', (t / extismBase).toFixed(2)]);

// 2 and 3: host functions from a loop in the guest.
const looping = await wat(`(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (func (export "spin") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (call $f (local.get $acc)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $again)))
    (local.get $acc)))`);
const empty = await wat(`(module
  (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "spin") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (call $f (local.get $acc)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $again)))
    (local.get $acc)))`);
const sig = { module: 'env', name: 'f', params: ['i32'] as const, results: ['i32'] as const };

async function perHostCall(isolation: 'thread' | 'none', grant: object, n: number, module = looping): Promise<number> {
  const sandbox = await createSandbox({ isolation }, { hostFunctions: [{ ...sig, params: ['i32'], results: ['i32'], ...grant } as never] });
  try {
    const times = await timeRunsAsync(7, async () => {
      const r = await sandbox.invoke(module, 'spin', n);
      if (r.exitCode !== 0) throw new Error(JSON.stringify(r.trap));
    }, 2);
    return median(times) / n;
  } finally {
    await sandbox.close();
  }
}

const loaded = await perHostCall('thread', { from: { path: noopPath, export: 'f' } }, loop);
const inline = await perHostCall('none', { fn: (_m: unknown, x: number) => x + 1 }, loop);
const wasmOnly = await perHostCall('none', { fn: () => 0 }, loop, empty);
rows.push(['host function loaded in the isolate (thread), per call', us(loaded) + ' µs', '']);
rows.push(['host function on the caller\'s thread (none), per call', us(inline) + ' µs', '']);
rows.push(['same loop calling a wasm function instead, per iteration', us(wasmOnly) + ' µs', '']);

const closure = await perHostCall('thread', { fn: (_m: unknown, x: number) => x + 1 }, closureCalls);

// A MessagePort round trip to a worker, same run: post, the worker answers, await the answer.
const echo = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));', { eval: true });
await new Promise((resolve) => echo.once('online', resolve));
const roundTrip = () => new Promise<void>((resolve) => { echo.once('message', () => resolve()); echo.postMessage(1); });
const portTimes = await timeRunsAsync(7, async () => { for (let i = 0; i < closureCalls; i++) await roundTrip(); }, 1);
const port = median(portTimes) / closureCalls;
await echo.terminate();
rows.push(['closure on the embedder\'s thread from a worker, per call', us(closure) + ' µs', (closure / port).toFixed(2)]);
rows.push(['MessagePort round trip to a worker, per message', us(port) + ' µs', '1.00']);

console.log(`Node ${process.version}; ${calls} plugin calls, ${loop} in-isolate host calls, ${closureCalls} closure calls (medians)\n`);
console.log(table(['measure', 'median', 'ratio'], rows));
console.log('\nratio: plugin calls against @extism/extism in-process; the closure against the MessagePort round trip.');
