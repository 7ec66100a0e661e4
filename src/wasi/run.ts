// Runs a WASI command module under a grant: opens the capabilities, links the
// preview1 functions, runs `_start`, and reports how the run ended and what it
// used. A module is compiled once by the caller and may run any number of
// times, each run with its own grant and nothing carried between runs.

import { createClocks, hostMonotonicMs } from './clocks.js';
import { WasiContext, type DeniedAttempt } from './context.js';
import { WasiError, errnoFromNodeError } from './errno.js';
import { closeEntry, FdTable } from './fd-table.js';
import { hostDirectory } from './fs/host-directory.js';
import { createQuota } from './fs/quota.js';
import type { GrantSpec } from './grant.js';
import { GuestMemory } from './guest-memory.js';
import { GuestStrings } from './guest-strings.js';
import { buildImports } from './preview1.js';
import { ExitSignal } from './preview1-basic.js';
import { createRandom } from './random.js';
import { DeadlineReached, hostFdOf, localSink, localStdin, OutputGroup, OutputLimitExceeded, OutputStream, reachesHost, type InputSource, type OutputSink } from './stdio.js';
import { classifyEngineError, GuestTrap, type Trap } from './trap.js';
import { START_EXPORT } from '../transform/reserved-names.js';
import type { NumType, WasmValue } from './values.js';
import { guardTrap, type GuardTraps } from './guard-trap.js';
import { hostMemoryShape, withHostMemory } from '../transform/host-memory.js';
import { threadMemoryPool } from './memory-pool.js';
import { runWithWatchdog } from './watchdog.js';

/** No write-guarded ranges (shared: never written). */
const NO_RANGES: readonly number[] = [];

export interface RunUsage {
  wallMs: number;
  bytesWritten: number;
  filesCreated: number;
  outputBytes: number;
  peakMemoryBytes: number;
}

export interface RunResult {
  /** The guest's exit code; null when it trapped or a limit ended the run. */
  exitCode: number | null;
  trap: Trap | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Names of limits that refused something or ended the run. */
  limitsHit: string[];
  /** Operations refused because the grant did not allow them (first 100). */
  denied: DeniedAttempt[];
  deniedCount: number;
  usage: RunUsage;
  /** What an invoked export returned (absent for `_start` runs and runs that did not return). */
  results?: WasmValue[];
}

/** What a run calls: a command's `_start`, or one export with arguments (a reactor's `_initialize` first). */
export type RunEntry =
  | { kind: 'start' }
  | { kind: 'invoke'; name: string; args: readonly WasmValue[]; results: readonly NumType[] };

/** wasm-warden refused or failed before any guest code ran (bad module, unusable grant). */
export class RunRefused extends Error {
  override name = 'RunRefused';
}

/** A WASI host: the import object and the context it reads, reusable run after run on one thread. */
export interface WasiHost {
  readonly ctx: WasiContext;
  readonly imports: WebAssembly.Imports;
}

export function createWasiHost(): WasiHost {
  const ctx = new WasiContext(new GuestMemory(), new FdTable(0), hostMonotonicMs);
  return { ctx, imports: buildImports(ctx) };
}

/** Stdio supplied by whoever runs the guest (an isolate's channel); the grant's specs cover the rest. */
export interface RunStdio {
  stdin?: InputSource;
  stdout?: OutputSink;
  stderr?: OutputSink;
}

