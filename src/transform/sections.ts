// Section payloads for a rewritten module: the module's own entries with
// function indices renumbered (when the rewriter inserts an import), plus the
// entries the rewriter appends. Entries are copied from the original bytes
// wherever nothing in them changes, so what is not renumbered stays as shipped.

import { readConstExpr } from '../binary/const-expr.js';
import { vectorWithAppended } from '../binary/encode.js';
import { newInstruction, walkCode } from '../binary/instructions.js';
import { ByteReader } from '../binary/reader.js';
import { HEADER_BYTES } from '../binary/sections.js';
import { layInPlace, type LaidPiece } from '../binary/in-place.js';
import type { Export, SectionInfo, WasmModule } from '../binary/types.js';
import { readRefType } from '../binary/valtypes.js';
import { ByteWriter, sized } from '../binary/writer.js';

/** Maps an original function index to its index in the rewritten module. */
export type FunctionRemap = (index: number) => number;

const exportKindByte = { func: 0, table: 1, memory: 2, global: 3, tag: 4 } as const;

export function sectionOf(module: WasmModule, id: number): SectionInfo | undefined {
  return module.sections.find((s) => s.id === id);
}

/** A vector section's payload: its original entries, then `added`, under a new count. */
export const extendVector = vectorWithAppended;

/** A constant expression's bytes with every `ref.func` renumbered. */
export function remapConstExpr(bytes: Uint8Array, start: number, end: number, remap: FunctionRemap | null): Uint8Array {
  if (!remap) return bytes.subarray(start, end);
  const writer = new ByteWriter(end - start + 8);
  let copied = start;
  walkCode(bytes, start, end, { maxNestingDepth: 0 }, (ins) => {
    if (ins.prefix !== 0 || ins.code !== 0xd2) return; // ref.func
    writer.bytes(bytes.subarray(copied, ins.offset)).u8(0xd2).u32(remap(ins.index));
    copied = ins.end;
  }, newInstruction(), true);
  return writer.bytes(bytes.subarray(copied, end)).finish();
}

/** The global section: the module's globals with initialisers renumbered, then `added` (each type ‖ init). */
export function globalsPayload(module: WasmModule, remap: FunctionRemap | null, added: readonly Uint8Array[]): Uint8Array {
  const section = sectionOf(module, 6);
  if (!section || !remap) return extendVector(module, 6, added);
  const reader = new ByteReader(module.bytes, section.payloadStart, section.end);
  reader.u32();
  let at = reader.pos;
  const writer = new ByteWriter(section.end - section.payloadStart + 64).u32(module.globals.length + added.length);
  for (const global of module.globals) {
    writer.bytes(module.bytes.subarray(at, global.init.start)); // value type and mutability
    writer.bytes(remapConstExpr(module.bytes, global.init.start, global.init.end, remap));
    at = global.init.end;
  }
  for (const entry of added) writer.bytes(entry);
  return writer.finish();
}

/** The export section, every function export renumbered, `retarget` naming new indices by export name, then `added`. */
export function exportsPayload(module: WasmModule, remap: FunctionRemap | null, retarget: ReadonlyMap<string, number>, added: readonly Export[]): Uint8Array {
  const writer = new ByteWriter(64 + module.exports.length * 16).u32(module.exports.length + added.length);
  const put = (e: Export) => writer.name(e.name).u8(exportKindByte[e.kind]).u32(e.index);
  for (const e of module.exports) {
    const index = e.kind !== 'func' ? e.index : retarget.get(e.name) ?? (remap ? remap(e.index) : e.index);
    put({ ...e, index });
  }
  for (const e of added) put(e);
  return writer.finish();
}

