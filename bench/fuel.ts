// Fuel metering's cost on CPU-bound programs, in one process, one run:
// each program plain and metered (`meterFuel`, bulk operations charged by
// size), compiled once, run interleaved through runWasi with output
// discarded. Prints medians, p99, the overhead of the metered median over the
// plain one, and the fuel a run used. Then the cost of deadline checkpoints
// (`prepareModule`'s `checkpoint`) on the same programs and on worst cases.
//
// Workloads: SHA-256 of generated data, an LZ77 round trip, a JSON parse when
// test/fixtures/c/bench/json.wasm exists, and a worst case written here: tight
// loops whose bodies are a handful of instructions, so the charge is a large
// share of every iteration.
//
//   npm run bench:fuel [-- --runs 20 --full]
//   (--full: SHA-256 of 64 MiB and 32 MiB of LZ77; default 16 and 8 MiB)

import { existsSync, readFileSync } from 'node:fs';
import { decodeModule } from '../src/binary/decode.js';
import { checkIndices } from '../src/binary/indices.js';
import { parsePolicy } from '../src/policy/load.js';
import { admit } from '../src/sandbox/admission.js';
import { FUEL_EXPORT, meterFuel, prepareModule } from '../src/transform/index.js';
import { defineGrant } from '../src/wasi/grant.js';
import { runWasi, type RunOptions } from '../src/wasi/run.js';
import { fixture } from '../test/helpers/paths.js';
import { wat } from '../test/helpers/wat.js';
import { argValue, median, ms, percentile, table } from './stats.js';

const benchFixture = (name: string) => fixture('c', 'bench', name);
const runs = Math.max(argValue('runs', 20), 1);
const full = process.argv.includes('--full');

// Sums i * (i ^ 7) for i below 2^26 through an inner loop of 64 and a call every 64 steps.
const tightLoops = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $mix (param i32 i32) (result i32) (i32.add (local.get 0) (i32.mul (local.get 1) (i32.xor (local.get 1) (i32.const 7)))))
  (func (export "_start") (local $i i32) (local $j i32) (local $acc i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $acc (i32.add (local.get $acc) (i32.mul (i32.add (local.get $i) (local.get $j)) (i32.xor (local.get $j) (i32.const 7)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (i32.const 64))))
      (local.set $acc (call $mix (local.get $acc) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 64)))
      (br_if $outer (i32.lt_u (local.get $i) (i32.const ${full ? 0x4000000 : 0x1000000}))))
    (call $exit (i32.and (local.get $acc) (i32.const 0))))
)`;

interface Workload {
  label: string;
  bytes: Uint8Array;
  args: string[];
}

const workloads: Workload[] = [
  { label: `SHA-256 of ${full ? 64 : 16} MiB`, bytes: new Uint8Array(readFileSync(benchFixture('sha256.wasm'))), args: ['sha256', full ? '64' : '16'] },
  { label: `LZ77 round trip of ${full ? 32 : 8} MiB`, bytes: new Uint8Array(readFileSync(benchFixture('compress.wasm'))), args: ['compress', full ? '32' : '8'] },
];
if (existsSync(benchFixture('json.wasm'))) {
  workloads.push({ label: 'JSON parse', bytes: new Uint8Array(readFileSync(benchFixture('json.wasm'))), args: ['json'] });
}
workloads.push({ label: 'tight loops (worst case)', bytes: await wat(tightLoops), args: ['loops'] });

const BUDGET = 10n ** 15n;
const rows: Array<Array<string | number>> = [];
for (const { label, bytes, args } of workloads) {
  const plain = new WebAssembly.Module(bytes as BufferSource);
  const metered = new WebAssembly.Module(meterFuel(decodeModule(bytes)) as BufferSource);
  const grant = defineGrant({ args, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
  let fuelUsed = 0n;
  const withBudget: RunOptions = {
    beforeStart: (i) => { (i.exports[FUEL_EXPORT] as WebAssembly.Global).value = BUDGET; },
    afterRun: (i) => { fuelUsed = BUDGET - ((i!.exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint); },
  };
  const [plainTimes, meteredTimes] = interleaved(label, grant, [[plain], [metered, withBudget]]);
  const overhead = (median(meteredTimes!) / median(plainTimes!) - 1) * 100;
  rows.push([
    label, ms(median(plainTimes!)), ms(percentile(plainTimes!, 99)), ms(median(meteredTimes!)), ms(percentile(meteredTimes!, 99)),
    `${overhead.toFixed(1)}%`, `${(Number(fuelUsed) / 1e6).toFixed(1)}M`,
  ]);
}

console.log(`fuel metering (bulk operations charged by size), ${runs} interleaved runs each (ms), Node ${process.version}\n`);
console.log(table(['workload', 'plain', 'p99', 'metered', 'p99', 'overhead', 'fuel used'], rows));

// Deadline checkpoints: the same programs with and without a call to the
// host's checkpoint before every memory.grow and bulk operation, both under a
// deadline far away (so the WASI host's real checkpoint runs, reading the
// clock) and without the watchdog (so only the rewrite differs). The
// synthetic workloads are the worst cases: a bulk operation or a grow in
// every iteration of a loop.
const bulkHeavy = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $i i32) (local $acc i32)
    (loop $l
      (memory.copy (i32.and (local.get $i) (i32.const 0xfff0)) (i32.const 0x10000) (i32.const 64))
      (local.set $acc (i32.add (local.get $acc) (i32.load (i32.and (local.get $i) (i32.const 0xfff0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${full ? 1 << 24 : 1 << 22}))))
    (call $exit (i32.and (local.get $acc) (i32.const 0)))))`;
