// The one walk over every function body that admission, validation and the
// rewriter share. In a single pass over each body's bytes it
//
//   - proves the body well formed (known opcodes, complete immediates, blocks
//     balanced and closed exactly at the body's end, nesting bounded): a
//     malformed body throws WasmDecodeError, as the decoder's walk did;
//   - checks every index an instruction names against the module's index
//     spaces as shipped (locals, labels, functions, types, tables, memories,
//     globals, tags, segments), keeping the first out-of-range one;
//   - notes the first use of every proposal beyond the MVP (opcode and
//     immediates), the first atomic instruction and the first `throw`:
//     what admission gates;
//   - records, only when asked, where the rewriter patches the body: the fuel
//     regions (function entry and each loop header, with their static
//     instruction counts), the bulk operations that are charged and
//     checkpointed, and the calls and ref.funcs whose function index an
//     inserted import moves.
//
// Nothing is allocated per instruction: indices, counts and offsets live in
// locals and typed arrays; only rare immediates (br_table, typed select,
// try_table, SIMD lanes) go through the shared Instruction object and the
// bounds-checked reader. The rewriter then copies every byte range between
// recorded sites wholesale and never decodes an instruction again.

import { WasmDecodeError } from './errors.js';
import { readImmediates, readMemArg, newInstruction } from './instructions.js';
import { instructionExtraFeature } from './module-features.js';
import { Imm, atomicOps, miscOps, simdOps, singleByteOps, type OpInfo } from './opcodes.js';
import { defaultDecodeLimits } from './limits.js';
import { ByteReader } from './reader.js';
import { readBlockType, valTypeFeature } from './valtypes.js';
import type { Feature, Instruction, WasmModule } from './types.js';

/** The size of each index space an instruction can name; Infinity where nothing is checked. */
export interface CodeSpaces {
  types: number;
  functions: number;
  tables: number;
  memories: number;
  globals: number;
  tags: number;
  elements: number;
  data: number;
}

/** Every index is in range: the decoder's structural walk, which runs before the spaces are known. */
export const UNCHECKED_SPACES: CodeSpaces = Object.freeze({
  types: Infinity, functions: Infinity, tables: Infinity, memories: Infinity, globals: Infinity, tags: Infinity, elements: Infinity, data: Infinity,
});

/** The size of each index space of `module`, imports included. */
export function indexSpaces(module: WasmModule): CodeSpaces {
  return {
    types: module.types.length,
    functions: module.importedFunctionCount + module.functions.length,
    tables: module.importedTableCount + module.tables.length,
    memories: module.importedMemoryCount + module.memories.length,
    globals: module.importedGlobalCount + module.globals.length,
    tags: module.importedTagCount + module.tags.length,
    elements: module.elements.length,
    data: module.dataCount ?? module.data.length,
  };
}

/** What the rewriter will patch, so the walk records exactly those sites. */
export interface SiteRecording {
  /** Fuel regions: the function entry and every loop header, with their instruction counts. */
  regions: boolean;
  /** memory.grow and the bulk memory/table operations (fuel charges, checkpoints). */
  bulk: boolean;
  /** call, return_call and ref.func naming a function at or above this index (null: none recorded). */
  callsFrom: number | null;
}

export const NO_SITES: SiteRecording = Object.freeze({ regions: false, bulk: false, callsFrom: null });

/** Site kinds, in the low two bits of a site's first word. */
export const enum SiteKind { Region = 0, Bulk = 1, Call = 2 }
/** How a bulk site pays for its size (bits 2-3). */
export const enum BulkKind { Bytes = 0, Pages = 1, Elements = 2, TableGrow = 3 }

/**
 * Words per site in `CodeFacts.sites`: [what, at]. `what` is the kind (low two bits) and,
 * for a region, its instruction count (from bit 2); for a bulk operation, how it pays
 * (bits 2-3), SITE_MEMORY0 and its opcode (from bit 8); for a call, its opcode (from bit 8).
 * Indices (a call's function, a table.grow's table) are read again from the bytes at `at`:
 * eight bytes a site, and a site is at least two bytes of code.
 */
