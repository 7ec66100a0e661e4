// Decoding benchmark: wasm-warden's decoder beside wabt.js and binaryen.js on
// real multi-megabyte modules shipped in npm packages, in one run, runs
// interleaved. "Decoding" means every function body down to every instruction
// and immediate: for wasm-warden, decodeModule plus a walk over every body that
// touches each immediate; wabt.js (readWasm) and binaryen.js (readBinary) build
// their IR of every body, which includes the same work.
//
//   npm run bench:decode [-- --runs 20 --quick]
//
// A peer whose single run exceeds 10 s gets 5 runs instead (the table says so).
// `--quick` runs 5 of everything, for a smoke test.

import binaryen from 'binaryen';
import createWabt from 'wabt';
import { decodeModule } from '../src/binary/decode.js';
import { forEachInstruction, newInstruction } from '../src/binary/instructions.js';
import { walkBodies } from '../src/binary/body-walk.js';
import type { Instruction, WasmModule } from '../src/binary/types.js';
import { benchModules } from './decode-modules.js';
import { argValue, median, ms, percentile, table } from './stats.js';

const quick = process.argv.includes('--quick');
const runs = quick ? 5 : argValue('runs', 20);
const slowPeerRuns = 5;
const slowPeerMs = 10_000;

const wabt = await createWabt();
const wabtFeatures = {
  simd: true, bulk_memory: true, reference_types: true, exceptions: true, threads: true,
  tail_call: true, multi_value: true, sat_float_to_int: true, sign_extension: true, mutable_globals: true,
};

/** Reads the immediates into a checksum, so the walk cannot be optimised into skipping them. */
let sink = 0;
function touch(ins: Instruction): void {
  sink = (sink + ins.code + ins.index + ins.value + ins.end) | 0;
  if (ins.memArg !== null) sink = (sink + ins.memArg.offset) | 0;
  else if (ins.blockType !== null) sink++;
  else if (ins.code === 0x42 && ins.value64 === 0n) sink++;
}

function walkAll(module: WasmModule): void {
  const ins = newInstruction();
  for (let i = 0; i < module.code.length; i++) forEachInstruction(module, i, touch, ins);
}

interface Decoder {
  name: string;
  run(bytes: Uint8Array): void;
}

const decoders: Decoder[] = [
  // Frames every section and body, then walks each body once.
  { name: 'wasm-warden', run: (bytes) => walkAll(decodeModule(bytes, { validateBodies: false })) },
  // What admission pays: the shared walk (well-formedness, indices, features, every rewrite site recorded), no Instruction visited.
  { name: 'wasm-warden shared walk', run: (bytes) => { const m = decodeModule(bytes, { validateBodies: false }); walkBodies(m, { record: { regions: true, bulk: true, callsFrom: m.importedFunctionCount } }); } },
  { name: 'wabt.js', run: (bytes) => wabt.readWasm(bytes, { ...wabtFeatures, readDebugNames: false }).destroy() },
  { name: 'wabt.js +names', run: (bytes) => wabt.readWasm(bytes, { ...wabtFeatures, readDebugNames: true }).destroy() },
  { name: 'binaryen.js', run: (bytes) => { binaryen.readBinary(bytes).dispose(); } },
  // What `warden inspect` pays for decoding: the validating decode (one walk) plus the audit's walk.
  { name: 'warden inspect decode', run: (bytes) => walkAll(decodeModule(bytes)) },
];

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

console.log(`decode benchmark: ${runs} runs per decoder, interleaved (median and p99, ms)\n`);
const rows: Array<Array<string | number>> = [];
const notes: string[] = [];
for (const { label, bytes } of benchModules()) {
  const mb = bytes.length / 1e6;
  const samples = new Map<string, number[]>();
  const planned = new Map<string, number>();
  for (const decoder of decoders) {
    const warmup = time(() => decoder.run(bytes)); // also the first JIT tier for wasm-warden
    const n = warmup > slowPeerMs ? Math.min(runs, slowPeerRuns) : runs;
    if (n < runs) notes.push(`${decoder.name} on ${label}: ${n} runs (one run took ${(warmup / 1000).toFixed(1)} s)`);
    planned.set(decoder.name, n);
    samples.set(decoder.name, []);
  }
  for (let i = 0; i < runs; i++) {
    for (const decoder of decoders) {
      if (i >= planned.get(decoder.name)!) continue;
      samples.get(decoder.name)!.push(time(() => decoder.run(bytes)));
    }
  }
  const wardenMedian = median(samples.get('wasm-warden')!);
  for (const decoder of decoders) {
    const times = samples.get(decoder.name)!;
    const m = median(times);
    rows.push([`${label} ${mb.toFixed(1)} MB`, decoder.name, times.length, ms(m), ms(percentile(times, 99)), (mb / (m / 1000)).toFixed(0), (m / wardenMedian).toFixed(2)]);
  }
}
console.log(table(['module', 'decoder', 'runs', 'median', 'p99', 'MB/s', 'x warden'], rows));
console.log('\n"x warden" is the median over wasm-warden\'s from this run: above 1 means wasm-warden is faster.');
for (const note of notes) console.log(`note: ${note}`);
if (sink === 0.5) console.log(sink); // keeps the checksum alive
