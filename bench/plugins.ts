// Plugin call overheads, one run, medians and same-run ratios:
//  1. a trivial plugin call (echo of 16 bytes), warm: wasm-warden's plugin
//     sessions (one instance kept; or a fresh one per call) and callPlugin, in
//     thread and none isolation, against @extism/extism (in-process, and in
//     its worker), in interleaved rounds; and the dispatch to a worker alone
//     (posted messages against a shared-memory notify);
//  2. a host function loaded in the isolate: round trip per call;
//  3. a closure on the embedder's thread called from a worker, and from a
//     child process (through its relay threads): round trip per call, against
//     a MessagePort round trip to a worker measured here too.
//
//   npm run bench:plugins    (node dist/bench/plugins.js [--calls 300 --rounds 5 --loop 200000 --closure 3000])

import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import createPlugin from '@extism/extism';
import { createSandbox } from '../src/sandbox/sandbox.js';
import { wat } from '../test/helpers/wat.js';
import { argValue, median, ms, percentile, table, timeFor, timeRunsAsync } from './stats.js';

const calls = argValue('calls', 300);
const rounds = argValue('rounds', 5);
const loop = argValue('loop', 200_000);
const closureCalls = argValue('closure', 3000);
const root = new URL('../../', import.meta.url);
const plugin = new Uint8Array(readFileSync(new URL('test/fixtures/c/plugins/kernel-plugin.wasm', root)));
const input = 'sixteen bytes!!!';
const noopPath = fileURLToPath(new URL('bench/host-noop.mjs', root));

const rows: Array<Array<string | number>> = [];
const us = (n: number) => (n * 1000).toFixed(2);

