// createSandbox: the one orchestrator every run goes through (`warden run`,
// the library, and the server to come). One policy, many runs:
//   prepare (admission, rewriting; once per digest) → compile (once per
//   digest) → grant (scratch created inside the try that removes it) →
//   execute in the policy's isolation → record.
// The policy's `isolation` is the only source of the mode; the CLI's flags
// change the policy, never the path a run takes.

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileGrant, type RunInputs } from '../policy/compile-grant.js';
import { parsePolicyInput, type PolicyInput } from '../policy/input.js';
import { checkMountSources } from '../policy/mount-sources.js';
import type { Policy } from '../policy/policy.js';
import { RunRefused } from '../wasi/run.js';
import { createScratch, type Scratch } from '../wasi/scratch.js';
import type { SandboxResult } from './execute.js';
import { inlineExecutor, poolExecutor, type Executor, type ReadyModule } from './executors.js';
import { ModuleCache } from './module-cache.js';
import { digestOf, prepare } from './prepare.js';

export type { SandboxResult } from './execute.js';
export { AdmissionError } from './prepare.js';
export { SandboxBusyError, SandboxClosedError } from './isolate-pool.js';

export interface SandboxOptions {
  /** Compiled modules kept (by digest). Default 64. */
  cacheEntries?: number;
  /** Stack size of worker isolates, which bounds guest recursion. Default 4 MiB. */
  stackSizeMb?: number;
  /**
   * One run and then close (the CLI): a single isolate, no warm spare, and
   * its start is not awaited, so it overlaps reading and compiling the module.
   */
  oneShot?: boolean;
  /** Told when an isolate stopped at a deadline has not exited a second later (it still holds its slot). */
  onWedged?: (kind: 'thread' | 'process') => void;
}

export interface Sandbox {
  readonly policy: Policy;
  /** Admits, prepares (once per digest) and runs a module. Rejects with AdmissionError before any guest code runs. */
  run(module: Uint8Array, inputs?: RunInputs): Promise<SandboxResult>;
  /** Runs in progress and waiting. */
  readonly load: { running: number; queued: number };
  /** Isolates replaced, wedged (slow to die after a stop), and stopped but not yet exited. */
  readonly health: { replaced: number; wedged: number; stopping: number };
  close(): Promise<void>;
}

/** Where the compiled entry points live: beside this file, or (from the CLI bundle) under dist/src. */
function entry(name: string): URL {
  const bundled = typeof __dirname === 'string' ? `${__dirname}/../src/sandbox/${name}` : null;
  if (bundled && existsSync(bundled)) return pathToFileURL(bundled);
  return new URL(`./${name}`, import.meta.url);
}

export async function createSandbox(policyInput: Policy | PolicyInput = {}, options: SandboxOptions = {}): Promise<Sandbox> {
  const policy = isPolicy(policyInput) ? policyInput : parsePolicyInput(policyInput);
  checkMountSources(policy);
  const { limits } = policy;
  let executor: Executor;
  if (policy.isolation === 'none') {
    executor = inlineExecutor(options.oneShot ? 0 : limits.queue);
  } else {
    const processEntry = entry('process-entry.js');
    executor = poolExecutor(policy, {
      size: options.oneShot ? 1 : limits.concurrency,
      spares: options.oneShot ? 0 : 1,
      maxQueued: options.oneShot ? 0 : limits.queue,
      stackSizeMb: options.stackSizeMb ?? 4,
      workerEntry: entry('worker-entry.js'),
      processEntry,
      codeDir: fileURLToPath(new URL('../..', processEntry)),
      ...(options.onWedged ? { onWedged: options.onWedged } : {}),
    });
  }
  if (!options.oneShot) await executor.ready();
  const cache = new ModuleCache<ReadyModule>(options.cacheEntries ?? 64);
  const digests = new WeakMap<Uint8Array, string>();
  let running = 0;
  let queued = 0;

  async function ready(bytes: Uint8Array): Promise<ReadyModule> {
    // Hashing on every run would cost more than the run itself for small modules:
    // the same array is recognised by identity (callers must not mutate it afterwards).
    // A one-shot sandbox never sees a second module: no digest is needed (node:crypto stays unloaded).
    let key = options.oneShot ? 'one-shot' : digests.get(bytes);
    if (!key) digests.set(bytes, (key = digestOf(bytes)));
    return cache.get(key, async () => {
      const prepared = prepare(bytes, policy);
      let compiled: WebAssembly.Module;
      try {
        compiled = await WebAssembly.compile(prepared.bytes);
      } catch (error) {
        throw new RunRefused(`the module does not compile: ${(error as Error).message}`);
      }
      return {
        get digest() { return prepared.digest; },
        bytes: prepared.bytes, compiled, metered: prepared.metered,
      };
    });
  }

  async function run(bytes: Uint8Array, inputs: RunInputs = {}): Promise<SandboxResult> {
    const module = await ready(bytes);
    const scratches: Scratch[] = [];
    queued++;
    let counted = true;
    try {
      // Scratch directories are made inside this try: whatever fails after one exists, it is removed.
      const grant = compileGrant(policy, inputs, () => {
        const s = createScratch();
        scratches.push(s);
        return s.path;
      });
      const fuel = module.metered ? limits.fuel : null;
      const pending = executor.run(module, grant, fuel);
      queued--;
      counted = false;
      running++;
      try {
        return await pending;
      } finally {
        running--;
      }
    } finally {
      if (counted) queued--;
      // Removal never fails the run: what cannot be removed is left, never thrown.
      for (const s of scratches) s.remove();
    }
  }

  return {
    policy,
    run,
    get load() { return { running, queued }; },
    get health() { return executor.stats; },
    close: () => executor.close(),
  };
}

function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && Object.isFrozen(value) && 'limits' in value && 'features' in value;
}
