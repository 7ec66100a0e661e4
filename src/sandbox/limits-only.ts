// Whether a rewrite changed nothing but the maxima of memories and tables:
// then every function body of the rewritten module is byte for byte a body
// of the original, validated against the same types, imports, functions,
// tables, memories, globals, element and data segments (a maximum is no part
// of what a body's validation reads), so V8's whole validation of the
// original covers the rewritten bodies too. Checked on the bytes, section by
// section, not taken from what the rewriter says it did.

import { ByteReader } from '../binary/reader.js';
import { readSections } from '../binary/sections.js';
import { WasmDecodeError } from '../binary/errors.js';
import type { PlannedSection } from '../transform/index.js';

const TABLE = 4;
const MEMORY = 5;

export function differsOnlyInLimits(original: Uint8Array, rewritten: Uint8Array): boolean {
  if (rewritten === original) return true;
  try {
    const before = readSections(original);
    const after = readSections(rewritten);
    if (before.length !== after.length) return false;
    for (let i = 0; i < before.length; i++) {
      const a = before[i]!;
      const b = after[i]!;
      if (a.id !== b.id) return false;
      const was = original.subarray(a.payloadStart, a.end);
      const is = rewritten.subarray(b.payloadStart, b.end);
      if (sameBytes(was, is)) continue;
      // Any other section changed (a body, a type, an import, a global, …): V8 validates the rewritten module whole.
      if (a.id !== TABLE && a.id !== MEMORY) return false;
      if (!sameButMaxima(was, is, a.id === TABLE)) return false;
    }
    return true;
  } catch (error) {
    if (error instanceof WasmDecodeError) return false;
    throw error;
  }
}

/**
 * The same question asked of a rewrite planned but not yet laid out (for a
 * caller that lays it over the original's bytes, which are then gone): the
 * plan's sections, one for each of the original's, in order; each either
 * the original's own range, kept whole (its bytes are those bytes), or a new
 * memory or table section whose bytes differ from the original's only in
 * maxima. Any other shape is a no.
 */
export function planDiffersOnlyInLimits(original: Uint8Array, plan: readonly PlannedSection[]): boolean {
  try {
    const before = readSections(original);
    if (before.length !== plan.length) return false;
    for (let i = 0; i < before.length; i++) {
      const a = before[i]!;
      const b = plan[i]!;
      if (b.kept) {
        if (b.start !== a.start || b.end !== a.end) return false;
        continue;
      }
      if (b.id !== a.id) return false;
      const was = original.subarray(a.payloadStart, a.end);
      if (sameBytes(was, b.payload)) continue;
      if (a.id !== TABLE && a.id !== MEMORY) return false;
      if (!sameButMaxima(was, b.payload, a.id === TABLE)) return false;
    }
    return true;
  } catch (error) {
    if (error instanceof WasmDecodeError) return false;
    throw error;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/**
 * The same memories (or tables) in the same order, each with the same flags
 * but the maximum's presence, the same minimum and, for a table, the same
 * element type; only the maxima may differ. A table whose element type is
 * not one byte (a typed reference) is not compared: the answer is no.
 */
function sameButMaxima(was: Uint8Array, is: Uint8Array, tables: boolean): boolean {
  const a = new ByteReader(was);
  const b = new ByteReader(is);
  const count = a.u32();
  if (b.u32() !== count) return false;
  for (let i = 0; i < count; i++) {
    if (tables) {
      const type = a.u8();
      if (b.u8() !== type || (type !== 0x70 && type !== 0x6f)) return false;
    }
    const flags = a.u8();
    const otherFlags = b.u8();
    if (flags > 7 || (flags & ~1) !== (otherFlags & ~1)) return false;
    const read = flags & 4 ? (r: ByteReader) => r.u64() : (r: ByteReader) => r.u32();
    if (read(a) !== read(b)) return false;
    if (flags & 1) read(a);
    if (otherFlags & 1) read(b);
  }
  return a.atEnd() && b.atEnd();
}