// 1. A trivial plugin call, warm. Every contender is timed in each of `rounds`
// rounds, in turn, so load on the machine falls on all of them alike; a
// round's figure is the median of its calls, and the ratio is taken within
// the round and reported as the median over rounds.
type Contender = { name: string; call: () => Promise<unknown>; close: () => Promise<void> };
const contenders: Contender[] = [];
const extism = await createPlugin({ wasm: [{ data: plugin }] }, { useWasi: false, runInWorker: false });
contenders.push({ name: '@extism/extism (in-process)', call: () => extism.call('echo', input), close: () => extism.close() });
const extismWorker = await createPlugin({ wasm: [{ data: plugin }] }, { useWasi: false, runInWorker: true });
contenders.push({ name: '@extism/extism (its worker)', call: () => extismWorker.call('echo', input), close: () => extismWorker.close() });
for (const isolation of ['thread', 'none'] as const) {
  const sandbox = await createSandbox({ isolation, limits: { timeout: '1s' } });
  const warm = await sandbox.plugin(plugin);
  const fresh = await sandbox.plugin(plugin, { instances: 'fresh' });
  contenders.push({ name: `wasm-warden session, warm (${isolation})`, call: () => warm.call('echo', input), close: () => warm.close() });
  contenders.push({ name: `wasm-warden session, fresh instance per call (${isolation})`, call: () => fresh.call('echo', input), close: () => fresh.close() });
  contenders.push({ name: `wasm-warden callPlugin (${isolation})`, call: () => sandbox.callPlugin(plugin, 'echo', input), close: () => sandbox.close() });
}
const perRound = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
for (let round = 0; round < rounds; round++) {
  for (const c of contenders) {
    const times = await timeRunsAsync(calls, async () => { await c.call(); }, round === 0 ? 200 : 20);
    perRound.get(c.name)!.push(median(times));
  }
}
// CPU an idle session costs: after a burst of calls its worker watches for
// the next call a bounded while, then sleeps. Process CPU (all threads) over
// an idle second, with the session open and its worker started.
// Before that, the same session's calls one after another: their spread
// (the watches shorten the typical call; a watch in vain lengthens one) and
// the process CPU they cost (both threads).
const idle = contenders.find((c) => c.name === 'wasm-warden session, warm (thread)')!;
const burst: number[] = [];
const burstFrom = process.cpuUsage();
for (let i = 0; i < calls * 10; i++) {
  const start = process.hrtime.bigint();
  await idle.call();
  burst.push(Number(process.hrtime.bigint() - start) / 1e6);
}
const burstUsage = process.cpuUsage(burstFrom);
const burstCpuUs = (burstUsage.user + burstUsage.system) / burst.length;
// Sustained: the warm session (thread) and the SDK in-process each calling back to back for a block
// of time, taking turns; a round above starts on a session whose worker slept through the others' rounds.
const blockMs = argValue('block-ms', 1000);
const blocks = argValue('blocks', 3);
// A block also ends at this many calls: the SDK's in-process plugin fails ("cannot assign to this
// block") at its 16,383rd call on one instance (its blocks are never freed), so each block gets a new one.
const blockCalls = argValue('block-calls', 10_000);
const sustainedRatios: number[] = [];
const sustainedMedians: Array<[number, number]> = [];
for (let b = 0; b < blocks; b++) {
  const medians = [];
  const sdk = await createPlugin({ wasm: [{ data: plugin }] }, { useWasi: false, runInWorker: false });
  for (const call of [idle.call, () => sdk.call('echo', input)]) medians.push(median(await timeFor(blockMs, call, blockCalls)));
  await sdk.close();
  sustainedMedians.push([medians[0]!, medians[1]!]);
  sustainedRatios.push(medians[0]! / medians[1]!);
}
await new Promise((resolve) => setTimeout(resolve, 50));
const idleFrom = process.cpuUsage();
await new Promise((resolve) => setTimeout(resolve, 1000));
const idleUsage = process.cpuUsage(idleFrom);
const idleCpuMs = (idleUsage.user + idleUsage.system) / 1000;
for (const c of contenders) await c.close();
const base = perRound.get('@extism/extism (in-process)')!;
const warmRatios = perRound.get('wasm-warden session, warm (thread)')!.map((t, i) => t / base[i]!);
for (const c of contenders) {
  const mine = perRound.get(c.name)!;
  const ratios = mine.map((t, i) => t / base[i]!);
  rows.push([`plugin call: ${c.name}`, us(median(mine)) + ' µs', `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`]);
}

// The dispatch of a call to a worker and its answer, alone: a posted message
// each way, against a notify through shared memory (the worker waiting with
// Atomics.wait, this thread with Atomics.waitAsync), as a session crosses.
const dispatchSource = `
const { parentPort, workerData } = require('node:worker_threads');
const cells = new Int32Array(workerData.sab);
if (workerData.mode === 'message') parentPort.on('message', (m) => parentPort.postMessage(m));
else for (let seen = 0;;) { Atomics.wait(cells, 0, seen); seen = Atomics.load(cells, 0); Atomics.store(cells, 1, seen); Atomics.notify(cells, 1); }`;
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync;
const dispatch: Record<string, number[]> = { message: [], notify: [] };
for (let round = 0; round < rounds; round++) {
  for (const mode of ['message', 'notify'] as const) {
    const sab = new SharedArrayBuffer(8);
    const cells = new Int32Array(sab);
    const worker = new Worker(dispatchSource, { eval: true, workerData: { sab, mode } });
    await new Promise((resolve) => worker.once('online', resolve));
    let seq = 0;
    const one = mode === 'message'
      ? () => new Promise<void>((resolve) => { worker.once('message', () => resolve()); worker.postMessage(1); })
      : async () => {
        seq++;
        Atomics.store(cells, 0, seq);
        Atomics.notify(cells, 0);
        for (let seen = Atomics.load(cells, 1); seen !== seq; seen = Atomics.load(cells, 1)) {
          const wait = waitAsync(cells, 1, seen);
          if (wait.async) await wait.value;
        }
      };
    const n = calls * 10;
    const times = await timeRunsAsync(7, async () => { for (let i = 0; i < n; i++) await one(); }, 1);
    dispatch[mode]!.push(median(times) / n);
    await worker.terminate();
  }
}
const dispatchRatios = dispatch.notify!.map((t, i) => t / dispatch.message![i]!);
rows.push(['dispatch to a worker and back: posted messages', us(median(dispatch.message!)) + ' µs', '']);
rows.push(['dispatch to a worker and back: shared-memory notify', us(median(dispatch.notify!)) + ' µs', `${median(dispatchRatios).toFixed(2)} of messages`]);

