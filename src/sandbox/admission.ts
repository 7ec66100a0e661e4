// Admission: the checks a module must pass before any of its code runs. Each
// refusal names a stable rule (documented in docs/policy.md); all of them are
// reported, not just the first.

import { walkBodies, type CodeFacts } from '../binary/body-walk.js';
import { declaredFeatures } from '../binary/module-features.js';
import { functionType } from '../binary/lookup.js';
import { WASI_PREVIEW1, wasiFunction, wasiPreview1Functions, type WasiCapability } from '../binary/wasi-abi.js';
import type { Feature, FuncType, WasmModule } from '../binary/types.js';
import type { FeatureName, LimitsPolicy, Policy } from '../policy/policy.js';
import { RESERVED_EXPORT_PREFIX } from '../transform/fuel.js';
import { RESERVED_IMPORT_MODULES } from '../transform/checkpoint.js';
import { isNumType } from '../wasi/values.js';
import { EXTISM_KERNEL, EXTISM_MODULE, EXTISM_NETWORK } from '../plugin/extism-abi.js';
import { keyOf, type HostFunctionSignature } from './host-functions.js';
import { entryViolations, signature } from './entry-admission.js';

export { entryViolations } from './entry-admission.js';

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
  'invalid', 'import-reserved', 'not-hardenable', 'not-meterable',
  'export-missing', 'export-signature-unsupported',
] as const;

export interface AdmitOptions {
  /** Host functions the embedder grants: imports matching one (exactly) are admitted. */
  hostFunctions?: readonly HostFunctionSignature[];
  /** The export a run calls: `_start` (default), another function's name, or null to check none here. */
  entry?: string | null;
  /**
   * What the shared walk of the bodies found (body-walk.ts), when the caller
   * has walked them already (prepare: the same walk checks indices and finds
   * the rewrite's sites). Must be of `module`'s bytes; walked here otherwise.
   */
  facts?: CodeFacts;
}

/**
 * What admission reads of a policy. A Policy is one; prepare passes exactly
 * this much (prepare-config.ts), and the prepared-module cache keys on it, so
 * a value read here that is missing from that projection fails to compile.
 * Of the grants, only whether a filesystem, clock or random source is granted
 * matters (the WASI functions they imply), not which.
 */
export interface AdmissionPolicy {
  pins: readonly string[];
  mounts: readonly unknown[];
  clock: unknown;
  random: unknown;
  extraImports: readonly string[];
  unknownImports: Policy['unknownImports'];
  features: ReadonlySet<FeatureName>;
  limits: Pick<LimitsPolicy, 'moduleBytes' | 'memory' | 'tables' | 'tableElements' | 'memories' | 'functions' | 'dataBytes'>;
  /**
   * A plugin's http_request: not granted (no plugin.http_hosts; also when
   * absent, as for a whole Policy), granted, or granted but not in thread
   * isolation (which alone can make it). prepare-config.ts projects it.
   */
  pluginHttp?: 'none' | 'granted' | 'needs-thread';
}

/** The module's exported functions with their signatures. */
export function exportedFunctions(module: WasmModule): Map<string, FuncType> {
  const out = new Map<string, FuncType>();
  for (const e of module.exports) {
    if (e.kind !== 'func') continue;
    const type = functionType(module, e.index);
    if (type) out.set(e.name, type);
  }
  return out;
}

