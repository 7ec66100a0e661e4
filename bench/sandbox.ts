// Sandbox benchmarks, one run, same-run ratios:
//  1. warm per-run overhead for hello (instantiate, WASI setup, run, teardown):
//     a wasm-warden sandbox in thread mode, one in none mode under a deadline
//     (a watchdog per run), wasm-warden's runWasi on this thread,
//     node:wasi and @bjorn3/browser_wasi_shim, each with the module compiled once,
//     taking turns in rounds, with the ratio to the shim per round; and sustained
//     (1b): thread mode, none mode and the shim each running back to back for a
//     block of time (--block-ms, --blocks), taking turns;
//  2. fuel metering's cost on CPU-bound programs (SHA-256, LZ77), metered against not;
//  3. deadline accuracy: how long after its deadline a spinning guest's run has
//     ended and the sandbox can start the next run;
//  4. deadline lateness in every isolation mode for a spinning, a
//     memory-growing and a stdin-blocked guest (bench/deadline.ts, run in a
//     child whose stdin is a pipe that stays open and silent).
//
//   npm run bench:sandbox [-- --runs 500 --rounds 5 --full]

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as shim from '@bjorn3/browser_wasi_shim';
import { decodeModule } from '../src/binary/decode.js';
import { rewriteModule } from '../src/binary/encode.js';
import { createSandbox } from '../src/sandbox/sandbox.js';
import { fuelEdits, FUEL_EXPORT } from '../src/transform/fuel.js';
import { defineGrant } from '../src/wasi/grant.js';
import { runWasi } from '../src/wasi/run.js';
import { argValue, median, percentile, table, timeFor, timeRuns, timeRunsAsync } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const fixture = (name: string) => new Uint8Array(readFileSync(join(root, 'test', 'fixtures', 'c', name)));
const runs = argValue('runs', 500);
const full = process.argv.includes('--full');
const us = (ms: number) => (ms * 1000).toFixed(0);

