// Structure-aware mutations for differential fuzzing: where mutate.ts flips
// and splices bytes, these know the module's sections and instructions, so
// their output stays framed well enough to reach the deeper checks (and V8's
// validator) instead of failing at the first size prefix. Sections are
// reordered, duplicated, dropped and cut; sizes and counts are encoded
// over-long, overflowed or inflated; instructions are replaced by other
// opcodes (every prefixed sub-opcode included), given other indices and
// block types, and snippets of each proposal are inserted into bodies.

import fc from 'fast-check';
import { decodeModule } from '../../src/binary/decode.js';
import { forEachSection } from '../../src/binary/sections.js';
import { forEachInstruction } from '../../src/binary/instructions.js';
import { ByteWriter } from '../../src/binary/writer.js';
import type { WasmModule } from '../../src/binary/types.js';
import { HEADER } from '../helpers/module-builder.js';
import { random } from './generate.js';

export type Rng = () => number;
export type StructuredMutation = (bytes: Uint8Array, rng: Rng) => Uint8Array;

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!;

/** `value` as an unsigned LEB128 of exactly `width` bytes (over-long when wider than needed). */
export function lebOfWidth(value: number, width: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    const byte = value % 128;
    value = Math.floor(value / 128);
    out.push(i < width - 1 ? byte | 0x80 : byte);
  }
  return out;
}

const u32 = (value: number) => [...new ByteWriter(5).u32(value).finish()];

/** A LEB128 for `value` that a reader may refuse: over-long within 5 bytes, past 5 bytes, or overflowing 32 bits. */
function oddLeb(rng: Rng, value: number): number[] {
  value = Math.min(value, 0xffffffff);
  switch (int(rng, 4)) {
    case 0: return lebOfWidth(value, 5);
    case 1: return lebOfWidth(value, 6 + int(rng, 4));
    case 2: { const out = lebOfWidth(value, 5); out[4]! |= 0x70; return out; }
    default: return lebOfWidth(value, Math.min(5, u32(value).length + 1));
  }
}

interface Piece { id: number; payload: Uint8Array; size?: number[] }

function split(bytes: Uint8Array): Piece[] | null {
  const pieces: Piece[] = [];
  try {
    forEachSection(bytes, Infinity, (id, _start, payloadStart, end) => pieces.push({ id, payload: bytes.subarray(payloadStart, end) }));
  } catch {
    return null;
  }
  return pieces;
}

function join(pieces: Piece[]): Uint8Array {
  const w = new ByteWriter(bytesOf(pieces)).bytes(HEADER);
  for (const p of pieces) {
    w.u8(p.id);
    if (p.size) for (const b of p.size) w.u8(b); else w.u32(p.payload.length);
    w.bytes(p.payload);
  }
  return w.finish();
}

const bytesOf = (pieces: Piece[]) => 8 + pieces.reduce((n, p) => n + p.payload.length + 10, 0);
function concat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Applies `change` to the sections, or returns the bytes unchanged when they are not framed. */
const onSections = (change: (pieces: Piece[], rng: Rng) => void): StructuredMutation => (bytes, rng) => {
  const pieces = split(bytes);
  if (!pieces || pieces.length === 0) return bytes;
  change(pieces, rng);
  return join(pieces);
};

/** Reads the first LEB128 of a payload (a vector's count): its value and width, or null. */
function firstLeb(payload: Uint8Array): { value: number; width: number } | null {
  let value = 0;
  for (let i = 0; i < Math.min(5, payload.length); i++) {
    value += (payload[i]! & 0x7f) * 2 ** (7 * i);
    if ((payload[i]! & 0x80) === 0) return { value, width: i + 1 };
  }
  return null;
}

