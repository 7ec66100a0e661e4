// Decoding benchmark: wasm-warden's decoder beside wabt.js and binaryen.js on
// real multi-megabyte modules shipped in npm packages, in one run. "Decoding"
// means every function body down to every instruction and immediate: for
// wasm-warden, decodeModule plus a walk over every body; wabt.js and
// binaryen.js build their full IR, which includes the same work.
//
//   npm run bench:decode [-- --runs 20 --peer-runs 5]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import createWabt from 'wabt';
import binaryen from 'binaryen';
import { decodeModule } from '../src/binary/decode.js';
import { forEachInstruction, newInstruction } from '../src/binary/instructions.js';
import { argValue, median, ms, percentile, table, timeRuns } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const modules = [
  ['resvg (Rust)', 'node_modules/@resvg/resvg-wasm/index_bg.wasm'],
  ['esbuild (Go)', 'node_modules/esbuild-wasm/esbuild.wasm'],
  ['yosys (C++)', 'node_modules/@yowasp/yosys/gen/yosys.core.wasm'],
] as const;

const runs = argValue('runs', 20);
const peerRuns = argValue('peer-runs', 5);
const wabt = await createWabt();
const wabtFeatures = {
  readDebugNames: false, simd: true, bulk_memory: true, reference_types: true, exceptions: true, threads: true,
  tail_call: true, multi_value: true, sat_float_to_int: true, sign_extension: true, mutable_globals: true,
};

function wardenDecode(bytes: Uint8Array): number {
  const module = decodeModule(bytes, { validateBodies: false });
  const ins = newInstruction();
  let count = 0;
  const visit = () => { count++; };
  for (let i = 0; i < module.code.length; i++) forEachInstruction(module, i, visit, ins);
  return count;
}

console.log(`decode benchmark: wasm-warden ${runs} runs, peers ${peerRuns} runs (median and p99, ms)\n`);
const rows: Array<Array<string | number>> = [];
for (const [label, path] of modules) {
  const bytes = new Uint8Array(readFileSync(join(root, path)));
  const mb = bytes.length / 1e6;
  const warden = timeRuns(runs, () => { wardenDecode(bytes); }, 2);
  const wabtTimes = timeRuns(peerRuns, () => { wabt.readWasm(bytes, wabtFeatures).destroy(); }, 1);
  const binaryenTimes = timeRuns(peerRuns, () => { binaryen.readBinary(bytes).dispose(); }, 1);
  const w = median(warden);
  for (const [name, times] of [['wasm-warden', warden], ['wabt.js', wabtTimes], ['binaryen.js', binaryenTimes]] as const) {
    const m = median(times);
    rows.push([`${label} ${mb.toFixed(1)} MB`, name, ms(m), ms(percentile(times, 99)), (mb / (m / 1000)).toFixed(0), (m / w).toFixed(2)]);
  }
}
console.log(table(['module', 'decoder', 'median', 'p99', 'MB/s', 'x warden'], rows));
console.log('\n"x warden" is the peer\'s median over wasm-warden\'s, from this run: above 1 means wasm-warden is faster.');
