// A growable byte buffer with the binary format's primitive encodings
// (LEB128 integers, IEEE floats, names, value types).
//
//   const w = new ByteWriter();
//   w.u8(0x41).s32(-1).u8(0x0b);   // i32.const -1; end
//   const bytes = w.finish();

import type { ValType } from './types.js';

const utf8 = new TextEncoder();

export class ByteWriter {
  protected buffer: Uint8Array;
  length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
  }

  protected reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let capacity = Math.max(16, this.buffer.length * 2);
    while (capacity < this.length + n) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  u8(byte: number): this {
    this.reserve(1);
    this.buffer[this.length++] = byte & 0xff;
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`u32 out of range: ${value}`);
    this.reserve(5);
    do {
      let byte = value & 0x7f;
      value = Math.floor(value / 128);
      if (value !== 0) byte |= 0x80;
      this.buffer[this.length++] = byte;
    } while (value !== 0);
    return this;
  }

  /** Unsigned LEB128 padded to exactly 5 bytes, so it can be patched in place. */
  u32Padded(value: number): this {
    this.reserve(5);
    for (let i = 0; i < 4; i++) this.buffer[this.length++] = ((value >>> (7 * i)) & 0x7f) | 0x80;
    this.buffer[this.length++] = (value >>> 28) & 0x0f;
    return this;
  }

  /** Signed LEB128 of a 32-bit integer (the value is truncated to 32 bits first). */
  s32(value: number): this {
    this.reserve(5);
    let v = value | 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      this.buffer[this.length++] = done ? byte : byte | 0x80;
      if (done) return this;
    }
  }

  /** Unsigned LEB128 of a safe integer up to 2^53 (memory64 offsets and limits). */
  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 out of range: ${value}`);
    this.reserve(10);
    do {
      let byte = value % 128;
      value = Math.floor(value / 128);
      if (value !== 0) byte |= 0x80;
      this.buffer[this.length++] = byte;
    } while (value !== 0);
    return this;
  }

  f32(value: number): this {
    this.reserve(4);
    new DataView(this.buffer.buffer, this.buffer.byteOffset + this.length, 4).setFloat32(0, value, true);
    this.length += 4;
    return this;
  }

  f64(value: number): this {
    this.reserve(8);
    new DataView(this.buffer.buffer, this.buffer.byteOffset + this.length, 8).setFloat64(0, value, true);
    this.length += 8;
    return this;
  }

  s64(value: bigint): this {
    this.reserve(10);
    let v = BigInt.asIntN(64, value);
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
      this.buffer[this.length++] = done ? byte : byte | 0x80;
      if (done) return this;
    }
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
    return this;
  }

  name(text: string): this {
    const encoded = utf8.encode(text);
    return this.u32(encoded.length).bytes(encoded);
  }

  valType(type: ValType): this {
    return this.bytes(encodeValType(type));
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

const valTypeBytes: Record<string, number> = {
  i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f, exnref: 0x69,
  anyref: 0x6e, eqref: 0x6d, i31ref: 0x6c, structref: 0x6b, arrayref: 0x6a, nullref: 0x71,
  nullfuncref: 0x73, nullexternref: 0x72, nullexnref: 0x74,
};

export function encodeValType(type: ValType): Uint8Array {
  if (typeof type === 'string') return Uint8Array.of(valTypeBytes[type]!);
  const writer = new ByteWriter(8).u8(type.nullable ? 0x63 : 0x64).s64(BigInt(type.ref));
  return writer.finish();
}

/** The unsigned LEB128 encoding of `value` (0 ≤ value < 2^32). */
export function encodeU32(value: number): Uint8Array {
  return new ByteWriter(5).u32(value).finish();
}

/** The signed LEB128 encoding of a 32-bit integer. */
export function encodeS32(value: number): Uint8Array {
  return new ByteWriter(5).s32(value).finish();
}

/** The signed LEB128 encoding of a 64-bit integer. */
export function encodeS64(value: bigint): Uint8Array {
  return new ByteWriter(10).s64(value).finish();
}

/** `size ‖ payload`, the framing of sections and function bodies. */
export function sized(payload: Uint8Array): Uint8Array {
  return new ByteWriter(payload.length + 5).u32(payload.length).bytes(payload).finish();
}