const sectionMutations: StructuredMutation[] = [
  // Two sections swapped (order is checked: known sections must come in order, once each).
  onSections((p, rng) => { const i = int(rng, p.length); const j = int(rng, p.length); [p[i], p[j]] = [p[j]!, p[i]!]; }),
  // A section twice.
  onSections((p, rng) => { const i = int(rng, p.length); p.splice(i + int(rng, 2), 0, { ...p[i]! }); }),
  // A section dropped (functions without code, code without functions, a data count gone).
  onSections((p, rng) => { p.splice(int(rng, p.length), 1); }),
  // A section's size encoded over-long, past five bytes or overflowing.
  onSections((p, rng) => { const s = pick(rng, p); s.size = oddLeb(rng, s.payload.length); }),
  // A section cut short, its size kept true to what remains.
  onSections((p, rng) => { const s = pick(rng, p); s.payload = s.payload.subarray(0, int(rng, s.payload.length + 1)); }),
  // A vector's count inflated, deflated or made huge; or encoded over-long.
  onSections((p, rng) => {
    const s = pick(rng, p.filter((x) => x.id !== 0).length ? p.filter((x) => x.id !== 0) : p);
    const count = firstLeb(s.payload);
    if (!count) return;
    const value = pick(rng, [count.value + 1, count.value + 1000, Math.max(0, count.value - 1), 0xffffffff, 2 ** 31, count.value]);
    s.payload = concat(value === count.value ? oddLeb(rng, value) : u32(Math.min(value, 0xffffffff)), s.payload.subarray(count.width));
  }),
  // An unknown or newer section id (tag 13, data count 12, id 14+), empty or holding a copy of another's payload.
  onSections((p, rng) => { p.splice(int(rng, p.length + 1), 0, { id: pick(rng, [12, 13, 14, 0x7f, 0x80]), payload: rng() < 0.5 ? new Uint8Array(0) : pick(rng, p).payload }); }),
  // The first memory's flags changed: 64-bit (memory64), shared, a maximum dropped or added.
  onSections((p, rng) => {
    const memory = p.find((x) => x.id === 5 && x.payload.length > 2 && x.payload[0] !== 0);
    if (!memory) return;
    memory.payload = memory.payload.slice();
    memory.payload[1]! ^= pick(rng, [4, 4, 2, 1]);
  }),
  // A custom section with a hostile name: control characters, bidi overrides, invalid UTF-8, a long one.
  onSections((p, rng) => {
    const names = [[0x1b, 0x5b, 0x33, 0x31, 0x6d], [0xe2, 0x80, 0xae, 0x61], [0xff, 0xfe], [0xc0, 0x80], new Array(70_000).fill(0x41), [0x6e, 0x61, 0x6d, 0x65]];
    const nameBytes = pick(rng, names);
    p.splice(int(rng, p.length + 1), 0, { id: 0, payload: concat(u32(nameBytes.length), nameBytes, p[0]?.payload.subarray(0, 64) ?? []) });
  }),
];

