// How a sandbox runs a prepared module under a grant, one strategy per
// isolation mode. Each answers with a complete record, also when the run is
// ended by its deadline:
//  - none:    on the caller's thread, under a V8 watchdog; stdio over
//             non-blocking descriptors; the record is built in the thread.
//  - thread:  in a pooled worker; stdio, counters and denials cross the
//             channel, so a worker terminated at the deadline leaves its
//             record on the host side.
//  - process: in a pooled child process that stops its own guest at the
//             deadline and reports; one that cannot is SIGKILLed and leaves
//             only the trap (SECURITY.md says what is lost).

import { fileURLToPath } from 'node:url';
import type { Policy } from '../policy/policy.js';
import type { GrantSpec } from '../wasi/grant.js';
import type { TrapKind } from '../wasi/trap.js';
import { createWasiHost, RunRefused, type WasiHost } from '../wasi/run.js';
import { HostChannel, type ChannelMessage } from './channel.js';
import { execute, type SandboxResult } from './execute.js';
import { IsolatePool, RESULT_WATCH_US, SandboxBusyError, type PoolOutcome } from './isolate-pool.js';
import { processIsolate, workerIsolate, type Isolate } from './isolates.js';
import { SandboxGate, type RunQueue, type SharedPool } from './shared-pool.js';
import type { RunEntry } from '../wasi/run.js';
import type { KernelSpec } from '../plugin/extism-kernel.js';
import { closureHandler, type GuestMemoryView, type HostFunctionBody, type HostFunctionGrant, type LinkPlan, EMPTY_PLAN, remoteView } from './host-functions.js';
import { serveNetwork } from './plugin-network.js';

export interface ReadyModule {
  digest: string;
  /** The rewritten bytes (child processes compile them). */
  bytes: Uint8Array;
  compiled: WebAssembly.Module;
  metered: boolean;
  /** Where its hardening guards trap (byte offset → kind), so their traps are named. */
  guards?: Array<[number, TrapKind]>;
  /** Where its hardening keeps writes out of (flat [start, end) pairs), so the host's writes stay out too. */
  writeGuarded?: number[];
}

/** What one run calls and links. */
export interface RunCall {
  entry: RunEntry;
  plan: LinkPlan;
  /** Bodies callable on this thread (isolation "none"), by grant index. */
  bodies: ReadonlyMap<number, HostFunctionBody>;
  /** The sandbox's grants, by index (closures answered over the channel). */
  grants: readonly HostFunctionGrant[];
  /** The Extism kernel's state for this call, when the module imports it. */
  kernel?: KernelSpec;
}

export interface Executor {
  run(module: ReadyModule, grant: GrantSpec, fuel: number | null, call?: RunCall): Promise<SandboxResult>;
  readonly stats: { replaced: number; wedged: number; stopping: number };
  /** Resolves when the isolates have started. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface ExecutorOptions {
  /** Pooled isolates and spares; a one-shot run (the CLI) wants one isolate and no spare. */
  size: number;
  spares: number;
  maxQueued: number;
  stackSizeMb: number;
  workerEntry: URL;
  processEntry: URL;
  codeDir: string;
  /** JS module files of host functions a child process loads (it may read exactly these). */
  hostModules?: readonly string[];
  /** Process isolation with closures granted: the relay threads' entries, and how many host functions are granted. */
  closureRelay?: { parentRelay: URL; childRelay: string; functions: number };
  onWedged?: (kind: 'thread' | 'process') => void;
  /** Thread isolation: run in this shared pool (size is then this sandbox's concurrency in it), not in workers of its own. */
  shared?: SharedPool;
}

type Answer = { ok: boolean; value?: SandboxResult; refused?: boolean; message?: string };

function answerOf(answer: Answer): SandboxResult {
  if (answer.ok) return answer.value!;
  if (answer.refused) throw new RunRefused(answer.message ?? 'refused');
  throw new Error(answer.message ?? 'the run failed');
}

function deadlineTrap(result: SandboxResult): SandboxResult {
  result.exitCode = null;
  result.trap = { kind: 'deadline', message: 'the run reached its deadline' };
  if (!result.limitsHit.includes('timeout')) result.limitsHit.push('timeout');
  return result;
}

function emptyRecord(wallMs: number): SandboxResult {
  return {
    exitCode: null, trap: null, stdout: new Uint8Array(0), stderr: new Uint8Array(0), limitsHit: [], denied: [], deniedCount: 0, fuelUsed: null,
    usage: { wallMs, bytesWritten: 0, filesCreated: 0, outputBytes: 0, peakMemoryBytes: 0 },
  };
}

/**
 * isolation = "none": the guest runs on the caller's thread, one run at a
 * time; runs asked for meanwhile wait their turn (at most `maxQueued`; one
 * more is refused, as a pool would).
 */
