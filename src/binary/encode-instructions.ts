// Encodes Instruction objects (as decodeInstructions returns them, possibly
// edited, or built by hand) back into code bytes. Used by passes that rewrite
// function bodies: decode, change or insert instructions, encode, then wrap
// with encodeFunctionBody.

import { Imm, atomicOps, miscOps, simdOps, singleByteOps, type OpInfo } from './opcodes.js';
import { ByteWriter, encodeValType } from './writer.js';
import type { BlockType, Instruction, MemArg, ValType } from './types.js';

const tables: Record<number, Array<OpInfo | undefined>> = { 0: singleByteOps, 0xfc: miscOps, 0xfd: simdOps, 0xfe: atomicOps };

const heapTypeBytes: Record<string, number> = {
  funcref: 0x70, externref: 0x6f, exnref: 0x69, anyref: 0x6e, eqref: 0x6d, i31ref: 0x6c, structref: 0x6b,
  arrayref: 0x6a, nullref: 0x71, nullfuncref: 0x73, nullexternref: 0x72, nullexnref: 0x74,
};

function opInfo(ins: Pick<Instruction, 'prefix' | 'code' | 'name'>): OpInfo {
  const info = tables[ins.prefix]?.[ins.code];
  if (!info) throw new RangeError(`cannot encode unknown opcode ${ins.prefix ? `0x${ins.prefix.toString(16)} ` : ''}0x${ins.code.toString(16)} (${ins.name})`);
  return info;
}

function blockType(writer: ByteWriter, type: BlockType | null): void {
  if (!type || type.kind === 'empty') writer.u8(0x40);
  else if (type.kind === 'value') writer.valType(type.type);
  else writer.s64(BigInt(type.index));
}

function memArg(writer: ByteWriter, arg: MemArg | null): void {
  if (!arg) throw new RangeError('memory instruction without a memArg');
  if (arg.memory !== 0) writer.u32(arg.align | 0x40).u32(arg.memory);
  else writer.u32(arg.align);
  writer.u64(arg.offset);
}

function heapType(writer: ByteWriter, type: ValType | undefined): void {
  if (type === undefined) throw new RangeError('ref.null without a heap type');
  if (typeof type === 'string') writer.u8(heapTypeBytes[type]!);
  else writer.s64(BigInt(type.ref));
}

function copyRaw(writer: ByteWriter, source: Uint8Array | undefined, from: number, to: number, what: string): void {
  if (!source || from < 0 || to > source.length || from > to) throw new RangeError(`${what} needs the module's bytes to copy its immediates from`);
  writer.bytes(source.subarray(from, to));
}

/**
 * Appends one instruction's encoding to `writer`. `source` (the decoded
 * module's `bytes`) is needed only for immediates the Instruction object
 * points at rather than holds: v128.const and i8x16.shuffle (16 bytes at
 * `bytesOffset`), try_table's catch clauses, and NaN constants (whose payload
 * bits a JS number may not preserve), all copied from `offset..end`.
 */
export function encodeInstruction(writer: ByteWriter, ins: Instruction, source?: Uint8Array): void {
  const info = opInfo(ins);
  if (info.imm === Imm.TryTable) return copyRaw(writer, source, ins.offset, ins.end, 'try_table');
  if ((info.imm === Imm.F32 || info.imm === Imm.F64) && Number.isNaN(ins.value) && source) {
    return copyRaw(writer, source, ins.offset, ins.end, 'a NaN constant');
  }
  if (ins.prefix !== 0) writer.u8(ins.prefix).u32(ins.code);
  else writer.u8(ins.code);
  switch (info.imm) {
    case Imm.None: return;
    case Imm.Block: return blockType(writer, ins.blockType);
    case Imm.Label: case Imm.Func: case Imm.Local: case Imm.Global: case Imm.Table: case Imm.Tag:
    case Imm.Data: case Imm.Elem: case Imm.CallRef: case Imm.Type: case Imm.MemIndex:
      writer.u32(ins.index); return;
    case Imm.BrTable: {
      const labels = ins.labels ?? [];
      if (labels.length === 0) throw new RangeError('br_table needs at least its default label');
      writer.u32(labels.length - 1);
      for (const label of labels) writer.u32(label);
      return;
    }
    case Imm.CallIndirect: case Imm.DataMem: case Imm.MemMem: case Imm.ElemTable: case Imm.TableTable:
      writer.u32(ins.index).u32(ins.index2); return;
    case Imm.MemArg: return memArg(writer, ins.memArg);
    case Imm.MemArgLane: memArg(writer, ins.memArg); writer.u8(ins.value); return;
    case Imm.I32: writer.s32(ins.value); return;
    case Imm.I64: writer.s64(ins.value64); return;
    case Imm.F32: writer.f32(ins.value); return;
    case Imm.F64: writer.f64(ins.value); return;
    case Imm.SelectT: {
      const types = ins.types ?? [];
      writer.u32(types.length);
      for (const type of types) writer.bytes(encodeValType(type));
      return;
    }
    case Imm.HeapType: return heapType(writer, ins.types?.[0]);
    case Imm.V128: case Imm.Shuffle: return copyRaw(writer, source, ins.bytesOffset, ins.bytesOffset + 16, ins.name);
    case Imm.Lane: writer.u8(ins.value); return;
    case Imm.Fence: writer.u8(0); return;
  }
}

/**
 * Encodes a sequence of instructions into code bytes. For a whole function
 * body the sequence ends with its final `end`; wrap the result with
 * `encodeFunctionBody(locals, code)` and hand it to `rewriteModule`'s
 * `bodies`. See encodeInstruction for when `source` is needed.
 */
export function encodeInstructions(instructions: readonly Instruction[], source?: Uint8Array): Uint8Array {
  const writer = new ByteWriter(instructions.length * 3 + 16);
  for (const ins of instructions) encodeInstruction(writer, ins, source);
  return writer.finish();
}