export const SITE_WORDS = 2;
/** A region's count saturates here (a body V8 accepts holds under 2^23 instructions). */
const MAX_REGION_COUNT = (1 << 29) - 1;
/** Flag (bit 4) of a bulk site: a memory.fill of memory 0 or a memory.copy within memory 0 (chunkable). */
export const SITE_MEMORY0 = 1 << 4;

/** The upper 16 bits ('WG') of the tags the hardening guards' trap arms carry (transform/harden-guards.ts). */
export const GUARD_TAG_PREFIX = 0x5747;

/** What one walk of every body found. */
export interface CodeFacts {
  /** The bytes walked (a rewrite may use these facts only for the same bytes). */
  readonly bytes: Uint8Array;
  readonly recording: SiteRecording;
  /** Proposal → byte offset of its first use by an instruction, in order of first use (`throw` excluded). */
  readonly features: Map<Feature, number>;
  /** Offset of the first atomic instruction. */
  readonly atomicsAt: number | null;
  /** Offset of the first `throw` (either exception proposal's). */
  readonly throwAt: number | null;
  /**
   * Offset of the first i32.const whose value starts with GUARD_TAG_PREFIX,
   * as every hardening guard's tag does: a module without one has no guard
   * whose trap needs naming.
   */
  readonly guardTagAt: number | null;
  /** The first index that falls outside its space, or null. */
  readonly indexError: WasmDecodeError | null;
  /** Recorded sites, SITE_WORDS words each, in body order and, within a body, in byte order. */
  readonly sites: Int32Array;
  /** Body f's sites are sites [bodySites[f], bodySites[f + 1]) (in sites, not words). */
  readonly bodySites: Uint32Array;
}

const prefixes: Array<{ ops: Array<OpInfo | undefined>; what: string } | undefined> = [];
prefixes[0xfc] = { ops: miscOps, what: 'misc' };
prefixes[0xfd] = { ops: simdOps, what: 'SIMD' };
prefixes[0xfe] = { ops: atomicOps, what: 'atomic' };

/** Immediate shape of each one-byte opcode (UNKNOWN: no such opcode), and whether it is MVP. */
const UNKNOWN = 255 as Imm;
const singleImm = Uint8Array.from(singleByteOps, (op) => (op ? op.imm : UNKNOWN));
const singleMvp = Uint8Array.from(singleByteOps, (op) => (op?.feature === 'mvp' ? 1 : 0));
/**
 * One-byte MVP opcodes with no immediates whose only effect on the walk is
 * their count (every one but `end`, which closes a block): the commonest
 * instructions (arithmetic, comparisons, drop), passed over before the
 * general dispatch.
 */
const countOnly = Uint8Array.from(singleByteOps, (op, byte) => (op && op.imm === Imm.None && op.feature === 'mvp' && byte !== 0x0b ? 1 : 0));
/** One-byte MVP loads and stores: with memory 0 and one-byte alignment and offset, passed over as early. */
const plainAccess = Uint8Array.from(singleByteOps, (op) => (op && op.imm === Imm.MemArg && op.feature === 'mvp' ? 1 : 0));

/** The mutable state of one walk over a module's bodies. */
class Walker {
  readonly features = new Map<Feature, number>();
  atomicsAt: number | null = null;
  throwAt: number | null = null;
  guardTagAt: number | null = null;
  indexError: WasmDecodeError | null = null;
  sites: Int32Array;
  siteCount = 0;
  /** Per nesting depth: whether the block opened there is a loop that opened a region. */
  private loopRegion: Uint8Array;
  /** The regions enclosing open loops' regions (word index of each count), innermost last. */
  private regionStack: Int32Array;
  private readonly ins: Instruction = newInstruction();
  private readonly memArg = { align: 0, offset: 0, memory: 0 };

  constructor(readonly spaces: CodeSpaces, readonly recording: SiteRecording, readonly maxDepth: number, expectedSites: number) {
    this.sites = new Int32Array(Math.max(64, expectedSites) * SITE_WORDS);
    // Grown as blocks nest deeper (ensureDepth), never beyond what the bytes can open.
    const depthSlots = Math.min(maxDepth, 1024) + 2;
    this.loopRegion = new Uint8Array(depthSlots);
    this.regionStack = new Int32Array(depthSlots);
  }