export function inlineExecutor(maxQueued = Infinity): Executor {
  let host: WasiHost | null = null;
  let waiting = 0;
  let turn: Promise<void> = Promise.resolve();
  return {
    run(module, grant, fuel, call = START) {
      if (waiting > maxQueued) return Promise.reject(new SandboxBusyError(`sandbox busy: 1 run in progress and ${waiting - 1} waiting`));
      waiting++;
      const mine = turn.then(() => new Promise<SandboxResult>((resolve, reject) => {
        // A macrotask per run: every run asked for in this turn of the event loop is counted before one starts.
        setImmediate(() => {
          try {
            host ??= createWasiHost();
            const result = execute({ module: module.compiled, grant, fuel, watchdog: true, guards: module.guards ?? [], writeGuarded: module.writeGuarded ?? [], entry: call.entry, plan: call.plan, ...(call.kernel ? { kernel: call.kernel } : {}) }, host, undefined, call.bodies);
            result.isolation = 'none';
            resolve(result);
          } catch (error) {
            reject(error);
          } finally {
            waiting--;
          }
        });
      }));
      turn = mine.then(() => undefined, () => undefined);
      return mine;
    },
    stats: { replaced: 0, wedged: 0, stopping: 0 },
    async ready() {},
    async close() {},
  };
}

/** Output this thread writes for the isolate (the isolate may wait for it to drain). */
const writtenHere = (out: GrantSpec['stdout']) => out.kind === 'inherit' || out.kind === 'fd';

export function poolExecutor(policy: Policy, options: ExecutorOptions): Executor {
  const hostMounts = policy.mounts.flatMap((m) => (m.kind === 'host' ? [m] : []));
  const spawn = policy.isolation === 'process'
    ? () => processIsolate(fileURLToPath(options.processEntry), {
      codeDir: options.codeDir,
      readPaths: [...hostMounts.filter((m) => m.readOnly).map((m) => `${m.host}/*`), ...(options.hostModules ?? [])],
      writePaths: hostMounts.filter((m) => !m.readOnly).map((m) => `${m.host}/*`),
      writable: policy.mounts.some((m) => m.kind === 'tmpfs' || (m.kind === 'host' && !m.readOnly)),
      ...(options.closureRelay ? { closures: options.closureRelay } : {}),
    })
    : () => workerIsolate(options.workerEntry, { stackSizeMb: options.stackSizeMb });
  const threads = policy.isolation !== 'process';
  // Workers hold nothing of a policy (each run's grant crosses as data); child processes are started with this policy's paths.
  const shared = threads ? options.shared : undefined;
  const own = shared ? null : new IsolatePool<unknown, Answer>({
    spawn, size: options.size, maxQueued: options.maxQueued, spares: options.spares,
    // A sandbox of its own is often awaited run by run: its host watches for a lone run's result (isolate-pool.ts).
    ...(threads ? { resultWatchUs: RESULT_WATCH_US } : {}),
    onWedged: (isolate: Isolate) => options.onWedged?.(isolate.kind),
  });
  const gate = shared ? new SandboxGate(shared, options.size, options.maxQueued) : null;
  const pool = (own ?? gate!) as RunQueue as { run(job: unknown, deadlineMs: number | null, hooks?: Parameters<RunQueue['run']>[2]): Promise<PoolOutcome<Answer>> };

  async function runInThread(module: ReadyModule, grant: GrantSpec, fuel: number | null, call: RunCall): Promise<SandboxResult> {
    const started = performance.now();
    const timeoutMs = grant.limits.timeoutMs;
    let host: HostChannel | null = null;
    let outcome: PoolOutcome<Answer>;
    try {
      outcome = await pool.run({ module: module.compiled, grant, fuel, watchdog: false, guards: module.guards ?? [], writeGuarded: module.writeGuarded ?? [], entry: call.entry, plan: call.plan, ...(call.kernel ? { kernel: call.kernel } : {}) }, timeoutMs, {
        onDispatch: (isolate) => {
          host = new HostChannel(isolate.channel!.sab, { stdin: grant.stdin, stdout: grant.stdout, stderr: grant.stderr });
          serveClosures(host, call, timeoutMs);
          serveNetwork(host, call.kernel, timeoutMs === null ? null : performance.now() + timeoutMs);
        },
        onMessage: (message) => host?.onMessage(message as ChannelMessage),
        // A captured stream's last chunk is still in the channel's shared memory: taken before the isolate's next run.
        // The run's host calls end here, before the isolate can take its next run (its output may still be written out).
        onResult: () => { host?.takeGathered(); host?.endCalls(); },
        // A run this thread serves while it runs (closures, http_request, stdin, output it writes) never has its result watched for.
        mayWatchResult: !call.plan.hosted.some((h) => h.via === 'channel') && call.kernel?.http === undefined && grant.stdin.kind !== 'fd'
          && !writtenHere(grant.stdout) && !writtenHere(grant.stderr),
      });
    } catch (error) {
      (host as HostChannel | null)?.end();
      throw error;
    }
    const channel = host as HostChannel | null;
    try {
      if (outcome.kind === 'done') {
        const result = answerOf(outcome.result);
        if (channel) {
          // Inherited output is written by this thread: the run is over when it is out, or at the deadline.
          // Captured output (every served request) leaves nothing to wait for: no promise turn.
          if (!channel.idle) {
            const left = timeoutMs === null ? null : timeoutMs - (performance.now() - started);
            const out = await drainedWithin(channel, left);
            if (!out && !result.trap) deadlineTrap(result);
          }
          result.stdout = channel.captured(1);
          result.stderr = channel.captured(2);
        }
        result.isolation = policy.isolation;
        return result;
      }
      const record = emptyRecord(performance.now() - started);
      if (outcome.kind === 'crashed') {
        record.trap = { kind: 'other', message: `the isolate failed: ${outcome.message}` };
      } else {
        deadlineTrap(record);
      }
      if (channel) {
        const snap = channel.snapshot();
        Object.assign(record.usage, snap.usage);
        record.stdout = snap.stdout;
        record.stderr = snap.stderr;
        record.denied = snap.denied;
        record.deniedCount = snap.deniedCount;
        record.limitsHit = [...new Set([...snap.limitsHit, ...record.limitsHit])];
        if (module.metered && fuel !== null && snap.fuelLeft !== null) record.fuelUsed = fuel - snap.fuelLeft;
      }
      record.isolation = policy.isolation;
      return record;
    } finally {
      channel?.end();
    }
  }

  // Tags each process run, so that a closure call sent as a run met its deadline is not taken for the next run's.
  let closureRuns = 0;

  async function runInProcess(module: ReadyModule, grant: GrantSpec, fuel: number | null, call: RunCall): Promise<SandboxResult> {
    const started = performance.now();
    const timeoutMs = grant.limits.timeoutMs;
    const closureRun = ++closureRuns;
    // Closures are served as for a worker, on the channel the parent's relay thread posts the child's calls to.
    let closures: HostChannel | null = null;
    const hooks = call.plan.hosted.some((h) => h.via === 'channel')
      ? { onDispatch: (isolate: Isolate) => {
        if (!isolate.closureChannel) return;
        // Set before the job is sent: the relay takes calls tagged with this run only.
        Atomics.store(isolate.closureChannel.run, 0, closureRun);
        closures = new HostChannel(isolate.closureChannel.sab, NO_STDIO);
        serveClosures(closures, call, timeoutMs);
      } }
      : {};
    let outcome: PoolOutcome<Answer>;
    try {
      outcome = await pool.run({ digest: module.digest, bytes: module.bytes, grant, fuel, guards: module.guards ?? [], writeGuarded: module.writeGuarded ?? [], entry: call.entry, plan: call.plan, closureRun, ...(call.kernel ? { kernel: call.kernel } : {}) }, timeoutMs, hooks);
    } finally {
      (closures as HostChannel | null)?.end();
    }
    const record = outcome.kind === 'done' ? answerOf(outcome.result) : emptyRecord(performance.now() - started);
    if (outcome.kind === 'crashed') record.trap = { kind: 'other', message: `the isolate failed: ${outcome.message}` };
    else if (outcome.kind === 'deadline') deadlineTrap(record);
    record.isolation = policy.isolation;
    return record;
  }

  return {
    // Each strategy names the isolation in its record (one promise layer less per run).
    run: (module, grant, fuel, call = START) => (threads ? runInThread : runInProcess)(module, grant, fuel, call),
    get stats() { return own ? { replaced: own.replaced, wedged: own.wedged, stopping: own.stopping } : shared!.stats; },
    // A shared pool is started (and closed) by whoever made it; a sandbox using it only stops taking runs.
    ready: async () => { await own?.ready(); },
    close: async () => { gate?.close(); await own?.close(); },
  };
}