// 2 and 3: host functions from a loop in the guest.
// The same loop calling $f: an import (a host function) or a function of the module's own (the baseline).
const spinLoop = `(func (export "spin") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (call $f (local.get $acc)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $again)))
    (local.get $acc))`;
const looping = await wat(`(module
  (import "env" "f" (func $f (param i32) (result i32)))
  ${spinLoop})`);
const empty = await wat(`(module
  (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  ${spinLoop})`);
const sig = { module: 'env', name: 'f', params: ['i32'] as const, results: ['i32'] as const };

async function perHostCall(isolation: 'thread' | 'none' | 'process', grant: object, n: number, module = looping): Promise<number> {
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
const closureProcess = await perHostCall('process', { fn: (_m: unknown, x: number) => x + 1 }, closureCalls);

// A MessagePort round trip to a worker, same run: post, the worker answers, await the answer.
const echo = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));', { eval: true });
await new Promise((resolve) => echo.once('online', resolve));
const roundTrip = () => new Promise<void>((resolve) => { echo.once('message', () => resolve()); echo.postMessage(1); });
const portTimes = await timeRunsAsync(7, async () => { for (let i = 0; i < closureCalls; i++) await roundTrip(); }, 1);
const port = median(portTimes) / closureCalls;
await echo.terminate();
rows.push(['closure on the embedder\'s thread from a worker, per call', us(closure) + ' µs', (closure / port).toFixed(2)]);
rows.push(['closure on the embedder\'s thread from a child process (relays), per call', us(closureProcess) + ' µs', (closureProcess / port).toFixed(2)]);
rows.push(['MessagePort round trip to a worker, per message', us(port) + ' µs', '1.00']);

console.log(`Node ${process.version}; ${rounds} rounds of ${calls} plugin calls, ${loop} in-isolate host calls, ${closureCalls} closure calls (medians)\n`);
console.log(table(['measure', 'median', 'ratio'], rows));
console.log('\nratio: plugin calls against @extism/extism in-process (median over rounds, range); the closure against the MessagePort round trip.');
console.log(`\nwarm session (thread) / @extism/extism in-process, same run: ${median(warmRatios).toFixed(2)}x (median of ${rounds} rounds; rounds ${warmRatios.map((r) => r.toFixed(2)).join(', ')}; target <= 1.00)`);
console.log(`warm session (thread) / @extism/extism in-process, sustained (${blocks} blocks of ${blockMs} ms or ${blockCalls} calls back to back each, taking turns; a new SDK plugin per block): ${median(sustainedRatios).toFixed(2)}x (blocks ${sustainedMedians.map(([w, e], i) => `${us(w)} / ${us(e)} µs = ${sustainedRatios[i]!.toFixed(2)}`).join('; ')})`);
console.log(`warm session (thread), ${burst.length} calls in a row: p50 ${us(percentile(burst, 50))}, p90 ${us(percentile(burst, 90))}, p99 ${us(percentile(burst, 99))} µs; process CPU ${burstCpuUs.toFixed(1)} µs a call`);
console.log(`idle session (thread), process CPU over one idle second after those calls: ${idleCpuMs.toFixed(1)} ms`);
console.log(`load average (1, 5, 15 min): ${loadavg().map((l) => l.toFixed(2)).join(', ')} on ${availableParallelism()} cores`);
