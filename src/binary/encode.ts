// Re-encodes modules. An unedited module comes out byte-identical (its section
// ranges are copied as they are); edits replace or extend individual sections
// and leave every other byte alone, so index spaces and custom sections survive.
//
// Typical rewrite (e.g. a metering pass):
//
//   const module = decodeModule(bytes);
//   const code = encodeInstructions(changedInstructions, module.bytes);
//   const body = encodeFunctionBody(module.code[i].locals, code);
//   const out = rewriteModule(module, { bodies: new Map([[i, body]]) });

import { ByteReader } from './reader.js';
import { HEADER_BYTES } from './sections.js';
import { ByteWriter, sized } from './writer.js';
import type { Export, FuncType, GlobalType, LocalDecl, MemoryType, TableType, WasmModule } from './types.js';

export interface NewGlobal {
  type: GlobalType;
  /** The initialiser's bytes including its final `end` (0x0b), e.g. `i64.const 0; end`. */
  init: Uint8Array;
}

export interface NewFunction {
  typeIndex: number;
  /** The body without its size prefix: local declarations, then code ending in `end`. */
  body: Uint8Array;
}

export interface ModuleEdits {
  /** Replaced bodies, by defined-function index (0 = first function the module defines). */
  bodies?: ReadonlyMap<number, Uint8Array>;
  /** Replaced memory declarations, by defined-memory index. */
  memories?: ReadonlyMap<number, MemoryType>;
  /** Replaced table declarations, by defined-table index (an initialiser, if any, is kept). */
  tables?: ReadonlyMap<number, TableType>;
  /** Function types appended to the type section; their indices follow the module's own. */
  addTypes?: readonly FuncType[];
  /** Globals appended after the module's own (indices: imported + defined + i). */
  addGlobals?: readonly NewGlobal[];
  /** Functions appended after the module's own (indices: imported + defined + i). */
  addFunctions?: readonly NewFunction[];
  addExports?: readonly Export[];
  /** Custom sections whose name is listed are dropped. */
  dropCustomSections?: readonly string[];
  /**
   * Whole payloads (the bytes after the section's size) of known sections, by
   * id (1 type … 12 data count, 13 tag): each replaces the module's section of
   * that id, or is inserted in canonical order if the module has none. Wins
   * over every other edit of the same section.
   */
  replaceSections?: ReadonlyMap<number, Uint8Array>;
  /** Custom sections to add: `position: 'start'` right after the header (where signatures go), else at the end. */
  addCustomSections?: readonly NewCustomSection[];
}

export interface NewCustomSection {
  name: string;
  /** The bytes after the section's name. */
  payload: Uint8Array;
  position?: 'start' | 'end';
}

/** Canonical position of each known section, for inserting ones the module lacks. */
const sectionRank: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

const exportKindByte = { func: 0, table: 1, memory: 2, global: 3, tag: 4 } as const;

export function encodeLimits(writer: ByteWriter, limits: { min: number; max: number | null; shared: boolean; is64: boolean }): void {
  const flags = (limits.max !== null ? 1 : 0) | (limits.shared ? 2 : 0) | (limits.is64 ? 4 : 0);
  writer.u8(flags);
  if (limits.is64) {
    writer.u64(limits.min);
    if (limits.max !== null) writer.u64(limits.max);
  } else {
    writer.u32(limits.min);
    if (limits.max !== null) writer.u32(limits.max);
  }
}

/**
 * A table declaration. A table declared with an initialiser keeps it (the
 * `0x40 0x00` form): dropping it would make every element start null instead,
 * changing what the module means. The initialiser's bytes are copied from
 * `source` (the decoded module's bytes).
 */
export function encodeTableType(writer: ByteWriter, table: TableType, source: Uint8Array): void {
  if (table.init) writer.u8(0x40).u8(0x00);
  writer.valType(table.elemType);
  encodeLimits(writer, table.limits);
  if (table.init) writer.bytes(source.subarray(table.init.start, table.init.end));
}

export function encodeFuncType(writer: ByteWriter, type: FuncType): void {
  writer.u8(0x60).u32(type.params.length);
  for (const p of type.params) writer.valType(p);
  writer.u32(type.results.length);
  for (const r of type.results) writer.valType(r);
}

/** A function body from local declarations and code bytes (which end in `end`). */
export function encodeFunctionBody(locals: readonly LocalDecl[], code: Uint8Array): Uint8Array {
  const writer = new ByteWriter(code.length + 8 + locals.length * 3).u32(locals.length);
  for (const l of locals) writer.u32(l.count).valType(l.type);
  return writer.bytes(code).finish();
}

/** A vector section's payload: its original entries (copied), then `added`, under a new count. */
export function vectorWithAppended(module: WasmModule, id: number, added: readonly Uint8Array[]): Uint8Array {
  const section = module.sections.find((s) => s.id === id);
  let count = 0;
  let entries: Uint8Array = new Uint8Array(0);
  if (section) {
    const reader = new ByteReader(module.bytes, section.payloadStart, section.end);
    count = reader.u32();
    entries = module.bytes.subarray(reader.pos, section.end);
  }
  const writer = new ByteWriter(entries.length + 16 + added.reduce((n, a) => n + a.length, 0)).u32(count + added.length).bytes(entries);
  for (const entry of added) writer.bytes(entry);
  return writer.finish();
}

