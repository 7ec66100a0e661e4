// Constant expressions: global initialisers and segment offsets.

import { newInstruction, walkCode } from './instructions.js';
import type { ByteReader } from './reader.js';
import type { ConstExpr, Instruction } from './types.js';

const noBlocks = { maxNestingDepth: 0 };

/**
 * Values of small `i32.const` expressions, shared (and frozen): most globals and offsets hold one.
 * Made at first use: 2,048 frozen objects made when the bundle starts cost every `warden run` a
 * scavenge's worth of allocation, most of them for values no module uses.
 */
const smallI32Values: Array<ConstExpr['value'] | undefined> = new Array(2048);
const scratch = newInstruction();

function valueOf(ins: Instruction): ConstExpr['value'] {
  switch (ins.name) {
    case 'i32.const': return { kind: 'i32.const', value: ins.value };
    case 'i64.const': return { kind: 'i64.const', value: ins.value64 };
    case 'f32.const': return { kind: 'f32.const', value: ins.value };
    case 'f64.const': return { kind: 'f64.const', value: ins.value };
    case 'global.get': return { kind: 'global.get', index: ins.index };
    case 'ref.func': return { kind: 'ref.func', index: ins.index };
    case 'ref.null': return { kind: 'ref.null', type: ins.types![0]! };
    default: return { kind: 'other' };
  }
}

/** Reads a constant expression up to and including its `end`. */
export function readConstExpr(reader: ByteReader): ConstExpr {
  const start = reader.pos;
  // Fast path: `i32.const N; end`, the offset of nearly every segment.
  if (reader.bytes[start] === 0x41 && start < reader.end) {
    reader.pos++;
    const value = reader.s32();
    if (reader.bytes[reader.pos] === 0x0b && reader.pos < reader.end) {
      reader.pos++;
      const shared = value >= -1024 && value < 1024 ? (smallI32Values[value + 1024] ??= Object.freeze({ kind: 'i32.const', value })) : undefined;
      return { start, end: reader.pos, value: shared ?? { kind: 'i32.const', value } };
    }
    reader.pos = start;
  }
  let value: ConstExpr['value'] = { kind: 'other' };
  let count = 0;
  const end = walkCode(reader.bytes, start, reader.end, noBlocks, (ins) => {
    if (ins.prefix === 0 && ins.code === 0x0b) return;
    count++;
    value = count === 1 ? valueOf(ins) : { kind: 'other' };
  }, scratch, true);
  reader.pos = end;
  return { start, end, value };
}
