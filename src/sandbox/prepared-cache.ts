// Prepared and compiled modules, shared by every sandbox of the process: the
// server's thousand tenants running the same bytes under the same admission
// and rewrite configuration hold one prepared module and one compiled
// WebAssembly.Module (which posts to worker isolates without recompiling).
//
// The key is the SHA-256 of the module as shipped (never of rewritten bytes)
// and the hash of the prepare config (prepare-config.ts: everything admission
// and the rewrites read). Behind it, optionally, the on-disk store
// (prepared-store.ts), whose key adds the build of wasm-warden. A hit, from
// memory or disk, is what a fresh preparation of the same original bytes
// under the same config gives: the same verdict, the same rewritten bytes.

import { createRequire } from 'node:module';
import { RunRefused } from '../wasi/run.js';
import type { FuncType } from '../binary/types.js';
import type { InjectedFunctions } from '../transform/index.js';
import type { ReadyModule } from './executors.js';
import type { LinkPlan } from './host-functions.js';
import { ModuleCache } from './module-cache.js';
import { packageVersionFrom } from '../version.js';
import { codeHashOf } from './code-hash.js';
import { AdmissionError } from './admission-error.js';
import { digestOf } from './digest.js';
import type { Prepared } from './prepare.js';
import { differsOnlyInLimits } from './limits-only.js';
import type { PrepareConfig } from './prepare-config.js';
import type { PreparedStore } from './prepared-store.js';

/** A module ready to run, with what each run needs to admit its entry and link its imports. */
export interface PreparedModule extends ReadyModule {
  exports: Map<string, FuncType>;
  stubs: LinkPlan['stubs'];
  imported: Set<string>;
  usesKernel: boolean;
  /** The cache key: a plugin's variables are kept under it between calls. */
  key: string;
  /** The functions the rewriter added: trap frames are mapped back to the module as shipped. */
  injected: InjectedFunctions;
  /** Where it came from: prepared here, or the on-disk cache. */
  source: 'prepared' | 'disk';
}

export interface PreparedCacheOptions {
  /** Bound on what the kept modules cost, bytes (their rewritten bytes twice: ours and the engine's copy). Default 256 MiB. */
  maxBytes?: number;
}

export interface LoadOptions {
  /**
   * A module from the on-disk cache is compiled with V8's lazy validation:
   * each function is validated when first called rather than all up front
   * (a 31 MB module: about 25 ms instead of 110). Only for a process that
   * compiles nothing else meanwhile (the CLI's one run): the switch is V8's,
   * for the whole process, while the compile lasts. So is a module prepared
   * afresh whose rewrite changed only maxima (limits-only.ts): its bodies
   * are the original's, which V8 validated whole before the rewrite.
   */
  lazyValidationOnHit?: boolean;
  /**
   * Prepare on this thread even a large module: for a process whose event
   * loop has nothing else to do (the CLI's one run), the preparing worker's
   * start and the copies to it and back are pure cost (about 70 ms for 31 MB).
   */
  prepareInline?: boolean;
  /**
   * The bytes are given over (the CLI's one run, which reads them for it
   * alone): a hit on disk, or a module prepared here (prepareInline), may
   * have its rewritten module built over them instead of in a fresh copy.
   * They then hold the rewritten module's first bytes, not the module they held.
   */
  overwriteBytes?: boolean;
  /**
   * Told, during the call, when memory held nothing for the key and this
   * call loads the module (from the store, else prepared afresh): how the
   * server counts real compiles per tenant. The module's `source` then says which.
   */
  onMiss?: () => void;
}

export const DEFAULT_MEMORY_CACHE_BYTES = 256 * 1024 * 1024;

/** What one kept module costs: the rewritten bytes held here, the engine's copy inside the compiled module, and a page for the rest. */
function costOf(module: PreparedModule): number {
  return 2 * module.bytes.length + 4096;
}

export class PreparedCache {
  private readonly modules: ModuleCache<PreparedModule>;

  constructor(options: PreparedCacheOptions = {}) {
    this.modules = new ModuleCache(options.maxBytes ?? DEFAULT_MEMORY_CACHE_BYTES, costOf);
  }

  /** Modules kept, and what they cost. */
  get size(): number { return this.modules.size; }
  get bytes(): number { return this.modules.bytes; }

  /**
   * The prepared and compiled module for `bytes` under `config` (whose hash
   * is `configKey`): from memory, else from `store`, else prepared and
   * compiled afresh (and stored). Rejects with AdmissionError as a fresh
   * preparation would. `bytes` must not change afterwards (recognised by identity).
   */
  get(bytes: Uint8Array, config: PrepareConfig, configKey: string, store: PreparedStore | null = null, options: LoadOptions = {}): Promise<PreparedModule> {
    const digest = digestFor(bytes);
    const key = `${digest}/${configKey}`;
    return this.modules.get(key, () => {
      options.onMiss?.();
      return load(bytes, digest, key, config, configKey, store, options);
    }, 2 * bytes.length + 4096);
  }

  /** Forgets every kept module (modules already handed out stay usable). */
  clear(): void {
    this.modules.clear();
  }
}

let processCache: PreparedCache | undefined;

/** The process's one shared cache: every sandbox uses it unless given another (or none). */
export function sharedPreparedCache(): PreparedCache {
  return (processCache ??= new PreparedCache());
}

// Digests by array identity: hashing a module on every run would cost more than a small module's run.
const digests = new WeakMap<Uint8Array, string>();

export function digestFor(bytes: Uint8Array): string {
  let digest = digests.get(bytes);
  if (!digest) digests.set(bytes, (digest = digestOf(bytes)));
  return digest;
}

