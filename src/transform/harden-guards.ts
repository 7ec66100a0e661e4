// The code the hardening passes insert, shared by the emitter (harden.ts)
// and the recogniser (harden-recognise.ts) so that both agree byte for byte.
//
// A failed check traps in place: `if (cond) { i32.const TAG; drop;
// unreachable }`, TAG saying which guard it is. V8 compiles that to a
// conditional trap out of line, about as cheap as its own bounds checks (a
// call to a trap function in the same place cost 20-40% on SHA-256, the
// inline trap 3-5%: docs/RATIONALE.md). The host names a trap by its position:
// an `unreachable` trap whose innermost frame sits on such a sequence is that
// guard's kind (guardTrapOffsets, wasi/guard-trap.ts).

import type { Instruction } from '../binary/types.js';
import type { Emitter } from './code-writer.js';
import { GUARD_TAG_PREFIX } from '../binary/body-walk.js';

export type GuardKind = 'stack-guard' | 'null-guard' | 'rodata-write';
export const GUARD_KINDS: readonly GuardKind[] = ['stack-guard', 'null-guard', 'rodata-write'];

/** 'WG' (GUARD_TAG_PREFIX, which the body walk looks for) followed by the kind's number. */
const TAGS: Record<GuardKind, number> = { 'stack-guard': (GUARD_TAG_PREFIX << 16) | 1, 'null-guard': (GUARD_TAG_PREFIX << 16) | 2, 'rodata-write': (GUARD_TAG_PREFIX << 16) | 3 };

export function kindOfTag(value: number): GuardKind | null {
  for (const kind of GUARD_KINDS) if (TAGS[kind] === value) return kind;
  return null;
}

/** TAG as the five-byte signed LEB128 every tag takes. */
function tagBytes(kind: GuardKind): number[] {
  const tag = TAGS[kind];
  return [0x80 | (tag & 0x7f), 0x80 | ((tag >>> 7) & 0x7f), 0x80 | ((tag >>> 14) & 0x7f), 0x80 | ((tag >>> 21) & 0x7f), (tag >>> 28) & 0x0f];
}

/** The trapping arm of a check: if (empty) i32.const TAG; drop; unreachable; end (ten bytes; `unreachable` at +8). */
export function emitTrap(out: Emitter, kind: GuardKind): void {
  out.u8(0x04).u8(0x40).u8(0x41);
  for (const b of tagBytes(kind)) out.u8(b);
  out.u8(0x1a).u8(0x00).u8(0x0b);
}

/** The bytes every trap arm shares after its tag's first byte: the rest of TAG, drop, unreachable. */
const ARM_TAIL = Uint8Array.of(0x80, 0x9c, 0xba, 0x05, 0x1a, 0x00);

/**
 * Every guard trap in `bytes[from, to)` (a code section), as the byte offset
 * of its `unreachable` and of its `if` (V8 may report either as the trap's
 * position), with its kind. Found by a native byte search, so a module
 * without guards costs one pass of memchr over its code.
 */
export function guardTrapOffsets(bytes: Uint8Array, from: number, to: number): Array<[number, GuardKind]> {
  const found: Array<[number, GuardKind]> = [];
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = view.indexOf(ARM_TAIL, from); at >= 0 && at + ARM_TAIL.length <= to; at = view.indexOf(ARM_TAIL, at + 1)) {
    const ifAt = at - 4; // if, 0x40, i32.const, the tag's first byte, then ARM_TAIL
    if (ifAt < from || bytes[ifAt] !== 0x04 || bytes[ifAt + 1] !== 0x40 || bytes[ifAt + 2] !== 0x41 || bytes[at + 6] !== 0x0b) continue;
    const kind = GUARD_KINDS.find((k) => tagBytes(k)[0] === bytes[at - 1]);
    if (!kind) continue;
    found.push([at + 5, kind], [ifAt, kind]);
  }
  return found;
}

