// Static inspection of a module: what it can reach, how it is built, and what
// deserves attention. One decode, one walk over the code.

import { decodeModule } from '../binary/decode.js';
import { valTypeName } from '../binary/valtypes.js';
import { v8Refusal } from '../binary/v8-verdict.js';
import { WASI_PREVIEW1, wasiFunction, type WasiCapability } from '../binary/wasi-abi.js';
import type { FuncType, WasmModule } from '../binary/types.js';
import { scanCode, type CodeScan } from './code-scan.js';
import { assessMemorySafety } from './memory-safety.js';
import type { Finding, ImportEntry, InspectReport, MemorySafety, SideChannels } from './report.js';
import { advice, detectToolchain, type Toolchain } from './toolchain.js';
import { rules, type Rule } from './rules.js';

/**
 * Module-wide density of large constants (per KiB of code) above which the
 * audit warns: about 3x the densest real module measured (docs/rules.md).
 */
export const moduleConstantDensityThreshold = 20;
/** The same for any single function of at least 1 KiB: about 2x the densest real function measured. */
export const functionConstantDensityThreshold = 100;
/** Share of defined functions reachable through the table above which the audit notes it. */
const indirectExposureThreshold = 0.5;

const sectionNames = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'data count', 'tag'];

function signatureText(type: FuncType | undefined): string {
  if (!type) return '(unknown type)';
  return `(${type.params.map(valTypeName).join(', ')}) -> (${type.results.map(valTypeName).join(', ')})`;
}

function sameSignature(type: FuncType | undefined, params: readonly string[], results: readonly string[]): boolean {
  return !!type && type.params.length === params.length && type.results.length === results.length &&
    type.params.every((p, i) => p === params[i]) && type.results.every((r, i) => r === results[i]);
}

function finding(rule: Rule, message: string, offset?: number, functionIndex?: number): Finding {
  const found: Finding = { rule: rule.id, severity: rule.severity, message };
  if (offset !== undefined) found.offset = offset;
  if (functionIndex !== undefined) found.function = functionIndex;
  return found;
}

const gcOnlyTypes = new Set(['anyref', 'eqref', 'i31ref', 'structref', 'arrayref', 'nullref', 'nullfuncref', 'nullexternref']);

function describeImports(module: WasmModule, findings: Finding[]): { imports: ImportEntry[]; capabilities: Partial<Record<WasiCapability, string[]>> } {
  const imports: ImportEntry[] = [];
  const capabilities: Partial<Record<WasiCapability, string[]>> = {};
  const firstImportOf: Partial<Record<WasiCapability, number>> = {};
  const foreign = new Map<string, { names: string[]; offset: number }>();
  for (const imp of module.imports) {
    if (imp.desc.kind !== 'func') {
      imports.push({ module: imp.module, name: imp.name, kind: imp.desc.kind, known: false });
      findings.push(finding(rules.importNonFunction, `imports ${imp.desc.kind} ${imp.module}.${imp.name}`, imp.offset));
      continue;
    }
    const type = module.types[imp.desc.typeIndex];
    const entry: ImportEntry = { module: imp.module, name: imp.name, kind: 'func', signature: signatureText(type), known: false };
    imports.push(entry);
    if (imp.module !== WASI_PREVIEW1) {
      const group = foreign.get(imp.module);
      if (group) group.names.push(imp.name);
      else foreign.set(imp.module, { names: [imp.name], offset: imp.offset });
      continue;
    }
    const abi = wasiFunction(imp.name);
    if (!abi) {
      findings.push(finding(rules.importUnknownWasi, `imports ${imp.name}, which is not a preview1 function`, imp.offset));
      continue;
    }
    entry.known = true;
    entry.capability = abi.capability;
    (capabilities[abi.capability] ??= []).push(imp.name);
    firstImportOf[abi.capability] ??= imp.offset;
    if (!sameSignature(type, abi.params, abi.results)) {
      findings.push(finding(rules.importSignature, `${imp.name} is imported as ${entry.signature}; preview1 declares (${abi.params.join(', ')}) -> (${abi.results.join(', ')})`, imp.offset));
    }
  }
  for (const [name, { names, offset }] of foreign) {
    const listed = names.slice(0, 3).join(', ') + (names.length > 3 ? `, … ${names.length - 3} more` : '');
    findings.push(finding(rules.importUnknownModule, `imports ${names.length} function${names.length === 1 ? '' : 's'} from "${name}" (${listed}), which wasm-warden does not provide`, offset));
  }
  if (capabilities.sockets) findings.push(finding(rules.sockets, `imports ${capabilities.sockets.join(', ')}`, firstImportOf.sockets));
  if (capabilities.filesystem) findings.push(finding(rules.filesystem, `imports ${capabilities.filesystem.length} filesystem functions`, firstImportOf.filesystem));
  return { imports, capabilities };
}

