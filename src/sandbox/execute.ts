// One run inside an isolate (a worker thread, a child process, or the CLI's
// own thread): the compiled, prepared module under its grant, with the fuel
// budget set before `_start` and read after.

import { FUEL_EXPORT } from '../transform/index.js';
import type { GrantSpec } from '../wasi/grant.js';
import { runWasi, type RunResult, type WasiHost } from '../wasi/run.js';

export interface Job {
  module: WebAssembly.Module;
  grant: GrantSpec;
  /** The fuel budget, when the module was metered. */
  fuel: number | null;
  /** Preempt with a V8 watchdog (in-thread runs); pools terminate the isolate instead. */
  watchdog: boolean;
}

export interface SandboxResult extends RunResult {
  /** Fuel consumed, when metered. */
  fuelUsed: number | null;
}

/** `host` is the isolate's reusable WASI host; without one, a fresh host is built for the run. */
export function execute(job: Job, host?: WasiHost): SandboxResult {
  let fuelUsed: number | null = null;
  let outOfFuel = false;
  const result = runWasi(job.module, job.grant, {
    ...(host ? { host } : {}),
    preemptWithWatchdog: job.watchdog,
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
