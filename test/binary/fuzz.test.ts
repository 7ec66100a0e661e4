// Hostile input: every mutation of a real module either decodes or fails with
// a WasmDecodeError at an offset inside the input. Fixed seeds: reproducible.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeModule } from '../../src/binary/decode.js';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { forEachInstruction } from '../../src/binary/instructions.js';
import { smallCorpus } from './corpus.js';
import { mutations } from './mutate.js';

function decodesOrRefusesCleanly(bytes: Uint8Array): void {
  try {
    const module = decodeModule(bytes);
    for (let i = 0; i < module.code.length; i++) forEachInstruction(module, i, () => {});
  } catch (error) {
    if (!(error instanceof WasmDecodeError)) throw error;
    assert.ok(error.offset >= 0 && error.offset <= bytes.length, `offset ${error.offset} outside 0..${bytes.length}`);
  }
  if (WebAssembly.validate(bytes)) assert.doesNotThrow(() => decodeModule(bytes), 'validate accepted what decode refused');
}

describe('fuzzing the decoder', async () => {
  const corpus = (await smallCorpus()).filter((m) => WebAssembly.validate(m.bytes) && m.bytes.length < 200_000);

  it('survives arbitrary byte strings, with and without the header', () => {
    const header = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (tail, withHeader) => {
      decodesOrRefusesCleanly(withHeader ? Uint8Array.from([...header, ...tail]) : tail);
    }), { seed: 7, numRuns: 3000 });
  });

  it('survives mutations of every corpus module', () => {
    assert.ok(corpus.length > 0);
    fc.assert(fc.property(fc.constantFrom(...corpus), mutations(), ({ bytes }, mutate) => {
      decodesOrRefusesCleanly(mutate(bytes));
    }), { seed: 11, numRuns: 1500 });
  });

  it('survives truncation at every byte of a small module', () => {
    const smallest = corpus.reduce((a, b) => (a.bytes.length <= b.bytes.length ? a : b));
    for (let n = 0; n < smallest.bytes.length; n++) decodesOrRefusesCleanly(smallest.bytes.subarray(0, n));
  });
});
