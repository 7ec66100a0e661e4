// A longer fuzzing run of the decoder for local use (npm run fuzz -- --seconds 300).
// Mutates every module of the corpus and generated modules, byte by byte and
// by structure (mutate-structure.ts), until time runs out; any failure other
// than a clean WasmDecodeError, any difference from V8 (differential.ts, with
// V8's flagged proposals on) and any break of the admission oracle
// (admission-oracle.ts: prepare under every rewrite) is printed with its seed.

import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { decodeModule } from '../../src/binary/decode.js';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { forEachInstruction } from '../../src/binary/instructions.js';
import { inspect } from '../../src/audit/inspect.js';
import { largeModulePaths, smallCorpus } from '../binary/corpus.js';
import { mutations } from '../binary/mutate.js';
import { structuredMutations } from '../binary/mutate-structure.js';
import { admissionFindings } from '../binary/admission-oracle.js';
import { compareWithV8 } from '../binary/differential.js';
import { generateModule } from '../binary/generate.js';

const argIndex = process.argv.indexOf('--seconds');
const seconds = argIndex >= 0 ? Number(process.argv[argIndex + 1]) : 60;
const deadline = Date.now() + seconds * 1000;
const corpus = [...(await smallCorpus()), { name: 'resvg', bytes: new Uint8Array(readFileSync(largeModulePaths[0]!)) }]
  .filter((m) => WebAssembly.validate(m.bytes));

function check(bytes: Uint8Array): void {
  try {
    const module = decodeModule(bytes);
    for (let i = 0; i < module.code.length; i++) forEachInstruction(module, i, () => {});
    inspect(module);
  } catch (error) {
    if (!(error instanceof WasmDecodeError)) throw error;
    if (error.offset < 0 || error.offset > bytes.length) throw new Error(`offset ${error.offset} outside the input`);
  }
  // Differential: what V8 accepts, the decoder accepts and reads the same way.
  const mismatch = compareWithV8(bytes);
  if (mismatch) throw new Error(mismatch.detail);
  const findings = admissionFindings(bytes);
  if (findings.length > 0) throw new Error(findings.map((f) => `${f.kind} [${f.config}]: ${f.detail}`).join('\n'));
}

let rounds = 0;
let cases = 0;
while (Date.now() < deadline) {
  const seed = Date.now() ^ (rounds * 0x9e3779b1);
  const numRuns = 500;
  const generated = fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((s) => ({ name: `generated ${s}`, bytes: generateModule(s) }));
  const result = fc.check(fc.property(fc.oneof(fc.constantFrom(...corpus), generated), fc.oneof(mutations(), structuredMutations()), fc.integer({ min: 0, max: 4 }), (m, mutate, times) => {
    let bytes = m.bytes;
    for (let i = 0; i < times; i++) bytes = mutate(bytes);
    check(bytes);
  }), { seed, numRuns });
  if (result.failed) {
    console.error(`failure with seed ${seed}: ${fc.defaultReportMessage(result)}`);
    process.exit(1);
  }
  rounds++;
  cases += numRuns;
}
console.log(`fuzzed ${cases} mutated modules over ${corpus.length} seeds in ${seconds} s: no failures`);
