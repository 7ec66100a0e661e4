// Admission: the checks a module must pass before any of its code runs. Each
// refusal names a stable rule (documented in docs/policy.md); all of them are
// reported, not just the first.

import { forEachInstruction, newInstruction } from '../binary/instructions.js';
import { declaredFeatures, instructionExtraFeature } from '../binary/module-features.js';
import { WASI_PREVIEW1, wasiFunction, wasiPreview1Functions, type WasiCapability } from '../binary/wasi-abi.js';
import type { Feature, Instruction, WasmModule } from '../binary/types.js';
import type { FeatureName, Policy } from '../policy/policy.js';
import { RESERVED_EXPORT_PREFIX } from '../transform/fuel.js';
import { RESERVED_IMPORT_MODULES } from '../transform/checkpoint.js';

export interface Violation {
  rule: string;
  message: string;
  offset?: number;
}

export interface Verdict {
  admitted: boolean;
  violations: Violation[];
}

export const ADMISSION_RULES = [
  'malformed', 'unsigned', 'signature-untrusted', 'digest-not-pinned', 'module-too-large', 'import-unknown-module', 'import-unknown-function', 'import-not-granted',
  'import-signature-mismatch', 'import-non-function', 'shared-memory', 'atomics', 'memory-too-large',
  'table-too-large', 'too-many-tables', 'too-many-memories', 'too-many-functions', 'data-too-large', 'feature-not-allowed', 'not-a-command', 'export-reserved',
  'invalid', 'import-reserved',
] as const;

/** The WASI functions a policy's grants imply: what a module may import without `imports.allow`. */
export function impliedImports(policy: Policy): Set<string> {
  const capabilities = new Set<WasiCapability>(['stdio', 'args-env', 'process']);
  if (policy.mounts.length > 0) capabilities.add('filesystem');
  if (policy.clock) capabilities.add('clocks');
  if (policy.random) capabilities.add('random');
  const allowed = new Set<string>(policy.extraImports);
  for (const [name, abi] of Object.entries(wasiPreview1Functions)) if (capabilities.has(abi.capability)) allowed.add(name);
  return allowed;
}

const PAGE = 65536;

function featureName(feature: Feature): FeatureName | null {
  return feature === 'mvp' ? null : feature;
}

/**
 * Checks `module` against `policy`. `digest` gives the SHA-256 of the module's
 * bytes as `sha256:<hex>`, for digest pins (asked for only when there are pins).
 */
