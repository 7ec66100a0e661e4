// From module bytes to what an isolate runs: digest, decode, validation,
// admission against the policy, then limits, metering and deadline
// checkpoints rewritten into the bytes. Validation and admission see the
// module as its author shipped it; rewriting comes after.

import { digestOf } from './digest.js';
import { AdmissionError } from './admission-error.js';
import { decodeModule } from '../binary/decode.js';
import { WasmDecodeError } from '../binary/errors.js';
import { checkSectionIndices } from '../binary/indices.js';
import { walkBodies, type CodeFacts } from '../binary/body-walk.js';
import type { WasmModule } from '../binary/types.js';
import type { Policy } from '../policy/policy.js';
import { layOut, planRewriteForRun, rewriteForRun, rewriteSites, RewriteTooLarge, type InjectedFunctions, type RewrittenModule, type TransformOptions } from '../transform/index.js';
import type { LaidPiece } from '../binary/in-place.js';
import { planDiffersOnlyInLimits } from './limits-only.js';
import { hardenModule, HardenError } from '../transform/harden.js';
import { guardTrapOffsets } from '../transform/harden-guards.js';
import { recogniseHardening } from '../transform/harden-recognise.js';
import type { Range } from '../transform/harden-layout.js';
import { readSections } from '../binary/sections.js';
import { v8Reason, v8Refusal } from '../binary/v8-verdict.js';
import type { TrapKind } from '../wasi/trap.js';
import { verifyModule } from '../signing/verify.js';
import { WASI_PREVIEW1, wasiFunction } from '../binary/wasi-abi.js';
import type { FuncType } from '../binary/types.js';
import { EXTISM_KERNEL, EXTISM_MODULE } from '../plugin/extism-abi.js';
import { admit, exportedFunctions, type Violation } from './admission.js';
import { keyOf, type HostFunctionSignature, type LinkPlan } from './host-functions.js';
import { prepareConfig, type PrepareConfig } from './prepare-config.js';

export interface Prepared {
  /** SHA-256 of the input bytes, computed on first use. */
  readonly digest: string;
  /** The rewritten bytes (limits, fuel); the input when nothing needed rewriting. */
  bytes: Uint8Array;
  metered: boolean;
  /**
   * Functions the rewriter added (plain numbers). Trap frames name functions
   * by their index in the rewritten bytes: `originalFunctionIndex` maps them
   * back to the module as shipped.
   */
  injected: InjectedFunctions;
  /** Exported functions and their signatures (what a run may call). */
  exports: Map<string, FuncType>;
  /** Stubs for the imports nothing provides (policy imports.unknown = trap | zero). */
  stubs: LinkPlan['stubs'];
  /** The granted host functions the module imports ("module\0name"). */
  imported: Set<string>;
  /** Whether it imports the Extism kernel ABI (linked by wasm-warden). */
  usesKernel: boolean;
  /** The hardening guards' trap positions in the module as it runs (byte offset → kind), so their traps are named. */
  guards: Array<[number, TrapKind]>;
  /**
   * The ranges of memory 0 the module's null, rodata and bulk guards keep its own writes out of, as flat
   * [start, end) pairs: the WASI host refuses its writes there too (EFAULT). Empty without such guards.
   */
  writeGuarded: number[];
  /**
   * Set when `bytes` were laid over the input's own (prepareWith's
   * `overwrite`), which no longer hold the module as shipped: what was read
   * of them first. `limitsOnly`: the rewrite changed nothing but maxima
   * (limits-only.ts, asked of the plan); `pieces`: the rewritten bytes as
   * ranges of the input and new bytes, the on-disk entry's patch.
   */
  overwritten?: { limitsOnly: boolean; pieces: LaidPiece[] };
}

export { AdmissionError, digestOf };

/**
 * `entry`: the export admission requires, `_start` by default (warden check, deploys);
 * null when each run admits its own (the sandbox: one prepared module serves run and invoke).
 */
/**
 * A module within limits.module-size as shipped that a rewrite would take past what V8 compiles: refused as
 * module-too-large, the message naming what grew it, so that the fix (admission-fixes.ts) points at that and
 * not at limits.module-size, whose raising would change nothing.
 */
