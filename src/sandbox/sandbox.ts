// createSandbox: one policy, many runs. Modules are admitted, rewritten and
// compiled once per digest; each run gets a fresh instance, fresh descriptors
// and fresh scratch space in an isolate of the policy's kind, and nothing
// carries from one run to the next.

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileGrant, type RunInputs } from '../policy/compile-grant.js';
import { parsePolicyInput, type PolicyInput } from '../policy/input.js';
import { checkMountSources } from '../policy/mount-sources.js';
import type { Policy } from '../policy/policy.js';
import { RunRefused } from '../wasi/run.js';
import { createScratch, type Scratch } from '../wasi/scratch.js';
import type { SandboxResult } from './execute.js';
import { IsolatePool, type PoolOutcome } from './isolate-pool.js';
import { processIsolate, workerIsolate } from './isolates.js';
import { ModuleCache } from './module-cache.js';
import { digestOf, prepare, type Prepared } from './prepare.js';

export type { SandboxResult } from './execute.js';
export { AdmissionError } from './prepare.js';
export { SandboxBusyError, SandboxClosedError } from './isolate-pool.js';

export interface SandboxOptions {
  /** Compiled modules kept (by digest). Default 64. */
  cacheEntries?: number;
  /** Stack size of worker isolates, which bounds guest recursion. Default 4 MiB. */
  stackSizeMb?: number;
}

export interface Sandbox {
  readonly policy: Policy;
  /** Admits, prepares (once per digest) and runs a module. Rejects with AdmissionError before any guest code runs. */
  run(module: Uint8Array, inputs?: RunInputs): Promise<SandboxResult>;
  /** Runs in progress and waiting. */
  readonly load: { running: number; queued: number };
  close(): Promise<void>;
}

/** Where the compiled entry points live: beside this file, or (from the CLI bundle) under dist/src. */
function entry(name: string): URL {
  const bundled = typeof __dirname === 'string' ? `${__dirname}/../src/sandbox/${name}` : null;
  if (bundled && existsSync(bundled)) return pathToFileURL(bundled);
  return new URL(`./${name}`, import.meta.url);
}

interface ReadyModule {
  prepared: Prepared;
  compiled: WebAssembly.Module;
}

export async function createSandbox(policyInput: Policy | PolicyInput = {}, options: SandboxOptions = {}): Promise<Sandbox> {
  const policy = isPolicy(policyInput) ? policyInput : parsePolicyInput(policyInput);
  checkMountSources(policy);
  const { limits } = policy;
  const workerEntry = entry('worker-entry.js');
  const processEntry = fileURLToPath(entry('process-entry.js'));
  const codeDir = fileURLToPath(new URL('../..', entry('process-entry.js')));
  const hostMounts = policy.mounts.flatMap((m) => (m.kind === 'host' ? [m] : []));
  const spawn = policy.isolation === 'process'
    ? () => processIsolate(processEntry, {
      codeDir,
      readPaths: hostMounts.filter((m) => m.readOnly).map((m) => `${m.host}/*`),
      writePaths: hostMounts.filter((m) => !m.readOnly).map((m) => `${m.host}/*`),
      writable: policy.mounts.some((m) => m.kind === 'tmpfs' || (m.kind === 'host' && !m.readOnly)),
    })
    : () => workerIsolate(workerEntry, { stackSizeMb: options.stackSizeMb ?? 4 });
  const pool = new IsolatePool<unknown, { ok: boolean; value?: SandboxResult; refused?: boolean; message?: string }>({
    spawn, size: limits.concurrency, maxQueued: limits.queue, spares: 1,
  });
  await pool.ready();
  const cache = new ModuleCache<ReadyModule>(options.cacheEntries ?? 64);
  const digests = new WeakMap<Uint8Array, string>();
  let running = 0;
  let queued = 0;

  async function run(bytes: Uint8Array, inputs: RunInputs = {}): Promise<SandboxResult> {
    // Hashing on every run would cost more than the run itself for small modules:
    // the same array is recognised by identity (callers must not mutate it afterwards).
    let key = digests.get(bytes);
    if (!key) digests.set(bytes, (key = digestOf(bytes)));
    const ready = await cache.get(key, async () => {
      const prepared = prepare(bytes, policy);
      return { prepared, compiled: await WebAssembly.compile(prepared.bytes) };
    });
    const scratches: Scratch[] = [];
    const grant = compileGrant(policy, inputs, () => {
      const s = createScratch();
      scratches.push(s);
      return s.path;
    });
    const fuel = ready.prepared.metered ? limits.fuel : null;
    const job = policy.isolation === 'process'
      ? { digest: ready.prepared.digest, bytes: ready.prepared.bytes, grant, fuel }
      : { module: ready.compiled, grant, fuel, watchdog: false };
    const started = performance.now();
    queued++;
    let outcome: PoolOutcome<{ ok: boolean; value?: SandboxResult; refused?: boolean; message?: string }>;
    try {
      const pending = pool.run(job, limits.timeoutMs);
      queued--;
      running++;
      try {
        outcome = await pending;
      } finally {
        running--;
      }
    } catch (error) {
      queued = Math.max(0, queued - 1);
      for (const s of scratches) s.remove();
      throw error;
    }
    for (const s of scratches) s.remove();
    if (outcome.kind === 'done') {
      if (outcome.result.ok) return outcome.result.value!;
      if (outcome.result.refused) throw new RunRefused(outcome.result.message ?? 'refused');
      throw new Error(outcome.result.message ?? 'the run failed');
    }
    const trap = outcome.kind === 'deadline'
      ? { kind: 'deadline' as const, message: 'the run reached its deadline' }
      : { kind: 'other' as const, message: `the isolate failed: ${outcome.message}` };
    return {
      exitCode: null, trap, stdout: new Uint8Array(0), stderr: new Uint8Array(0),
      limitsHit: outcome.kind === 'deadline' ? ['timeout'] : [], denied: [], deniedCount: 0, fuelUsed: null,
      usage: { wallMs: performance.now() - started, bytesWritten: 0, filesCreated: 0, outputBytes: 0, peakMemoryBytes: 0 },
    };
  }

  return {
    policy,
    run,
    get load() { return { running, queued }; },
    close: () => pool.close(),
  };
}

function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && Object.isFrozen(value) && 'limits' in value && 'features' in value;
}