function collectFeatures(module: WasmModule, scan: CodeScan): string[] {
  const features = new Set(scan.features);
  const limits = [
    ...module.imports.flatMap((i) => (i.desc.kind === 'memory' ? [i.desc.type.limits] : [])),
    ...module.memories.map((m) => m.limits),
  ];
  if (limits.some((l) => l.shared)) features.add('threads');
  if (limits.some((l) => l.is64)) features.add('memory64');
  if (limits.length > 1) features.add('multi-memory');
  if (module.types.some((t) => t.results.length > 1)) features.add('multi-value');
  const valTypes = [
    ...module.types.flatMap((t) => [...t.params, ...t.results]),
    ...module.globals.map((g) => g.type.valType),
    ...module.tables.map((t) => t.elemType),
  ];
  for (const type of valTypes) {
    if (typeof type === 'object' || gcOnlyTypes.has(type)) features.add('gc');
    else if (type === 'exnref' || type === 'nullexnref') features.add('exceptions');
  }
  if (module.tags.length > 0 || module.importedTagCount > 0) features.add(scan.features.has('exceptions') ? 'exceptions' : 'exceptions-legacy');
  if (module.tables.length + module.importedTableCount > 1 || module.tables.some((t) => t.elemType !== 'funcref')) features.add('reference-types');
  if (module.dataCount !== null || module.data.some((d) => d.mode.kind === 'passive')) features.add('bulk-memory');
  return [...features].sort();
}

function memoryFindings(report: Pick<InspectReport, 'memories'>, safety: MemorySafety, toolchain: Toolchain, findings: Finding[]): void {
  for (const m of report.memories) {
    if (m.shared) findings.push(finding(rules.sharedMemory, `memory ${m.index} is shared${m.imported ? ' (imported)' : ''}`));
    if (m.maximumPages === null && !m.imported) findings.push(finding(rules.memoryNoMaximum, `memory ${m.index} has no maximum (initial ${m.initialPages} pages)`));
    if (m.is64) findings.push(finding(rules.memory64, `memory ${m.index} is 64-bit`));
  }
  if (safety.layout === 'data-first') {
    const guarded = safety.hardening.some((h) => h.pass === 'stack' && h.status === 'verified');
    findings.push(finding(rules.dataFirst, guarded
      ? `static data lies below the stack (stack pointer starts at ${safety.stackPointer!.initial}); the module carries the stack-guard pass, so an overflow past the end of static data traps (stack-guard)`
      : `static data lies below the stack (stack pointer starts at ${safety.stackPointer!.initial}); an overflow corrupts it silently; ${advice('stack-first', toolchain)}, or warden harden --stack-guard`));
  }
  for (const h of safety.hardening) {
    if (h.status !== 'partial') continue;
    const name = `${h.pass === 'rodata' ? 'rodata' : h.pass}-guard`;
    findings.push(finding(rules.hardeningPartial, h.guarded < h.sites
      ? `${name} checks ${h.guarded} of ${h.sites} sites`
      : `${name} checks every site against less than the pass protects (${h.detail})`));
  }
  if (safety.stackPointer && !safety.stackProtector) findings.push(finding(rules.noStackProtector, `no __stack_chk_fail: ${advice('stack-protector', toolchain)}`));
  const { indirectCalls } = safety;
  if (indirectCalls.sites > 0 && indirectCalls.shareOfFunctionsInTable > indirectExposureThreshold) {
    findings.push(finding(rules.indirectCalls, `${indirectCalls.functionsInTable} functions (${Math.round(indirectCalls.shareOfFunctionsInTable * 100)}%) are in the table, reached from ${indirectCalls.sites} call_indirect sites of ${indirectCalls.distinctTypes} types`));
  }
}

function sideChannelFindings(sides: SideChannels, scan: CodeScan, findings: Finding[]): void {
  const waitOrNotify = scan.firstWaitOrNotify;
  if (waitOrNotify) {
    findings.push(finding(rules.atomicsWait, `${sides.atomicWaits} atomic waits and ${sides.atomicNotifies} notifies; the first in function ${waitOrNotify.function}`, waitOrNotify.offset, waitOrNotify.function));
  } else if (scan.firstAtomic) {
    findings.push(finding(rules.atomics, `${sides.atomicInstructions} atomic instructions; the first in function ${scan.firstAtomic.function}`, scan.firstAtomic.offset, scan.firstAtomic.function));
  }
  const densest = scan.densestFunction;
  if (sides.largeConstantsPerKiB > moduleConstantDensityThreshold) {
    findings.push(finding(rules.constantDensity, `${sides.largeConstantsPerKiB.toFixed(1)} large constants per KiB of code (threshold ${moduleConstantDensityThreshold})`));
  } else if (densest && densest.perKiB > functionConstantDensityThreshold) {
    findings.push(finding(rules.constantDensity, `function ${densest.index} has ${densest.perKiB.toFixed(1)} large constants per KiB (threshold ${functionConstantDensityThreshold})`, densest.offset, densest.index));
  }
}

export interface InspectOptions {
  file?: string;
}

