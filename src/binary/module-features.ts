// The proposals a module's declarations use: value types in signatures,
// locals and globals, table and memory shapes, segment forms, constant
// expressions. Instructions name their own proposal (opcodes.ts);
// `instructionExtraFeature` adds what an instruction's immediates imply
// beyond its opcode. Together they are what a policy's `features` gate, so
// a module cannot use a proposal the policy turned off by declaring it
// rather than executing it (a `v128` local, an `externref` parameter).

import { newInstruction, walkCode } from './instructions.js';
import { valTypeFeature } from './valtypes.js';
import type { ConstExpr, Feature, Instruction, ValType, WasmModule } from './types.js';

/** Feature → the first byte offset that uses it. */
export type FeatureUses = Map<Feature, number>;

function note(uses: FeatureUses, feature: Feature, offset: number): void {
  if (feature !== 'mvp' && !uses.has(feature)) uses.set(feature, offset);
}

function noteType(uses: FeatureUses, type: ValType, offset: number): void {
  note(uses, valTypeFeature(type), offset);
}

const scratch = newInstruction();

/** A constant expression's instructions; more than one is extended-const, a defined global's value is GC's. */
function noteConstExpr(uses: FeatureUses, module: WasmModule, expr: ConstExpr): void {
  let count = 0;
  walkCode(module.bytes, expr.start, expr.end, { maxNestingDepth: 0 }, (ins) => {
    if (ins.prefix === 0 && ins.code === 0x0b) return;
    count++;
    note(uses, ins.feature, ins.offset);
    note(uses, instructionExtraFeature(ins), ins.offset);
    if (ins.name === 'global.get' && ins.index >= module.importedGlobalCount) note(uses, 'gc', ins.offset);
  }, scratch, true);
  if (count > 1) note(uses, 'extended-const', expr.start);
}

/**
 * What an instruction's immediates use beyond its opcode's proposal: value
 * types in block types and typed `select`, a table other than 0 (reference
 * types), a memory other than 0 (multi-memory).
 */
export function instructionExtraFeature(ins: Instruction): Feature {
  if (ins.blockType?.kind === 'value') {
    const feature = valTypeFeature(ins.blockType.type);
    if (feature !== 'mvp') return feature;
  }
  if (ins.types) {
    for (const type of ins.types) {
      const feature = valTypeFeature(type);
      if (feature !== 'mvp' && !(ins.name === 'ref.null' && feature === 'reference-types')) return feature;
    }
  }
  if (ins.prefix === 0 && (ins.code === 0x11 || ins.code === 0x13) && ins.index2 !== 0) return 'reference-types';
  if (ins.prefix === 0xfc) {
    if ((ins.code === 12 && ins.index2 !== 0) || (ins.code === 14 && (ins.index !== 0 || ins.index2 !== 0))) return 'reference-types';
    if ((ins.code === 8 && ins.index2 !== 0) || (ins.code === 10 && (ins.index !== 0 || ins.index2 !== 0))) return 'multi-memory';
  }
  return 'mvp';
}

/** The proposals the module's declarations (everything but instructions in bodies) use. */
export function declaredFeatures(module: WasmModule): FeatureUses {
  const uses: FeatureUses = new Map();
  const at = (id: number) => module.sections.find((s) => s.id === id)?.payloadStart ?? 0;

  for (const type of module.types) {
    for (const t of type.params) noteType(uses, t, at(1));
    for (const t of type.results) noteType(uses, t, at(1));
    if (type.results.length > 1) note(uses, 'multi-value', at(1));
  }
  for (const imp of module.imports) {
    const { desc } = imp;
    if (desc.kind === 'global') noteType(uses, desc.type.valType, imp.offset);
    else if (desc.kind === 'table') {
      if (desc.type.elemType !== 'funcref') noteType(uses, desc.type.elemType, imp.offset);
      if (desc.type.limits.is64) note(uses, 'memory64', imp.offset);
    } else if (desc.kind === 'memory') {
      if (desc.type.limits.is64) note(uses, 'memory64', imp.offset);
      if (desc.type.limits.shared) note(uses, 'threads', imp.offset);
    } else if (desc.kind === 'tag') note(uses, 'exceptions-legacy', imp.offset);
  }
  if (module.tables.length + module.importedTableCount > 1) note(uses, 'reference-types', at(4));
  for (const table of module.tables) {
    if (table.elemType !== 'funcref') noteType(uses, table.elemType, at(4));
    if (table.limits.is64) note(uses, 'memory64', at(4));
    if (table.init) {
      note(uses, 'gc', table.init.start); // typed function references: tables with initialisers
      noteConstExpr(uses, module, table.init);
    }
  }
  if (module.memories.length + module.importedMemoryCount > 1) note(uses, 'multi-memory', at(5));
  for (const memory of module.memories) {
    if (memory.limits.is64) note(uses, 'memory64', at(5));
    if (memory.limits.shared) note(uses, 'threads', at(5));
  }
  if (module.tags.length > 0) note(uses, 'exceptions-legacy', at(13));
  for (const global of module.globals) {
    noteType(uses, global.type.valType, global.init.start);
    noteConstExpr(uses, module, global.init);
  }
  for (const segment of module.elements) {
    const offset = segment.itemsStart;
    if (segment.mode.kind !== 'active') note(uses, segment.mode.kind === 'declarative' ? 'reference-types' : 'bulk-memory', offset);
    else {
      if (segment.mode.index !== 0) note(uses, 'reference-types', offset);
      noteConstExpr(uses, module, segment.mode.offset);
    }
    if (segment.usesExpressions) note(uses, 'bulk-memory', offset);
    if (segment.elemType !== 'funcref') noteType(uses, segment.elemType, offset);
  }
  if (module.dataCount !== null) note(uses, 'bulk-memory', at(12));
  for (const segment of module.data) {
    if (segment.mode.kind === 'passive') note(uses, 'bulk-memory', segment.start);
    else if (segment.mode.kind === 'active') {
      if (segment.mode.index !== 0) note(uses, 'multi-memory', segment.start);
      noteConstExpr(uses, module, segment.mode.offset);
    }
  }
  for (const [feature, offset] of module.localFeatures) note(uses, feature, offset);
  return uses;
}