// 1. Warm per-run overhead. The four take turns in rounds, so that a change in the
// machine's load falls on all of them; the ratio to the shim is taken per round.
const helloBytes = fixture('hello.wasm');
const hello = new WebAssembly.Module(helloBytes);
const rounds = argValue('rounds', 5);
const perRound = Math.max(1, Math.round(runs / rounds));
const sandbox = await createSandbox({});
// On this thread under a deadline: each run is guarded by the watchdog (src/wasi/watchdog.ts).
const inline = await createSandbox({ isolation: 'none', limits: { timeout: '1s' } });
// node:wasi runs in a child process of its own, a round at a time: Node 20's
// node:wasi crashes its process after about a thousand runs of hello
// (bench/node-wasi-runs.ts). A crashed child is replaced and the round asked again.
let nodeWasiCrashes = 0;
let nodeWasi: ChildProcess | null = null;
async function nodeWasiRound(count: number): Promise<number[]> {
  for (;;) {
    if (!nodeWasi) {
      const child = fork(join(root, 'dist', 'bench', 'node-wasi-runs.js'), [], { execArgv: ['--no-warnings'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      await new Promise((resolve) => child.once('message', resolve));
      nodeWasi = child;
    }
    const child = nodeWasi;
    const times = await new Promise<number[] | null>((resolve) => {
      child.once('message', (answer) => resolve(answer as number[]));
      child.once('exit', () => resolve(null));
      child.send(count);
    });
    if (times) return times;
    nodeWasiCrashes++;
    nodeWasi = null;
  }
}
/** One run of hello under the shim, as its users write it: in-memory stdio, a new instance. */
function shimRun(): void {
  const fds = [new shim.OpenFile(new shim.File([])), new shim.ConsoleStdout(() => {}), new shim.ConsoleStdout(() => {})];
  const wasi = new shim.WASI(['hello'], [], fds, { debug: false });
  wasi.start(new WebAssembly.Instance(hello, { wasi_snapshot_preview1: wasi.wasiImport as never }) as never);
}
const contenders: Array<[string, () => Promise<number[]>]> = [
  ['wasm-warden sandbox, thread mode', () => timeRunsAsync(perRound, async () => { await sandbox.run(helloBytes); }, 20)],
  ['wasm-warden sandbox, none mode, 1 s deadline', () => timeRunsAsync(perRound, async () => { await inline.run(helloBytes); }, 20)],
  ['wasm-warden runWasi, this thread', async () => timeRuns(perRound, () => { runWasi(hello, defineGrant({ args: ['hello'] })); }, 20)],
  ['node:wasi', () => nodeWasiRound(perRound)],
  ['browser_wasi_shim', async () => timeRuns(perRound, shimRun, 20)],
];
const loadBefore = loadavg()[0]!;
const samples = contenders.map(() => [] as number[]);
const shimRatios = contenders.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  const roundMedians: number[] = [];
  for (const [i, [, time]] of contenders.entries()) {
    const times = await time();
    samples[i]!.push(...times);
    roundMedians.push(median(times));
  }
  for (const i of contenders.keys()) shimRatios[i]!.push(roundMedians[i]! / roundMedians[contenders.length - 1]!);
}
// 1b. Sustained: runs back to back for a whole block of time, thread mode and the shim taking turns.
// A round of 100 runs above starts on a worker that sat idle through the other contenders' rounds (its
// watches decayed, its core asleep), so it measures runs that come in bursts; a block of a second of
// runs measures a steady stream, as a batch or a busy embedder sends them.
const blockMs = argValue('block-ms', 1000);
const blocks = argValue('blocks', 3);
const sustained: Array<[string, () => unknown]> = [
  ['wasm-warden sandbox, thread mode', async () => { await sandbox.run(helloBytes); }],
  ['wasm-warden sandbox, none mode, 1 s deadline', async () => { await inline.run(helloBytes); }],
  ['browser_wasi_shim', shimRun],
];
const sustainedMedians = sustained.map(() => [] as number[]);
const sustainedCounts = sustained.map(() => 0);
for (let b = 0; b < blocks; b++) {
  for (const [i, [, once]] of sustained.entries()) {
    const times = await timeFor(blockMs, once);
    sustainedMedians[i]!.push(median(times));
    sustainedCounts[i]! += times.length;
  }
}
await sandbox.close();
await inline.close();
(nodeWasi as ChildProcess | null)?.kill();
const base = median(samples[contenders.findIndex(([name]) => name === 'node:wasi')]!);
console.log(`1. warm per-run overhead, hello, ${rounds} rounds of ${perRound} runs each (µs; load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after)\n`);
console.log(table(['host', 'median', 'p99', 'x node:wasi', 'x shim (median of rounds)'], contenders.map(([name], i) => [
  name, us(median(samples[i]!)), us(percentile(samples[i]!, 99)), (median(samples[i]!) / base).toFixed(2), median(shimRatios[i]!).toFixed(2),
])));
const shimBlocks = sustainedMedians[sustained.length - 1]!;
console.log(`\n1b. sustained per-run overhead, hello: ${blocks} blocks of ${blockMs} ms of runs back to back per host, taking turns (µs)\n`);
console.log(table(['host', 'runs', 'median of block medians', 'x shim (median of blocks)'], sustained.map(([name], i) => [
  name, sustainedCounts[i]!, us(median(sustainedMedians[i]!)), median(sustainedMedians[i]!.map((m, b) => m / shimBlocks[b]!)).toFixed(2),
])));
if (nodeWasiCrashes > 0) console.log(`\n   node:wasi's process crashed ${nodeWasiCrashes} time(s) (Node's own WASI, not wasm-warden; bench/node-wasi-runs.ts): replaced, and its round run again`);

// 2. Fuel overhead.
const fuelRuns = argValue('fuel-runs', 20);
const cpu = [
  ['SHA-256', 'bench/sha256.wasm', full ? '64' : '16'],
  ['LZ77 compress + decompress', 'bench/compress.wasm', full ? '32' : '8'],
] as const;
const fuelRows: Array<Array<string | number>> = [];
for (const [label, file, mib] of cpu) {
  const bytes = fixture(file);
  const plain = new WebAssembly.Module(bytes);
  const decoded = decodeModule(bytes);
  const metered = new WebAssembly.Module(rewriteModule(decoded, fuelEdits(decoded)));
  const grant = defineGrant({ args: ['x', mib], stdout: { kind: 'discard' } });
  const budget = { beforeStart: (i: WebAssembly.Instance) => { (i.exports[FUEL_EXPORT] as WebAssembly.Global).value = 10n ** 15n; } };
  const plainTimes: number[] = [];
  const meteredTimes: number[] = [];
  runWasi(plain, grant);
  runWasi(metered, grant, budget);
  for (let i = 0; i < fuelRuns; i++) {
    plainTimes.push(...timeRuns(1, () => { runWasi(plain, grant); }, 0));
    meteredTimes.push(...timeRuns(1, () => { runWasi(metered, grant, budget); }, 0));
  }
  const overhead = (median(meteredTimes) / median(plainTimes) - 1) * 100;
  fuelRows.push([`${label} of ${mib} MiB`, median(plainTimes).toFixed(1), median(meteredTimes).toFixed(1), `${overhead.toFixed(1)}%`]);
}
console.log(`\n2. fuel metering, ${fuelRuns} interleaved runs each (ms)\n`);
console.log(table(['workload', 'plain', 'metered', 'overhead'], fuelRows));

// 3. Deadline accuracy.
// (module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))
const spin = new Uint8Array(Buffer.from('0061736d01000000010401600000030201000503010001071302066d656d6f72790200065f737461727400000a0901070003400c000b0b', 'hex'));
const deadlineMs = 50;
const spinning = await createSandbox({ limits: { timeout: `${deadlineMs}ms`, concurrency: 1 } });
const ended: number[] = [];
const readyAgain: number[] = [];
for (let i = 0; i < 20; i++) {
  const started = performance.now();
  const result = await spinning.run(spin);
  if (result.trap?.kind !== 'deadline') throw new Error(`expected a deadline trap, got ${JSON.stringify(result.trap)}`);
  ended.push(performance.now() - started - deadlineMs);
  await spinning.run(helloBytes);
  readyAgain.push(performance.now() - started - deadlineMs);
}
await spinning.close();
console.log(`\n3. deadline accuracy, spinning guest, ${deadlineMs} ms deadline, 20 runs (ms after the deadline)\n`);
console.log(table(['measure', 'median', 'p99'], [
  ['run ended (promise resolved)', median(ended).toFixed(2), percentile(ended, 99).toFixed(2)],
  ['next run completed on the replacement isolate', median(readyAgain).toFixed(2), percentile(readyAgain, 99).toFixed(2)],
]));

// 4. Deadline lateness in every mode, stdin a silent pipe.
console.log('\n4. ');
await new Promise<void>((resolve, reject) => {
  const child = spawn(process.execPath, ['--no-warnings', join(root, 'dist', 'bench', 'deadline.js'), '--runs', String(argValue('deadline-runs', 15))], { stdio: ['pipe', 'inherit', 'inherit'] });
  child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`deadline benchmark exited with ${code}`))));
});
process.exit(0);
