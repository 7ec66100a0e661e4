// Walks the instruction stream of function bodies. One Instruction object is
// reused for a whole walk, so visiting every instruction allocates nothing
// beyond br_table label lists and typed select lists.

import { WasmDecodeError } from './errors.js';
import { Imm, atomicOps, miscOps, simdOps, singleByteOps, type OpInfo } from './opcodes.js';
import { ByteReader } from './reader.js';
import { readBlockType, readHeapType, readValType } from './valtypes.js';
import type { DecodeLimits, Instruction, ValType, WasmModule } from './types.js';
import { defaultDecodeLimits } from './limits.js';

export function newInstruction(): Instruction {
  return {
    name: '', prefix: 0, code: 0, feature: 'mvp', offset: 0, end: 0, index: 0, index2: 0,
    blockType: null, labels: null, memArg: null, value: 0, value64: 0n, bytesOffset: 0, types: null, catchCount: 0,
  };
}

const prefixes: Record<number, { ops: Array<OpInfo | undefined>; what: string }> = {
  0xfc: { ops: miscOps, what: 'misc' },
  0xfd: { ops: simdOps, what: 'SIMD' },
  0xfe: { ops: atomicOps, what: 'atomic' },
};

export function readMemArg(reader: ByteReader, ins: Instruction): void {
  const at = reader.pos;
  let align = reader.u32();
  let memory = 0;
  if (align & 0x40) {
    // multi-memory: an explicit memory index follows the alignment.
    align &= ~0x40;
    memory = reader.u32();
    ins.feature = 'multi-memory';
  }
  if (align >= 64) reader.fail(`alignment exponent ${align} out of range`, at);
  const offset = reader.u64();
  if (offset > 0xffffffff && ins.feature === 'mvp') ins.feature = 'memory64';
  const arg = ins.memArg!;
  arg.align = align; arg.offset = offset; arg.memory = memory;
}

/** Reads the immediates of one instruction whose opcode has been consumed. */
export function readImmediates(reader: ByteReader, info: OpInfo, ins: Instruction): void {
  switch (info.imm) {
    case Imm.None: return;
    case Imm.Block: ins.blockType = readBlockType(reader); return;
    case Imm.Label: case Imm.Func: case Imm.Local: case Imm.Global: case Imm.Table:
    case Imm.Tag: case Imm.Data: case Imm.Elem: case Imm.CallRef:
      ins.index = reader.u32(); return;
    case Imm.MemIndex: {
      const at = reader.pos;
      ins.index = reader.u32();
      if (ins.index !== 0) ins.feature = 'multi-memory';
      if (ins.index > 100) reader.fail(`memory index ${ins.index} out of range`, at);
      return;
    }
    case Imm.BrTable: {
      const n = reader.count('br_table label', 1_000_000);
      const labels: number[] = new Array(n + 1);
      for (let i = 0; i <= n; i++) labels[i] = reader.u32();
      ins.labels = labels;
      return;
    }
    case Imm.CallIndirect: ins.index = reader.u32(); ins.index2 = reader.u32(); return;
    case Imm.MemArg: readMemArg(reader, ins); return;
    case Imm.MemArgLane: readMemArg(reader, ins); ins.value = reader.u8(); return;
    case Imm.I32: ins.value = reader.s32(); return;
    case Imm.I64: ins.value64 = reader.s64(); return;
    case Imm.F32: ins.value = reader.f32(); return;
    case Imm.F64: ins.value = reader.f64(); return;
    case Imm.SelectT: {
      const n = reader.count('select type', 1000);
      const types: ValType[] = [];
      for (let i = 0; i < n; i++) types.push(readValType(reader));
      ins.types = types;
      return;
    }
    case Imm.HeapType: {
      const type = readHeapType(reader);
      ins.types = [type];
      if (typeof type !== 'string' || (type !== 'funcref' && type !== 'externref')) ins.feature = 'gc';
      return;
    }
    case Imm.TryTable: {
      ins.blockType = readBlockType(reader);
      const n = reader.count('catch clause', 100_000, 2);
      for (let i = 0; i < n; i++) {
        const at = reader.pos;
        const kind = reader.u8();
        if (kind > 3) reader.fail(`unknown catch kind ${kind}`, at);
        if (kind === 0 || kind === 1) reader.u32(); // tag
        reader.u32(); // label
      }
      ins.catchCount = n;
      return;
    }
    case Imm.Type: ins.index = reader.u32(); return;
    case Imm.DataMem: ins.index = reader.u32(); ins.index2 = reader.u32(); return;
    case Imm.MemMem: ins.index = reader.u32(); ins.index2 = reader.u32(); return;
    case Imm.ElemTable: ins.index = reader.u32(); ins.index2 = reader.u32(); return;
    case Imm.TableTable: ins.index = reader.u32(); ins.index2 = reader.u32(); return;
    case Imm.V128: case Imm.Shuffle: ins.bytesOffset = reader.pos; reader.skip(16); return;
    case Imm.Lane: ins.value = reader.u8(); return;
    case Imm.Fence: {
      const at = reader.pos;
      if (reader.u8() !== 0) reader.fail('atomic.fence expects a zero byte', at);
      return;
    }
  }
}