  private outOfRange(index: number, size: number, what: string, offset: number): void {
    // Only the first is kept: a refusal names one index, as the separate check did.
    this.indexError ??= new WasmDecodeError(`${what} index ${index} out of range (the module has ${size})`, offset);
  }

  private note(feature: Feature, offset: number): void {
    if (feature !== 'mvp' && !this.features.has(feature)) this.features.set(feature, offset);
  }

  private site(what: number, at: number): number {
    const n = this.siteCount++;
    if ((n + 1) * SITE_WORDS > this.sites.length) {
      const grown = new Int32Array(this.sites.length * 2);
      grown.set(this.sites);
      this.sites = grown;
    }
    const w = n * SITE_WORDS;
    this.sites[w] = what; this.sites[w + 1] = at;
    return n;
  }

  /** Room for a block opened at `depth` (each took at least two bytes of the body). */
  private ensureDepth(depth: number): void {
    if (depth < this.loopRegion.length) return;
    const size = Math.max(depth + 2, this.loopRegion.length * 2);
    const loops = new Uint8Array(size);
    loops.set(this.loopRegion);
    this.loopRegion = loops;
    const stack = new Int32Array(size);
    stack.set(this.regionStack);
    this.regionStack = stack;
  }

  /** Adds `count` instructions to the region whose word is at `w`. */
  private addCount(w: number, count: number): void {
    const total = Math.min(MAX_REGION_COUNT, (this.sites[w]! >>> 2) + count);
    this.sites[w] = SiteKind.Region | (total << 2);
  }

  /** Rare immediates, read into the shared Instruction (as the general walker reads them). */
  private slowImmediates(reader: ByteReader, info: OpInfo, prefix: number, code: number, offset: number): Instruction {
    const ins = this.ins;
    ins.name = info.name; ins.prefix = prefix; ins.code = code; ins.feature = info.feature; ins.offset = offset;
    ins.blockType = null; ins.labels = null; ins.types = null; ins.index = 0; ins.index2 = 0;
    ins.memArg = info.imm === Imm.MemArgLane ? this.memArg : null;
    readImmediates(reader, info, ins);
    return ins;
  }