export interface RunOptions {
  /** A host built by createWasiHost, reused across runs on this thread (one run at a time). */
  host?: WasiHost;
  /**
   * Preempt running guest code at the deadline with a V8 watchdog (vm
   * timeout). Costs about 60 µs a run; hosts that terminate the isolate
   * themselves (worker pools) turn it off. Default on.
   */
  preemptWithWatchdog?: boolean;
  /** Called with the instance before `_start`, e.g. to set a fuel budget. */
  beforeStart?: (instance: WebAssembly.Instance) => void;
  /** Where the module's hardening guards trap (byte offset → kind), so their traps are named by kind. */
  guardTraps?: GuardTraps;
  /** Ranges of memory the module's hardening keeps writes out of, as flat [start, end) pairs: host writes there are EFAULT. */
  writeGuarded?: readonly number[];
  /** Called with the instance after the run, however it ended. */
  afterRun?: (instance: WebAssembly.Instance | null, result: RunResult) => void;
  /** Stdio to use instead of this thread's own descriptors (thread isolation hands stdio to the host). */
  stdio?: RunStdio;
  /** Called after every host call with the run's live counters (an isolate's channel publishes them). */
  publish?: (usage: RunUsage, ctx: WasiContext) => void;
  /** What to call; default `_start`. */
  entry?: RunEntry;
  /** Imports linked beside WASI for this run (granted host functions, unknown-import stubs). */
  links?: WebAssembly.Imports;
  /**
   * Supplies the instance instead of instantiating (a warm plugin instance
   * reused call after call); `fresh` false skips the set-up a new instance
   * needs (a moved start function, `_initialize`).
   */
  instantiate?: (imports: WebAssembly.Imports) => { instance: WebAssembly.Instance; fresh: boolean };
}

/** Stands in a result's stdout and stderr until the run's own are read. */
const NO_OUTPUT = new Uint8Array(0);

/**
 * This thread's host for runs that bring none, kept between them (building
 * the 46 functions and their context each run cost more than the rest of the
 * set-up). Taken while a run uses it: a run started inside another (a host
 * function running a guest) builds one of its own.
 */
let idleHost: WasiHost | null = null;

export function runWasi(module: WebAssembly.Module, grant: GrantSpec, options: RunOptions = {}): RunResult {
  if (options.host) return runOn(options.host, module, grant, options);
  const host = idleHost ?? createWasiHost();
  idleHost = null;
  try {
    return runOn(host, module, grant, options);
  } finally {
    idleHost = host;
  }
}