/** The element section with every function index renumbered, in both encodings (indices and expressions). */
export function elementsPayload(module: WasmModule, remap: FunctionRemap): Uint8Array {
  const section = sectionOf(module, 9)!;
  const bytes = module.bytes;
  const reader = new ByteReader(bytes, section.payloadStart, section.end);
  const writer = new ByteWriter(section.end - section.payloadStart + 64);
  const n = reader.u32();
  writer.u32(n);
  for (let i = 0; i < n; i++) {
    const flags = reader.u32();
    writer.u32(flags);
    const passiveOrDeclarative = (flags & 1) !== 0;
    const explicitTable = (flags & 2) !== 0;
    const expressions = (flags & 4) !== 0;
    if (!passiveOrDeclarative) {
      if (explicitTable) writer.u32(reader.u32());
      const offset = readConstExpr(reader);
      writer.bytes(remapConstExpr(bytes, offset.start, offset.end, remap));
    }
    if (passiveOrDeclarative || explicitTable) {
      const at = reader.pos;
      if (expressions) readRefType(reader);
      else reader.u8(); // element kind 0x00 (funcref)
      writer.bytes(bytes.subarray(at, reader.pos));
    }
    const items = reader.u32();
    writer.u32(items);
    for (let j = 0; j < items; j++) {
      if (expressions) {
        const expr = readConstExpr(reader);
        writer.bytes(remapConstExpr(bytes, expr.start, expr.end, remap));
      } else writer.u32(remap(reader.u32()));
    }
  }
  return writer.finish();
}

/** A name map (index → name), keys renumbered when `remapKeys`; the names are copied as they are. */
function copyNameMap(reader: ByteReader, writer: ByteWriter, remapKeys: FunctionRemap | null): void {
  const n = reader.u32();
  writer.u32(n);
  for (let i = 0; i < n; i++) {
    const index = reader.u32();
    writer.u32(remapKeys ? remapKeys(index) : index);
    const at = reader.pos;
    const length = reader.u32();
    if (length > reader.remaining) reader.fail('name runs past its subsection');
    reader.pos += length;
    writer.bytes(reader.bytes.subarray(at, reader.pos));
  }
}

/**
 * The `name` section's payload (after its name) with function indices
 * renumbered: function names (1), and the function keys of local (2) and
 * label (3) names. Other subsections are copied. Throws WasmDecodeError when
 * the section is malformed (callers drop it then: engines ignore it too).
 */
export function namesPayload(bytes: Uint8Array, start: number, end: number, remap: FunctionRemap): Uint8Array {
  const reader = new ByteReader(bytes, start, end);
  const writer = new ByteWriter(end - start + 64);
  while (!reader.atEnd()) {
    const id = reader.u8();
    const size = reader.u32();
    if (size > reader.remaining) reader.fail(`name subsection ${id} runs past its section`);
    const subEnd = reader.pos + size;
    if (id < 1 || id > 3) {
      writer.u8(id).bytes(sized(bytes.subarray(reader.pos, subEnd)));
      reader.pos = subEnd;
      continue;
    }
    const sub = new ByteReader(bytes, reader.pos, subEnd);
    const out = new ByteWriter(size + 16);
    if (id === 1) copyNameMap(sub, out, remap);
    else {
      const n = sub.u32();
      out.u32(n);
      for (let i = 0; i < n; i++) {
        out.u32(remap(sub.u32()));
        copyNameMap(sub, out, null);
      }
    }
    if (!sub.atEnd()) sub.fail(`name subsection ${id} has trailing bytes`);
    writer.u8(id).bytes(sized(out.finish()));
    reader.pos = subEnd;
  }
  return writer.finish();
}

/** Canonical order of the known sections (13, tags, sits between memory and global). */
const sectionRank: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

export interface Assembly {
  /** Known sections by id: a new payload, or null to leave the section out. */
  sections: ReadonlyMap<number, Uint8Array | null>;
  /** Custom sections by name: a new payload (after the name), or null to leave them out. */
  customs: ReadonlyMap<string, Uint8Array | null>;
  /** Custom sections added at the end, by name and payload (after the name). */
  addedCustoms?: ReadonlyArray<readonly [string, Uint8Array]>;
}