  /**
   * Walks the code of one body, [start, end), whose function has `locals`
   * locals (parameters included). Throws WasmDecodeError on anything malformed.
   */
  walk(bytes: Uint8Array, start: number, end: number, locals: number): void {
    const reader: ByteReader = new ByteReader(bytes, start, end);
    const { types, functions, tables, memories, globals, tags, elements, data } = this.spaces;
    const { regions, bulk } = this.recording;
    const callsFrom = this.recording.callsFrom ?? Infinity;
    const maxDepth = this.maxDepth;
    const memArg = this.memArg;
    let loopRegion = this.loopRegion;
    let regionStack = this.regionStack;
    let regionTop = 0;
    // Word index of the counted region's instruction count, and the instructions counted
    // since it was last added to: counted in a local, added when the region changes.
    let counted = -1;
    let count = 0;
    if (regions) {
      counted = this.site(SiteKind.Region, start) * SITE_WORDS;
    }
    let depth = 0;
    let pos = start;
    while (pos < end) {
      const first = bytes[pos]!;
      if (countOnly[first] === 1) {
        pos++;
        count++;
        continue;
      }
      // local.get, local.set and local.tee of a local below 128: the index checked here.
      if (first >= 0x20 && first <= 0x22) {
        const index = bytes[pos + 1]!;
        if (index < 0x80 && pos + 1 < end) {
          if (!(index < locals)) this.outOfRange(index, locals, 'local', pos);
          pos += 2;
          count++;
          continue;
        }
      }
      // i32.const of a value that takes one byte.
      if (first === 0x41 && bytes[pos + 1]! < 0x80 && pos + 1 < end) {
        pos += 2;
        count++;
        continue;
      }
      if (plainAccess[first] === 1 && bytes[pos + 1]! < 0x40 && bytes[pos + 2]! < 0x80 && pos + 2 < end) {
        if (!(0 < memories)) this.outOfRange(0, memories, 'memory', pos);
        pos += 3;
        count++;
        continue;
      }
      const offset = pos;
      const byte = bytes[pos++]!;
      let info: OpInfo | undefined;
      let imm: Imm;
      let prefix = 0;
      let code = byte;
      let feature: Feature = 'mvp';
      if (byte >= 0xfb) {
        if (byte === 0xfb) throw new WasmDecodeError('GC instruction (proposal gc) is not supported', offset, 'gc');
        const table = prefixes[byte];
        if (!table) reader.fail(`unknown opcode 0x${byte.toString(16)}`, offset);
        reader.pos = pos;
        code = reader.u32();
        pos = reader.pos;
        info = table.ops[code];
        if (!info) reader.fail(`unknown ${table.what} opcode 0x${byte.toString(16)} ${code}`, offset);
        prefix = byte;
        imm = info.imm;
        feature = info.feature;
      } else {
        // Numeric tables for the one-byte opcodes: no object is loaded for the common instructions.
        imm = singleImm[byte]!;
        if (imm === UNKNOWN) reader.fail(`unknown opcode 0x${byte.toString(16)}`, offset);
        if (!singleMvp[byte]) feature = singleByteOps[byte]!.feature;
      }
      // Every instruction, the loop and the end of a loop included, counts in the innermost open region.
      count++;
      let extra: Feature = 'mvp';
      switch (imm) {
        case Imm.None:
          if (byte === 0x0b) {
            if (depth === 0) {
              if (pos !== end) reader.fail('code continues after the final end', pos);
              if (regions) this.addCount(counted, count);
              return;
            }
            if (loopRegion[depth] && regions) {
              this.addCount(counted, count);
              count = 0;
              counted = regionStack[--regionTop]!;
            }
            depth--;
          }
          break;
        case Imm.Label: case Imm.Func: case Imm.Local: case Imm.Global: case Imm.Table:
        case Imm.Tag: case Imm.Data: case Imm.Elem: case Imm.CallRef: {
          let index: number;
          const b = bytes[pos]!;
          if (b < 0x80 && pos < end) {
            index = b;
            pos++;
          } else {
            reader.pos = pos;
            index = reader.u32();
            pos = reader.pos;
          }
          if (prefix === 0) {
            switch (byte) {
              case 0x20: case 0x21: case 0x22: if (!(index < locals)) this.outOfRange(index, locals, 'local', offset); break;
              case 0x23: case 0x24: if (!(index < globals)) this.outOfRange(index, globals, 'global', offset); break;
              case 0x10: case 0x12: case 0xd2:
                if (!(index < functions)) this.outOfRange(index, functions, 'function', offset);
                if (index >= callsFrom) this.site(SiteKind.Call | (byte << 8), offset);
                break;
              case 0x0c: case 0x0d: case 0x09: case 0xd5: case 0xd6: if (!(index < depth + 1)) this.outOfRange(index, depth + 1, 'label', offset); break;
              case 0x18: // delegate closes its try, then names an outer label
                depth--;
                if (!(index < depth + 1)) this.outOfRange(index, depth + 1, 'label', offset);
                break;
              case 0x14: case 0x15: if (!(index < types)) this.outOfRange(index, types, 'type', offset); break;
              case 0x25: case 0x26: if (!(index < tables)) this.outOfRange(index, tables, 'table', offset); break;
              case 0x07: case 0x08: if (!(index < tags)) this.outOfRange(index, tags, 'tag', offset); break;
            }
          } else if (prefix === 0xfc) {
            switch (code) {
              case 9: if (!(index < data)) this.outOfRange(index, data, 'data segment', offset); break; // data.drop
              case 13: if (!(index < elements)) this.outOfRange(index, elements, 'element segment', offset); break; // elem.drop
              case 15: case 17: // table.grow, table.fill
                if (!(index < tables)) this.outOfRange(index, tables, 'table', offset);
                if (bulk) this.site(SiteKind.Bulk | ((code === 15 ? BulkKind.TableGrow : BulkKind.Elements) << 2) | (code << 8), offset);
                break;
              case 16: if (!(index < tables)) this.outOfRange(index, tables, 'table', offset); break; // table.size
            }
          }
          break;
        }
        case Imm.I32: {
          const b = bytes[pos]!;
          if (b < 0x80 && pos < end) pos++;
          else {
            reader.pos = pos;
            // A guard's tag takes five bytes: only constants off the one-byte path can be one.
            if (reader.s32() >>> 16 === GUARD_TAG_PREFIX) this.guardTagAt ??= offset;
            pos = reader.pos;
          }
          break;
        }
        case Imm.I64:
          reader.pos = pos;
          reader.skipS64();
          pos = reader.pos;
          break;
        case Imm.F32:
          if (end - pos < 4) reader.fail('unexpected end in f32', pos);
          pos += 4;
          break;
        case Imm.F64:
          if (end - pos < 8) reader.fail('unexpected end in f64', pos);
          pos += 8;
          break;
        case Imm.MemArg: {
          const align = bytes[pos]!;
          const off = bytes[pos + 1]!;
          let memory = 0;
          // Memory 0 and an offset of one or two LEB128 bytes (below 16 KiB: a C struct's fields, a stack
          // frame's slots) are read here; two bytes hold 14 bits, so there is nothing to overflow.
          if (align < 0x40 && off < 0x80 && pos + 1 < end) pos += 2;
          else if (align < 0x40 && off >= 0x80 && pos + 2 < end && bytes[pos + 2]! < 0x80) pos += 3;
          else {
            const ins = this.ins;
            ins.feature = feature;
            ins.memArg = memArg;
            reader.pos = pos;
            readMemArg(reader, ins);
            pos = reader.pos;
            feature = ins.feature;
            memory = memArg.memory;
          }
          if (!(memory < memories)) this.outOfRange(memory, memories, 'memory', offset);
          break;
        }
        case Imm.Block: {
          reader.pos = pos;
          const blockType = readBlockType(reader);
          pos = reader.pos;
          if (blockType.kind === 'type') {
            if (feature === 'mvp') feature = 'multi-value';
            if (!(blockType.index < types)) this.outOfRange(blockType.index, types, 'type', offset);
          } else if (blockType.kind === 'value') extra = valTypeFeature(blockType.type);
          if (++depth > maxDepth) reader.fail(`nesting deeper than ${maxDepth}`, offset);
          if (depth >= loopRegion.length) {
            this.ensureDepth(depth);
            loopRegion = this.loopRegion;
            regionStack = this.regionStack;
          }
          if (byte === 0x03 && regions) {
            // A loop: a new region starts after its block type.
            this.addCount(counted, count);
            count = 0;
            regionStack[regionTop++] = counted; // the enclosing region, counted again after the loop's end
            counted = this.site(SiteKind.Region, pos) * SITE_WORDS;
            loopRegion[depth] = 1;
          } else loopRegion[depth] = 0;
          break;
        }
        default: {
          reader.pos = pos;
          const ins = this.slowImmediates(reader, info ?? singleByteOps[byte]!, prefix, code, offset);
          pos = reader.pos;
          feature = ins.feature;
          if (ins.blockType !== null || ins.types !== null || (prefix === 0 ? byte === 0x11 || byte === 0x13 : prefix === 0xfc)) extra = instructionExtraFeature(ins);
          if (imm === Imm.TryTable) {
            if (++depth > maxDepth) reader.fail(`nesting deeper than ${maxDepth}`, offset);
            if (depth >= loopRegion.length) {
              this.ensureDepth(depth);
              loopRegion = this.loopRegion;
              regionStack = this.regionStack;
            }
            loopRegion[depth] = 0;
          }
          this.checkSlow(ins, depth + 1, offset);
          if (bulk && (prefix === 0 ? byte === 0x40 : prefix === 0xfc && (code === 8 || code === 10 || code === 11 || code === 12 || code === 14))) {
            const kind = byte === 0x40 ? BulkKind.Pages : code === 12 || code === 14 ? BulkKind.Elements : BulkKind.Bytes;
            const memory0 = prefix === 0xfc && (code === 11 || code === 10) && ins.index === 0 && (code === 11 || ins.index2 === 0);
            this.site(SiteKind.Bulk | (kind << 2) | (memory0 ? SITE_MEMORY0 : 0) | (code << 8), offset);
          }
        }
      }
      // `throw` belongs to both exception proposals: admission charges it to whichever the code uses.
      if (prefix === 0 && byte === 0x08) this.throwAt ??= offset;
      else {
        if (feature !== 'mvp') this.note(feature, offset);
        if (extra !== 'mvp') this.note(extra, offset);
      }
      if (prefix === 0xfe && this.atomicsAt === null) this.atomicsAt = offset;
    }
    reader.fail('code ends without a final end', end);
  }