function grownTooLarge(error: RewriteTooLarge, causes: readonly string[]): AdmissionError {
  return new AdmissionError([{ rule: 'module-too-large', message: `${error.message}; grown by ${causes.join(' and ')}` }]);
}

export function prepare(bytes: Uint8Array, policy: Policy, hostFunctions: readonly HostFunctionSignature[] = [], entry: string | null = '_start'): Prepared {
  return prepareWith(bytes, prepareConfig(policy, hostFunctions, entry));
}

/**
 * Prepares `bytes` under `config` (prepare-config.ts), which is all of the
 * policy it reads: the prepared-module cache keys on the same value.
 * `knownDigest`, when the caller has hashed the bytes already.
 * `overwrite`: the caller gives `bytes` over (the CLI's one run): the
 * rewritten module may be laid over them (and their buffer's room after
 * them) instead of in a new buffer, once admission, both validations and
 * the plan's checks have read them (Prepared.overwritten says so).
 */
export function prepareWith(bytes: Uint8Array, config: PrepareConfig, knownDigest?: string, overwrite = false): Prepared {
  checkSignatures(bytes, config);
  const shipped = admitAsShipped(bytes, config, knownDigest);
  validateAsShipped(shipped.module, shipped.facts, v8Refusal(bytes));
  return rewriteAdmitted(shipped, config, overwrite);
}

/**
 * As `prepareWith`, with V8's check of the bytes as shipped running on V8's
 * background threads (`WebAssembly.compile`) while this thread decodes, walks
 * and admits them: on two cores the check costs no wall time. Nothing is
 * rewritten before both checks have passed, and nothing is compiled before
 * the signatures are verified.
 */
export async function prepareOverlapped(bytes: Uint8Array, config: PrepareConfig, knownDigest?: string): Promise<Prepared> {
  checkSignatures(bytes, config);
  // Settles to the refusal's reason or null; never rejects, so a refusal by admission leaves nothing unhandled.
  const v8 = WebAssembly.compile(bytes).then(() => null, (error: Error) => v8Reason(error));
  const shipped = admitAsShipped(bytes, config, knownDigest);
  validateAsShipped(shipped.module, shipped.facts, await v8);
  return rewriteAdmitted(shipped, config);
}

/** Signatures first: nothing of an untrusted module is decoded (or compiled), let alone rewritten. */
function checkSignatures(bytes: Uint8Array, config: PrepareConfig): void {
  if (config.trust.require > 0) {
    const verdict = verifyModule(bytes, config.trust.keys, { threshold: config.trust.require });
    if (!verdict.ok) throw new AdmissionError([{ rule: verdict.reason === 'the module is not signed' ? 'unsigned' : 'signature-untrusted', message: verdict.reason! }]);
  }
}

/** The module as shipped, admitted, with what the one walk of its bodies found. */
interface Admitted {
  module: WasmModule;
  facts: CodeFacts;
  digest: () => string;
}

function admitAsShipped(bytes: Uint8Array, policy: PrepareConfig, knownDigest: string | undefined): Admitted {
  let digestMemo: string | undefined = knownDigest;
  const digest = () => (digestMemo ??= digestOf(bytes));
  let module;
  let verdict;
  let facts: CodeFacts;
  // Over the limit as shipped: refused by its rule, before a byte is decoded. The decoder's own bound (below)
  // had answered first, as 'malformed' at byte offset 0, a verdict with no fix for a module merely too large.
  if (bytes.length > policy.limits.moduleBytes) {
    throw new AdmissionError([{ rule: 'module-too-large', message: `${bytes.length} bytes, over the limit of ${policy.limits.moduleBytes}` }]);
  }
  try {
    // One walk of every body proves them well formed, checks their indices, finds what admission
    // gates and records where the rewrite patches (body-walk.ts): the decoder need not walk them first.
    module = decodeModule(bytes, { limits: { maxModuleBytes: policy.limits.moduleBytes }, validateBodies: false });
    // Hardening rewrites the bodies first, so its output is walked again for the rewrite's sites.
    const record = policy.harden.length > 0 ? undefined : rewriteSites(module, { fuel: policy.limits.fuel !== null, checkpoint: policy.limits.deadline });
    facts = walkBodies(module, record ? { record } : {});
    verdict = admit(module, policy, digest, { hostFunctions: policy.hostFunctions, entry: policy.entry, facts });
  } catch (error) {
    if (error instanceof WasmDecodeError) throw new AdmissionError([{ rule: 'malformed', message: error.message, offset: error.offset }]);
    throw error;
  }
  if (!verdict.admitted) throw new AdmissionError(verdict.violations);
  return { module, facts, digest };
}

