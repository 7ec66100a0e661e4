// Decodes a core WebAssembly module. Every section is parsed eagerly except
// function bodies, which are framed (locals decoded) and, by default, walked
// once to prove they are well formed; passes walk them again on demand.

import { readConstExpr } from './const-expr.js';
import { DataSegmentList, readDataSegment } from './data-segments.js';
import { GlobalList, readGlobal, readGlobalType } from './globals.js';
import { ElementSegmentList, readElementHeader, skipElementItems } from './element-segments.js';
import { readNameSection, readProducers, readTargetFeatures } from './custom-sections.js';
import { WasmDecodeError } from './errors.js';
import { bodyWalker } from './body-walk.js';
import { resolveLimits } from './limits.js';
import { ByteReader } from './reader.js';
import { readSections } from './sections.js';
import { DecodedBody } from './local-decls.js';
import { readRefType, readValType, valTypeFeature } from './valtypes.js';
import type {
  DecodeLimits, DecodeOptions, ExternKind, FuncType, GlobalType, Limits,
  TableType, TagType, ValType, WasmModule,
} from './types.js';

/** Where each known section may appear; custom sections (0) may appear anywhere. */
const sectionRank: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };
const sectionNames: Record<number, string> = {
  1: 'type', 2: 'import', 3: 'function', 4: 'table', 5: 'memory', 6: 'global', 7: 'export', 8: 'start',
  9: 'element', 10: 'code', 11: 'data', 12: 'data count', 13: 'tag',
};
const externKinds: ExternKind[] = ['func', 'table', 'memory', 'global', 'tag'];

function readLimits(reader: ByteReader, what: 'memory' | 'table', maxInitial: number): Limits {
  const at = reader.pos;
  const flags = reader.u8();
  if (flags > 7 || (what === 'table' && (flags & 2))) reader.fail(`invalid ${what} limits flags 0x${flags.toString(16)}`, at);
  const is64 = (flags & 4) !== 0;
  const read = is64 ? () => reader.u64() : () => reader.u32();
  const min = read();
  const max = flags & 1 ? read() : null;
  if (max !== null && max < min) reader.fail(`${what} maximum ${max} is below its minimum ${min}`, at);
  if (what === 'memory' && !is64 && (min > 65536 || (max !== null && max > 65536))) reader.fail('memory size exceeds 65536 pages', at);
  if (what === 'table' && min > maxInitial) reader.fail(`table initial size ${min} exceeds the limit of ${maxInitial}`, at);
  const shared = (flags & 2) !== 0;
  if (shared && max === null) reader.fail('shared memory must declare a maximum', at);
  return { min, max, shared, is64 };
}

function readTableType(reader: ByteReader, limits: DecodeLimits): TableType {
  const elemType = readRefType(reader);
  return { elemType, limits: readLimits(reader, 'table', limits.maxTableInitial) };
}

function readTagType(reader: ByteReader): TagType {
  const at = reader.pos;
  const attribute = reader.u8();
  if (attribute !== 0) reader.fail('invalid tag attribute', at);
  return { attribute, typeIndex: reader.u32() };
}

function readTypes(reader: ByteReader, limits: DecodeLimits, module: WasmModule): void {
  const n = reader.count('type', limits.maxTypes);
  // Identical entries share one frozen object: repeating a 3-byte type costs a pointer, not a type.
  const seen = new Map<string, FuncType>();
  for (let i = 0; i < n; i++) {
    const at = reader.pos;
    const form = reader.u8();
    if (form === 0x4e || form === 0x50 || form === 0x4f || form === 0x5f || form === 0x5e) {
      reader.fail('GC types (proposal gc) are not supported', at);
    }
    if (form !== 0x60) reader.fail(`unknown type form 0x${form.toString(16)}`, at);
    const np = reader.count('param', limits.maxParams);
    const params: ValType[] = new Array(np);
    for (let j = 0; j < np; j++) params[j] = readValType(reader);
    const nr = reader.count('result', limits.maxResults);
    const results: ValType[] = new Array(nr);
    for (let j = 0; j < nr; j++) results[j] = readValType(reader);
    const key = String.fromCharCode.apply(null, reader.bytes.subarray(at, reader.pos) as unknown as number[]);
    let type = seen.get(key);
    if (!type) seen.set(key, (type = Object.freeze({ params: Object.freeze(params) as ValType[], results: Object.freeze(results) as ValType[] })));
    module.types.push(type);
  }
}

