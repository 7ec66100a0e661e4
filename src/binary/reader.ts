// Bounds-checked reading of the primitives of the binary format. Every read
// checks what remains before touching a byte; every count is checked against
// the bytes that remain before anything is allocated for it.

import { WasmDecodeError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * BigInts for the small constants most i64.const instructions hold, so reading them allocates nothing.
 * Made on the first read of one: every run loads this reader, and a run from the prepared-module cache reads no code.
 */
const SMALL_BIGINT_BIAS = 1024;
let smallBigInts: bigint[] | undefined;
const smallBigInt = (value: number): bigint =>
  (smallBigInts ??= Array.from({ length: 2 * SMALL_BIGINT_BIAS }, (_, i) => BigInt(i - SMALL_BIGINT_BIAS)))[value + SMALL_BIGINT_BIAS]!;

export class ByteReader {
  readonly bytes: Uint8Array;
  pos: number;
  /** Exclusive end of the region being read (a section or body, not necessarily the buffer). */
  end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  fail(reason: string, at = this.pos): never {
    throw new WasmDecodeError(reason, at);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 of at most 32 bits. */
  u32(): number {
    const bytes = this.bytes;
    let pos = this.pos;
    const end = this.end;
    if (pos < end) {
      const b = bytes[pos]!;
      if (b < 0x80) { this.pos = pos + 1; return b; }
    }
    let result = 0;
    let shift = 0;
    const start = pos;
    for (;;) {
      if (pos >= end) this.fail('unexpected end in LEB128', start);
      const b = bytes[pos++]!;
      if (shift === 28) {
        if (b & 0xf0) this.fail('LEB128 u32 out of range', start);
        result += b * 0x10000000;
        break;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** Signed LEB128 of at most 32 bits. */
  s32(): number {
    const bytes = this.bytes;
    let pos = this.pos;
    const start = pos;
    let result = 0;
    let shift = 0;
    let b: number;
    for (;;) {
      if (pos >= this.end) this.fail('unexpected end in LEB128', start);
      b = bytes[pos++]!;
      if (shift === 28) {
        // The final byte holds 4 value bits; the rest must sign-extend them.
        const high = b & 0x70;
        if ((b & 0x80) || (high !== 0 && high !== 0x70) || ((b & 0x08) ? high !== 0x70 : high !== 0)) {
          this.fail('LEB128 s32 out of range', start);
        }
        result |= (b & 0x0f) << 28;
        break;
      }
      result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) {
        if (shift < 32 && (b & 0x40)) result |= -1 << shift;
        break;
      }
    }
    this.pos = pos;
    return result | 0;
  }

  /** Signed LEB128 of at most 33 bits (block types); returned as a number. */
  s33(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail('unexpected end in LEB128', start);
      const b = this.bytes[this.pos++]!;
      if (i === 4) {
        if (b & 0x80) this.fail('LEB128 s33 out of range', start);
        result += (b & 0x7f) * mul;
        mul *= 128;
        if (b & 0x40) result -= mul;
        // Bits beyond the 33rd must all equal the sign bit.
        const upper = b & 0x70;
        if (upper !== 0 && upper !== 0x70) this.fail('LEB128 s33 out of range', start);
        break;
      }
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= mul;
        break;
      }
    }
    return result;
  }

  /** Signed LEB128 of at most 64 bits. */
  s64(): bigint {
    // Fast path: up to 7 bytes (49 bits) is exact in a double, no BigInt arithmetic.
    const bytes = this.bytes;
    let pos = this.pos;
    const limit = Math.min(this.end, pos + 7);
    let value = 0;
    let mul = 1;
    while (pos < limit) {
      const b = bytes[pos++]!;
      value += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (b & 0x40) value -= mul;
        this.pos = pos;
        return value >= -SMALL_BIGINT_BIAS && value < SMALL_BIGINT_BIAS ? smallBigInt(value) : BigInt(value);
      }
    }
    return this.s64Slow();
  }

  /** Skips a signed LEB128 of at most 64 bits, checked exactly as s64 reads it, without making a BigInt. */
  skipS64(): void {
    const bytes = this.bytes;
    const start = this.pos;
    let pos = start;
    for (let i = 0; ; i++) {
      if (pos >= this.end) this.fail('unexpected end in LEB128', start);
      const b = bytes[pos++]!;
      if (i === 9) {
        if (b & 0x80) this.fail('LEB128 s64 out of range', start);
        const low = b & 0x7f;
        if (low !== 0 && low !== 0x7f) this.fail('LEB128 s64 out of range', start);
        break;
      }
      if ((b & 0x80) === 0) break;
    }
    this.pos = pos;
  }

  private s64Slow(): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail('unexpected end in LEB128', start);
      const b = this.bytes[this.pos++]!;
      if (i === 9) {
        if (b & 0x80) this.fail('LEB128 s64 out of range', start);
        const low = b & 0x7f;
        if (low !== 0 && low !== 0x7f) this.fail('LEB128 s64 out of range', start);
        result |= BigInt(low & 1) << 63n;
        return BigInt.asIntN(64, result);
      }
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= 1n << shift;
        return BigInt.asIntN(64, result);
      }
    }
  }

  /** Unsigned LEB128 of at most 64 bits (memory64 offsets), clamped to a safe number. */
  u64(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail('unexpected end in LEB128', start);
      const b = this.bytes[this.pos++]!;
      if (i === 9 && (b & 0xfe)) this.fail('LEB128 u64 out of range', start);
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
    }
    return Math.min(result, Number.MAX_SAFE_INTEGER);
  }

  f32(): number {
    if (this.remaining < 4) this.fail('unexpected end in f32');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4);
    this.pos += 4;
    return view.getFloat32(0, true);
  }

  f64(): number {
    if (this.remaining < 8) this.fail('unexpected end in f64');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }

  skip(n: number): void {
    if (n > this.remaining) this.fail(`needs ${n} bytes, ${this.remaining} remain`);
    this.pos += n;
  }

  /** A vector length, refused when even one byte per element would not fit. */
  count(what: string, max: number, minBytesEach = 1): number {
    const at = this.pos;
    const n = this.u32();
    if (n > max) this.fail(`${what} count ${n} exceeds the limit of ${max}`, at);
    if (n * minBytesEach > this.remaining) this.fail(`${what} count ${n} exceeds the bytes that remain`, at);
    return n;
  }

  /** A length-prefixed UTF-8 name. */
  name(maxBytes: number): string {
    const at = this.pos;
    const length = this.u32();
    if (length > maxBytes) this.fail(`name of ${length} bytes exceeds the limit of ${maxBytes}`, at);
    if (length > this.remaining) this.fail('name runs past the end', at);
    const start = this.pos;
    this.pos += length;
    // ASCII fast path: most names are.
    let ascii = true;
    for (let i = start; i < this.pos; i++) if (this.bytes[i]! >= 0x80) { ascii = false; break; }
    if (ascii) {
      let s = '';
      for (let i = start; i < this.pos; i++) s += String.fromCharCode(this.bytes[i]!);
      return s;
    }
    try {
      return utf8.decode(this.bytes.subarray(start, this.pos));
    } catch {
      this.fail('name is not valid UTF-8', at);
    }
  }
}