/**
 * Walks the instructions in [start, end), which must be a function body's code
 * (or a constant expression): balanced blocks, closed by a final `end` exactly
 * at `end` (or anywhere before it, with `allowTrailing`). Calls `visit` with
 * the reused instruction object, if given. Returns the offset after the final end.
 *
 * The hot immediates (one index, i32/i64 constants, memargs, block types) are
 * read inline from a local position with one-byte fast paths; everything else
 * goes through the bounds-checked ByteReader.
 */
export function walkCode(
  bytes: Uint8Array,
  start: number,
  end: number,
  limits: Pick<DecodeLimits, 'maxNestingDepth'>,
  visit?: (ins: Instruction) => void,
  ins: Instruction = newInstruction(),
  allowTrailing = false,
): number {
  const reader: ByteReader = new ByteReader(bytes, start, end);
  const memArg = { align: 0, offset: 0, memory: 0 };
  const maxDepth = limits.maxNestingDepth;
  let depth = 0;
  let pos = start;
  while (pos < end) {
    const offset = pos;
    const byte = bytes[pos++]!;
    let info: OpInfo | undefined;
    if (byte >= 0xfb) {
      if (byte === 0xfb) throw new WasmDecodeError('GC instruction (proposal gc) is not supported', offset, 'gc');
      const table = prefixes[byte];
      if (!table) reader.fail(`unknown opcode 0x${byte.toString(16)}`, offset);
      reader.pos = pos;
      const code = reader.u32();
      pos = reader.pos;
      info = table.ops[code];
      if (!info) reader.fail(`unknown ${table.what} opcode 0x${byte.toString(16)} ${code}`, offset);
      ins.prefix = byte;
      ins.code = code;
    } else {
      info = singleByteOps[byte];
      if (!info) reader.fail(`unknown opcode 0x${byte.toString(16)}`, offset);
      ins.prefix = 0;
      ins.code = byte;
    }
    ins.name = info.name;
    ins.feature = info.feature;
    ins.offset = offset;
    ins.memArg = null;
    ins.blockType = null;
    ins.types = null;
    switch (info.imm) {
      case Imm.None:
        if (byte === 0x0b) {
          if (depth === 0) {
            ins.end = pos;
            if (visit) visit(ins);
            if (pos !== end && !allowTrailing) reader.fail('code continues after the final end', pos);
            return pos;
          }
          depth--;
        }
        break;
      case Imm.Label: case Imm.Func: case Imm.Local: case Imm.Global: case Imm.Table:
      case Imm.Tag: case Imm.Data: case Imm.Elem: case Imm.CallRef: {
        const b = bytes[pos]!;
        if (b < 0x80 && pos < end) {
          ins.index = b;
          pos++;
        } else {
          reader.pos = pos;
          ins.index = reader.u32();
          pos = reader.pos;
        }
        if (byte === 0x18 && info.imm === Imm.Label) depth--; // delegate closes its try
        break;
      }
      case Imm.I32: {
        const b = bytes[pos]!;
        if (b < 0x80 && pos < end) {
          ins.value = (b << 25) >> 25;
          pos++;
        } else {
          reader.pos = pos;
          ins.value = reader.s32();
          pos = reader.pos;
        }
        break;
      }
      case Imm.I64:
        reader.pos = pos;
        ins.value64 = reader.s64();
        pos = reader.pos;
        break;
      case Imm.MemArg: {
        ins.memArg = memArg;
        const align = bytes[pos]!;
        const off = bytes[pos + 1]!;
        if (align < 0x40 && off < 0x80 && pos + 1 < end) {
          memArg.align = align;
          memArg.offset = off;
          memArg.memory = 0;
          pos += 2;
        } else {
          reader.pos = pos;
          readMemArg(reader, ins);
          pos = reader.pos;
        }
        break;
      }
      case Imm.Block:
        reader.pos = pos;
        ins.blockType = readBlockType(reader);
        pos = reader.pos;
        if (ins.blockType.kind === 'type' && ins.feature === 'mvp') ins.feature = 'multi-value';
        if (++depth > maxDepth) reader.fail(`nesting deeper than ${maxDepth}`, offset);
        break;
      default:
        ins.labels = null; ins.types = null;
        if (info.imm === Imm.MemArgLane) ins.memArg = memArg;
        reader.pos = pos;
        readImmediates(reader, info, ins);
        pos = reader.pos;
        if (info.imm === Imm.TryTable && ++depth > maxDepth) reader.fail(`nesting deeper than ${maxDepth}`, offset);
    }
    ins.end = pos;
    if (visit) visit(ins);
  }
  reader.fail('code ends without a final end', end);
}

/** Visits every instruction of the body of defined function `bodyIndex` (0 = first defined function). */
export function forEachInstruction(module: WasmModule, bodyIndex: number, visit: (ins: Instruction) => void, ins?: Instruction): void {
  const body = module.code[bodyIndex];
  if (!body) throw new RangeError(`no function body ${bodyIndex}`);
  walkCode(module.bytes, body.codeStart, body.end, defaultDecodeLimits, visit, ins);
}

/** The instructions of one body as separate objects, for passes that rewrite code. */
export function decodeInstructions(module: WasmModule, bodyIndex: number): Instruction[] {
  const out: Instruction[] = [];
  forEachInstruction(module, bodyIndex, (ins) => {
    out.push({ ...ins, memArg: ins.memArg ? { ...ins.memArg } : null });
  });
  return out;
}

export { WasmDecodeError };
