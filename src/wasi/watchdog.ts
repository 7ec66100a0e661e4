// Preempting guest code that runs on the caller's thread at its deadline: a
// V8 watchdog terminates the thread's execution when the deadline passes, and
// the run ends with trap `deadline`.
//
// Two watchdogs, one behaviour (test/wasi/watchdog.test.ts runs both):
//  - the native helper (native/watchdog.cc): one thread per JavaScript thread,
//    kept, armed per call with a mutex and a clock read (about 0.2 µs);
//  - node:vm's `timeout`, which starts and joins a thread per call (about
//    80 µs here), when the helper is not built or cannot be loaded (Node's
//    permission model without --allow-addons, as in a child process), and for
//    a thread's first guarded call, which is cheaper through node:vm than the
//    helper's loading (about 0.3 ms): a `warden run` guards one call.
// docs/RATIONALE.md has the measurements.

import vm from 'node:vm';
import { loadNativeHelper } from './fs/native-helper.js';
import { DeadlineReached } from './stdio.js';

interface NativeWatchdog {
  /** Calls fn; true when it returned, false when the deadline ended it; rethrows what it threw. */
  run(fn: () => void, ms: number): boolean;
}

let native: NativeWatchdog | null | undefined;
let nativeEnabled = true;
let guardedCalls = 0;

/** Whether the native watchdog is built and loadable here (tests run both). */
export function nativeWatchdogAvailable(): boolean {
  return (native === undefined ? (native = loadNativeHelper<NativeWatchdog>('watchdog.node')) : native) !== null;
}

/** Turns the native watchdog off or back on (tests check the node:vm path with it). */
export function useNativeWatchdog(on: boolean): void {
  nativeEnabled = on;
}

/**
 * One context for node:vm's watchdog, made on first use and kept: creating a context costs
 * about 0.5 ms per run against 0.08 ms to run a script in a kept one (docs/RATIONALE.md). The
 * context holds nothing of a run's: `holder.body` is the only thing in it and is cleared after
 * each run, and its microtask queue (microtaskMode 'afterEvaluate') is drained when each
 * evaluation ends.
 */
let vmWatchdog: { holder: { body: (() => void) | null }; context: vm.Context; script: vm.Script } | undefined;
let depth = 0;

/** Runs `body` under a V8 watchdog that terminates it after `ms`; throws DeadlineReached when it did. */
export function runWithWatchdog(body: () => void, ms: number): void {
  // A run started from inside another (a host function running a guest synchronously) goes through
  // a node:vm context of its own: the outer run's body is never replaced under it, and the native
  // watchdog guards one call per thread at a time.
  if (depth > 0) {
    const context = vm.createContext({ body }, { microtaskMode: 'afterEvaluate' });
    vm.runInContext('body()', context, { timeout: Math.ceil(ms) });
    return;
  }
  depth++;
  try {
    const dog = nativeEnabled && guardedCalls++ > 0 && nativeWatchdogAvailable() ? native! : null;
    if (dog) {
      if (!dog.run(body, ms)) throw new DeadlineReached('the run reached its deadline');
      return;
    }
    if (!vmWatchdog) {
      const holder: { body: (() => void) | null } = { body: null };
      vmWatchdog = { holder, context: vm.createContext({ holder }, { microtaskMode: 'afterEvaluate' }), script: new vm.Script('holder.body()') };
    }
    vmWatchdog.holder.body = body;
    try {
      vmWatchdog.script.runInContext(vmWatchdog.context, { timeout: Math.ceil(ms) });
    } finally {
      vmWatchdog.holder.body = null;
    }
  } finally {
    depth--;
  }
}
