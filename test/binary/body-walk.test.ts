// The shared walk (body-walk.ts) against the general instruction walker
// (instructions.ts), instruction by instruction: on the corpus, on generated
// modules and on mutations of both, the shared walk must refuse exactly what
// the general walker refuses (same reason, same offset), note the same
// proposals at the same offsets, the same first atomic and `throw`, and the
// same first out-of-range index as a per-instruction check.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { indexSpaces, SITE_WORDS, walkBodies } from '../../src/binary/body-walk.js';
import { decodeModule } from '../../src/binary/decode.js';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { forEachInstruction, newInstruction } from '../../src/binary/instructions.js';
import { instructionExtraFeature } from '../../src/binary/module-features.js';
import type { Feature, Instruction, WasmModule } from '../../src/binary/types.js';
import { smallCorpus } from './corpus.js';
import { generateModule } from './generate.js';
import { body, FUNC_TYPE_VOID, moduleOf, section } from '../helpers/module-builder.js';
import { mutations } from './mutate.js';

interface Seen { features: Array<[Feature, number]>; atomicsAt: number | null; throwAt: number | null; indexError: string | null }

/** What the walk should find, read one Instruction object at a time through the general walker. */
function reference(module: WasmModule): Seen {
  const features = new Map<Feature, number>();
  const note = (f: Feature, at: number) => { if (f !== 'mvp' && !features.has(f)) features.set(f, at); };
  let atomicsAt: number | null = null;
  let throwAt: number | null = null;
  let indexError: string | null = null;
  const s = indexSpaces(module);
  const ins = newInstruction();
  for (let f = 0; f < module.code.length; f++) {
    const locals = (module.types[module.functions[f]!]?.params.length ?? 0) + module.code[f]!.localCount;
    let depth = 1;
    const check = (index: number, size: number, what: string, at: number) => {
      if (!(index < size)) indexError ??= `${at}: ${what} index ${index} out of range (the module has ${size})`;
    };
    forEachInstruction(module, f, (i: Instruction) => {
      const at = i.offset;
      if (i.prefix === 0 && i.code === 0x08) throwAt ??= at;
      else {
        note(i.feature, at);
        if (i.blockType !== null || i.types !== null || (i.prefix === 0 ? i.code === 0x11 || i.code === 0x13 : i.prefix === 0xfc)) note(instructionExtraFeature(i), at);
      }
      if (i.prefix === 0xfe) atomicsAt ??= at;
      if (i.prefix === 0) {
        switch (i.code) {
          case 0x02: case 0x03: case 0x04: case 0x06: depth++; if (i.blockType!.kind === 'type') check(i.blockType!.index, s.types, 'type', at); return;
          case 0x1f: depth++; return;
          case 0x0b: depth--; return;
          case 0x18: depth--; check(i.index, depth, 'label', at); return;
          case 0x0c: case 0x0d: case 0x09: case 0xd5: case 0xd6: check(i.index, depth, 'label', at); return;
          case 0x0e: for (const l of i.labels!) check(l, depth, 'label', at); return;
          case 0x10: case 0x12: case 0xd2: check(i.index, s.functions, 'function', at); return;
          case 0x11: case 0x13: check(i.index, s.types, 'type', at); check(i.index2, s.tables, 'table', at); return;
          case 0x14: case 0x15: check(i.index, s.types, 'type', at); return;
          case 0x20: case 0x21: case 0x22: check(i.index, locals, 'local', at); return;
          case 0x23: case 0x24: check(i.index, s.globals, 'global', at); return;
          case 0x25: case 0x26: check(i.index, s.tables, 'table', at); return;
          case 0x3f: case 0x40: check(i.index, s.memories, 'memory', at); return;
          case 0x07: case 0x08: check(i.index, s.tags, 'tag', at); return;
        }
        if (i.memArg) check(i.memArg.memory, s.memories, 'memory', at);
        return;
      }
      if (i.memArg) { check(i.memArg.memory, s.memories, 'memory', at); return; }
      if (i.prefix !== 0xfc) return;
      switch (i.code) {
        case 8: check(i.index, s.data, 'data segment', at); check(i.index2, s.memories, 'memory', at); return;
        case 9: check(i.index, s.data, 'data segment', at); return;
        case 10: check(i.index, s.memories, 'memory', at); check(i.index2, s.memories, 'memory', at); return;
        case 11: check(i.index, s.memories, 'memory', at); return;
        case 12: check(i.index, s.elements, 'element segment', at); check(i.index2, s.tables, 'table', at); return;
        case 13: check(i.index, s.elements, 'element segment', at); return;
        case 14: check(i.index, s.tables, 'table', at); check(i.index2, s.tables, 'table', at); return;
        case 15: case 16: case 17: check(i.index, s.tables, 'table', at); return;
      }
    }, ins);
  }
  return { features: [...features], atomicsAt, throwAt, indexError };
}

