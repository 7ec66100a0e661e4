// Large fills and copies, split into chunks with a deadline checkpoint between
// them. One memory.fill of 1 GiB on fresh memory took 1.6 s here, all of it in
// one native call that neither a V8 watchdog nor worker termination can
// interrupt; 16 MiB chunks bound that to a few tens of milliseconds. Tables
// likewise: one table.fill of 10 million funcref elements took 3-4 s and one
// table.copy 6-9 s on this machine (V8 updates its dispatch table element by
// element); chunks of 16,384 elements take a few milliseconds each.
//
// Semantics are kept exactly:
// - out of bounds traps before any write: the whole range is checked first,
//   and an out-of-bounds operation skips the chunking and runs as it came,
//   trapping with nothing written;
// - a copy between overlapping ranges is a memmove: chunks go forward when
//   the destination is below the source and backward from the end otherwise,
//   so no chunk overwrites source bytes a later chunk still has to read.
// The rest (at most one chunk) is done by the original instruction.
//
// The operands are parked in scratch globals (n, value or source,
// destination) and pushed back before the original instruction. A table
// fill's value is a reference: it is parked in a scratch global of the
// table's element type.

import type { Emitter } from './code-writer.js';

/** Bytes per chunk of memory 0. */
export const CHUNK_BYTES = 1 << 24;
/** Elements per chunk of a table. */
export const CHUNK_ELEMENTS = 1 << 14;

const op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10,
  globalGet: 0x23, globalSet: 0x24, memorySize: 0x3f, i32Const: 0x41, i64Const: 0x42,
  i32GtU: 0x4b, i64GtU: 0x56, i32Add: 0x6a, i32Sub: 0x6b, i64Add: 0x7c, i64Shl: 0x86, i64ExtendI32U: 0xad,
} as const;

/** Where a chunked operation works: memory 0, or one table. */
export interface ChunkSpace {
  /** Units (bytes or elements) per chunk. */
  chunk: number;
  /** Pushes the space's size in units, as an i64. */
  size(w: Emitter): void;
}

export const MEMORY0: ChunkSpace = {
  chunk: CHUNK_BYTES,
  size: (w) => { w.u8(op.memorySize).u8(0).u8(op.i64ExtendI32U).u8(op.i64Const).u8(16).u8(op.i64Shl); },
};

export function tableSpace(table: number): ChunkSpace {
  return { chunk: CHUNK_ELEMENTS, size: (w) => { w.u8(0xfc).u32(16).u32(table).u8(op.i64ExtendI32U); } }; // table.size
}

/** Pushes whether `at + n` (as i64) exceeds the space's size. */
function emitOutOfBounds(w: Emitter, space: ChunkSpace, at: number, n: number): void {
  w.u8(op.globalGet).u32(at).u8(op.i64ExtendI32U).u8(op.globalGet).u32(n).u8(op.i64ExtendI32U).u8(op.i64Add);
  space.size(w);
  w.u8(op.i64GtU);
}

/** Adds the constant `delta` to the i32 in global `g` (no wrap: the range was checked in bounds). */
function emitAdd(w: Emitter, g: number, delta: number): void {
  w.u8(op.globalGet).u32(g).u8(op.i32Const).s32(delta).u8(op.i32Add).u8(op.globalSet).u32(g);
}

/** Subtracts the constant `delta` from the i32 in global `g`. */
function emitSub(w: Emitter, g: number, delta: number): void {
  w.u8(op.globalGet).u32(g).u8(op.i32Const).s32(delta).u8(op.i32Sub).u8(op.globalSet).u32(g);
}

/** `n > chunk`, then `if`. */
function emitWhileLarge(w: Emitter, n: number, chunk: number): void {
  w.u8(op.globalGet).u32(n).u8(op.i32Const).s32(chunk).u8(op.i32GtU).u8(op.if).u8(0x40);
}

/** The operation itself, its immediates included, for a fill: `memory.fill 0` or `table.fill t`. */
export type EmitOp = (w: Emitter) => void;