  /** Index checks of the instructions whose immediates took the slow path. */
  private checkSlow(i: Instruction, labels: number, at: number): void {
    const { types, tables, memories, data, elements } = this.spaces;
    const check = (index: number, size: number, what: string) => { if (!(index < size)) this.outOfRange(index, size, what, at); };
    if (i.prefix === 0) {
      switch (i.code) {
        case 0x0e: for (const label of i.labels!) check(label, labels, 'label'); return;
        case 0x11: case 0x13: check(i.index, types, 'type'); check(i.index2, tables, 'table'); return;
        case 0x3f: case 0x40: check(i.index, memories, 'memory'); return;
      }
      if (i.memArg) check(i.memArg.memory, memories, 'memory');
      return;
    }
    if (i.memArg) { check(i.memArg.memory, memories, 'memory'); return; }
    if (i.prefix !== 0xfc) return;
    switch (i.code) {
      case 8: check(i.index, data, 'data segment'); check(i.index2, memories, 'memory'); return; // memory.init
      case 10: check(i.index, memories, 'memory'); check(i.index2, memories, 'memory'); return; // memory.copy
      case 11: check(i.index, memories, 'memory'); return; // memory.fill
      case 12: check(i.index, elements, 'element segment'); check(i.index2, tables, 'table'); return; // table.init
      case 14: check(i.index, tables, 'table'); check(i.index2, tables, 'table'); return; // table.copy
    }
  }
}

