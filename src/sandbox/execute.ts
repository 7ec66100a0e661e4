// One run inside an isolate (a worker thread, a child process, or the
// caller's own thread): the compiled, prepared module under its grant, with
// the fuel budget set before `_start` and read after.

import { FUEL_EXPORT } from '../transform/index.js';
import type { GrantSpec } from '../wasi/grant.js';
import { createWasiHost, runWasi, type RunResult, type WasiHost } from '../wasi/run.js';
import type { IsolateChannel } from './channel.js';

export interface Job {
  module: WebAssembly.Module;
  grant: GrantSpec;
  /** The fuel budget, when the module was metered. */
  fuel: number | null;
  /** Preempt with a V8 watchdog (runs on the caller's thread, child processes); worker pools terminate the isolate instead. */
  watchdog: boolean;
}

export interface SandboxResult extends RunResult {
  /** Fuel consumed, when metered. */
  fuelUsed: number | null;
  /** Where the guest ran (set by the sandbox that ran it). */
  isolation?: 'none' | 'thread' | 'process';
}

/**
 * `host` is the isolate's reusable WASI host; without one, a fresh host is
 * built for the run. With a channel, stdio goes through the host thread and
 * the counters are published where the host can read them after a kill.
 */
export function execute(job: Job, host: WasiHost = createWasiHost(), channel?: IsolateChannel): SandboxResult {
  let fuelUsed: number | null = null;
  let outOfFuel = false;
  const ctx = host.ctx;
  const stdio = channel?.begin(job.grant, () => ctx.checkDeadline(), () => ctx.msUntilDeadline());
  const result = runWasi(job.module, job.grant, {
    host,
    preemptWithWatchdog: job.watchdog,
    ...(stdio ? { stdio, publish: (usage, c) => channel!.publish(usage, c) } : {}),
    beforeStart: (instance) => {
      if (job.fuel !== null) (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value = BigInt(job.fuel);
    },
    afterRun: (instance) => {
      if (job.fuel === null || !instance) return;
      const left = (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint;
      outOfFuel = left < 0n;
      fuelUsed = job.fuel - Number(left < 0n ? 0n : left);
    },
  });
  if (outOfFuel && result.trap) {
    result.trap = { kind: 'fuel', message: `the run used its fuel budget of ${job.fuel}` };
    result.limitsHit.push('fuel');
  }
  return { ...result, fuelUsed };
}
