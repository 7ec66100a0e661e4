// Large fills and copies, split into chunks with a deadline checkpoint between
// them. One memory.fill of 1 GiB on fresh memory took 1.6 s here, all of it in
// one native call that neither a V8 watchdog nor worker termination can
// interrupt; 16 MiB chunks bound that to a few tens of milliseconds.
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
// The operands are parked in three scratch globals (n, value or source,
// destination) and pushed back before the original instruction.

import type { Emitter } from './code-writer.js';

/** Bytes per chunk. */
export const CHUNK_BYTES = 1 << 24;

const op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10,
  globalGet: 0x23, globalSet: 0x24, memorySize: 0x3f, i32Const: 0x41, i64Const: 0x42,
  i32GtU: 0x4b, i64GtU: 0x56, i32Add: 0x6a, i32Sub: 0x6b, i64Add: 0x7c, i64Shl: 0x86, i64ExtendI32U: 0xad,
} as const;

/** Pushes whether `at + n` (as i64) exceeds memory 0's size in bytes. */
function emitOutOfBounds(w: Emitter, at: number, n: number): void {
  w.u8(op.globalGet).u32(at).u8(op.i64ExtendI32U).u8(op.globalGet).u32(n).u8(op.i64ExtendI32U).u8(op.i64Add);
  w.u8(op.memorySize).u8(0).u8(op.i64ExtendI32U).u8(op.i64Const).u8(16).u8(op.i64Shl);
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

/** `n > CHUNK_BYTES`, then `if`. */
function emitWhileLarge(w: Emitter, n: number): void {
  w.u8(op.globalGet).u32(n).u8(op.i32Const).s32(CHUNK_BYTES).u8(op.i32GtU).u8(op.if).u8(0x40);
}

/**
 * Before a `memory.fill` of memory 0 (stack: d, value, n): fills all but the
 * last chunk in chunks, calling `checkpoint` after each, then leaves
 * (d', value, n') on the stack for the original instruction.
 * `scratch` is the first of three consecutive i32 globals.
 */
export function emitChunkedFill(w: Emitter, scratch: number, checkpoint: number): void {
  const n = scratch, value = scratch + 1, d = scratch + 2;
  w.u8(op.globalSet).u32(n).u8(op.globalSet).u32(value).u8(op.globalSet).u32(d);
  w.u8(op.block).u8(0x40);
  emitOutOfBounds(w, d, n);
  w.u8(op.brIf).u32(0);
  w.u8(op.loop).u8(0x40);
  emitWhileLarge(w, n);
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(value).u8(op.i32Const).s32(CHUNK_BYTES).u8(0xfc).u32(11).u8(0);
  emitAdd(w, d, CHUNK_BYTES);
  emitSub(w, n, CHUNK_BYTES);
  w.u8(op.call).u32(checkpoint).u8(op.br).u32(1);
  w.u8(op.end).u8(op.end).u8(op.end);
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(value).u8(op.globalGet).u32(n);
}

/**
 * Before a `memory.copy` within memory 0 (stack: d, s, n): copies all but one
 * chunk in chunks (forward when d <= s, backward from the end when d > s),
 * calling `checkpoint` after each, then leaves (d', s', n') on the stack for
 * the original instruction, which copies what remains.
 */
export function emitChunkedCopy(w: Emitter, scratch: number, checkpoint: number): void {
  const n = scratch, s = scratch + 1, d = scratch + 2;
  const copyChunk = (dst: () => void, src: () => void) => {
    dst();
    src();
    w.u8(op.i32Const).s32(CHUNK_BYTES).u8(0xfc).u32(10).u8(0).u8(0);
  };
  w.u8(op.globalSet).u32(n).u8(op.globalSet).u32(s).u8(op.globalSet).u32(d);
  w.u8(op.block).u8(0x40);
  emitOutOfBounds(w, d, n);
  w.u8(op.brIf).u32(0);
  emitOutOfBounds(w, s, n);
  w.u8(op.brIf).u32(0);
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(s).u8(op.i32GtU).u8(op.if).u8(0x40);
  // Backward: the last chunk first; the original instruction copies the first n' bytes.
  w.u8(op.loop).u8(0x40);
  emitWhileLarge(w, n);
  emitSub(w, n, CHUNK_BYTES);
  const at = (g: number) => () => { w.u8(op.globalGet).u32(g).u8(op.globalGet).u32(n).u8(op.i32Add); };
  copyChunk(at(d), at(s));
  w.u8(op.call).u32(checkpoint).u8(op.br).u32(1);
  w.u8(op.end).u8(op.end);
  w.u8(op.else);
  // Forward: the first chunk first; the original instruction copies the last n' bytes.
  w.u8(op.loop).u8(0x40);
  emitWhileLarge(w, n);
  copyChunk(() => w.u8(op.globalGet).u32(d), () => w.u8(op.globalGet).u32(s));
  emitAdd(w, d, CHUNK_BYTES);
  emitAdd(w, s, CHUNK_BYTES);
  emitSub(w, n, CHUNK_BYTES);
  w.u8(op.call).u32(checkpoint).u8(op.br).u32(1);
  w.u8(op.end).u8(op.end);
  w.u8(op.end); // if
  w.u8(op.end); // block
  w.u8(op.globalGet).u32(d).u8(op.globalGet).u32(s).u8(op.globalGet).u32(n);
}