export interface Access {
  /** Bytes the load or store touches. */
  size: number;
  store: boolean;
  /** The stored value's type (stores only). */
  value: 'i32' | 'i64' | 'f32' | 'f64' | null;
}

const LOAD_SIZES = [4, 8, 4, 8, 1, 1, 2, 2, 1, 1, 2, 2, 4, 4]; // 0x28 … 0x35
const STORES: Array<[number, Access['value']]> = [[4, 'i32'], [8, 'i64'], [4, 'f32'], [8, 'f64'], [1, 'i32'], [2, 'i32'], [1, 'i64'], [2, 'i64'], [4, 'i64']]; // 0x36 … 0x3e

/** The plain (non-SIMD, non-atomic) load or store `ins` is, or null. */
export function accessOf(ins: Instruction): Access | null {
  if (ins.prefix !== 0 || ins.code < 0x28 || ins.code > 0x3e) return null;
  if (ins.code <= 0x35) return { size: LOAD_SIZES[ins.code - 0x28]!, store: false, value: null };
  const [size, value] = STORES[ins.code - 0x36]!;
  return { size, store: true, value };
}

/** memory.init (8), memory.copy (10), memory.fill (11): they write [dest, dest + n). */
export function isBulkWrite(ins: Instruction): boolean {
  return ins.prefix === 0xfc && (ins.code === 8 || ins.code === 10 || ins.code === 11);
}

/** The memory a bulk write writes to: memory.init's and memory.fill's index, memory.copy's destination. */
export function bulkDestinationMemory(ins: Instruction): number {
  return ins.code === 8 ? ins.index2 : ins.index;
}

/** A check of one address local against [lo, lo + span): if (L - lo <u span) trap. Ten instructions. */
export function emitRangeCheck(out: Emitter, local: number, lo: number, span: number, kind: GuardKind): void {
  out.u8(0x20).u32(local).u8(0x41).s32(lo | 0).u8(0x6b).u8(0x41).s32(span | 0).u8(0x49);
  emitTrap(out, kind);
}

/**
 * A check of a bulk write [D, D + N) against [start, end): if (D + N >u start
 * (in 64 bits) & D <u end & N != 0) trap. Twenty instructions.
 */
export function emitBulkCheck(out: Emitter, dest: number, count: number, start: number, end: number, kind: GuardKind): void {
  out.u8(0x20).u32(dest).u8(0xad).u8(0x20).u32(count).u8(0xad).u8(0x7c).u8(0x42).s64(BigInt(start)).u8(0x56);
  out.u8(0x20).u32(dest).u8(0x41).s32(end | 0).u8(0x49).u8(0x71);
  out.u8(0x20).u32(count).u8(0x41).s32(0).u8(0x47).u8(0x71);
  emitTrap(out, kind);
}

/**
 * Loads need no null-page check when their address is a local that an
 * earlier check in the same straight-line stretch of code already proved to
 * be at or above the guard size with an offset no larger: X + offset >= X +
 * checked >= size. Every branch, label, block boundary or write of the local
 * forgets what was proved. The emitter and the recogniser walk the module's
 * own instructions through this same class, so both reach the same verdicts.
 */
export class NullProofs {
  private readonly proven = new Map<number, number>();

  /** Every instruction of the module's own code, in order (not those of inserted guards). */
  observe(i: Instruction): void {
    if (i.prefix === 0) {
      if ((i.code >= 0x02 && i.code <= 0x19) || i.code === 0x1f || i.code === 0xd5 || i.code === 0xd6) this.proven.clear();
      else if (i.code === 0x21 || i.code === 0x22) this.proven.delete(i.index);
    } else if (i.prefix === 0xfb) {
      this.proven.clear(); // br_on_cast and friends: conservative for every GC instruction
    }
  }

  covers(local: number, offset: number): boolean {
    const checked = this.proven.get(local);
    return checked !== undefined && checked <= offset;
  }

  prove(local: number, offset: number): void {
    const checked = this.proven.get(local);
    if (checked === undefined || offset < checked) this.proven.set(local, offset);
  }
}
