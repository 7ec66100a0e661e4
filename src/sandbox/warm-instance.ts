// A plugin instance kept between calls, inside its isolate (a session's
// worker, or the caller's thread in isolation "none").
//
// What carries over from one call to the next, and what does not:
//  - the instance (its linear memory and globals) carries over, as in the
//    Extism SDK, unless the session asked for a fresh instance per call;
//  - a call that did not return (a trap, a limit, proc_exit) poisons it: the
//    next call gets a new instance, never one stopped half-way;
//  - the Extism kernel's input, output, error, logs and plugin memory are
//    reset before each call (the bytes a call used are zeroed); its
//    variables carry over, as the ABI defines them;
//  - WASI state (descriptors, stdio, counters, deadline) is the run's: set up
//    and torn down by runWasi for every call;
//  - fuel and the deadline are per call.
// The imports are built once: the instance keeps the functions it was made
// with, so every call must reach its state through the same functions.

import { START_EXPORT } from '../transform/reserved-names.js';
import { CHECKPOINT_MODULE, CHECKPOINT_NAME } from '../transform/checkpoint.js';
import { hostMemoryShape, newMemory, withHostMemory, type HostMemoryShape } from '../transform/host-memory.js';
import { threadMemoryPool } from '../wasi/memory-pool.js';
import { guardTrap } from '../wasi/guard-trap.js';
import { RunRefused, runWasi, runWithWatchdog, type RunResult, type WasiHost } from '../wasi/run.js';
import { DeadlineReached } from '../wasi/stdio.js';
import { classifyEngineError, GuestTrap, type Trap } from '../wasi/trap.js';
import type { IsolateChannel } from './channel.js';
import { withKernel, type GuestSpec, type SandboxResult } from './execute.js';
import type { LinkPlan } from './host-functions.js';
import { buildLinks, type LocalBodies } from './link.js';
import { FuelMeter } from './fuel-meter.js';
import { kernelNetwork } from './plugin-network.js';
import type { DeniedAttempt } from '../wasi/context.js';
import { EXTISM_MODULE } from '../plugin/extism-abi.js';
import { createKernel, type CallOutcome, type Kernel, type KernelSpec } from '../plugin/extism-kernel.js';

/** Whether a session's calls share one instance (`warm`) or each get a new one (`fresh`). */
export type InstancePolicy = 'warm' | 'fresh';

export interface WarmSpec extends GuestSpec {
  plan: LinkPlan;
  /** The kernel's config, variables (as the session holds them) and bounds; the input comes with each call. */
  kernel: Omit<KernelSpec, 'input'>;
  instances: InstancePolicy;
  /**
   * Whether the module imports WASI. One that does not is called directly:
   * no descriptors, stdio or quotas to set up and tear down for each call.
   */
  wasi: boolean;
}

/** One call's record: the plugin's outcome, with its variables only when the call changed them. */
export type WarmResult = SandboxResult & { plugin: CallOutcome; instanceReused: boolean };

const EMPTY = new Uint8Array(0);

export class WarmInstance {
  private instance: WebAssembly.Instance | null = null;
  private readonly kernel: Kernel;
  private readonly counts = new Map<string, number>();
  private readonly links: WebAssembly.Imports;
  /** A module without WASI: the links and the rewriter's deadline checkpoint, which reads this call's deadline. */
  private readonly bareImports: WebAssembly.Imports;
  private deadlineAt = Infinity;
  /** This call's refused http_request origins. */
  private readonly denied: DeniedAttempt[] = [];
  /** Instances made so far (the first, and one after each poisoned call or, with `fresh`, each call). */
  made = 0;
  /** The memory a fresh session's call borrowed for its instance, given back when the call ends. */
  private lent: { memory: WebAssembly.Memory; shape: HostMemoryShape } | null = null;
  /** Host functions read guest memory through the run's GuestMemory: attached for each call. */
  private readonly usesMemory: boolean;
  /** Closures on the embedder's thread: their waits are bounded by the call's deadline. */
  private readonly usesChannel: boolean;