/** Inspects module bytes (or an already decoded module). Throws WasmDecodeError on malformed input. */
export function inspect(input: Uint8Array | WasmModule, options: InspectOptions = {}): InspectReport {
  const module = input instanceof Uint8Array ? decodeModule(input, { validateBodies: false }) : input;
  const scan = scanCode(module);
  const findings: Finding[] = [];
  // Judged as shipped, by the engine that would run it: the decoder frames and walks, V8 type-checks.
  // Without this, a module that fails to type-check was reported as runnable, with no error.
  const invalid = v8Refusal(module.bytes);
  if (invalid !== null) findings.push(finding(rules.moduleInvalid, `V8 refuses it: ${invalid}`));
  const { imports, capabilities } = describeImports(module, findings);
  const exported = (kind: string, index: number) => module.exports.some((e) => e.kind === kind && e.index === index);

  const importedMemories = module.imports.flatMap((i) => (i.desc.kind === 'memory' ? [i.desc.type.limits] : []));
  const memories = [...importedMemories, ...module.memories.map((m) => m.limits)].map((l, index) => ({
    index, initialPages: l.min, maximumPages: l.max, shared: l.shared, is64: l.is64,
    imported: index < importedMemories.length, exported: exported('memory', index),
  }));
  const importedTables = module.imports.flatMap((i) => (i.desc.kind === 'table' ? [i.desc.type] : []));
  const tables = [...importedTables, ...module.tables].map((t, index) => ({
    index, elementType: valTypeName(t.elemType), initial: t.limits.min, maximum: t.limits.max,
    growable: t.limits.max === null || t.limits.max > t.limits.min, imported: index < importedTables.length, exported: exported('table', index),
  }));
  const importedGlobals = module.imports.flatMap((i) => (i.desc.kind === 'global' ? [i.desc.type] : []));
  const globals = [...importedGlobals, ...module.globals.map((g) => g.type)].map((g, index) => ({
    index, type: valTypeName(g.valType), mutable: g.mutable, imported: index < importedGlobals.length,
    exported: exported('global', index), name: module.names?.globals.get(index) ?? null,
  }));

  const codeBytes = module.code.reduce((sum, b) => sum + (b.end - b.start), 0);
  const memorySafety = assessMemorySafety(module, scan);
  const sideChannels: SideChannels = {
    sharedMemory: memories.some((m) => m.shared),
    atomicInstructions: scan.atomicInstructions,
    atomicWaits: scan.atomicWaits,
    atomicNotifies: scan.atomicNotifies,
    largeConstants: scan.largeConstants,
    largeConstantsPerKiB: codeBytes > 0 ? (scan.largeConstants * 1024) / codeBytes : 0,
    densestFunction: scan.densestFunction && { index: scan.densestFunction.index, perKiB: scan.densestFunction.perKiB },
  };
  const toolchain = detectToolchain(module);
  memoryFindings({ memories }, memorySafety, toolchain, findings);
  sideChannelFindings(sideChannels, scan, findings);
  if (module.start !== null) findings.push(finding(rules.startFunction, `function ${module.start} runs at instantiation`, undefined, module.start));
  for (const bad of module.customSectionErrors) findings.push(finding(rules.malformedCustomSection, `${bad.name}: ${bad.reason}`, bad.offset));

  const severityOrder = { error: 0, warning: 1, note: 2 };
  findings.sort((a, b) => severityOrder[a.severity] - severityOrder[b.severity]);

  const producers: Record<string, string[]> = {};
  for (const [field, values] of Object.entries(module.producers ?? {})) producers[field] = values.map((v) => (v.version ? `${v.name} ${v.version}` : v.name));

  return {
    ...(options.file !== undefined ? { file: options.file } : {}),
    size: module.bytes.length,
    sections: module.sections.map((s) => ({ id: s.id, name: s.id === 0 ? `custom:${s.name}` : sectionNames[s.id] ?? `unknown:${s.id}`, bytes: s.end - s.payloadStart })),
    counts: {
      types: module.types.length,
      importedFunctions: module.importedFunctionCount,
      definedFunctions: module.functions.length,
      codeBytes,
      largestBodyBytes: module.code.reduce((max, b) => Math.max(max, b.end - b.start), 0),
      maxLocals: module.code.reduce((max, b) => Math.max(max, b.localCount), 0),
      maxNesting: scan.maxNesting,
      instructions: scan.instructions,
      globals: globals.length,
      exports: module.exports.length,
      dataSegments: module.data.length,
      dataBytes: module.data.reduce((sum, d) => sum + (d.end - d.start), 0),
      elementSegments: module.elements.length,
    },
    imports,
    capabilities,
    exports: module.exports.map((e) => ({ name: e.name, kind: e.kind, index: e.index })),
    start: module.start,
    memories,
    tables,
    globals,
    features: collectFeatures(module, scan),
    memorySafety,
    sideChannels,
    toolchain: { detected: toolchain, producers, targetFeatures: (module.targetFeatures ?? []).map((f) => f.prefix + f.name) },
    findings,
  };
}

export function hasErrors(report: InspectReport): boolean {
  return report.findings.some((f) => f.severity === 'error');
}
