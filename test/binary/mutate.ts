// Mutation operators for fuzzing binary parsers: flips, overwrites with
// boundary values, truncation, insertion, deletion and duplication of ranges.

import fc from 'fast-check';

export type Mutation = (bytes: Uint8Array) => Uint8Array;

const interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x40, 0x0b, 0x60, 0x41];

export function mutations(): fc.Arbitrary<Mutation> {
  const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
  return fc.oneof(
    fc.tuple(position, fc.integer({ min: 0, max: 7 })).map(([p, bit]): Mutation => (b) => {
      const out = b.slice(); const i = Math.floor(p * out.length); out[i]! ^= 1 << bit; return out;
    }),
    fc.tuple(position, fc.constantFrom(...interesting)).map(([p, v]): Mutation => (b) => {
      const out = b.slice(); out[Math.floor(p * out.length)] = v; return out;
    }),
    position.map((p): Mutation => (b) => b.slice(0, Math.floor(p * b.length))),
    fc.tuple(position, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([p, ins]): Mutation => (b) => {
      const i = Math.floor(p * b.length); return Uint8Array.from([...b.subarray(0, i), ...ins, ...b.subarray(i)]);
    }),
    fc.tuple(position, fc.integer({ min: 1, max: 64 })).map(([p, n]): Mutation => (b) => {
      const i = Math.floor(p * b.length); return Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + n)]);
    }),
    fc.tuple(position, fc.integer({ min: 1, max: 64 })).map(([p, n]): Mutation => (b) => {
      const i = Math.floor(p * b.length); return Uint8Array.from([...b.subarray(0, i + n), ...b.subarray(i)]);
    }),
  );
}