  constructor(private readonly spec: WarmSpec, private readonly host: WasiHost, private readonly channel?: IsolateChannel, bodies: LocalBodies = new Map()) {
    const kernelSpec = { ...spec.kernel, input: new Uint8Array(0) };
    // A refused origin is this call's denial, whether or not the call is a WASI run.
    this.kernel = createKernel(kernelSpec, kernelNetwork(kernelSpec, channel, host.ctx, (url) => { this.denied.push({ call: 'http_request', errno: 'NOTCAPABLE', detail: url }); }));
    const plan = spec.plan;
    const links = plan.stubs.length > 0 || plan.hosted.length > 0 ? buildLinks(plan, host.ctx.memory, this.counts, bodies, channel) : {};
    links[EXTISM_MODULE] = withKernel(links[EXTISM_MODULE], this.kernel.imports);
    this.links = links;
    // Before memory.grow and bulk operations, where V8 may delay termination: ends the call once its deadline passed.
    const checkpoint = (): void => { if (performance.now() >= this.deadlineAt) throw new DeadlineReached('the run reached its deadline'); };
    this.bareImports = { ...links, [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: checkpoint } };
    this.usesMemory = plan.hosted.length > 0;
    this.usesChannel = plan.hosted.some((h) => h.via === 'channel') || spec.kernel.http !== undefined;
  }

  call(name: string, results: readonly ('i32')[], input: Uint8Array): WarmResult {
    this.kernel.reset(input);
    if (this.counts.size > 0) this.counts.clear();
    // Emptied, not replaced: record() copies what a call was denied into that call's record.
    if (this.denied.length > 0) this.denied.length = 0;
    try {
      return this.record(this.spec.wasi ? this.callWasi(name, results) : this.callBare(name, results));
    } finally {
      // A fresh instance is never kept, so it never runs again: its lent memory can serve the next one (zeroed by the pool).
      if (this.lent) {
        threadMemoryPool.release(this.lent.memory, this.lent.shape);
        this.lent = null;
      }
    }
  }

  /** A module that imports WASI: each call is a WASI run (runWasi) on the kept instance. */
  private callWasi(name: string, results: readonly ('i32')[]): { result: RunResult; fuelUsed: number | null; reused: boolean } {
    const { spec, host, channel } = this;
    const ctx = host.ctx;
    const stdio = channel?.begin(spec.grant, () => ctx.checkDeadline(), () => ctx.msUntilDeadline());
    let reused = false;
    const fuel = new FuelMeter(spec.fuel);
    const result: RunResult = runWasi(spec.module, spec.grant, {
      host,
      entry: { kind: 'invoke', name, args: [], results: [...results] },
      links: this.links,
      preemptWithWatchdog: spec.watchdog,
      ...(stdio ? { stdio, publish: (usage, c) => channel!.publish(usage, c) } : {}),
      ...(spec.guards?.length ? { guardTraps: spec.guards } : {}),
      ...(spec.writeGuarded?.length ? { writeGuarded: spec.writeGuarded } : {}),
      instantiate: (imports) => {
        if (this.instance) {
          reused = true;
          return { instance: this.instance, fresh: false };
        }
        const instance = new WebAssembly.Instance(spec.module, this.withMemory(imports));
        this.made++;
        // Kept only for a warm session; it serves the next call only if this one returns (below).
        if (spec.instances === 'warm') this.instance = instance;
        return { instance, fresh: true };
      },
      beforeStart: (instance) => fuel.fill(instance.exports),
      afterRun: (instance) => fuel.read(instance?.exports),
    });
    fuel.classify(result);
    return { result, fuelUsed: fuel.used, reused };
  }