/** The WASI functions a policy's grants imply: what a module may import without `imports.allow`. */
export function impliedImports(policy: Pick<AdmissionPolicy, 'mounts' | 'clock' | 'random' | 'extraImports'>): Set<string> {
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
export function admit(module: WasmModule, policy: AdmissionPolicy, digest: () => string, options: AdmitOptions = {}): Verdict {
  const violations: Violation[] = [];
  const refuse = (rule: (typeof ADMISSION_RULES)[number], message: string, offset?: number) =>
    violations.push(offset === undefined ? { rule, message } : { rule, message, offset });
  const { limits } = policy;

  if (policy.pins.length > 0 && !policy.pins.includes(digest())) refuse('digest-not-pinned', `${digest()} is not among the policy's pins`);
  if (module.bytes.length > limits.moduleBytes) refuse('module-too-large', `${module.bytes.length} bytes, over the limit of ${limits.moduleBytes}`);

  const allowed = impliedImports(policy);
  const granted = new Map((options.hostFunctions ?? []).map((h) => [keyOf(h.module, h.name), h] as const));
  // Stubs (imports.unknown = trap | zero) stand in for imports nobody provides; they never replace a WASI function or a grant.
  const stubbed = policy.unknownImports !== 'refuse';
  for (const imp of module.imports) {
    const where = `${imp.module}.${imp.name}`;
    // The rewriter imports the host's own functions from these modules (the deadline checkpoint); a guest must not alias them.
    if (RESERVED_IMPORT_MODULES.includes(imp.module)) { refuse('import-reserved', `imports ${where}; the module name ${imp.module} is reserved for wasm-warden`, imp.offset); continue; }
    if (imp.desc.kind !== 'func') {
      refuse('import-non-function', `imports ${imp.desc.kind} ${where}; wasm-warden provides functions only`, imp.offset);
      if (imp.desc.kind === 'memory' && imp.desc.type.limits.shared) refuse('shared-memory', `imports shared memory ${where}`, imp.offset);
      continue;
    }
    const grant = granted.get(keyOf(imp.module, imp.name));
    if (grant) {
      // A granted host function is linked only with exactly the signature it was granted with.
      const type = module.types[imp.desc.typeIndex];
      const same = !!type && type.params.length === grant.params.length && type.results.length === grant.results.length &&
        type.params.every((p, i) => p === grant.params[i]) && type.results.every((r, i) => r === grant.results[i]);
      if (!same) refuse('import-signature-mismatch', `${where} is granted as ${signature(grant)} but imported as ${type ? signature(type as { params: string[]; results: string[] }) : 'an unknown type'}`, imp.offset);
      continue;
    }
    if (imp.module === EXTISM_MODULE) {
      // The Extism kernel ABI: linked by wasm-warden itself (plugin memory, input/output, config, vars, logs).
      const kernel = Object.hasOwn(EXTISM_KERNEL, imp.name) ? EXTISM_KERNEL[imp.name]! : null;
      if (!kernel) { if (!stubbed) refuse('import-unknown-function', `imports ${where}, which the Extism kernel ABI does not have`, imp.offset); continue; }
      // Network access is a grant (plugin.http_hosts); without one the import is refused, never linked.
      if (EXTISM_NETWORK.has(imp.name) && (policy.pluginHttp ?? 'none') === 'none') { refuse('import-not-granted', `imports ${where} (network), which the policy does not grant (plugin.http_hosts)`, imp.offset); continue; }
      // The request runs on the embedder's thread while the guest waits on the channel: only a worker isolate has one.
      if (EXTISM_NETWORK.has(imp.name) && policy.pluginHttp === 'needs-thread') { refuse('import-not-granted', `imports ${where} (network), which only thread isolation provides`, imp.offset); continue; }
      const type = module.types[imp.desc.typeIndex];
      const same = !!type && type.params.length === kernel.params.length && type.results.length === kernel.results.length &&
        type.params.every((p, i) => p === kernel.params[i]) && type.results.every((r, i) => r === kernel.results[i]);
      if (!same) refuse('import-signature-mismatch', `${where} does not have the Extism kernel's signature ${signature(kernel)}`, imp.offset);
      continue;
    }
    if (imp.module !== WASI_PREVIEW1) { if (!stubbed) refuse('import-unknown-module', `imports ${where}`, imp.offset); continue; }
    const abi = wasiFunction(imp.name);
    if (!abi) { if (!stubbed) refuse('import-unknown-function', `imports ${imp.name}, which preview1 does not have`, imp.offset); continue; }
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
  const entry = options.entry === undefined ? '_start' : options.entry;
  if (entry !== null) violations.push(...entryViolations(exportedFunctions(module), entry));
  for (const e of module.exports) {
    // The rewriter adds exports under this prefix (the fuel counter); a module must not preempt them.
    if (e.name.startsWith(RESERVED_EXPORT_PREFIX)) refuse('export-reserved', `exports ${JSON.stringify(e.name.slice(0, 64))}; names starting with ${RESERVED_EXPORT_PREFIX} are reserved`);
  }

  const used = new Map<FeatureName, number>();
  const note = (feature: FeatureName, offset: number) => { if (!used.has(feature)) used.set(feature, offset); };
  // Every body, walked once (or by the caller): malformed code throws WasmDecodeError.
  const facts = options.facts?.bytes === module.bytes ? options.facts : walkBodies(module);
  for (const [feature, offset] of facts.features) {
    const name = featureName(feature);
    if (name) note(name, offset);
  }
  const { atomicsAt, throwAt } = facts;
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
