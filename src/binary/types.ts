// The decoded shape of a core WebAssembly module.
//
// A decoded module never copies the input: byte ranges (`start`/`end`, absolute
// offsets into `WasmModule.bytes`) point back into it, so re-encoding an
// unchanged module is a copy of those ranges and signing can hash sections
// exactly as they appear on disk.

import type { DataSegmentList } from './data-segments.js';
import type { ElementSegmentList } from './element-segments.js';
import type { GlobalList } from './globals.js';

export type ValType =
  | 'i32' | 'i64' | 'f32' | 'f64' | 'v128'
  | 'funcref' | 'externref'
  // Only recognised so that a policy can refuse them with a clear reason.
  | 'exnref' | 'anyref' | 'eqref' | 'i31ref' | 'structref' | 'arrayref'
  | 'nullref' | 'nullfuncref' | 'nullexternref' | 'nullexnref'
  | { ref: number; nullable: boolean };

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface Limits {
  min: number;
  /** null when the module declares no maximum. */
  max: number | null;
  shared: boolean;
  /** memory64 (or table64): recognised, refused by policy. */
  is64: boolean;
}

export interface TableType {
  elemType: ValType;
  limits: Limits;
  /**
   * The initialiser of a table declared in the `0x40 0x00` form (typed
   * function references): every element starts as its value. Absent for
   * plain tables, whose elements start null.
   */
  init?: ConstExpr;
}

export interface MemoryType {
  limits: Limits;
}

export interface GlobalType {
  valType: ValType;
  mutable: boolean;
}

export interface TagType {
  attribute: number;
  typeIndex: number;
}

export type ExternKind = 'func' | 'table' | 'memory' | 'global' | 'tag';

export type ImportDesc =
  | { kind: 'func'; typeIndex: number }
  | { kind: 'table'; type: TableType }
  | { kind: 'memory'; type: MemoryType }
  | { kind: 'global'; type: GlobalType }
  | { kind: 'tag'; type: TagType };

export interface Import {
  module: string;
  name: string;
  desc: ImportDesc;
  /** Absolute offset of the import entry, for findings that point at bytes. */
  offset: number;
}

export interface Export {
  name: string;
  kind: ExternKind;
  index: number;
}

/**
 * A constant expression (global initialisers, segment offsets). `value` is set
 * when the expression is a single `*.const` or `global.get`, which is all the
 * audit needs; `start`/`end` delimit the raw bytes including the final `end`.
 */
export interface ConstExpr {
  start: number;
  end: number;
  value:
    | { kind: 'i32.const'; value: number }
    | { kind: 'i64.const'; value: bigint }
    | { kind: 'f32.const'; value: number }
    | { kind: 'f64.const'; value: number }
    | { kind: 'global.get'; index: number }
    | { kind: 'ref.null'; type: ValType }
    | { kind: 'ref.func'; index: number }
    | { kind: 'other' };
}

export interface Global {
  type: GlobalType;
  init: ConstExpr;
}

export type SegmentMode =
  | { kind: 'passive' }
  | { kind: 'declarative' }
  | { kind: 'active'; index: number; offset: ConstExpr };

export interface ElementSegment {
  mode: SegmentMode;
  elemType: ValType;
  /** Number of items. */
  count: number;
  /** Items are constant expressions (flags bit 2), else plain function indices. */
  usesExpressions: boolean;
  /** Absolute range of the items' bytes (after their count). */
  itemsStart: number;
  itemsEnd: number;
  /**
   * The function indices the segment lists (directly, or as `ref.func`
   * expressions), read from the module's bytes on each iteration: a segment
   * of a hundred million items costs no memory until someone walks it.
   */
  functionIndices: Iterable<number>;
}

export interface DataSegment {
  mode: SegmentMode;
  /** Absolute range of the segment's bytes within the module. */
  start: number;
  end: number;
}

export interface LocalDecl {
  count: number;
  type: ValType;
}

export interface FunctionBody {
  /** Absolute range of the whole body entry, after its size prefix. */
  start: number;
  end: number;
  locals: LocalDecl[];
  /** Total number of locals declared (not counting params). */
  localCount: number;
  /** Absolute offset of the first instruction (just after the local declarations). */
  codeStart: number;
}

export interface SectionInfo {
  /** Section id: 0 custom, 1 type … 12 data count, 13 tag. */
  id: number;
  /** Absolute offset of the id byte. */
  start: number;
  /** Absolute range of the payload (after the size LEB). */
  payloadStart: number;
  end: number;
  /** For custom sections, the name. */
  name?: string;
}

export interface CustomSection {
  name: string;
  /** Absolute range of the payload after the name. */
  start: number;
  end: number;
}

export interface NameMap {
  [index: number]: string;
}

export interface NameSection {
  module?: string;
  functions: Map<number, string>;
  locals: Map<number, Map<number, string>>;
  labels: Map<number, Map<number, string>>;
  types: Map<number, string>;
  tables: Map<number, string>;
  memories: Map<number, string>;
  globals: Map<number, string>;
  elements: Map<number, string>;
  data: Map<number, string>;
  tags: Map<number, string>;
}