// Stack-neutral snippets, one per proposal, that type-check in most bodies: inserted, they make a
// module V8 still accepts use the proposal, so admission and the rewrite meet it.
const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
export const SNIPPETS: ReadonlyArray<readonly number[]> = [
  [0x01], [0x02, 0x40, 0x0b], [0x03, 0x40, 0x0b], [0x41, 0x00, 0x04, 0x40, 0x05, 0x0b], [0x41, 0x00, 0x1a],
  [0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 0x1a], // i64.const, ten bytes
  [0x06, 0x40, 0x19, 0x0b], [0x06, 0x40, 0x18, 0x00], [0x06, 0x40, 0x07, 0x00, 0x0b], // legacy try
  [0x1f, 0x40, 0x00, 0x0b], [0x1f, 0x40, 0x01, 0x02, 0x00, 0x0b], // try_table
  [0x3f, 0x00, 0x1a], [0x41, 0x01, 0x40, 0x00, 0x1a], [0x3f, 0x01, 0x1a], // memory.size/grow, memory 1
  [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00], [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00],
  [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x01, 0x00], [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00],
  [0xfc, 0x09, 0x00], [0xfc, 0x0d, 0x00], [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0c, 0x00, 0x00],
  [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0e, 0x00, 0x00], [0xfc, 0x10, 0x00, 0x1a], [0xd0, 0x70, 0x41, 0x01, 0xfc, 0x0f, 0x00, 0x1a],
  [0x41, 0x00, 0xd0, 0x70, 0x41, 0x01, 0xfc, 0x11, 0x00], [0xd0, 0x70, 0x1a], [0xd0, 0x6f, 0xd1, 0x1a], [0xd2, 0x00, 0x1a],
  [0x41, 0x00, 0x25, 0x00, 0x1a], [0x41, 0x00, 0x41, 0x00, 0x41, 0x01, 0x1c, 0x01, 0x7f, 0x1a],
  [...V128_ZERO, 0x1a], [...V128_ZERO, ...V128_ZERO, 0xfd, 0x80, 0x02, 0x1a], [...V128_ZERO, 0xfd, 0x15, 0x00, 0x1a],
  [0x41, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x1a], [0xfe, 0x03, 0x00], [0x41, 0x00, 0xfe, 0x10, 0x02, 0x00, 0x1a],
  [0x41, 0x00, 0x41, 0x00, 0xfe, 0x00, 0x02, 0x00, 0x1a], [0x41, 0x00, 0x41, 0x00, 0x42, 0x00, 0xfe, 0x01, 0x02, 0x00, 0x1a],
  [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x1a], [0x10, 0x00], [0x12, 0x00], [0x0f], [0x00],
  [0x41, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00], [0x41, 0x00, 0x13, 0x00, 0x00], [0x23, 0x00, 0x24, 0x00], [0x20, 0x00, 0x21, 0x00],
  [0x41, 0x00, 0x28, 0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x1a], // load with an offset past 32 bits
  [0x41, 0x00, 0x28, 0x40, 0x00, 0x00, 0x1a], // memarg's multi-memory bit, memory 0
  [0x41, 0x00, 0x28, 0x42, 0x01, 0x00, 0x1a], // memarg naming memory 1
  // memory64: sizes and addresses are i64 (valid only where memory 0 is 64-bit)
  [0x42, 0x01, 0x40, 0x00, 0x1a], [0x42, 0x00, 0x41, 0x00, 0x42, 0x00, 0xfc, 0x0b, 0x00], [0x42, 0x00, 0x42, 0x00, 0x42, 0x00, 0xfc, 0x0a, 0x00, 0x00],
  [0x42, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00], [0x42, 0x00, 0x28, 0x02, 0x00, 0x1a],
  [0xfb, 0x01, 0x00, 0x1a], [0xfb, 0x14, 0x70, 0x1a], [0xd3], [0x14, 0x00], [0xd0, 0x70, 0xd4, 0x1a],
];

/** Every sub-opcode of a prefix, with immediates that fit most shapes (zeros, a lane, a memarg). */
function prefixedOp(rng: Rng): number[] {
  const prefix = pick(rng, [0xfb, 0xfc, 0xfd, 0xfe]);
  const sub = prefix === 0xfd ? int(rng, 0x120) : prefix === 0xfe ? int(rng, 0x50) : int(rng, 0x20);
  const immediates = pick(rng, [[], [0x00], [0x00, 0x00], [0x02, 0x00], [0x02, 0x00, 0x00], new Array(16).fill(0)]);
  const subBytes = rng() < 0.1 ? lebOfWidth(sub, 5) : u32(sub);
  return [prefix, ...subBytes, ...immediates];
}

/** Operand shapes: no operand, an i32 popped, an i32 pushed, two i32s to an i32. */
function withOperands(rng: Rng, op: number[]): number[] {
  return pick(rng, [op, [...op, 0x1a], [0x41, 0x00, ...op], [0x41, 0x00, ...op, 0x1a], [0x41, 0x00, 0x41, 0x00, ...op, 0x1a], [...V128_ZERO, ...op, 0x1a]]);
}

interface Site { body: number; start: number; end: number; ins: { prefix: number; code: number; offset: number; end: number; immStart: number } }

/** A random instruction of a random body (reservoir-sampled: one walk of the module). */
function pickInstruction(module: WasmModule, rng: Rng): Site | null {
  if (module.code.length === 0) return null;
  const body = int(rng, module.code.length);
  let chosen: Site | null = null;
  let seen = 0;
  try {
    forEachInstruction(module, body, (ins) => {
      if (int(rng, ++seen) === 0) {
        const immStart = ins.prefix === 0 ? ins.offset + 1 : ins.offset + 1 + u32(ins.code).length;
        chosen = { body, start: ins.offset, end: ins.end, ins: { prefix: ins.prefix, code: ins.code, offset: ins.offset, end: ins.end, immStart } };
      }
    });
  } catch {
    return null;
  }
  return chosen;
}

