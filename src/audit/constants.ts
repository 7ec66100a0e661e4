// Which constants count as "large" for the JIT-spraying indicator. An engine
// copies a constant's bit pattern into its machine code as an immediate; what
// an attacker can use is the run of bits between the lowest and the highest
// significant bit. Sign extension (leading ones of a negative number) and
// trailing zeros carry no payload, so -1, 0x7f000000 and 1.0 are small while
// 0x3c909090 and 0.1 are large.

/** A constant is large when its significant bits span more than three bytes. */
export const largeConstantBits = 24;

function trailingZeros32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Span of significant bits of a 32-bit pattern (0 for 0 and -1). */
export function significantSpan32(x: number): number {
  const v = (x < 0 ? ~x : x) >>> 0;
  if (v === 0) return 0;
  return 32 - Math.clz32(v) - trailingZeros32(v);
}

/** Span of significant bits of a 64-bit pattern given as its signed 32-bit halves. */
export function significantSpan64(lo: number, hi: number): number {
  if (hi < 0) { lo = ~lo; hi = ~hi; }
  lo >>>= 0;
  hi >>>= 0;
  if (hi === 0) return lo === 0 ? 0 : 32 - Math.clz32(lo) - trailingZeros32(lo);
  const top = 64 - Math.clz32(hi);
  const bottom = lo !== 0 ? trailingZeros32(lo) : 32 + trailingZeros32(hi);
  return top - bottom;
}

function int32At(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}

/** f32.const: the 4 immediate bytes at `at`. */
export function isLargeF32At(bytes: Uint8Array, at: number): boolean {
  return significantSpan32(int32At(bytes, at)) > largeConstantBits;
}

/** f64.const, or one half of v128.const: the 8 bytes at `at`. */
export function isLarge64At(bytes: Uint8Array, at: number): boolean {
  return significantSpan64(int32At(bytes, at), int32At(bytes, at + 4)) > largeConstantBits;
}

export function isLargeI32(value: number): boolean {
  return significantSpan32(value) > largeConstantBits;
}

const scratch = new DataView(new ArrayBuffer(8));

export function isLargeI64(value: bigint): boolean {
  scratch.setBigInt64(0, value, true);
  return significantSpan64(scratch.getInt32(0, true), scratch.getInt32(4, true)) > largeConstantBits;
}