export interface Producers {
  /** field name ("language", "processed-by", "sdk") → list of [name, version]. */
  [field: string]: Array<{ name: string; version: string }>;
}

export interface TargetFeature {
  prefix: '+' | '-' | '=';
  name: string;
}

export interface WasmModule {
  bytes: Uint8Array;
  version: number;
  sections: SectionInfo[];
  types: FuncType[];
  imports: Import[];
  /** Type index of each function defined in the module (not imports). */
  functions: number[];
  tables: TableType[];
  memories: MemoryType[];
  tags: TagType[];
  /** Globals the module defines, materialised on access from the bytes (see GlobalList). */
  globals: GlobalList;
  exports: Export[];
  start: number | null;
  /** Element segments, materialised on access from the bytes (see ElementSegmentList). */
  elements: ElementSegmentList;
  dataCount: number | null;
  code: FunctionBody[];
  /**
   * The proposals the bodies' local declarations use (a `v128` or reference-typed local), each with
   * the offset of the first body that declares one: noted as the decoder reads the declarations,
   * so the feature audit need not read every body's declarations again.
   */
  localFeatures: Map<Feature, number>;
  /** Data segments, materialised on access from the bytes (see DataSegmentList). */
  data: DataSegmentList;
  customs: CustomSection[];
  names: NameSection | null;
  producers: Producers | null;
  targetFeatures: TargetFeature[] | null;
  /**
   * Known custom sections whose contents are malformed. Engines ignore these
   * (a module stays valid), so the decoder records them instead of failing.
   */
  customSectionErrors: Array<{ name: string; reason: string; offset: number }>;
  /** Counts of imports by kind, so function index spaces can be computed. */
  importedFunctionCount: number;
  importedTableCount: number;
  importedMemoryCount: number;
  importedGlobalCount: number;
  importedTagCount: number;
}

/** Caps that keep decoding bounded on hostile input. Defaults follow V8's limits. */
export interface DecodeLimits {
  maxModuleBytes: number;
  maxTypes: number;
  maxFunctions: number;
  maxImports: number;
  maxExports: number;
  maxGlobals: number;
  maxDataSegments: number;
  maxElementSegments: number;
  maxTableInitial: number;
  maxLocalsPerFunction: number;
  maxFunctionBodyBytes: number;
  maxParams: number;
  maxResults: number;
  maxNestingDepth: number;
  maxStringBytes: number;
  /** Custom sections in one module (each costs the host an object or two while it is framed). */
  maxCustomSections: number;
}

export interface DecodeOptions {
  limits?: Partial<DecodeLimits>;
  /**
   * Walk every instruction of every function body, so that a malformed body is
   * reported at decode time. Default true. Off, bodies are only framed.
   */
  validateBodies?: boolean;
}

/** The proposal an instruction, type or section belongs to ('mvp' for the 1.0 core). */
export type Feature =
  | 'mvp'
  | 'sign-extension'
  | 'nontrapping-fptoint'
  | 'multi-value'
  | 'bulk-memory'
  | 'reference-types'
  | 'simd'
  | 'relaxed-simd'
  | 'tail-call'
  | 'exceptions-legacy'
  | 'exceptions'
  | 'threads'
  | 'memory64'
  | 'multi-memory'
  | 'gc'
  | 'extended-const';

export type BlockType = { kind: 'empty' } | { kind: 'value'; type: ValType } | { kind: 'type'; index: number };

export interface MemArg {
  align: number;
  /** Offsets above 2^53 only occur in memory64 and are clamped to Number.MAX_SAFE_INTEGER. */
  offset: number;
  memory: number;
}

/**
 * One instruction with its immediates. The reader reuses a single object while
 * visiting a body, so a visitor that keeps one must copy it (`{ ...ins }`).
 * Only the immediates that the instruction has are meaningful.
 */
export interface Instruction {
  /** Text-format mnemonic, e.g. 'i32.const', 'call_indirect', 'memory.atomic.wait32'. */
  name: string;
  /** 0 for single-byte opcodes, else the prefix byte (0xfb, 0xfc, 0xfd, 0xfe). */
  prefix: number;
  /** The opcode byte, or the sub-opcode after the prefix. */
  code: number;
  feature: Feature;
  /** Absolute range of the instruction's bytes. */
  offset: number;
  end: number;
  /** Label, local, global, function, type, table, memory, tag, element or data index. */
  index: number;
  /** A second index: call_indirect's table, copy's source, init's segment. */
  index2: number;
  blockType: BlockType | null;
  /** br_table targets, the default last. */
  labels: number[] | null;
  memArg: MemArg | null;
  /** i32.const (as a signed 32-bit number), f32.const, f64.const, lane index. */
  value: number;
  /** i64.const. */
  value64: bigint;
  /** Offset of v128.const's or i8x16.shuffle's 16 bytes. */
  bytesOffset: number;
  /** Types listed by select t*. */
  types: ValType[] | null;
  /** try_table / legacy catch clauses: raw count, detail not needed by the audit. */
  catchCount: number;
}
