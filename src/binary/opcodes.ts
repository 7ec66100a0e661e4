// Opcode tables: for every opcode, its text name, the shape of its immediates
// and the proposal it belongs to. Indexed arrays, so decoding looks an opcode
// up in one step.

import type { Feature } from './types.js';

export const enum Imm {
  None, Block, Label, BrTable, Func, CallIndirect, Local, Global, Table, MemArg, MemIndex,
  I32, I64, F32, F64, SelectT, HeapType, Tag, TryTable, Type, DataMem, Data, MemMem,
  ElemTable, Elem, TableTable, V128, Shuffle, Lane, MemArgLane, Fence, CallRef,
}

export interface OpInfo {
  name: string;
  imm: Imm;
  feature: Feature;
  /** The only immediate is one u32 index: the walker reads it inline. */
  singleIndex: boolean;
}

const singleIndexImms = new Set<Imm>([Imm.Label, Imm.Func, Imm.Local, Imm.Global, Imm.Table, Imm.Tag, Imm.Data, Imm.Elem, Imm.CallRef]);
const info = (name: string, imm: Imm, feature: Feature): OpInfo => ({ name, imm, feature, singleIndex: singleIndexImms.has(imm) });

type Row = [code: number, name: string, imm?: Imm, feature?: Feature];

function table(size: number, rows: Row[], defaultFeature: Feature): Array<OpInfo | undefined> {
  const out: Array<OpInfo | undefined> = new Array(size).fill(undefined);
  for (const [code, name, imm = Imm.None, feature = defaultFeature] of rows) out[code] = info(name, imm, feature);
  return out;
}

function run(start: number, names: string, imm: Imm = Imm.None, feature?: Feature): Row[] {
  return names.split(' ').map((name, i) => [start + i, name, imm, feature] as Row);
}

const loads = 'i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u';
const stores = 'i32.store i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32';
const numeric =
  'i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u ' +
  'i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u ' +
  'f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt f64.le f64.ge ' +
  'i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr ' +
  'i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr ' +
  'f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign ' +
  'f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign ' +
  'i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u ' +
  'f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64 f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32 ' +
  'i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64';

export const singleByteOps = table(256, [
  [0x00, 'unreachable'], [0x01, 'nop'], [0x02, 'block', Imm.Block], [0x03, 'loop', Imm.Block],
  [0x04, 'if', Imm.Block], [0x05, 'else'],
  [0x06, 'try', Imm.Block, 'exceptions-legacy'], [0x07, 'catch', Imm.Tag, 'exceptions-legacy'],
  [0x08, 'throw', Imm.Tag, 'exceptions-legacy'], [0x09, 'rethrow', Imm.Label, 'exceptions-legacy'],
  [0x0a, 'throw_ref', Imm.None, 'exceptions'], [0x0b, 'end'],
  [0x0c, 'br', Imm.Label], [0x0d, 'br_if', Imm.Label], [0x0e, 'br_table', Imm.BrTable], [0x0f, 'return'],
  [0x10, 'call', Imm.Func], [0x11, 'call_indirect', Imm.CallIndirect],
  [0x12, 'return_call', Imm.Func, 'tail-call'], [0x13, 'return_call_indirect', Imm.CallIndirect, 'tail-call'],
  [0x14, 'call_ref', Imm.CallRef, 'gc'], [0x15, 'return_call_ref', Imm.CallRef, 'gc'],
  [0x18, 'delegate', Imm.Label, 'exceptions-legacy'], [0x19, 'catch_all', Imm.None, 'exceptions-legacy'],
  [0x1a, 'drop'], [0x1b, 'select'], [0x1c, 'select', Imm.SelectT, 'reference-types'],
  [0x1f, 'try_table', Imm.TryTable, 'exceptions'],
  [0x20, 'local.get', Imm.Local], [0x21, 'local.set', Imm.Local], [0x22, 'local.tee', Imm.Local],
  [0x23, 'global.get', Imm.Global], [0x24, 'global.set', Imm.Global],
  [0x25, 'table.get', Imm.Table, 'reference-types'], [0x26, 'table.set', Imm.Table, 'reference-types'],
  ...run(0x28, loads, Imm.MemArg), ...run(0x36, stores, Imm.MemArg),
  [0x3f, 'memory.size', Imm.MemIndex], [0x40, 'memory.grow', Imm.MemIndex],
  [0x41, 'i32.const', Imm.I32], [0x42, 'i64.const', Imm.I64], [0x43, 'f32.const', Imm.F32], [0x44, 'f64.const', Imm.F64],
  ...run(0x45, numeric),
  ...run(0xc0, 'i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s', Imm.None, 'sign-extension'),
  [0xd0, 'ref.null', Imm.HeapType, 'reference-types'], [0xd1, 'ref.is_null', Imm.None, 'reference-types'],
  [0xd2, 'ref.func', Imm.Func, 'reference-types'], [0xd3, 'ref.eq', Imm.None, 'gc'],
  [0xd4, 'ref.as_non_null', Imm.None, 'gc'], [0xd5, 'br_on_null', Imm.Label, 'gc'], [0xd6, 'br_on_non_null', Imm.Label, 'gc'],
], 'mvp');

