// One run inside an isolate (a worker thread, a child process, or the
// caller's own thread): the compiled, prepared module under its grant, with
// the fuel budget set before `_start` and read after.

import type { GrantSpec } from '../wasi/grant.js';
import { createWasiHost, runWasi, type RunEntry, type RunResult, type WasiHost } from '../wasi/run.js';
import type { IsolateChannel } from './channel.js';
import type { LinkPlan } from './host-functions.js';
import type { NumType } from '../wasi/values.js';
import { buildLinks, type LocalBodies } from './link.js';
import { EXTISM_MODULE } from '../plugin/extism-abi.js';
import { createKernel, type KernelOutcome, type KernelSpec } from '../plugin/extism-kernel.js';
import type { TrapKind } from '../wasi/trap.js';
import { kernelNetwork } from './plugin-network.js';
import { FuelMeter } from './fuel-meter.js';

const NO_BODIES: LocalBodies = new Map();

/** A compiled module with what it runs under: the part a one-off run (Job) and a plugin session (WarmSpec) share. */
export interface GuestSpec {
  module: WebAssembly.Module;
  grant: GrantSpec;
  /** The fuel budget of a run (of each call, in a session), when the module was metered. */
  fuel: number | null;
  /** Where the module's hardening guards trap (byte offset → kind), in the bytes that run. */
  guards?: ReadonlyArray<readonly [number, TrapKind]>;
  /** Ranges its hardening keeps writes out of (flat [start, end) pairs): host writes there are EFAULT. */
  writeGuarded?: readonly number[];
  /** Preempt with a V8 watchdog (the caller's thread, child processes); a worker is terminated by its host instead. */
  watchdog: boolean;
}

export interface Job extends GuestSpec {
  /** What to call; default `_start`. */
  entry?: RunEntry;
  /** Host functions and unknown-import stubs to link beside WASI. */
  plan?: LinkPlan;
  /** The Extism kernel's input, config, variables and bounds, for a module that imports it. */
  kernel?: KernelSpec;
}

export interface SandboxResult extends RunResult {
  /** Fuel consumed, when metered. */
  fuelUsed: number | null;
  /** Where the guest ran (set by the sandbox that ran it). */
  isolation?: 'none' | 'thread' | 'process';
  /** Calls to granted host functions and unknown-import stubs, by "module.name" (absent when none were linked). */
  hostCalls?: Record<string, number>;
  /** The types of `results` (an invoked function's signature). */
  resultTypes?: readonly NumType[];
  /** A plugin call's output, error, variables after the call, and logs (Extism kernel ABI). */
  plugin?: Omit<KernelOutcome, 'vars'> & { vars?: KernelOutcome['vars']; rc?: number | null };
  /** Imports nothing provides that were linked to stubs (policy imports.unknown), and how. */
  unknownImports?: { mode: 'trap' | 'zero'; imports: string[] };
}

/**
 * `host` is the isolate's reusable WASI host; without one, a fresh host is
 * built for the run. With a channel, stdio goes through the host thread and
 * the counters are published where the host can read them after a kill.
 * `closureCalls` (a child process's relay) carries closures' calls alone.
 */
export function execute(job: Job, host: WasiHost = createWasiHost(), channel?: IsolateChannel, bodies: LocalBodies = NO_BODIES, closureCalls?: IsolateChannel): SandboxResult {
  const fuel = new FuelMeter(job.fuel);
  const ctx = host.ctx;
  const stdio = channel?.begin(job.grant, () => ctx.checkDeadline(), () => ctx.msUntilDeadline());
  const plan = job.plan;
  const linked = plan && (plan.stubs.length > 0 || plan.hosted.length > 0);
  const counts = new Map<string, number>();
  const kernel = job.kernel ? createKernel(job.kernel, kernelNetwork(job.kernel, channel, ctx)) : null;
  const links = linked ? buildLinks(plan, ctx.memory, counts, bodies, channel ?? closureCalls) : kernel ? {} : null;
  if (kernel) links![EXTISM_MODULE] = withKernel(links![EXTISM_MODULE], kernel.imports);
  const result: RunResult & { hostCalls?: Record<string, number>; plugin?: KernelOutcome } = runWasi(job.module, job.grant, {
    host,
    ...(job.entry ? { entry: job.entry } : {}),
    ...(links ? { links } : {}),
    preemptWithWatchdog: job.watchdog,
    ...(stdio ? { stdio, publish: (usage, c) => channel!.publish(usage, c) } : {}),
    ...(job.guards?.length ? { guardTraps: job.guards } : {}),
    ...(job.writeGuarded?.length ? { writeGuarded: job.writeGuarded } : {}),
    beforeStart: (instance) => fuel.fill(instance.exports),
    afterRun: (instance) => fuel.read(instance?.exports),
  });
  fuel.classify(result);
  if (kernel) result.plugin = kernel.outcome();
  if (linked) {
    result.hostCalls = {};
    for (const h of plan.hosted) result.hostCalls[`${h.module}.${h.name}`] = 0;
    for (const st of plan.stubs) result.hostCalls[`${st.module}.${st.name}`] = 0;
    for (const [name, n] of counts) result.hostCalls[name] = n;
  }
  const record = result as SandboxResult;
  record.fuelUsed = fuel.used;
  return record;
}

/**
 * The Extism kernel's functions beside what the plan links in its module: stubs for names the kernel
 * does not have (imports.unknown), and grants, which admission checked against their own signatures.
 * The kernel's object used to replace the module's, dropping those: a plugin built for a newer kernel
 * was refused at link time instead of getting its stub.
 */
export function withKernel(planned: WebAssembly.ModuleImports | undefined, kernel: Record<string, unknown>): WebAssembly.ModuleImports {
  return planned ? Object.assign(Object.create(null) as WebAssembly.ModuleImports, kernel, planned) : kernel as WebAssembly.ModuleImports;
}
