// createSandbox: the one orchestrator every run goes through (`warden run`,
// the library, and the server to come). One policy, many runs:
//   prepare (admission, rewriting; once per digest) → compile (once per
//   digest) → grant (scratch created inside the try that removes it) →
//   execute in the policy's isolation → record.
// The policy's `isolation` is the only source of the mode; the CLI's flags
// change the policy, never the path a run takes.

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileGrant, grantFor, grantTemplate, type RunInputs } from '../policy/compile-grant.js';
import { parsePolicyInput, type PolicyInput } from '../policy/input.js';
import { checkMountSources } from '../policy/mount-sources.js';
import type { Policy } from '../policy/policy.js';
import { RunRefused, type RunEntry } from '../wasi/run.js';
import { createScratch, type Scratch } from '../wasi/scratch.js';
import type { SandboxResult } from './execute.js';
import { inlineExecutor, poolExecutor, type Executor, type ReadyModule } from './executors.js';
import type { FuncType } from '../binary/types.js';
import type { KernelOutcome } from '../plugin/extism-kernel.js';
import { ModuleCache } from './module-cache.js';
import { configHash, prepareConfig } from './prepare-config.js';
import { PreparedCache, sharedPreparedCache, digestFor, prepareModule, type PreparedModule } from './prepared-cache.js';
import { PreparedStore } from './prepared-store.js';
import { SharedPool, type SharedPoolOptions } from './shared-pool.js';
import { AdmissionError as Refusal } from './admission-error.js';
import { entryViolations } from './entry-admission.js';
import { loadHostBody, validateHostFunctions, type HostFunctionBody, type HostFunctionGrant, type LinkPlan } from './host-functions.js';
import { RunRefused as Refused } from '../wasi/run.js';
import { openPluginSession, type PluginCallResult, type PluginOutcome, type PluginSession } from './plugin-session.js';
import { pluginEntryViolations } from './plugin-entry.js';
import type { InstancePolicy } from './warm-instance.js';
import { toWasmValue, ValueError, type NumType } from '../wasi/values.js';
import { originalFrames, type FrameMap } from '../wasi/trap.js';
import { originalFunctionIndex, type InjectedFunctions } from '../transform/injected.js';
import { SandboxClosedError } from './isolate-pool.js';

/** Maps trap frames of a rewritten module back to the module as shipped. */
function frameMap(injected: InjectedFunctions): FrameMap {
  return {
    original: (index) => originalFunctionIndex(index, injected),
    added: (index) => (index === injected.checkpoint ? 'checkpoint' : 'start-wrapper'),
  };
}

export type { SandboxResult } from './execute.js';
export { AdmissionError } from './admission-error.js';
export { SandboxBusyError, SandboxClosedError } from './isolate-pool.js';
export type { SharedPool, SharedPoolOptions } from './shared-pool.js';

type SandboxModule = PreparedModule;

export type { PluginOutcome, PluginSession, PluginCallResult } from './plugin-session.js';
export type { InstancePolicy } from './warm-instance.js';

export interface SandboxOptions {
  /**
   * Where prepared and compiled modules are kept: by default the process's
   * one shared cache (sandboxes with the same admission and rewrite config
   * share one compiled module per module digest); another PreparedCache
   * (new PreparedCache({ maxBytes })); or false for none shared: this sandbox prepares
   * each module itself, once, and keeps it while it lives.
   */
  cache?: PreparedCache | false;
  /**
   * An on-disk cache of admission verdicts and rewritten modules behind the
   * in-memory one (docs/cache.md): `warden run` uses <data dir>/cache/prepared.
   * Default none. `log` is told why an entry was not used (a bad one is never
   * trusted) or not written.
   */
  cacheDir?: string | { dir: string; maxBytes?: number; log?: (line: string) => void };
  /** Stack size of worker isolates, which bounds guest recursion. Default 4 MiB. */
  stackSizeMb?: number;
  /**
   * One run and then close (the CLI): a single isolate, no warm spare, and
   * its start is not awaited, so it overlaps reading and compiling the module.
   * The module is prepared on the caller's thread, and a hit in `cacheDir`
   * compiles with V8's lazy validation (docs/cache.md): for a process that
   * runs nothing else meanwhile.
   */
  oneShot?: boolean;
  /**
   * The module bytes given to a run are this sandbox's to overwrite: a hit in
   * `cacheDir`, or (with `oneShot`) a module prepared afresh, has its
   * rewritten module built over them (and the room after them in their
   * buffer) rather than in a fresh copy, which a 31 MB module pays for in
   * page faults. For bytes read for one run alone (the CLI's): after the run
   * they hold what the rewrite made of the module's first bytes.
   */
  overwriteModuleBytes?: boolean;
  /** Told when an isolate stopped at a deadline has not exited a second later (it still holds its slot). */
  onWedged?: (kind: 'thread' | 'process') => void;
  /**
   * Host functions granted to every module this sandbox runs, by module, name
   * and exact signature (docs/plugins.md). Admission refuses imports that
   * match none of them (nor WASI) and imports whose signature differs.
   */
  hostFunctions?: readonly HostFunctionGrant[];
  /**
   * Thread isolation: schedule runs into this shared pool (createSharedPool)
   * instead of starting workers of this sandbox's own. The policy's
   * concurrency and queue still bound this sandbox's runs in it; close() of
   * the sandbox leaves the pool running. Process and inline isolation ignore it.
   * The workers' stack size and wedged reports are then the pool's (its options).
   */
  pool?: SharedPool;
}