/** The stdio of a channel that carries only closures' calls (a process isolate's own descriptors carry its stdio). */
const NO_STDIO = { stdin: { kind: 'none' }, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } } as const;

/**
 * Answers the run's closures on this thread: each call arrives on `channel`
 * (from a worker, or from a child process through the relay threads), and
 * the closure reaches guest memory through the isolate that waits for it,
 * never past the deadline. The same code for both isolation modes.
 */
function serveClosures(channel: HostChannel, call: RunCall, timeoutMs: number | null): void {
  let view: GuestMemoryView | null = null;
  for (const h of call.plan.hosted) {
    if (h.via !== 'channel') continue;
    view ??= remoteView(channel.remoteMemory(timeoutMs === null ? null : performance.now() + timeoutMs));
    channel.handle(`host:${h.index}`, closureHandler(call.grants[h.index]!, view));
  }
}

/** A command run: `_start`, nothing linked beside WASI. */
const START: RunCall = Object.freeze({ entry: { kind: 'start' as const }, plan: EMPTY_PLAN, bodies: new Map(), grants: [] });

/** Waits until the host has written everything out, or `ms` passed (null: no limit). */
async function drainedWithin(channel: HostChannel, ms: number | null): Promise<boolean> {
  // Nothing waiting to be written (captured output, or all of it out already): no timer.
  if (channel.idle) return true;
  if (ms === null) {
    await channel.drained();
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, ms)); });
  try {
    return await Promise.race([channel.drained().then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