function runOn(host: WasiHost, module: WebAssembly.Module, grant: GrantSpec, options: RunOptions): RunResult {
  const started = hostMonotonicMs();
  const limits = grant.limits;
  const deadlineAt = limits.timeoutMs === null ? null : started + limits.timeoutMs;
  const clocks = createClocks(grant.clock);
  const quota = createQuota({ maxWriteBytes: limits.maxWriteBytes, maxFilesCreated: limits.maxFilesCreated });
  const { ctx } = host;
  const { memory, fds } = ctx;
  ctx.begin({
    args: GuestStrings.of(grant.args), env: GuestStrings.ofEnv(grant.env), clocks, random: createRandom(grant.random),
    quota, deadlineAt, maxRandomBytesPerCall: limits.maxRandomBytesPerCall, maxFds: limits.maxFds,
  });
  // stdio and every mount take a descriptor before the guest runs: a limit below that is the
  // grant's mistake, refused by name (the mount's EMFILE escaped the run as an internal error).
  const needed = 3 + grant.mounts.length;
  if (limits.maxFds < needed) {
    const first = limits.maxFds < 3 ? 'stdio' : `mount ${grant.mounts[limits.maxFds - 3]!.guest}`;
    throw new RunRefused(`a limit of ${limits.maxFds} descriptors leaves none for ${first}: stdio and ${grant.mounts.length} mount${grant.mounts.length === 1 ? '' : 's'} take ${needed}`);
  }
  const checkDeadline = () => ctx.checkDeadline();
  const output = new OutputGroup(limits.maxOutputBytes);
  const given = options.stdio ?? {};
  const stdout = new OutputStream(given.stdout ?? localSink(grant.stdout, 1, checkDeadline), output, reachesHost(grant.stdout));
  const stderr = new OutputStream(given.stderr ?? localSink(grant.stderr, 2, checkDeadline), output, reachesHost(grant.stderr));
  ctx.flushOutput = () => output.flush();
  let source: InputSource;
  try {
    source = given.stdin ?? localStdin(grant.stdin, checkDeadline);
  } catch (error) {
    throw new RunRefused((error as Error).message);
  }
  // Whatever the guest printed (a prompt) must be out before it waits for input.
  const stdin: InputSource = {
    read: (target) => { output.flush(); return source.read(target); },
    ready: (waitMs) => { output.flush(); return source.ready(waitMs); },
    available: () => source.available(),
    close: () => source.close(),
  };
  fds.add({ kind: 'stdin', stream: stdin, flags: 0, hostFd: hostFdOf(grant.stdin, 0) });
  fds.add({ kind: 'stdout', stream: stdout, flags: 0, hostFd: hostFdOf(grant.stdout, 1) });
  fds.add({ kind: 'stdout', stream: stderr, flags: 0, hostFd: hostFdOf(grant.stderr, 2) });

  let instance: WebAssembly.Instance | null = null;
  let guestMemory: WebAssembly.Memory | null = null;
  // A module rewritten to import its memory gets a zeroed one from this thread's pool, given back after
  // the run. Not with `instantiate`: a kept instance keeps its memory, so its supplier makes that one.
  const shape = options.instantiate ? null : hostMemoryShape(module);
  let lent: WebAssembly.Memory | null = null;
  const publish = options.publish;
  if (publish) {
    const live: RunUsage = { wallMs: 0, bytesWritten: 0, filesCreated: 0, outputBytes: 0, peakMemoryBytes: 0 };
    ctx.publish = () => {
      live.bytesWritten = quota.writtenBytes;
      live.filesCreated = quota.filesCreated;
      live.outputBytes = output.used;
      live.peakMemoryBytes = guestMemory?.buffer.byteLength ?? 0;
      publish(live, ctx);
    };
    // A guest that grows and then spins makes no host call: the checkpoint before each grow and
    // large fill publishes the size it reached, or a worker stopped at the deadline reported 0.
    ctx.publishIfGrown = () => {
      if ((guestMemory?.buffer.byteLength ?? 0) !== live.peakMemoryBytes) ctx.publish();
    };
  }
  const result: RunResult = {
    exitCode: null, trap: null, stdout: NO_OUTPUT, stderr: NO_OUTPUT, limitsHit: [], denied: ctx.denied,
    deniedCount: 0, usage: { wallMs: 0, bytesWritten: 0, filesCreated: 0, outputBytes: 0, peakMemoryBytes: 0 },
  };
  try {
    for (const mount of grant.mounts) {
      let dir;
      try {
        dir = hostDirectory(mount.host, { readOnly: mount.readOnly, quota, now: () => clocks.wallNow() });
      } catch (error) {
        throw new RunRefused((error as Error).message);
      }
      fds.add({ kind: 'dir', dir, preopen: mount.guest, flags: 0 });
    }
    const imports = options.links ? mergeImports(host.imports, options.links) : host.imports;
    const entry = options.entry ?? { kind: 'start' };
    const body = (): void => {
      let fresh = true;
      try {
        if (options.instantiate) ({ instance, fresh } = options.instantiate(imports));
        else if (shape) instance = new WebAssembly.Instance(module, withHostMemory(imports, lent = threadMemoryPool.acquire(shape)));
        else instance = new WebAssembly.Instance(module, imports);
      } catch (error) {
        if (error instanceof WebAssembly.LinkError || error instanceof TypeError) throw new RunRefused(`cannot link the module: ${(error as Error).message}`);
        throw error;
      }
      const exported = instance.exports;
      if (exported.memory instanceof WebAssembly.Memory) memory.attach(guestMemory = exported.memory, exported.memory === lent);
      // Set for every run, so a host reused across runs never keeps another module's ranges.
      memory.guardWrites(options.writeGuarded ?? NO_RANGES);
      if (entry.kind === 'start') {
        const start = exported._start;
        if (typeof start !== 'function') throw new RunRefused('the module exports no _start function (not a WASI command)');
        options.beforeStart?.(instance);
        (start as () => void)();
        return;
      }
      const fn = exported[entry.name];
      if (typeof fn !== 'function') throw new RunRefused(`the module exports no function ${JSON.stringify(entry.name)}`);
      options.beforeStart?.(instance);
      // The rewriter moved a start function into `_start`: any other entry runs it first, as instantiation would have.
      // `_start` itself, invoked by name, is the wrapper that already calls it: calling it here too ran it twice.
      const moved = fresh && entry.name !== '_start' ? exported[START_EXPORT] : undefined;
      if (typeof moved === 'function') (moved as () => void)();
      // A reactor (a library module) sets itself up in _initialize before any export is called (once per instance).
      const init = fresh ? exported._initialize : undefined;
      if (typeof init === 'function') (init as () => void)();
      const returned = (fn as (...a: WasmValue[]) => unknown)(...entry.args);
      result.results = entry.results.length === 0 ? [] : entry.results.length === 1 ? [returned as WasmValue] : [...(returned as Iterable<WasmValue>)];
    };
    try {
      if (deadlineAt !== null && (options.preemptWithWatchdog ?? true)) runWithWatchdog(body, Math.max(1, deadlineAt - hostMonotonicMs()));
      else body();
      result.exitCode = 0;
    } catch (error) {
      settle(result, error, ctx, options.guardTraps);
    }
  } finally {
    try {
      output.flush();
      stdout.flush();
      stderr.flush();
    } catch (error) {
      // Output still waiting at the deadline (a pipe nobody reads): the deadline ends the run.
      if (error instanceof DeadlineReached && !result.trap) {
        result.exitCode = null;
        settle(result, error, ctx);
      }
      // Otherwise the host's stdout is gone (a closed pipe); the run's result still stands.
    }
    for (const entry of fds.drain()) closeEntry(entry);
    stdin.close();
    memory.detach();
    result.stdout = stdout.contents();
    result.stderr = stderr.contents();
    const exportedMemory = (instance as WebAssembly.Instance | null)?.exports.memory;
    result.usage = {
      wallMs: hostMonotonicMs() - started,
      bytesWritten: quota.writtenBytes,
      filesCreated: quota.filesCreated,
      outputBytes: output.used,
      peakMemoryBytes: exportedMemory instanceof WebAssembly.Memory ? exportedMemory.buffer.byteLength : 0,
    };
    if (ctx.limitsHit.size > 0 || quota.hits.size > 0) result.limitsHit = [...new Set([...ctx.limitsHit, ...quota.hits, ...result.limitsHit])];
    result.deniedCount = ctx.deniedCount;
  }
  options.afterRun?.(instance, result);
  // After everything that reads the instance: it never runs again, so its memory can serve the next one.
  if (lent) threadMemoryPool.release(lent, shape!);
  return result;
}