export const miscOps = table(18, [
  ...run(0, 'i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u', Imm.None, 'nontrapping-fptoint'),
  [8, 'memory.init', Imm.DataMem], [9, 'data.drop', Imm.Data], [10, 'memory.copy', Imm.MemMem], [11, 'memory.fill', Imm.MemIndex],
  [12, 'table.init', Imm.ElemTable], [13, 'elem.drop', Imm.Elem], [14, 'table.copy', Imm.TableTable],
  [15, 'table.grow', Imm.Table, 'reference-types'], [16, 'table.size', Imm.Table, 'reference-types'], [17, 'table.fill', Imm.Table, 'reference-types'],
], 'bulk-memory');

const simdNames: Array<string | null> = (
  'v128.load v128.load8x8_s v128.load8x8_u v128.load16x4_s v128.load16x4_u v128.load32x2_s v128.load32x2_u ' +
  'v128.load8_splat v128.load16_splat v128.load32_splat v128.load64_splat v128.store v128.const i8x16.shuffle ' +
  'i8x16.swizzle i8x16.splat i16x8.splat i32x4.splat i64x2.splat f32x4.splat f64x2.splat ' +
  'i8x16.extract_lane_s i8x16.extract_lane_u i8x16.replace_lane i16x8.extract_lane_s i16x8.extract_lane_u i16x8.replace_lane ' +
  'i32x4.extract_lane i32x4.replace_lane i64x2.extract_lane i64x2.replace_lane f32x4.extract_lane f32x4.replace_lane ' +
  'f64x2.extract_lane f64x2.replace_lane ' +
  'i8x16.eq i8x16.ne i8x16.lt_s i8x16.lt_u i8x16.gt_s i8x16.gt_u i8x16.le_s i8x16.le_u i8x16.ge_s i8x16.ge_u ' +
  'i16x8.eq i16x8.ne i16x8.lt_s i16x8.lt_u i16x8.gt_s i16x8.gt_u i16x8.le_s i16x8.le_u i16x8.ge_s i16x8.ge_u ' +
  'i32x4.eq i32x4.ne i32x4.lt_s i32x4.lt_u i32x4.gt_s i32x4.gt_u i32x4.le_s i32x4.le_u i32x4.ge_s i32x4.ge_u ' +
  'f32x4.eq f32x4.ne f32x4.lt f32x4.gt f32x4.le f32x4.ge f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le f64x2.ge ' +
  'v128.not v128.and v128.andnot v128.or v128.xor v128.bitselect v128.any_true ' +
  'v128.load8_lane v128.load16_lane v128.load32_lane v128.load64_lane v128.store8_lane v128.store16_lane ' +
  'v128.store32_lane v128.store64_lane v128.load32_zero v128.load64_zero f32x4.demote_f64x2_zero f64x2.promote_low_f32x4 ' +
  'i8x16.abs i8x16.neg i8x16.popcnt i8x16.all_true i8x16.bitmask i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u ' +
  'f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest i8x16.shl i8x16.shr_s i8x16.shr_u i8x16.add i8x16.add_sat_s ' +
  'i8x16.add_sat_u i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u f64x2.ceil f64x2.floor i8x16.min_s i8x16.min_u ' +
  'i8x16.max_s i8x16.max_u f64x2.trunc i8x16.avgr_u i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u ' +
  'i32x4.extadd_pairwise_i16x8_s i32x4.extadd_pairwise_i16x8_u ' +
  'i16x8.abs i16x8.neg i16x8.q15mulr_sat_s i16x8.all_true i16x8.bitmask i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u ' +
  'i16x8.extend_low_i8x16_s i16x8.extend_high_i8x16_s i16x8.extend_low_i8x16_u i16x8.extend_high_i8x16_u ' +
  'i16x8.shl i16x8.shr_s i16x8.shr_u i16x8.add i16x8.add_sat_s i16x8.add_sat_u i16x8.sub i16x8.sub_sat_s ' +
  'i16x8.sub_sat_u f64x2.nearest i16x8.mul i16x8.min_s i16x8.min_u i16x8.max_s i16x8.max_u - i16x8.avgr_u ' +
  'i16x8.extmul_low_i8x16_s i16x8.extmul_high_i8x16_s i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u ' +
  'i32x4.abs i32x4.neg - i32x4.all_true i32x4.bitmask - - i32x4.extend_low_i16x8_s i32x4.extend_high_i16x8_s ' +
  'i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u i32x4.shl i32x4.shr_s i32x4.shr_u i32x4.add - - i32x4.sub ' +
  '- - - i32x4.mul i32x4.min_s i32x4.min_u i32x4.max_s i32x4.max_u i32x4.dot_i16x8_s - ' +
  'i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s i32x4.extmul_low_i16x8_u i32x4.extmul_high_i16x8_u ' +
  'i64x2.abs i64x2.neg - i64x2.all_true i64x2.bitmask - - i64x2.extend_low_i32x4_s i64x2.extend_high_i32x4_s ' +
  'i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u i64x2.shl i64x2.shr_s i64x2.shr_u i64x2.add - - i64x2.sub ' +
  '- - - i64x2.mul i64x2.eq i64x2.ne i64x2.lt_s i64x2.gt_s i64x2.le_s i64x2.ge_s ' +
  'i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u ' +
  'f32x4.abs f32x4.neg - f32x4.sqrt f32x4.add f32x4.sub f32x4.mul f32x4.div f32x4.min f32x4.max f32x4.pmin f32x4.pmax ' +
  'f64x2.abs f64x2.neg - f64x2.sqrt f64x2.add f64x2.sub f64x2.mul f64x2.div f64x2.min f64x2.max f64x2.pmin f64x2.pmax ' +
  'i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u f32x4.convert_i32x4_s f32x4.convert_i32x4_u ' +
  'i32x4.trunc_sat_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u ' +
  'i8x16.relaxed_swizzle i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u i32x4.relaxed_trunc_f64x2_s_zero ' +
  'i32x4.relaxed_trunc_f64x2_u_zero f32x4.relaxed_madd f32x4.relaxed_nmadd f64x2.relaxed_madd f64x2.relaxed_nmadd ' +
  'i8x16.relaxed_laneselect i16x8.relaxed_laneselect i32x4.relaxed_laneselect i64x2.relaxed_laneselect ' +
  'f32x4.relaxed_min f32x4.relaxed_max f64x2.relaxed_min f64x2.relaxed_max i16x8.relaxed_q15mulr_s ' +
  'i16x8.relaxed_dot_i8x16_i7x16_s i32x4.relaxed_dot_i8x16_i7x16_add_s'
).split(' ').map((n) => (n === '-' ? null : n));