function readImports(reader: ByteReader, limits: DecodeLimits, module: WasmModule): void {
  const n = reader.count('import', limits.maxImports, 4);
  for (let i = 0; i < n; i++) {
    const offset = reader.pos;
    const moduleName = reader.name(limits.maxStringBytes);
    const name = reader.name(limits.maxStringBytes);
    const kindAt = reader.pos;
    const kind = reader.u8();
    switch (kind) {
      case 0: module.imports.push({ module: moduleName, name, offset, desc: { kind: 'func', typeIndex: reader.u32() } }); module.importedFunctionCount++; break;
      case 1: module.imports.push({ module: moduleName, name, offset, desc: { kind: 'table', type: readTableType(reader, limits) } }); module.importedTableCount++; break;
      case 2: module.imports.push({ module: moduleName, name, offset, desc: { kind: 'memory', type: { limits: readLimits(reader, 'memory', 0) } } }); module.importedMemoryCount++; break;
      case 3: module.imports.push({ module: moduleName, name, offset, desc: { kind: 'global', type: readGlobalType(reader) } }); module.importedGlobalCount++; break;
      case 4: module.imports.push({ module: moduleName, name, offset, desc: { kind: 'tag', type: readTagType(reader) } }); module.importedTagCount++; break;
      default: reader.fail(`unknown import kind ${kind}`, kindAt);
    }
  }
  if (module.importedFunctionCount > limits.maxFunctions) reader.fail(`more than ${limits.maxFunctions} functions`);
}

function readFunctions(reader: ByteReader, limits: DecodeLimits, module: WasmModule): void {
  const n = reader.count('function', limits.maxFunctions - module.importedFunctionCount);
  const functions: number[] = new Array(n);
  for (let i = 0; i < n; i++) functions[i] = reader.u32();
  module.functions = functions;
}

function readElements(reader: ByteReader, limits: DecodeLimits, module: WasmModule): void {
  const n = reader.count('element segment', limits.maxElementSegments, 2);
  const first = reader.pos;
  // Four bytes per segment, never per item: items are read again from the bytes when walked.
  const ends = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    skipElementItems(reader, readElementHeader(reader));
    ends[i] = reader.pos;
  }
  module.elements = new ElementSegmentList(module.bytes, first, ends);
}

function readCode(reader: ByteReader, limits: DecodeLimits, module: WasmModule, validateBodies: boolean): void {
  const at = reader.pos;
  const n = reader.count('function body', limits.maxFunctions, 2);
  if (n !== module.functions.length) reader.fail(`${n} function bodies for ${module.functions.length} declared functions`, at);
  const walk = validateBodies ? bodyWalker(limits.maxNestingDepth) : undefined;
  // One reader for every body, moved to each in turn: a new one per body was 34,000 objects for yosys.
  const body = new ByteReader(reader.bytes, reader.pos, reader.pos);
  for (let i = 0; i < n; i++) {
    const sizeAt = reader.pos;
    const size = reader.u32();
    if (size > limits.maxFunctionBodyBytes) reader.fail(`function body of ${size} bytes exceeds the limit of ${limits.maxFunctionBodyBytes}`, sizeAt);
    if (size > reader.remaining) reader.fail('function body runs past the code section', sizeAt);
    const start = reader.pos;
    const end = start + size;
    body.pos = start;
    body.end = end;
    // Checked and summed here, kept in the bytes (local-decls.ts): no object per run.
    const groups = body.count('local declaration', limits.maxLocalsPerFunction, 2);
    let localCount = 0;
    for (let g = 0; g < groups; g++) {
      const countAt = body.pos;
      localCount += body.u32();
      if (localCount > limits.maxLocalsPerFunction) body.fail(`more than ${limits.maxLocalsPerFunction} locals in function ${i}`, countAt);
      const feature = valTypeFeature(readValType(body));
      if (feature !== 'mvp' && !module.localFeatures.has(feature)) module.localFeatures.set(feature, start);
    }
    if (walk) walk(reader.bytes, body.pos, end);
    module.code.push(new DecodedBody(reader.bytes, start, end, localCount, body.pos));
    reader.pos = end;
  }
}

function readData(reader: ByteReader, limits: DecodeLimits, module: WasmModule): void {
  const n = reader.count('data segment', limits.maxDataSegments, 2);
  if (module.dataCount !== null && n !== module.dataCount) reader.fail(`${n} data segments but the data count section says ${module.dataCount}`);
  const first = reader.pos;
  // Four bytes per segment; segments are read again from the bytes when asked for.
  const ends = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    readDataSegment(reader);
    ends[i] = reader.pos;
  }
  module.data = new DataSegmentList(module.bytes, first, ends);
}

function readExports(reader: ByteReader, limits: DecodeLimits, module: WasmModule): void {
  const n = reader.count('export', limits.maxExports, 3);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const at = reader.pos;
    const name = reader.name(limits.maxStringBytes);
    if (seen.has(name)) reader.fail(`duplicate export '${name}'`, at);
    seen.add(name);
    const kindAt = reader.pos;
    const kind = externKinds[reader.u8()];
    if (!kind) reader.fail('unknown export kind', kindAt);
    module.exports.push({ name, kind, index: reader.u32() });
  }
}