/** Turns however the guest stopped into an exit code or a trap. */
function settle(result: RunResult, error: unknown, ctx: WasiContext, guards?: GuardTraps): void {
  if (error instanceof ExitSignal) {
    if (error.code < 126) {
      result.exitCode = error.code;
      return;
    }
    result.trap = { kind: 'other', message: `exit status ${error.code} outside [0, 126)` };
    return;
  }
  if (error instanceof RunRefused) throw error;
  if (error instanceof OutputLimitExceeded) {
    result.trap = { kind: 'output-limit', message: error.message };
    result.limitsHit.push('max-output');
    return;
  }
  if (error instanceof DeadlineReached || (error as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
    result.trap = { kind: 'deadline', message: 'the run reached its deadline' };
    result.limitsHit.push('timeout');
    return;
  }
  if (error instanceof GuestTrap) {
    result.trap = { kind: error.kind, message: error.message };
    return;
  }
  if (error instanceof WasiError) {
    result.trap = { kind: 'other', message: `host error ${errnoFromNodeError(error)}` };
    return;
  }
  const guard = guardTrap(error, guards);
  const classified = classifyEngineError(error);
  // A hardening guard's trap keeps the guest's stack, under the guard's kind.
  result.trap = guard ? { ...classified, kind: guard.kind, message: guard.message } : classified;
  void ctx;
}

/** The host's imports with this run's extra modules and functions laid over them (never replacing a WASI function). */
function mergeImports(base: WebAssembly.Imports, extra: WebAssembly.Imports): WebAssembly.Imports {
  // Without prototypes: `extra` holds the guest's own module and import names (link.ts), `__proto__` among them.
  const merged = Object.assign(Object.create(null) as WebAssembly.Imports, base);
  for (const [name, fns] of Object.entries(extra)) merged[name] = Object.assign(Object.create(null) as WebAssembly.ModuleImports, fns, base[name]);
  return merged;
}

export { runWithWatchdog };