export const simdOps: Array<OpInfo | undefined> = simdNames.map((name, code) => {
  if (name === null) return undefined;
  let imm = Imm.None;
  if (code <= 11 || code === 92 || code === 93) imm = Imm.MemArg;
  else if (code === 12) imm = Imm.V128;
  else if (code === 13) imm = Imm.Shuffle;
  else if (code >= 21 && code <= 34) imm = Imm.Lane;
  else if (code >= 84 && code <= 91) imm = Imm.MemArgLane;
  return info(name, imm, code >= 0x100 ? 'relaxed-simd' : 'simd');
});

const rmw = (op: string): string =>
  `i32.atomic.rmw.${op} i64.atomic.rmw.${op} i32.atomic.rmw8.${op}_u i32.atomic.rmw16.${op}_u i64.atomic.rmw8.${op}_u i64.atomic.rmw16.${op}_u i64.atomic.rmw32.${op}_u`;

export const atomicOps = table(0x4f, [
  [0, 'memory.atomic.notify', Imm.MemArg], [1, 'memory.atomic.wait32', Imm.MemArg], [2, 'memory.atomic.wait64', Imm.MemArg],
  [3, 'atomic.fence', Imm.Fence],
  ...run(0x10, 'i32.atomic.load i64.atomic.load i32.atomic.load8_u i32.atomic.load16_u i64.atomic.load8_u i64.atomic.load16_u i64.atomic.load32_u', Imm.MemArg),
  ...run(0x17, 'i32.atomic.store i64.atomic.store i32.atomic.store8 i32.atomic.store16 i64.atomic.store8 i64.atomic.store16 i64.atomic.store32', Imm.MemArg),
  ...['add', 'sub', 'and', 'or', 'xor', 'xchg', 'cmpxchg'].flatMap((op, i) => run(0x1e + 7 * i, rmw(op), Imm.MemArg)),
], 'threads');