/** Hardening, limits, metering and checkpoints, rewritten into a module admitted and valid as shipped. */
function rewriteAdmitted(shipped: Admitted, policy: PrepareConfig, overwrite = false): Prepared {
  let { module } = shipped;
  const { facts, digest } = shipped;
  const hostFunctions = policy.hostFunctions;
  const metered = policy.limits.fuel !== null;
  const checkpoint = policy.limits.deadline;
  // Fuel charges and deadline checks park the size of a memory.grow, fill or copy in an i32 global and
  // compare it as an i32; a 64-bit memory's sizes are i64, so the rewrite would not validate (V8 refused
  // it when compiling, and the refusal read as the module's fault). Refused by name before any rewrite.
  if ((metered || checkpoint) && hasMemory64(module)) {
    throw new AdmissionError([{ rule: 'not-meterable', message: `its memory is 64-bit (memory64), whose sizes ${metered ? 'fuel metering' : 'the deadline checkpoints'} cannot read` }]);
  }
  // Hardening (policy `harden`) comes first: limits, fuel and checkpoints then apply to the guards too.
  // A pass that cannot apply to this module (a stack placed first, no .rodata segment) is skipped.
  let writeGuarded: Range[] = [];
  if (policy.harden.length > 0) {
    try {
      const hardened = hardenModule(module, { passes: policy.harden, lenient: true, validatedAsShipped: true });
      writeGuarded = hardened.writeGuarded;
      if (hardened.bytes !== module.bytes) module = decodeModule(hardened.bytes, { validateBodies: false });
    } catch (error) {
      if (error instanceof HardenError) throw new AdmissionError([{ rule: 'not-hardenable', message: error.message }]);
      if (error instanceof RewriteTooLarge) throw grownTooLarge(error, ['the hardening guards']);
      throw error;
    }
  } else if (facts.guardTagAt !== null) {
    // Hardened before it was shipped (`warden harden`): the guards it carries, recognised from its code
    // (never from a marker), say where the host must not write for it either.
    const carried = recogniseHardening(module).passes;
    for (const coverage of [carried.null, carried.rodata, carried.bulk]) if (coverage?.verified) writeGuarded.push(...coverage.protects);
  }
  // Read from the decoded module before the rewrite may overwrite the bytes it was decoded from.
  const exports = exportedFunctions(module);
  const linked = linkedImports(module, policy, hostFunctions);
  const usesKernel = module.imports.some((i) => i.module === EXTISM_MODULE);
  const options: TransformOptions = {
    facts,
    memoryBytes: policy.limits.memory,
    tableElements: policy.limits.tableElements,
    fuel: metered,
    // The counter holds the budget from the first instruction on; the host need not set it.
    ...(metered ? { fuelBudget: policy.limits.fuel! } : {}),
    // V8 delays termination while a loop grows memory: the guest checks the deadline itself there.
    checkpoint,
    // Each run then lends the instance a zeroed memory from its thread's pool (wasi/memory-pool.ts).
    hostMemory: policy.hostMemory,
  };
  // Hardened, the module is new bytes of ours: laid out afresh as before. Else laid over the input when given over,
  // its digest taken first (a caller without one asks later, when the input no longer holds the module as shipped).
  const inPlace = overwrite && module === shipped.module;
  if (inPlace) digest();
  let rewritten: Overwritten;
  try {
    rewritten = inPlace ? rewriteOver(module, options) : rewriteForRun(module, options);
  } catch (error) {
    // Refused while planned, before any byte of the input is overwritten.
    if (error instanceof RewriteTooLarge) {
      const causes = [...(module !== shipped.module ? ['the hardening guards'] : []), ...(metered ? ['fuel metering'] : []), ...(checkpoint ? ['the deadline checkpoints'] : [])];
      throw grownTooLarge(error, causes.length ? causes : ['the limits rewriting']);
    }
    throw error;
  }
  // Where the guards trap in the bytes that run (a search of the code section for their trap arms): hardened
  // here, or before it was shipped (`warden harden`), when the walk saw a guard's tag. Without either there
  // is none, and the search (14 ms for yosys's 28 MB of code) is skipped.
  const mayHoldGuards = policy.harden.length > 0 || facts.guardTagAt !== null;
  const code = mayHoldGuards ? readSections(rewritten.bytes).find((x) => x.id === 10) : undefined;
  const guards = code ? guardTrapOffsets(rewritten.bytes, code.payloadStart, code.end) as Array<[number, TrapKind]> : [];
  return {
    get digest() { return digest(); },
    guards,
    writeGuarded: writeGuarded.flatMap((r) => [r.start, r.end]),
    bytes: rewritten.bytes,
    metered,
    injected: rewritten.injected,
    exports,
    ...linked,
    usesKernel,
    ...(rewritten.overwritten ? { overwritten: rewritten.overwritten } : {}),
  };
}