function emptyModule(bytes: Uint8Array): WasmModule {
  return {
    bytes, version: 1, sections: [], types: [], imports: [], functions: [], tables: [], memories: [], tags: [],
    globals: GlobalList.empty(bytes), exports: [], start: null, elements: ElementSegmentList.empty(bytes), dataCount: null, code: [], localFeatures: new Map(), data: DataSegmentList.empty(bytes), customs: [],
    names: null, producers: null, targetFeatures: null, customSectionErrors: [],
    importedFunctionCount: 0, importedTableCount: 0, importedMemoryCount: 0, importedGlobalCount: 0, importedTagCount: 0,
  };
}

function readCustom(module: WasmModule, name: string, start: number, end: number, limits: DecodeLimits): void {
  module.customs.push({ name, start, end });
  try {
    if (name === 'name' && module.names === null) module.names = readNameSection(module.bytes, start, end, limits);
    else if (name === 'producers' && module.producers === null) module.producers = readProducers(module.bytes, start, end, limits);
    else if (name === 'target_features' && module.targetFeatures === null) module.targetFeatures = readTargetFeatures(module.bytes, start, end, limits);
  } catch (error) {
    if (!(error instanceof WasmDecodeError)) throw error;
    module.customSectionErrors.push({ name, reason: error.reason, offset: error.offset });
  }
}

/**
 * The module's imports alone: its section headers and import section read,
 * nothing else decoded. Throws WasmDecodeError as decodeModule does.
 */
export function decodeImports(bytes: Uint8Array, options: DecodeOptions = {}): WasmModule['imports'] {
  const limits = resolveLimits(options.limits);
  const module = emptyModule(bytes);
  const section = readSections(bytes, limits.maxStringBytes, limits.maxCustomSections).find((s) => s.id === 2);
  if (section) readImports(new ByteReader(bytes, section.payloadStart, section.end), limits, module);
  return module.imports;
}

/**
 * Decodes `bytes` as a core module. Throws WasmDecodeError (with the byte
 * offset) on anything malformed or beyond the limits; never anything else.
 */
export function decodeModule(bytes: Uint8Array, options: DecodeOptions = {}): WasmModule {
  const limits = resolveLimits(options.limits);
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeModule expects a Uint8Array');
  if (bytes.length > limits.maxModuleBytes) throw new WasmDecodeError(`module of ${bytes.length} bytes exceeds the limit of ${limits.maxModuleBytes}`, 0);
  const module = emptyModule(bytes);
  module.sections = readSections(bytes, limits.maxStringBytes, limits.maxCustomSections);
  const validateBodies = options.validateBodies ?? true;
  let lastRank = 0;
  for (const section of module.sections) {
    const reader = new ByteReader(bytes, section.payloadStart, section.end);
    if (section.id === 0) {
      reader.name(limits.maxStringBytes);
      readCustom(module, section.name!, reader.pos, section.end, limits);
      continue;
    }
    const rank = sectionRank[section.id];
    if (rank === undefined) reader.fail(`unknown section id ${section.id}`, section.start);
    if (rank <= lastRank) reader.fail(`${sectionNames[section.id]} section out of order or duplicated`, section.start);
    lastRank = rank;
    switch (section.id) {
      case 1: readTypes(reader, limits, module); break;
      case 2: readImports(reader, limits, module); break;
      case 3: readFunctions(reader, limits, module); break;
      case 4: {
        const n = reader.count('table', 100_000);
        for (let i = 0; i < n; i++) {
          if (reader.bytes[reader.pos] === 0x40) {
            // A table with an initialiser expression (function-references proposal).
            reader.pos++;
            if (reader.u8() !== 0) reader.fail('invalid table prefix');
            const type = readTableType(reader, limits);
            type.init = readConstExpr(reader);
            module.tables.push(type);
          } else module.tables.push(readTableType(reader, limits));
        }
        break;
      }
      case 5: {
        const n = reader.count('memory', 100_000);
        for (let i = 0; i < n; i++) module.memories.push({ limits: readLimits(reader, 'memory', 0) });
        break;
      }
      case 13: {
        const n = reader.count('tag', 1_000_000);
        for (let i = 0; i < n; i++) module.tags.push(readTagType(reader));
        break;
      }
      case 6: {
        const n = reader.count('global', limits.maxGlobals, 2);
        const first = reader.pos;
        const ends = new Uint32Array(n);
        for (let i = 0; i < n; i++) {
          readGlobal(reader);
          ends[i] = reader.pos;
        }
        module.globals = new GlobalList(bytes, first, ends);
        break;
      }
      case 7: readExports(reader, limits, module); break;
      case 8: module.start = reader.u32(); break;
      case 9: readElements(reader, limits, module); break;
      case 12: module.dataCount = reader.u32(); break;
      case 10: readCode(reader, limits, module, validateBodies); break;
      case 11: readData(reader, limits, module); break;
    }
    if (!reader.atEnd()) reader.fail(`${sectionNames[section.id]} section has ${reader.remaining} trailing bytes`);
  }
  if (module.functions.length > 0 && module.code.length === 0) {
    throw new WasmDecodeError(`${module.functions.length} functions declared but no code section`, bytes.length);
  }
  return module;
}