/**
 * A pool of worker isolates several sandboxes run their thread-isolated
 * guests in, whatever their policies (each run's grant crosses into the
 * worker as data; nothing is kept between runs). Its owner closes it.
 */
export function createSharedPool(options: SharedPoolOptions): SharedPool {
  return new SharedPool({ ...options, workerEntry: entry('worker-entry') });
}

export interface Sandbox {
  readonly policy: Policy;
  /** Admits, prepares (once per digest) and runs a module. Rejects with AdmissionError before any guest code runs. */
  run(module: Uint8Array, inputs?: RunInputs): Promise<SandboxResult>;
  /**
   * Calls one exported function with numeric arguments (numbers, bigints for
   * i64, or strings parsed per the parameter's type), after the module's
   * `_initialize` if it has one. Same admission, limits and record as `run`;
   * the record's `results` holds what the function returned.
   */
  invoke(module: Uint8Array, name: string, ...args: Array<number | bigint | string>): Promise<SandboxResult>;
  /**
   * Calls a plugin function through the Extism kernel ABI: `input` in, the
   * plugin's output bytes out (`result.plugin.output`), its error message if
   * it set one or returned non-zero. Config comes from the policy's [plugin]
   * table; variables are kept by this sandbox, per module, between calls.
   */
  callPlugin(module: Uint8Array, name: string, input?: Uint8Array | string): Promise<SandboxResult & { plugin: PluginOutcome }>;
  /**
   * Opens a plugin session: calls on it reuse one instance in one isolate
   * (`instances: 'warm'`, the default) or get a new one each (`'fresh'`);
   * kernel state, fuel and the deadline are per call (docs/plugins.md).
   * Process isolation serves each call as callPlugin does.
   */
  plugin(module: Uint8Array, options?: { instances?: InstancePolicy }): Promise<PluginSession>;
  /** Runs in progress and waiting. */
  readonly load: { running: number; queued: number };
  /** Isolates replaced, wedged (slow to die after a stop), and stopped but not yet exited. */
  readonly health: { replaced: number; wedged: number; stopping: number };
  close(): Promise<void>;
}

/**
 * Where an isolate's entry lives. From the CLI bundle (dist/cli), the entry's
 * own one-file CJS bundle beside it: an ESM entry costs each new isolate about
 * 25 ms of module resolution and linking (docs/RATIONALE.md). From the library
 * (ESM), the compiled entry beside this file, or under dist/src from a bundle
 * built without its entries.
 */
function entry(name: string): URL {
  if (typeof __dirname === 'string') {
    const bundle = `${__dirname}/${name}.cjs`;
    if (existsSync(bundle)) return pathToFileURL(bundle);
    const compiled = `${__dirname}/../src/sandbox/${name}.js`;
    if (existsSync(compiled)) return pathToFileURL(compiled);
  }
  return new URL(`./${name}.js`, import.meta.url);
}

/** The directory a process isolate must read to start: dist, which holds its entry (bundled or not) and native addons. */
function codeDirOf(processEntry: URL): string {
  return fileURLToPath(new URL(processEntry.pathname.endsWith('.cjs') ? '..' : '../..', processEntry));
}