/** Whether a memory the module declares or imports is 64-bit. */
function hasMemory64(module: WasmModule): boolean {
  return module.memories.some((m) => m.limits.is64) || module.imports.some((i) => i.desc.kind === 'memory' && i.desc.type.limits.is64);
}

type Overwritten = RewrittenModule & { overwritten?: NonNullable<Prepared['overwritten']> };

/**
 * The rewrite laid over the module's own bytes where their buffer has the
 * room (else in a new buffer, as rewriteForRun). Whether it changed only
 * maxima is asked of the plan first, while the bytes as shipped are there
 * to compare with; then they are overwritten.
 */
function rewriteOver(module: WasmModule, options: TransformOptions): Overwritten {
  const { plan, injected } = planRewriteForRun(module, options);
  if (!plan) return { bytes: module.bytes, injected };
  const limitsOnly = planDiffersOnlyInLimits(module.bytes, plan.sections);
  const bytes = layOut(module, plan, true);
  if (bytes.buffer !== module.bytes.buffer) return { bytes, injected };
  return { bytes, injected, overwritten: { limitsOnly, pieces: plan.pieces } };
}

/**
 * Modules at least this large are prepared on a worker thread by
 * `prepareAsync`; smaller ones inline. Admission runs at roughly 20-50 MB/s
 * here (its walk of every instruction dominates), so a module under the
 * threshold holds the caller's event loop for about 5-12 ms at most
 * (docs/RATIONALE.md has the measurements).
 */
export const PREPARE_OFF_THREAD_BYTES = 256 * 1024;

/**
 * The worker entry: from the CLI bundle (dist/cli), its own CJS bundle beside
 * it (an ESM entry costs each start about 25 ms of module linking), or the
 * compiled entry under dist/src; from the library, the one beside this file.
 */
async function prepareWorkerEntry(): Promise<URL> {
  const { pathToFileURL } = await import('node:url');
  if (typeof __dirname === 'string') {
    const { existsSync } = await import('node:fs');
    const bundle = `${__dirname}/prepare-worker.cjs`;
    return pathToFileURL(existsSync(bundle) ? bundle : `${__dirname}/../src/sandbox/prepare-worker.js`);
  }
  return new URL('./prepare-worker.js', import.meta.url);
}

type PrepareReply = import('./prepare-worker.js').PrepareReply;
interface Preparer {
  post(bytes: Uint8Array, config: PrepareConfig, digest: string | undefined): Promise<PrepareReply>;
}
let preparer: Promise<Preparer> | undefined;

/**
 * The process's one preparing worker, started on first use. It keeps no
 * event loop alive while idle; if it dies, every pending request fails and
 * the next request starts a new one.
 */
