// Value, reference, heap and block types.

import type { ByteReader } from './reader.js';
import type { BlockType, Feature, ValType } from './types.js';

const abstractHeapTypes: Record<number, ValType> = {
  0x70: 'funcref', 0x6f: 'externref', 0x69: 'exnref', 0x6e: 'anyref', 0x6d: 'eqref', 0x6c: 'i31ref',
  0x6b: 'structref', 0x6a: 'arrayref', 0x71: 'nullref', 0x73: 'nullfuncref', 0x72: 'nullexternref', 0x74: 'nullexnref',
};

const numericTypes: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' };

/** A heap type: an abstract type byte, or a (non-negative s33) type index. */
export function readHeapType(reader: ByteReader): ValType {
  const at = reader.pos;
  const byte = reader.bytes[at];
  if (byte !== undefined && abstractHeapTypes[byte] !== undefined && byte >= 0x40) {
    reader.pos++;
    return abstractHeapTypes[byte]!;
  }
  const index = reader.s33();
  if (index < 0) reader.fail(`unknown heap type 0x${(byte ?? 0).toString(16)}`, at);
  return { ref: index, nullable: true };
}

export function readValType(reader: ByteReader): ValType {
  const at = reader.pos;
  const byte = reader.u8();
  const numeric = numericTypes[byte];
  if (numeric) return numeric;
  const abstract = abstractHeapTypes[byte];
  if (abstract) return abstract;
  if (byte === 0x63 || byte === 0x64) {
    // (ref null ht) / (ref ht): typed references (function-references / GC proposals).
    const heap = readHeapType(reader);
    return typeof heap === 'string' ? heap : { ref: heap.ref, nullable: byte === 0x63 };
  }
  reader.fail(`unknown value type 0x${byte.toString(16)}`, at);
}

export function readRefType(reader: ByteReader): ValType {
  const at = reader.pos;
  const type = readValType(reader);
  if (type === 'i32' || type === 'i64' || type === 'f32' || type === 'f64' || type === 'v128') {
    reader.fail('expected a reference type', at);
  }
  return type;
}

const emptyBlock: BlockType = Object.freeze({ kind: 'empty' }) as BlockType;
const valueBlocks = new Map<number, BlockType>();

export function readBlockType(reader: ByteReader): BlockType {
  const byte = reader.bytes[reader.pos];
  if (byte === 0x40) {
    reader.pos++;
    return emptyBlock;
  }
  if (byte !== undefined && byte >= 0x40 && byte !== 0x63 && byte !== 0x64) {
    // A single-byte value type; cached so the walker allocates nothing.
    let cached = valueBlocks.get(byte);
    if (!cached) {
      const type = readValType(reader);
      cached = Object.freeze({ kind: 'value', type }) as BlockType;
      valueBlocks.set(byte, cached);
      return cached;
    }
    reader.pos++;
    return cached;
  }
  if (byte === 0x63 || byte === 0x64) return { kind: 'value', type: readValType(reader) };
  const at = reader.pos;
  const index = reader.s33();
  if (index < 0) reader.fail('invalid block type', at);
  return { kind: 'type', index };
}

export function valTypeName(type: ValType): string {
  if (typeof type === 'string') return type;
  return `(ref ${type.nullable ? 'null ' : ''}${type.ref})`;
}

/**
 * The proposal a value type belongs to ('mvp' for i32, i64, f32, f64): v128 is
 * SIMD's, funcref and externref as values are reference types', exnref is
 * exception handling's, and every other reference type is GC's.
 */
export function valTypeFeature(type: ValType): Feature {
  switch (type) {
    case 'i32': case 'i64': case 'f32': case 'f64': return 'mvp';
    case 'v128': return 'simd';
    case 'funcref': case 'externref': return 'reference-types';
    case 'exnref': case 'nullexnref': return 'exceptions';
    default: return 'gc';
  }
}