/** The bytes of a LEB128 u32. */
function leb(value: number): Uint8Array {
  return new ByteWriter(5).u32(value).finish();
}

/** A section of an assembled module: one of the module's own, kept whole, or a new one. */
export type PlannedSection = { kept: true; start: number; end: number } | { kept: false; id: number; payload: Uint8Array };

/** What an assembled module is made of, before any byte of it is written. */
export interface AssemblyPlan {
  /** Its sections in order, after the module's own 8-byte header. */
  sections: PlannedSection[];
  /** Its bytes in order: ranges of the module's bytes, or new bytes. */
  pieces: LaidPiece[];
  length: number;
}

/**
 * The module with `assembly` applied: every other section copied byte for
 * byte, new known sections inserted in canonical order. The output is
 * allocated once at its exact size (a module can be hundreds of megabytes).
 */
export function assemble(module: WasmModule, assembly: Assembly): Uint8Array {
  return layOut(module, planAssembly(module, assembly), false);
}

/**
 * The plan's bytes: laid over the module's own (in-place.ts) when `inPlace`
 * and that can be done, the module's bytes then being overwritten; else in a
 * new buffer of their exact size.
 */
export function layOut(module: WasmModule, plan: AssemblyPlan, inPlace: boolean): Uint8Array {
  const laid = inPlace ? layInPlace(module.bytes, plan.pieces, plan.length) : null;
  if (laid) return laid;
  const out = new Uint8Array(plan.length);
  let at = 0;
  for (const piece of plan.pieces) {
    const bytes = piece instanceof Uint8Array ? piece : module.bytes.subarray(piece.start, piece.end);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** What `assemble` makes of the module, as a plan. */
export function planAssembly(module: WasmModule, assembly: Assembly): AssemblyPlan {
  const pieces: LaidPiece[] = [{ start: 0, end: HEADER_BYTES }];
  const sections: PlannedSection[] = [];
  let length = HEADER_BYTES;
  const keep = (s: { start: number; end: number }) => {
    sections.push({ kept: true, start: s.start, end: s.end });
    const last = pieces[pieces.length - 1]!;
    // Adjacent kept ranges are one piece: one move of the bytes between rewritten sections.
    if (!(last instanceof Uint8Array) && last.end === s.start) last.end = s.end;
    else pieces.push({ start: s.start, end: s.end });
    length += s.end - s.start;
  };
  const section = (id: number, payload: Uint8Array) => {
    sections.push({ kept: false, id, payload });
    const head = Uint8Array.of(id, ...leb(payload.length));
    pieces.push(head, payload);
    length += head.length + payload.length;
  };
  const pending = new Map([...assembly.sections].filter(([id]) => !module.sections.some((s) => s.id === id)));
  const emitMissingBefore = (rank: number) => {
    for (const [id, payload] of [...pending].sort((a, b) => sectionRank[a[0]]! - sectionRank[b[0]]!)) {
      if (sectionRank[id]! >= rank) break;
      if (payload) section(id, payload);
      pending.delete(id);
    }
  };
  for (const s of module.sections) {
    if (s.id === 0) {
      const replaced = assembly.customs.get(s.name!);
      if (replaced === undefined) keep(s);
      else if (replaced !== null) section(0, new ByteWriter(replaced.length + 16).name(s.name!).bytes(replaced).finish());
      continue;
    }
    emitMissingBefore(sectionRank[s.id]!);
    const replaced = assembly.sections.get(s.id);
    if (replaced === undefined) keep(s);
    else if (replaced !== null) section(s.id, replaced);
  }
  emitMissingBefore(Infinity);
  for (const [name, payload] of assembly.addedCustoms ?? []) section(0, new ByteWriter(payload.length + 16).name(name).bytes(payload).finish());
  return { sections, pieces, length };
}