function sharedPreparer(): Promise<Preparer> {
  if (preparer) return preparer;
  const started: Promise<Preparer> = (async () => {
    const { Worker } = await import('node:worker_threads');
    // A heap ceiling of its own: should decoding ever balloon, the worker dies, not the embedder.
    const worker = new Worker(await prepareWorkerEntry(), { env: {}, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    worker.unref();
    const pending = new Map<number, { resolve: (reply: PrepareReply) => void; reject: (error: Error) => void }>();
    let nextId = 0;
    const self: Preparer = {
      post(bytes, config, digest) {
        const id = nextId++;
        if (pending.size === 0) worker.ref();
        // The worker gets a copy of the bytes: the caller's stay usable.
        // The config holds host functions' signatures only: their bodies never cross into the preparing worker.
        worker.postMessage({ id, bytes, config, digest });
        return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      },
    };
    worker.on('message', ({ id, reply }: { id: number; reply: PrepareReply }) => {
      pending.get(id)?.resolve(reply);
      pending.delete(id);
      if (pending.size === 0) worker.unref();
    });
    const fail = (error: Error) => {
      if (preparer === started) preparer = undefined;
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the preparing worker stopped (exit ${code})`)));
    return self;
  })();
  preparer = started;
  return started;
}

/**
 * `prepare`, off the caller's event loop for large modules: a worker thread
 * decodes, admits and rewrites a copy of `bytes` and transfers the rewritten
 * bytes back. One worker serves the process (warm after its first module);
 * modules queue for it. Rejects with AdmissionError exactly as `prepare`
 * throws it.
 */
export async function prepareAsync(bytes: Uint8Array, policy: Policy, hostFunctions: readonly HostFunctionSignature[] = [], entry: string | null = '_start'): Promise<Prepared> {
  return prepareAsyncWith(bytes, prepareConfig(policy, hostFunctions, entry));
}

/** `prepareWith`, off the caller's event loop for large modules (as prepareAsync). */
export async function prepareAsyncWith(bytes: Uint8Array, config: PrepareConfig, knownDigest?: string): Promise<Prepared> {
  if (bytes.length < PREPARE_OFF_THREAD_BYTES) return prepareWith(bytes, config, knownDigest);
  const reply = await (await sharedPreparer()).post(bytes, config, knownDigest);
  if (reply.ok) {
    let digest = reply.digest ?? knownDigest;
    return { get digest() { return (digest ??= digestOf(bytes)); }, bytes: reply.bytes, metered: reply.metered, injected: reply.injected, guards: reply.guards, writeGuarded: reply.writeGuarded, exports: reply.exports, stubs: reply.stubs, imported: reply.imported, usesKernel: reply.usesKernel };
  }
  if (reply.admission) throw new AdmissionError(reply.violations);
  throw new Error(reply.message);
}

/**
 * The module must be valid as shipped, for V8 and for our own index check,
 * before anything is rewritten: the rewriter appends globals and functions,
 * and an index that was out of range in the original would name them in the
 * rewritten module (a `global.set 0` in a module without globals would refill
 * the fuel counter). Valid modules name only what they define or import.
 */
function validateAsShipped(module: WasmModule, facts: CodeFacts, v8: string | null): void {
  if (v8 !== null) throw new AdmissionError([{ rule: 'invalid', message: `not a valid module: ${v8}` }]);
  try {
    checkSectionIndices(module);
    // The bodies' indices were checked by the walk admission shared.
    if (facts.indexError) throw facts.indexError;
  } catch (error) {
    if (error instanceof WasmDecodeError) throw new AdmissionError([{ rule: 'invalid', message: `not a valid module: ${error.reason}`, offset: error.offset }]);
    throw error;
  }
}

/** Which imports are granted host functions and which get stubs (admission has refused the rest). */
function linkedImports(module: WasmModule, policy: PrepareConfig, hostFunctions: readonly HostFunctionSignature[]): Pick<Prepared, 'stubs' | 'imported'> {
  const granted = new Set(hostFunctions.map((h) => keyOf(h.module, h.name)));
  const imported = new Set<string>();
  const stubs: LinkPlan['stubs'] = [];
  for (const imp of module.imports) {
    if (imp.desc.kind !== 'func') continue;
    const key = keyOf(imp.module, imp.name);
    if (granted.has(key)) { imported.add(key); continue; }
    if (imp.module === WASI_PREVIEW1 && wasiFunction(imp.name)) continue;
    if (imp.module === EXTISM_MODULE && Object.hasOwn(EXTISM_KERNEL, imp.name)) continue;
    if (policy.unknownImports === 'refuse') continue;
    const type = module.types[imp.desc.typeIndex];
    stubs.push({ module: imp.module, name: imp.name, params: (type?.params ?? []).map(String), results: (type?.results ?? []).map(String), mode: policy.unknownImports });
  }
  return { stubs, imported };
}