const growHeavy = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (br_if $l (i32.lt_u (memory.grow (i32.const 1)) (i32.const 1023))))
    (call $exit (i32.const 0))))`;
const checkpointWorkloads: Workload[] = [
  workloads[0]!,
  workloads[1]!,
  { label: 'memory.copy of 64 bytes per iteration (worst case)', bytes: await wat(bulkHeavy), args: ['bulk'] },
  { label: 'memory.grow by one page to 64 MiB', bytes: await wat(growHeavy), args: ['grow'] },
];
const checkpointRows: Array<Array<string | number>> = [];
for (const { label, bytes, args } of checkpointWorkloads) {
  const limits = { memoryBytes: 1024 * 1024 * 1024, tableElements: 10_000_000, fuel: false };
  const plain = new WebAssembly.Module(prepareModule(decodeModule(bytes), limits) as BufferSource);
  const checked = new WebAssembly.Module(prepareModule(decodeModule(bytes), { ...limits, checkpoint: true }) as BufferSource);
  const grant = defineGrant({ args, stdout: { kind: 'discard' }, stderr: { kind: 'discard' }, limits: { timeoutMs: 3_600_000 } });
  const noWatchdog: RunOptions = { preemptWithWatchdog: false };
  const [plainTimes, checkedTimes] = interleaved(label, grant, [[plain, noWatchdog], [checked, noWatchdog]]);
  const overhead = (median(checkedTimes!) / median(plainTimes!) - 1) * 100;
  checkpointRows.push([label, ms(median(plainTimes!)), ms(percentile(plainTimes!, 99)), ms(median(checkedTimes!)), ms(percentile(checkedTimes!, 99)), `${overhead.toFixed(1)}%`]);
}
console.log(`\ndeadline checkpoints before memory.grow and bulk operations, ${runs} interleaved runs each (ms)\n`);
console.log(table(['workload', 'plain', 'p99', 'checkpoints', 'p99', 'overhead'], checkpointRows));

/** Runs each variant once to warm up, then `runs` times interleaved; wall times per variant. */
function interleaved(label: string, grant: ReturnType<typeof defineGrant>, variants: Array<[WebAssembly.Module, RunOptions?]>): number[][] {
  const time = ([module, options]: [WebAssembly.Module, RunOptions?]): number => {
    const start = process.hrtime.bigint();
    const result = runWasi(module, grant, options);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.exitCode !== 0) throw new Error(`${label}: exit ${result.exitCode}, trap ${JSON.stringify(result.trap)}`);
    return elapsed;
  };
  // Interleaved so that drift in the machine's load hits every variant alike.
  for (const variant of variants) time(variant);
  const times = variants.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) variants.forEach((variant, v) => times[v]!.push(time(variant)));
  return times;
}

// What validation as shipped adds to preparing a large module (yosys, 31 MB):
// the decode and admission walk that were there before, V8's
// WebAssembly.validate and the index check that are new, and the rewrite.
{
  const path = new URL('../../node_modules/@yowasp/yosys/gen/yosys.core.wasm', import.meta.url);
  if (existsSync(path)) {
    const bytes = new Uint8Array(readFileSync(path));
    const policy = parsePolicy({ limits: { 'module-size': '64MiB', fuel: 1_000_000_000, timeout: '10s', functions: 1_000_000 } });
    const steps: Array<[string, () => void]> = [];
    const module = decodeModule(bytes, { validateBodies: false });
    steps.push(['decode (bodies framed)', () => decodeModule(bytes, { validateBodies: false })]);
    steps.push(['admission walk', () => admit(module, policy, () => '')]);
    steps.push(['WebAssembly.validate (new)', () => WebAssembly.validate(bytes as BufferSource)]);
    steps.push(['index check (new)', () => checkIndices(module)]);
    steps.push(['rewrite: limits, fuel, checkpoints', () => prepareModule(module, { memoryBytes: 1 << 30, tableElements: 10_000_000, fuel: true, fuelBudget: 1n << 40n, checkpoint: true })]);
    const samples = steps.map(() => [] as number[]);
    const prepareRuns = Math.max(3, Math.min(runs, 7));
    for (let i = 0; i < prepareRuns; i++) {
      steps.forEach(([, step], s) => {
        const start = performance.now();
        step();
        samples[s]!.push(performance.now() - start);
      });
    }
    const before = median(samples[0]!) + median(samples[1]!);
    const added = median(samples[2]!) + median(samples[3]!);
    console.log(`\npreparing yosys.core.wasm (${(bytes.length / 1e6).toFixed(1)} MB), ${prepareRuns} interleaved runs (ms)\n`);
    console.log(table(['step', 'median', 'p99'], steps.map(([name], s) => [name, ms(median(samples[s]!)), ms(percentile(samples[s]!, 99))])));
    console.log(`\nvalidation adds ${ms(added)} ms to the ${ms(before)} ms of decode + admission (${(added / before).toFixed(2)}x)`);
  }
}