export function admit(module: WasmModule, policy: Policy, digest: () => string): Verdict {
  const violations: Violation[] = [];
  const refuse = (rule: (typeof ADMISSION_RULES)[number], message: string, offset?: number) =>
    violations.push(offset === undefined ? { rule, message } : { rule, message, offset });
  const { limits } = policy;

  if (policy.pins.length > 0 && !policy.pins.includes(digest())) refuse('digest-not-pinned', `${digest()} is not among the policy's pins`);
  if (module.bytes.length > limits.moduleBytes) refuse('module-too-large', `${module.bytes.length} bytes, over the limit of ${limits.moduleBytes}`);

  const allowed = impliedImports(policy);
  for (const imp of module.imports) {
    const where = `${imp.module}.${imp.name}`;
    // The rewriter imports the host's own functions from these modules (the deadline checkpoint); a guest must not alias them.
    if (RESERVED_IMPORT_MODULES.includes(imp.module)) { refuse('import-reserved', `imports ${where}; the module name ${imp.module} is reserved for wasm-warden`, imp.offset); continue; }
    if (imp.desc.kind !== 'func') {
      refuse('import-non-function', `imports ${imp.desc.kind} ${where}; wasm-warden provides functions only`, imp.offset);
      if (imp.desc.kind === 'memory' && imp.desc.type.limits.shared) refuse('shared-memory', `imports shared memory ${where}`, imp.offset);
      continue;
    }
    if (imp.module !== WASI_PREVIEW1) { refuse('import-unknown-module', `imports ${where}`, imp.offset); continue; }
    const abi = wasiFunction(imp.name);
    if (!abi) { refuse('import-unknown-function', `imports ${imp.name}, which preview1 does not have`, imp.offset); continue; }
    if (!allowed.has(imp.name)) refuse('import-not-granted', `imports ${imp.name} (${abi.capability}), which the policy does not grant`, imp.offset);
    const type = module.types[imp.desc.typeIndex];
    const matches = !!type && type.params.length === abi.params.length && type.results.length === abi.results.length &&
      type.params.every((p, i) => p === abi.params[i]) && type.results.every((r, i) => r === abi.results[i]);
    if (!matches) refuse('import-signature-mismatch', `${imp.name} does not have preview1's signature (${abi.params.join(', ')}) -> (${abi.results.join(', ')})`, imp.offset);
  }

  const maxPages = Math.floor(limits.memory / PAGE);
  for (const [i, memory] of module.memories.entries()) {
    if (memory.limits.shared) refuse('shared-memory', `memory ${i} is shared`);
    if (memory.limits.min > maxPages) refuse('memory-too-large', `memory ${i} starts at ${memory.limits.min} pages, over the limit of ${maxPages}`);
  }
  // One budget for every table: each table's elements cost host memory (V8 keeps funcref
  // tables on its heap), so many tables each within a per-table limit could still exhaust the
  // host. The initial sizes must fit here; growth is bounded by rewriting the maxima to share
  // the rest (transform/limits.ts).
  const tables = module.importedTableCount + module.tables.length;
  if (tables > limits.tables) refuse('too-many-tables', `${tables} tables, over the limit of ${limits.tables}`);
  const tableElements = module.tables.reduce((sum, t) => sum + t.limits.min, 0);
  if (tableElements > limits.tableElements) refuse('table-too-large', `tables start at ${tableElements} elements in all, over the limit of ${limits.tableElements}`);
  const memories = module.importedMemoryCount + module.memories.length;
  if (memories > limits.memories) refuse('too-many-memories', `${memories} memories, over the limit of ${limits.memories}`);
  const functions = module.importedFunctionCount + module.functions.length;
  if (functions > limits.functions) refuse('too-many-functions', `${functions} functions, over the limit of ${limits.functions}`);
  const dataBytes = module.data.reduce((sum, d) => sum + (d.end - d.start), 0);
  if (dataBytes > limits.dataBytes) refuse('data-too-large', `${dataBytes} bytes of data segments, over the limit of ${limits.dataBytes}`);
  if (!module.exports.some((e) => e.name === '_start' && e.kind === 'func')) refuse('not-a-command', 'exports no _start function');
  for (const e of module.exports) {
    // The rewriter adds exports under this prefix (the fuel counter); a module must not preempt them.
    if (e.name.startsWith(RESERVED_EXPORT_PREFIX)) refuse('export-reserved', `exports ${JSON.stringify(e.name.slice(0, 64))}; names starting with ${RESERVED_EXPORT_PREFIX} are reserved`);
  }

  const used = new Map<FeatureName, number>();
  const note = (feature: FeatureName, offset: number) => { if (!used.has(feature)) used.set(feature, offset); };
  let atomicsAt: number | null = null;
  let throwAt: number | null = null;
  const ins = newInstruction();
  const visit = (i: Instruction) => {
    // `throw` belongs to both exception proposals: it is charged to whichever the code uses.
    if (i.prefix === 0 && i.code === 0x08) { throwAt ??= i.offset; return; }
    const feature = featureName(i.feature);
    if (feature) note(feature, i.offset);
    // Immediates can use a proposal the opcode does not: `block (result v128)`, a second table.
    if (i.blockType !== null || i.types !== null || (i.prefix === 0 ? i.code === 0x11 || i.code === 0x13 : i.prefix === 0xfc)) {
      const extra = featureName(instructionExtraFeature(i));
      if (extra) note(extra, i.offset);
    }
    if (i.prefix === 0xfe && atomicsAt === null) atomicsAt = i.offset;
  };
  for (let f = 0; f < module.code.length; f++) forEachInstruction(module, f, visit, ins);
  // Declarations gate too: a v128 local or an externref parameter uses its proposal without
  // any instruction of it. Tags belong to whichever exception proposal the code uses.
  const codeUsesNewExceptions = used.has('exceptions') && !used.has('exceptions-legacy');
  if (throwAt !== null) note(codeUsesNewExceptions ? 'exceptions' : 'exceptions-legacy', throwAt);
  for (const [feature, offset] of declaredFeatures(module)) {
    if (feature === 'exceptions-legacy' && codeUsesNewExceptions) continue;
    const name = featureName(feature);
    if (name) note(name, offset);
  }
  if (atomicsAt !== null) refuse('atomics', 'uses atomic instructions, the building block of a shared-memory timer', atomicsAt);
  for (const [feature, offset] of used) {
    if (feature === 'threads') continue; // reported as atomics / shared-memory
    if (!policy.features.has(feature)) refuse('feature-not-allowed', `uses ${feature}, which the policy does not allow`, offset || undefined);
  }
  return { admitted: violations.length === 0, violations };
}