export interface WalkOptions {
  /** Index spaces to check against (indexSpaces(module)); UNCHECKED_SPACES checks none. */
  spaces?: CodeSpaces;
  /** The rewrite sites to record; none by default. */
  record?: SiteRecording;
  maxNestingDepth?: number;
}

/**
 * Walks every function body of `module` once. Throws WasmDecodeError on a
 * malformed body; an out-of-range index is returned as `indexError`, not
 * thrown (a module is refused as malformed before it is refused as invalid).
 */
export function walkBodies(module: WasmModule, options: WalkOptions = {}): CodeFacts {
  const record = options.record ?? NO_SITES;
  const spaces = options.spaces ?? indexSpaces(module);
  const bodies = module.code;
  // A first guess at the sites: a loop or bulk operation every few hundred bytes, a call every twenty.
  const codeBytes = bodies.length ? bodies[bodies.length - 1]!.end - bodies[0]!.start : 0;
  const guess = (record.regions ? bodies.length + (codeBytes >> 8) : 0) + (record.callsFrom !== null ? codeBytes / 20 : 0);
  const walker = new Walker(spaces, record, options.maxNestingDepth ?? defaultDecodeLimits.maxNestingDepth, Math.ceil(guess));
  const bodySites = new Uint32Array(bodies.length + 1);
  const { types, functions } = module;
  for (let f = 0; f < bodies.length; f++) {
    const body = bodies[f]!;
    const params = types[functions[f]!]?.params.length ?? 0;
    bodySites[f] = walker.siteCount;
    walker.walk(module.bytes, body.codeStart, body.end, params + body.localCount);
  }
  bodySites[bodies.length] = walker.siteCount;
  return {
    bytes: module.bytes, recording: record, features: walker.features, atomicsAt: walker.atomicsAt, throwAt: walker.throwAt, guardTagAt: walker.guardTagAt,
    indexError: walker.indexError, sites: walker.sites.subarray(0, walker.siteCount * SITE_WORDS), bodySites,
  };
}

/** The decoder's structural walk of one body (no index spaces yet, no sites). */
export function bodyWalker(maxNestingDepth: number): (bytes: Uint8Array, start: number, end: number) => void {
  const walker = new Walker(UNCHECKED_SPACES, NO_SITES, maxNestingDepth, 0);
  return (bytes, start, end) => walker.walk(bytes, start, end, Infinity);
}