/** The same, or undefined (the section left as it is) when nothing is appended. */
function extendVector(module: WasmModule, id: number, added: Uint8Array[]): Uint8Array | undefined {
  return added.length === 0 ? undefined : vectorWithAppended(module, id, added);
}

function codePayload(module: WasmModule, edits: ModuleEdits): Uint8Array | undefined {
  const added = edits.addFunctions ?? [];
  if (!edits.bodies?.size && added.length === 0) return undefined;
  const section = module.sections.find((s) => s.id === 10);
  const writer = new ByteWriter((section ? section.end - section.payloadStart : 0) + 64);
  writer.u32(module.code.length + added.length);
  module.code.forEach((body, i) => {
    const replaced = edits.bodies?.get(i);
    if (replaced) writer.bytes(sized(replaced));
    else writer.u32(body.end - body.start).bytes(module.bytes.subarray(body.start, body.end));
  });
  for (const fn of added) writer.bytes(sized(fn.body));
  return writer.finish();
}

function declarationsPayload<T>(items: readonly T[], replaced: ReadonlyMap<number, T> | undefined, encode: (w: ByteWriter, item: T) => void): Uint8Array | undefined {
  if (!replaced?.size) return undefined;
  const writer = new ByteWriter(16 + items.length * 8).u32(items.length);
  items.forEach((item, i) => encode(writer, replaced.get(i) ?? item));
  return writer.finish();
}

/** Section payloads that change under `edits`, by section id. */
function changedPayloads(module: WasmModule, edits: ModuleEdits): Map<number, Uint8Array> {
  const changed = new Map<number, Uint8Array>();
  const put = (id: number, payload: Uint8Array | undefined): void => { if (payload) changed.set(id, payload); };
  put(1, extendVector(module, 1, (edits.addTypes ?? []).map((t) => { const w = new ByteWriter(); encodeFuncType(w, t); return w.finish(); })));
  put(3, extendVector(module, 3, (edits.addFunctions ?? []).map((f) => new ByteWriter(5).u32(f.typeIndex).finish())));
  put(4, declarationsPayload(module.tables, edits.tables, (w, t) => encodeTableType(w, t, module.bytes)));
  put(5, declarationsPayload(module.memories, edits.memories, (w, m) => encodeLimits(w, m.limits)));
  put(6, extendVector(module, 6, (edits.addGlobals ?? []).map((g) => new ByteWriter().valType(g.type.valType).u8(g.type.mutable ? 1 : 0).bytes(g.init).finish())));
  put(7, extendVector(module, 7, (edits.addExports ?? []).map((e) => new ByteWriter().name(e.name).u8(exportKindByte[e.kind]).u32(e.index).finish())));
  put(10, codePayload(module, edits));
  for (const [id, payload] of edits.replaceSections ?? []) {
    if (sectionRank[id] === undefined) throw new RangeError(`replaceSections: ${id} is not a known section id`);
    changed.set(id, payload);
  }
  return changed;
}


/**
 * Encodes `module` with `edits` applied. With no edits the result is
 * byte-identical to the input. Callers keep index spaces valid: appended
 * functions and globals get indices after every existing one.
 */
export function rewriteModule(module: WasmModule, edits: ModuleEdits = {}): Uint8Array {
  const changed = changedPayloads(module, edits);
  const drop = new Set(edits.dropCustomSections ?? []);
  // The output is gathered as pieces (most of them views of the input) and copied once into
  // a buffer of exactly its size: a rewrite costs the output's bytes and no more.
  const pieces: Uint8Array[] = [module.bytes.subarray(0, HEADER_BYTES)];
  const framed = (id: number, payload: Uint8Array): void => {
    pieces.push(new ByteWriter(6).u8(id).u32(payload.length).finish(), payload);
  };
  const customs = edits.addCustomSections ?? [];
  const emitCustom = (section: NewCustomSection): void => {
    framed(0, new ByteWriter(section.payload.length + 16).name(section.name).bytes(section.payload).finish());
  };
  for (const section of customs) if (section.position === 'start') emitCustom(section);
  const pending = new Map(changed);
  const emitMissingBefore = (rank: number): void => {
    for (const [id, payload] of [...pending].sort((a, b) => sectionRank[a[0]]! - sectionRank[b[0]]!)) {
      if (sectionRank[id]! >= rank) break;
      if (!module.sections.some((s) => s.id === id)) {
        framed(id, payload);
        pending.delete(id);
      }
    }
  };
  for (const section of module.sections) {
    if (section.id === 0) {
      if (!drop.has(section.name!)) pieces.push(module.bytes.subarray(section.start, section.end));
      continue;
    }
    emitMissingBefore(sectionRank[section.id]!);
    const payload = pending.get(section.id);
    if (payload) {
      framed(section.id, payload);
      pending.delete(section.id);
    } else {
      pieces.push(module.bytes.subarray(section.start, section.end));
    }
  }
  emitMissingBefore(Infinity);
  for (const section of customs) if (section.position !== 'start') emitCustom(section);
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) { out.set(piece, at); at += piece.length; }
  return out;
}

/** Re-encodes an unedited module (byte-identical to its input). */
export function encodeModule(module: WasmModule): Uint8Array {
  return rewriteModule(module);
}