export async function createSandbox(policyInput: Policy | PolicyInput = {}, options: SandboxOptions = {}): Promise<Sandbox> {
  const policy = isPolicy(policyInput) ? policyInput : parsePolicyInput(policyInput);
  checkMountSources(policy);
  const hostFunctions = validateHostFunctions(options.hostFunctions ?? []);
  // Isolation "none" calls every body on this thread: modules named by `from` are loaded here, once.
  const localBodies = new Map<number, HostFunctionBody>();
  if (policy.isolation === 'none') {
    for (const [i, g] of hostFunctions.entries()) localBodies.set(i, g.fn ?? await loadHostBody(g.from!));
  }
  const shared = policy.isolation === 'thread' && !options.oneShot ? options.pool : undefined;
  if (shared && hostFunctions.some((g) => g.from)) {
    // A worker loads a host function module once and keeps it: in a shared worker its module state would reach other sandboxes' runs.
    throw new TypeError('a sandbox on a shared pool takes host functions as closures (fn), not { from } modules, which a shared worker would keep across sandboxes');
  }
  const { limits } = policy;
  // The grant's part that is the same for every run, made once (null when a mount needs scratch per run).
  const template = grantTemplate(policy);
  let executor: Executor;
  if (policy.isolation === 'none') {
    executor = inlineExecutor(options.oneShot ? 0 : limits.queue);
  } else {
    const processEntry = entry('process-entry');
    executor = poolExecutor(policy, {
      size: options.oneShot ? 1 : limits.concurrency,
      spares: options.oneShot ? 0 : 1,
      maxQueued: options.oneShot ? 0 : limits.queue,
      stackSizeMb: options.stackSizeMb ?? 4,
      workerEntry: entry('worker-entry'),
      processEntry,
      codeDir: codeDirOf(processEntry),
      hostModules: hostFunctions.flatMap((g) => (g.from ? [g.from.path] : [])),
      // Closures under process isolation travel through a relay thread on each side (docs/RATIONALE.md).
      ...(policy.isolation === 'process' && hostFunctions.some((g) => g.fn)
        ? { closureRelay: { parentRelay: entry('closure-relay-parent'), childRelay: fileURLToPath(entry('closure-relay-child')), functions: hostFunctions.length } }
        : {}),
      ...(options.onWedged ? { onWedged: options.onWedged } : {}),
      ...(shared ? { shared } : {}),
    });
  }
  if (!options.oneShot) await executor.ready();
  // Everything preparing a module reads of the policy and the grants, hashed once: the cache's key beside the digest.
  // The entry (`_start` or an export) is admitted per run: one prepared module serves both.
  // A one-shot run (the CLI) makes one instance: it keeps the module's own memory, as nothing would be lent twice.
  const config = prepareConfig(policy, hostFunctions, null, !options.oneShot);
  const store = options.cacheDir === undefined ? null : new PreparedStore(typeof options.cacheDir === 'string' ? { dir: options.cacheDir } : options.cacheDir);
  // A one-shot run without a disk cache never sees a second module: no digest is needed (node:crypto stays unloaded).
  const ownCache = options.cache === false || (options.oneShot && !store);
  const sharedCache = ownCache ? null : options.cache || sharedPreparedCache();
  const configKey = sharedCache ? configHash(config) : '';
  const own = ownCache ? new ModuleCache<SandboxModule>(Number.MAX_SAFE_INTEGER, () => 0) : null;
  let running = 0;
  let queued = 0;

  // Set by close(): every later run, invoke, plugin call or session is refused, whatever the isolation
  // (an isolation of 'none' has no pool of its own to refuse it, and admission would otherwise answer first).
  let closed = false;

  function ready(bytes: Uint8Array): Promise<SandboxModule> {
    if (closed) return Promise.reject(new SandboxClosedError('the sandbox is closed'));
    // A one-shot run (the CLI) compiles nothing else meanwhile: a disk hit may compile with lazy validation,
    // and a module is prepared on this thread, whose event loop has nothing else to serve.
    const once = { lazyValidationOnHit: options.oneShot === true, prepareInline: options.oneShot === true, overwriteBytes: options.overwriteModuleBytes === true };
    if (sharedCache) return sharedCache.get(bytes, config, configKey, store, once);
    const key = options.oneShot ? 'one-shot' : digestFor(bytes);
    return own!.get(key, () => prepareModule(bytes, config, key, once));
  }

  /** The host functions and stubs a module's run links. */
  function planFor(module: SandboxModule): LinkPlan {
    const via = policy.isolation === 'none' ? 'here' as const : undefined;
    return {
      stubs: module.stubs,
      hosted: hostFunctions.flatMap((g, index) => module.imported.has(`${g.module}\u0000${g.name}`)
        ? [{ module: g.module, name: g.name, params: g.params, results: g.results, index, via: via ?? (g.fn ? 'channel' as const : 'loaded' as const), ...(g.from ? { from: g.from } : {}) }]
        : []),
    };
  }

  function run(bytes: Uint8Array, inputs: RunInputs = {}): Promise<SandboxResult> {
    return execute(bytes, inputs, null);
  }

  async function invoke(bytes: Uint8Array, name: string, ...args: Array<number | bigint | string>): Promise<SandboxResult> {
    if (typeof name !== 'string') throw new TypeError('invoke: the function name must be a string');
    return execute(bytes, {}, { name, args });
  }

  // http_request's grant, as the kernel takes it (admission refuses the import without one, and outside thread isolation).
  const httpGrant = policy.plugin.httpHosts.length > 0 ? { http: { origins: policy.plugin.httpHosts, maxResponseBytes: policy.plugin.httpResponseBytes } } : {};

  // Plugin variables between calls, per module (bounded by the policy's plugin.vars), dropped with the sandbox.
  const pluginVars = new Map<string, Array<[string, Uint8Array]>>();

  async function callPlugin(bytes: Uint8Array, name: string, input: Uint8Array | string = new Uint8Array(0)): Promise<SandboxResult & { plugin: PluginOutcome }> {
    if (typeof name !== 'string') throw new TypeError('callPlugin: the function name must be a string');
    const data = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    if (!(data instanceof Uint8Array)) throw new TypeError('callPlugin: input must be a Uint8Array or a string');
    const result = await execute(bytes, {}, { name, args: [] }, data);
    if (!result.plugin) {
      // Killed at the deadline (the kernel's state stayed in the isolate): no output, no error of the plugin's own.
      result.plugin = { output: new Uint8Array(0), error: null, logs: [], logsDropped: 0, memoryBytes: 0, rc: null };
    }
    return result as SandboxResult & { plugin: PluginOutcome };
  }

  async function execute(bytes: Uint8Array, inputs: RunInputs, call: { name: string; args: Array<number | bigint | string> } | null, pluginInput?: Uint8Array): Promise<SandboxResult> {
    const module = await ready(bytes);
    if (pluginInput && call) {
      const notPlugin = pluginEntryViolations(module.exports, call.name);
      if (notPlugin.length) throw new Refusal(notPlugin);
    }
    // The entry is admitted per run: `_start` for run, the named export (with numeric parameters) for invoke.
    const refused = entryViolations(module.exports, call ? call.name : '_start');
    if (refused.length) throw new Refusal(refused);
    let entry: RunEntry = { kind: 'start' };
    if (call) {
      const type = module.exports.get(call.name)!;
      if (call.args.length !== type.params.length) throw new Refused(`${call.name} takes ${type.params.length} argument${type.params.length === 1 ? '' : 's'} (${type.params.join(', ')}), given ${call.args.length}`);
      try {
        const args = call.args.map((a, i) => toWasmValue(a, type.params[i] as NumType, `argument ${i + 1} (${type.params[i]})`));
        entry = { kind: 'invoke', name: call.name, args, results: type.results as NumType[] };
      } catch (error) {
        if (error instanceof ValueError) throw new Refused(`${call.name}: ${error.message}`);
        throw error;
      }
    }
    const scratches: Scratch[] = [];
    queued++;
    let counted = true;
    try {
      // Scratch directories are made inside this try: whatever fails after one exists, it is removed.
      const grant = template ? grantFor(template, inputs) : compileGrant(policy, inputs, () => {
        const s = createScratch();
        scratches.push(s);
        return s.path;
      });
      const fuel = module.metered ? limits.fuel : null;
      const kernel = module.usesKernel ? {
        input: pluginInput ?? new Uint8Array(0),
        config: policy.plugin.config,
        vars: pluginInput ? pluginVars.get(module.key) ?? [] : [],
        limits: { memoryBytes: policy.plugin.memoryBytes, varBytes: policy.plugin.varBytes, logLines: policy.plugin.logLines },
        ...httpGrant,
      } : undefined;
      const pending = executor.run(module, grant, fuel, { entry, plan: planFor(module), bodies: localBodies, grants: hostFunctions, ...(kernel ? { kernel } : {}) });
      queued--;
      counted = false;
      running++;
      try {
        const result = await pending;
        if (entry.kind === 'invoke') result.resultTypes = entry.results;
        // The engine numbers frames in the rewritten module; the report names the module's own functions.
        if (result.trap?.stack) result.trap.stack = originalFrames(result.trap.stack, frameMap(module.injected));
        if (result.plugin) {
          const { vars, ...outcome } = result.plugin as KernelOutcome;
          if (pluginInput) pluginVars.set(module.key, vars);
          const rc = result.exitCode === 0 ? Number(result.results?.[0] ?? 0) : null;
          result.plugin = { ...outcome, rc };
        }
        if (module.stubs.length > 0) result.unknownImports = { mode: policy.unknownImports as 'trap' | 'zero', imports: [...new Set(module.stubs.map((s) => `${s.module}.${s.name}`))] };
        return result;
      } finally {
        running--;
      }
    } finally {
      if (counted) queued--;
      // Removal never fails the run: what cannot be removed is left, never thrown.
      for (const s of scratches) s.remove();
    }
  }

  // Open plugin sessions: closed with the sandbox.
  const sessions = new Set<PluginSession>();

  async function plugin(bytes: Uint8Array, sessionOptions: { instances?: InstancePolicy } = {}): Promise<PluginSession> {
    const instances = sessionOptions.instances ?? 'warm';
    if (instances !== 'warm' && instances !== 'fresh') throw new TypeError(`plugin: instances must be 'warm' or 'fresh', not ${JSON.stringify(instances)}`);
    const module = await ready(bytes);
    if (policy.isolation === 'process') {
      // A child process keeps no instance for a session: each call is a callPlugin (a fresh instance).
      return { call: (name, input) => callPlugin(bytes, name, input), get instances() { return 0; }, close: async () => {} };
    }
    if (!module.usesKernel) throw new Refused('plugin: the module imports nothing of the Extism kernel (extism:host/env); use invoke');
    const scratches: Scratch[] = [];
    // One grant for the session's life: scratch directories live until close().
    const grant = compileGrant(policy, {}, () => {
      const s = createScratch();
      scratches.push(s);
      return s.path;
    });
    const session = openPluginSession({
      isolation: policy.isolation as 'none' | 'thread', instances,
      module: module.compiled, wasi: WebAssembly.Module.imports(module.compiled).some((i) => i.module === 'wasi_snapshot_preview1'), grant, fuel: module.metered ? limits.fuel : null, guards: module.guards ?? [],
      writeGuarded: module.writeGuarded ?? [], plan: planFor(module), grants: hostFunctions, bodies: localBodies,
      kernel: { config: policy.plugin.config, limits: { memoryBytes: policy.plugin.memoryBytes, varBytes: policy.plugin.varBytes, logLines: policy.plugin.logLines }, ...httpGrant },
      vars: { get: () => pluginVars.get(module.key) ?? [], set: (vars) => pluginVars.set(module.key, vars) },
      admit: (name) => {
        const refused = [...entryViolations(module.exports, name), ...pluginEntryViolations(module.exports, name)];
        if (refused.length) throw new Refusal(refused);
        return module.exports.get(name)!.results.length === 1;
      },
      finish: (record: PluginCallResult) => {
        record.resultTypes = record.results?.length ? ['i32'] : [];
        if (record.trap?.stack) record.trap.stack = originalFrames(record.trap.stack, frameMap(module.injected));
        if (module.stubs.length > 0) record.unknownImports = { mode: policy.unknownImports as 'trap' | 'zero', imports: [...new Set(module.stubs.map((s) => `${s.module}.${s.name}`))] };
        return record;
      },
      workerEntry: entry('plugin-worker'),
      stackSizeMb: options.stackSizeMb ?? 4,
    });
    const handle: PluginSession = {
      call: (name, input) => session.call(name, input),
      get instances() { return session.instances; },
      close: async () => {
        sessions.delete(handle);
        try {
          await session.close();
        } finally {
          for (const s of scratches) s.remove();
        }
      },
    };
    sessions.add(handle);
    return handle;
  }

  return {
    policy,
    run,
    invoke,
    callPlugin,
    plugin,
    get load() { return { running, queued }; },
    get health() { return executor.stats; },
    close: async () => {
      closed = true;
      await Promise.all([...sessions].map((s) => s.close()));
      await executor.close();
    },
  };
}

function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && Object.isFrozen(value) && 'limits' in value && 'features' in value;
}