  /**
   * A module that imports no WASI: the export is called directly on the kept
   * instance, under the call's fuel and deadline (a watchdog on the caller's
   * thread; in a worker, the host terminates it).
   */
  private callBare(name: string, results: readonly ('i32')[]): { result: RunResult; fuelUsed: number | null; reused: boolean } {
    const { spec, channel } = this;
    const started = performance.now();
    const timeoutMs = spec.grant.limits.timeoutMs;
    const deadlineAt = timeoutMs === null ? null : started + timeoutMs;
    this.deadlineAt = deadlineAt ?? Infinity;
    if (channel && this.usesChannel) {
      // Closures on the embedder's thread wait for their replies no longer than the call's deadline.
      channel.begin(spec.grant, () => { if (deadlineAt !== null && performance.now() >= deadlineAt) throw new DeadlineReached('deadline'); },
        () => (deadlineAt === null ? Infinity : deadlineAt - performance.now()));
    }
    const result: RunResult = {
      exitCode: null, trap: null, stdout: EMPTY, stderr: EMPTY, limitsHit: [], denied: [], deniedCount: 0,
      usage: { wallMs: 0, bytesWritten: 0, filesCreated: 0, outputBytes: 0, peakMemoryBytes: 0 },
    };
    let instance = this.instance;
    const reused = instance !== null;
    const memory = this.host.ctx.memory;
    const fuel = new FuelMeter(spec.fuel);
    const body = (): void => {
      let fresh = false;
      if (!instance) {
        try {
          instance = new WebAssembly.Instance(spec.module, this.withMemory(this.bareImports));
        } catch (error) {
          if (error instanceof WebAssembly.LinkError || error instanceof TypeError) throw new RunRefused(`cannot link the module: ${(error as Error).message}`);
          throw error;
        }
        this.made++;
        fresh = true;
        if (spec.instances === 'warm') this.instance = instance;
      }
      const exported = instance.exports;
      if (this.usesMemory && exported.memory instanceof WebAssembly.Memory) memory.attach(exported.memory);
      const fn = exported[name];
      if (typeof fn !== 'function') throw new RunRefused(`the module exports no function ${JSON.stringify(name)}`);
      fuel.fill(exported);
      if (fresh) {
        // A new instance is set up as a run's would be: a moved start function, then a reactor's _initialize.
        // Not before `_start`: the rewriter's `_start` wrapper calls the moved start function itself.
        const moved = name === '_start' ? undefined : exported[START_EXPORT];
        if (typeof moved === 'function') (moved as () => void)();
        const init = exported._initialize;
        if (typeof init === 'function') (init as () => void)();
      }
      const returned = (fn as () => unknown)();
      result.results = results.length === 0 ? [] : [returned as number];
    };
    try {
      if (deadlineAt !== null && spec.watchdog) runWithWatchdog(body, Math.max(1, deadlineAt - performance.now()));
      else body();
      result.exitCode = 0;
    } catch (error) {
      if (error instanceof RunRefused) throw error;
      result.trap = this.trapOf(error, result);
    } finally {
      if (this.usesMemory) memory.detach();
      const exported = (instance as WebAssembly.Instance | null)?.exports;
      fuel.read(exported);
      fuel.classify(result);
      result.usage.wallMs = performance.now() - started;
      result.usage.peakMemoryBytes = exported?.memory instanceof WebAssembly.Memory ? exported.memory.buffer.byteLength : 0;
    }
    return { result, fuelUsed: fuel.used, reused };
  }

  /**
   * A module that imports its memory from the host: a warm session's instance
   * may be kept for later calls, so it gets a new memory of its own; a fresh
   * session's instance serves one call, so it borrows a zeroed one from the
   * thread's pool (a new memory costs more than the whole call: docs/RATIONALE.md).
   */
  private withMemory(imports: WebAssembly.Imports): WebAssembly.Imports {
    const shape = hostMemoryShape(this.spec.module);
    if (!shape) return imports;
    if (this.spec.instances === 'warm') return withHostMemory(imports, newMemory(shape));
    this.lent = { memory: threadMemoryPool.acquire(shape), shape };
    return withHostMemory(imports, this.lent.memory);
  }

  /** How a call that did not return ended, named as a run's trap would be. */
  private trapOf(error: unknown, result: RunResult): Trap {
    if (error instanceof GuestTrap) return { kind: error.kind, message: error.message };
    if (error instanceof DeadlineReached || (error as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      result.limitsHit.push('timeout');
      return { kind: 'deadline', message: 'the run reached its deadline' };
    }
    const guard = guardTrap(error, this.spec.guards);
    const classified = classifyEngineError(error);
    return guard ? { ...classified, kind: guard.kind, message: guard.message } : classified;
  }

  /** The call's record: the run's, the kernel's outcome, and the host calls counted. */
  private record({ result, fuelUsed, reused }: { result: RunResult; fuelUsed: number | null; reused: boolean }): WarmResult {
    const { spec, kernel } = this;
    // A call that did not return left the instance somewhere in the middle: it serves no other call.
    if (result.trap || result.results === undefined) this.instance = null;
    // Built in place: this is every call's path, and a warm call is a few microseconds.
    const outcome = kernel.callOutcome();
    if (this.denied.length > 0) {
      result.denied = [...result.denied, ...this.denied];
      result.deniedCount += this.denied.length;
    }
    const record = result as WarmResult;
    record.fuelUsed = fuelUsed;
    record.plugin = outcome;
    record.instanceReused = reused;
    const plan = spec.plan;
    if (plan.stubs.length > 0 || plan.hosted.length > 0) {
      record.hostCalls = {};
      for (const h of plan.hosted) record.hostCalls[`${h.module}.${h.name}`] = 0;
      for (const st of plan.stubs) record.hostCalls[`${st.module}.${st.name}`] = 0;
      for (const [label, n] of this.counts) record.hostCalls[label] = n;
    }
    return record;
  }
}