export const memoryFill: EmitOp = (w) => { w.u8(0xfc).u32(11).u8(0); };
export const memoryCopy: EmitOp = (w) => { w.u8(0xfc).u32(10).u8(0).u8(0); };
export const tableFill = (table: number): EmitOp => (w) => { w.u8(0xfc).u32(17).u32(table); };
export const tableCopy = (dst: number, src: number): EmitOp => (w) => { w.u8(0xfc).u32(14).u32(dst).u32(src); };

/**
 * Before a fill (stack: d, value, n): fills all but the last chunk in
 * chunks, calling `checkpoint` after each, then leaves (d', value, n') on the
 * stack for the original instruction. `n` and `d` are i32 scratch globals,
 * `value` one of the value's type.
 */
export function emitChunkedFill(w: Emitter, g: { n: number; value: number; d: number }, space: ChunkSpace, fill: EmitOp, checkpoint: number): void {
  const { n, value, d } = g;
  w.u8(op.globalSet).u32(n).u8(op.globalSet).u32(value).u8(op.globalSet).u32(d);
  w.u8(op.block).u8(0x40);
  emitOutOfBounds(w, space, d, n);
  w.u8(op.brIf).u32(0);
  w.u8(op.loop).u8(0x40);
  emitWhileLarge(w, n, space.chunk);
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(value).u8(op.i32Const).s32(space.chunk);
  fill(w);
  emitAdd(w, d, space.chunk);
  emitSub(w, n, space.chunk);
  w.u8(op.call).u32(checkpoint).u8(op.br).u32(1);
  w.u8(op.end).u8(op.end).u8(op.end);
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(value).u8(op.globalGet).u32(n);
}

/**
 * Before a copy (stack: d, s, n): copies all but one chunk in chunks
 * (forward when d <= s, backward from the end when d > s), calling
 * `checkpoint` after each, then leaves (d', s', n') on the stack for the
 * original instruction, which copies what remains. `scratch` is the first of
 * three consecutive i32 globals; the source and destination may be different
 * spaces (two tables).
 */
export function emitChunkedCopy(w: Emitter, scratch: number, spaces: { dst: ChunkSpace; src: ChunkSpace }, copy: EmitOp, checkpoint: number): void {
  const n = scratch, s = scratch + 1, d = scratch + 2;
  const chunk = spaces.dst.chunk;
  const copyChunk = (dst: () => void, src: () => void) => {
    dst();
    src();
    w.u8(op.i32Const).s32(chunk);
    copy(w);
  };
  w.u8(op.globalSet).u32(n).u8(op.globalSet).u32(s).u8(op.globalSet).u32(d);
  w.u8(op.block).u8(0x40);
  emitOutOfBounds(w, spaces.dst, d, n);
  w.u8(op.brIf).u32(0);
  emitOutOfBounds(w, spaces.src, s, n);
  w.u8(op.brIf).u32(0);
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(s).u8(op.i32GtU).u8(op.if).u8(0x40);
  // Backward: the last chunk first; the original instruction copies the first n' units.
  w.u8(op.loop).u8(0x40);
  emitWhileLarge(w, n, chunk);
  emitSub(w, n, chunk);
  const at = (g: number) => () => { w.u8(op.globalGet).u32(g).u8(op.globalGet).u32(n).u8(op.i32Add); };
  copyChunk(at(d), at(s));
  w.u8(op.call).u32(checkpoint).u8(op.br).u32(1);
  w.u8(op.end).u8(op.end);
  w.u8(op.else);
  // Forward: the first chunk first; the original instruction copies the last n' units.
  w.u8(op.loop).u8(0x40);
  emitWhileLarge(w, n, chunk);
  copyChunk(() => w.u8(op.globalGet).u32(d), () => w.u8(op.globalGet).u32(s));
  emitAdd(w, d, chunk);
  emitAdd(w, s, chunk);
  emitSub(w, n, chunk);
  w.u8(op.call).u32(checkpoint).u8(op.br).u32(1);
  w.u8(op.end).u8(op.end);
  w.u8(op.end); // if
  w.u8(op.end); // block
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(s).u8(op.globalGet).u32(n);
}