const outcome = (run: () => Seen): Seen | string => {
  try { return run(); } catch (error) {
    if (error instanceof WasmDecodeError) return `refused at ${error.offset}: ${error.reason}`;
    throw error;
  }
};

function agrees(bytes: Uint8Array): void {
  let module: WasmModule;
  try { module = decodeModule(bytes, { validateBodies: false }); } catch { return; }
  const walked = outcome(() => {
    const facts = walkBodies(module, { record: { regions: true, bulk: true, callsFrom: module.importedFunctionCount } });
    return { features: [...facts.features], atomicsAt: facts.atomicsAt, throwAt: facts.throwAt, indexError: facts.indexError && `${facts.indexError.offset}: ${facts.indexError.reason}` };
  });
  assert.deepEqual(walked, outcome(() => reference(module)));
}

describe('the shared walk of the bodies', async () => {
  const corpus = (await smallCorpus()).filter((m) => m.bytes.length < 2_000_000);

  it('finds what the general walker finds in every corpus module', () => {
    for (const m of corpus) agrees(m.bytes);
  });

  it('finds what the general walker finds in generated modules', () => {
    for (let seed = 0; seed < 400; seed++) agrees(generateModule(seed));
  });

  it('refuses and finds exactly as the general walker on mutated modules', () => {
    const small = corpus.filter((m) => m.bytes.length < 100_000);
    fc.assert(fc.property(fc.integer({ min: 0, max: small.length - 1 }), fc.integer({ min: 0, max: 10_000 }), mutations(), (pick, seed, mutate) => {
      agrees(mutate(small[pick]!.bytes));
      agrees(mutate(generateModule(seed)));
    }), { numRuns: 1500, seed: 11 });
  });

  it('checks the indices of the instructions it passes over early (locals, memory 0), as the general walker does', () => {
    // One function with one local (its final `end` added); memory only where `withMemory`.
    const moduleWith = (code: number[], withMemory: boolean) => moduleOf(
      section(1, Uint8Array.from([1, ...FUNC_TYPE_VOID])), section(3, Uint8Array.of(1, 0)),
      ...(withMemory ? [section(5, Uint8Array.of(1, 0x00, 1))] : []),
      section(10, Uint8Array.from([1, ...body(code, [[1, 0x7f]])])));
    const cases: Array<[string, number[], boolean, RegExp | null]> = [
      ['local.get of the only local', [0x20, 0x00, 0x1a], false, null],
      ['local.get past the locals', [0x20, 0x05, 0x1a], false, /local index 5 out of range \(the module has 1\)/],
      ['local.set past the locals', [0x41, 0x01, 0x21, 0x01], false, /local index 1 out of range/],
      ['local.tee past the locals', [0x41, 0x01, 0x22, 0x7f, 0x1a], false, /local index 127 out of range/],
      ['a load with a one-byte offset and no memory', [0x41, 0x00, 0x28, 0x02, 0x08, 0x1a], false, /memory index 0 out of range \(the module has 0\)/],
      ['a store with a two-byte offset and no memory', [0x41, 0x00, 0x41, 0x00, 0x36, 0x02, 0xc8, 0x01], false, /memory index 0 out of range/],
      ['a load with memory', [0x41, 0x00, 0x28, 0x02, 0x08, 0x1a], true, null],
    ];
    for (const [what, code, withMemory, refused] of cases) {
      const bytes = moduleWith(code, withMemory);
      agrees(bytes);
      const error = walkBodies(decodeModule(bytes, { validateBodies: false })).indexError;
      if (refused) assert.match(error?.reason ?? 'none', refused, what);
      else assert.equal(error, null, what);
      // V8 agrees that each refused case is invalid and each other one valid.
      assert.equal(WebAssembly.validate(bytes as BufferSource), refused === null, what);
    }
  });

  it('counts each fuel region of loops nested 3,000 deep (past its first depth tables) in its own region', () => {
    const depth = 3000;
    const code = [...Array(depth).fill([0x03, 0x40]).flat(), 0x01, ...Array(depth).fill(0x0b)];
    const bytes = moduleOf(section(1, Uint8Array.from([1, ...FUNC_TYPE_VOID])), section(3, Uint8Array.of(1, 0)), section(10, Uint8Array.from([1, ...body(code)])));
    assert.equal(WebAssembly.validate(bytes as BufferSource), true);
    const facts = walkBodies(decodeModule(bytes), { record: { regions: true, bulk: true, callsFrom: null } });
    // The entry and one region per loop; each holds two instructions: the next loop (or the nop) and its own end.
    const regions = Array.from({ length: facts.sites.length / SITE_WORDS }, (_, i) => facts.sites[i * SITE_WORDS]! >>> 2);
    assert.equal(regions.length, depth + 1);
    assert.deepEqual(new Set(regions), new Set([2]));
  });
});