/** Prepared and compiled afresh, kept by no cache (a sandbox given `cache: false`). */
export function prepareModule(bytes: Uint8Array, config: PrepareConfig, key: string, options: LoadOptions = {}): Promise<PreparedModule> {
  return load(bytes, undefined, key, config, '', null, options);
}

/** From the store, else fresh; a fresh outcome (admitted or refused) is stored. */
async function load(bytes: Uint8Array, digest: string | undefined, key: string, config: PrepareConfig, configKey: string, store: PreparedStore | null, options: LoadOptions = {}): Promise<PreparedModule> {
  const entryKey = store && digest ? { digest, config: configKey, version: buildId() } : null;
  const stored = store && entryKey ? store.read(entryKey, bytes, options.overwriteBytes === true) : null;
  if (stored?.verdict === 'refused') throw new AdmissionError(stored.violations);
  if (stored) {
    // Built over `bytes`: they no longer hold the module their digest names.
    if (stored.prepared.bytes.buffer === bytes.buffer) digests.delete(bytes);
    return ready(stored.prepared, key, 'disk', options.lazyValidationOnHit === true);
  }
  let prepared: Prepared;
  try {
    // Admission, decoding and rewriting load on a miss only: a hit runs without their code (about 60 modules).
    const { prepareWith, prepareAsyncWith } = await import('./prepare.js');
    prepared = options.prepareInline ? prepareWith(bytes, config, digest, options.overwriteBytes === true) : await prepareAsyncWith(bytes, config, digest);
  } catch (error) {
    if (error instanceof AdmissionError && store && entryKey) store.write(entryKey, bytes, { verdict: 'refused', violations: [...error.violations] });
    throw error;
  }
  // Laid over `bytes`: they no longer hold the module their digest names, and the plan was asked whether only maxima changed.
  if (prepared.overwritten) digests.delete(bytes);
  // V8 validated the original whole a moment ago: if the rewrite changed only maxima, its bodies are the ones V8 passed.
  const bodiesValidated = options.lazyValidationOnHit === true && (prepared.overwritten ? prepared.overwritten.limitsOnly : differsOnlyInLimits(bytes, prepared.bytes));
  const module = await ready(prepared, key, 'prepared', bodiesValidated);
  // Stored only once the engine has compiled the rewritten bytes: an entry never holds what V8 refused.
  if (store && entryKey) store.write(entryKey, bytes, { verdict: 'admitted', prepared });
  return module;
}

async function ready(prepared: Prepared, key: string, source: PreparedModule['source'], lazyValidation = false): Promise<PreparedModule> {
  let compiled: WebAssembly.Module;
  try {
    // Asynchronous: the engine's validation and compile stay off the caller's event loop.
    // Large modules were prepared on a worker thread (prepareAsync) for the same reason.
    compiled = lazyValidation && prepared.bytes.length >= LAZY_VALIDATION_FROM ? compileValidatedBefore(prepared.bytes) : await WebAssembly.compile(prepared.bytes);
  } catch (error) {
    throw new RunRefused(`the module does not compile: ${(error as Error).message}`);
  }
  return {
    digest: prepared.digest, bytes: prepared.bytes, compiled, metered: prepared.metered, guards: prepared.guards, writeGuarded: prepared.writeGuarded, injected: prepared.injected,
    exports: prepared.exports, stubs: prepared.stubs, imported: prepared.imported, usesKernel: prepared.usesKernel, key, source,
  };
}

let v8: typeof import('node:v8') | undefined;
/**
 * The size from which a hit compiles with lazy validation. The flag is set through node:v8,
 * whose loading costs a start about as much as loading node:crypto (16 M instructions,
 * some 5 ms here); V8 validates about 400 MB/s, so below a few MiB validating
 * again costs less than the module that turns it off.
 */
const LAZY_VALIDATION_FROM = 2 * 1024 * 1024;

/**
 * Compiles bytes V8 has validated whole before, in a process like this one:
 * an entry is written only after the engine compiled exactly these bytes
 * (the original's sections, which hash to the key's digest, and the
 * rewritten ones, under the entry's MAC). Lazy validation defers, never
 * skips: a function is validated before it is first compiled, and one that
 * fails throws a CompileError at its first call. The flag is V8's, for the
 * whole process, so it is on only for this synchronous compile.
 */
function compileValidatedBefore(bytes: Uint8Array): WebAssembly.Module {
  const load = typeof require === 'function' ? require : createRequire(import.meta.url);
  v8 ??= load('node:v8') as typeof import('node:v8');
  v8.setFlagsFromString('--wasm-lazy-validation');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    v8.setFlagsFromString('--no-wasm-lazy-validation');
  }
}

let build: string | undefined;
/** The code hash the bundler computed for the CLI bundle (code-hash.ts); absent when running from dist/src. */
declare const WARDEN_CODE_HASH: string | undefined;

/**
 * Which wasm-warden prepared an entry: its version and the hash of its code
 * (code-hash.ts), so a rewriter changed without a new version number never
 * reads entries an older one wrote.
 */
export function buildId(): string {
  if (build) return build;
  const bundled = typeof __filename === 'string' && __filename.endsWith('.cjs');
  const src = bundled ? `${__dirname}/../src` : new URL('..', import.meta.url).pathname;
  const code = typeof WARDEN_CODE_HASH === 'string' ? WARDEN_CODE_HASH : codeHashOf(src);
  return (build = `${packageVersionFrom(bundled ? `${__dirname}/..` : `${src}/..`)}+${code}`);
}