/** The module with bytes [start, end) of body `index` replaced, the body's and the code section's sizes kept true. */
export function spliceBody(module: WasmModule, index: number, start: number, end: number, replacement: ArrayLike<number>): Uint8Array {
  const code = module.sections.find((s) => s.id === 10)!;
  const w = new ByteWriter(module.bytes.length + replacement.length + 16).u32(module.code.length);
  module.code.forEach((b, i) => {
    if (i !== index) {
      w.u32(b.end - b.start).bytes(module.bytes.subarray(b.start, b.end));
      return;
    }
    const inner = concat(module.bytes.subarray(b.start, start), Array.from(replacement), module.bytes.subarray(end, b.end));
    w.u32(inner.length).bytes(inner);
  });
  const payload = w.finish();
  return concat(module.bytes.subarray(0, code.start), [10], u32(payload.length), payload, module.bytes.subarray(code.end));
}

const onInstruction = (change: (site: Site, module: WasmModule, rng: Rng) => number[] | null): StructuredMutation => (bytes, rng) => {
  let module: WasmModule;
  try {
    module = decodeModule(bytes, { validateBodies: false });
  } catch {
    return bytes;
  }
  const site = pickInstruction(module, rng);
  if (!site) return bytes;
  const replacement = change(site, module, rng);
  return replacement ? spliceBody(module, site.body, site.start, site.end, replacement) : bytes;
};

const SINGLE_INDEX_OPCODES = new Set([0x08, 0x0c, 0x0d, 0x10, 0x12, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xd2]);

const instructionMutations: StructuredMutation[] = [
  // A snippet of some proposal inserted before an instruction.
  onInstruction((site, module, rng) => [...pick(rng, SNIPPETS), ...module.bytes.subarray(site.start, site.end)]),
  // An instruction replaced by a prefixed opcode (any sub-opcode), with operands around it.
  onInstruction((_site, _module, rng) => withOperands(rng, prefixedOp(rng))),
  // An instruction replaced by another one-byte opcode, immediates kept.
  onInstruction((site, module, rng) => [int(rng, 256), ...module.bytes.subarray(site.ins.prefix === 0 ? site.start + 1 : site.ins.immStart, site.end)]),
  // An index immediate moved: next to its space's end, zero, huge, or encoded over-long.
  onInstruction((site, _module, rng) => {
    if (site.ins.prefix !== 0 || !SINGLE_INDEX_OPCODES.has(site.ins.code)) return null;
    const value = pick(rng, [0, 1, 2, 3, 5, 8, 100, 0xffff, 0xffffffff]);
    return [site.ins.code, ...(rng() < 0.3 ? oddLeb(rng, value) : u32(value))];
  }),
  // A block type replaced: a value type, a type index (in range or not), a proposal's reference type.
  onInstruction((site, module, rng) => {
    if (site.ins.prefix !== 0 || ![0x02, 0x03, 0x04, 0x06].includes(site.ins.code)) return null;
    const type = pick(rng, [[0x40], [0x7f], [0x7b], [0x70], [0x6f], [0x69], [0x64, 0x70], [0x63, 0x00], [0x00], [0x01], [int(rng, 8)], [0x80, 0x80, 0x04]]);
    return [site.ins.code, ...type];
  }),
  // A giant br_table (many targets, all 0) or deep nesting in place of an instruction.
  onInstruction((_site, _module, rng) => {
    const n = pick(rng, [1, 100, 10_000, 100_000]);
    if (rng() < 0.5) return [0x41, 0x00, 0x0e, ...u32(n), ...new Array(n + 1).fill(0x00)];
    return [...new Array(Math.min(n, 20_000)).fill([0x02, 0x40]).flat(), ...new Array(Math.min(n, 20_000)).fill(0x0b)];
  }),
];

export const STRUCTURED_MUTATIONS: readonly StructuredMutation[] = [...sectionMutations, ...instructionMutations];

/** One structured mutation chosen by `rng`. */
export function mutateStructure(bytes: Uint8Array, rng: Rng): Uint8Array {
  return pick(rng, STRUCTURED_MUTATIONS)(bytes, rng);
}

/** Structured mutations as a fast-check arbitrary (each drawn as a seed, so a failure shrinks to one). */
export function structuredMutations(): fc.Arbitrary<(bytes: Uint8Array) => Uint8Array> {
  return fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((seed) => {
    const mutate = (bytes: Uint8Array) => mutateStructure(bytes, random(seed));
    return Object.assign(mutate, { toString: () => `structured mutation ${seed}` });
  });
}
