// Fuel metering's cost on CPU-bound programs, in one process, one run:
// each program plain and metered (`meterFuel`), compiled once, run
// interleaved through runWasi with output discarded. Prints medians, p99, the
// overhead of the metered median over the plain one, and the fuel a run used.
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
import { FUEL_EXPORT, meterFuel } from '../src/transform/index.js';
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
  const plain = new WebAssembly.Module(bytes);
  const metered = new WebAssembly.Module(meterFuel(decodeModule(bytes)));
  const grant = defineGrant({ args, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
  let fuelUsed = 0n;
  const withBudget: RunOptions = {
    beforeStart: (i) => { (i.exports[FUEL_EXPORT] as WebAssembly.Global).value = BUDGET; },
    afterRun: (i) => { fuelUsed = BUDGET - ((i!.exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint); },
  };
  const time = (module: WebAssembly.Module, options?: RunOptions): number => {
    const start = process.hrtime.bigint();
    const result = runWasi(module, grant, options);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.exitCode !== 0) throw new Error(`${label}: exit ${result.exitCode}, trap ${JSON.stringify(result.trap)}`);
    return elapsed;
  };
  // One warm-up each, then interleaved runs so drift in the machine's load hits both alike.
  time(plain);
  time(metered, withBudget);
  const plainTimes: number[] = [];
  const meteredTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    plainTimes.push(time(plain));
    meteredTimes.push(time(metered, withBudget));
  }
  const overhead = (median(meteredTimes) / median(plainTimes) - 1) * 100;
  rows.push([
    label, ms(median(plainTimes)), ms(percentile(plainTimes, 99)), ms(median(meteredTimes)), ms(percentile(meteredTimes, 99)),
    `${overhead.toFixed(1)}%`, `${(Number(fuelUsed) / 1e6).toFixed(1)}M`,
  ]);
}

console.log(`fuel metering, ${runs} interleaved runs each (ms), Node ${process.version}\n`);
console.log(table(['workload', 'plain', 'p99', 'metered', 'p99', 'overhead', 'fuel used'], rows));
