// The wasi_snapshot_preview1 import object. Each function is wrapped so that a
// WasiError becomes its errno and anything unexpected becomes EIO: no host
// exception ever reaches the guest. Signals that end the run pass through.

import { CHECKPOINT_MODULE, CHECKPOINT_NAME } from '../transform/checkpoint.js';
import type { WasiContext } from './context.js';
import { locateDenial } from './denial.js';
import { Errno, WasiError } from './errno.js';
import { basicFunctions, ExitSignal } from './preview1-basic.js';
import { fdFunctions } from './preview1-fd.js';
import { pathFunctions } from './preview1-path.js';
import { pollFunctions } from './preview1-poll.js';
import { DeadlineReached, OutputLimitExceeded } from './stdio.js';

type HostFunction = (...args: never[]) => number;

type Arg = number | bigint;

/**
 * Wraps one host function. Fixed arity (preview1's longest signature has nine
 * parameters) instead of rest arguments: no array is allocated per call.
 */
function guard(ctx: WasiContext, name: string, fn: HostFunction): HostFunction {
  const memory = ctx.memory;
  const call = fn as unknown as (a?: Arg, b?: Arg, c?: Arg, d?: Arg, e?: Arg, f?: Arg, g?: Arg, h?: Arg, i?: Arg) => number;
  return ((a?: Arg, b?: Arg, c?: Arg, d?: Arg, e?: Arg, f?: Arg, g?: Arg, h?: Arg, i?: Arg) => {
    try {
      memory.sync();
      return call(a, b, c, d, e, f, g, h, i);
    } catch (error) {
      return failure(ctx, name, error, [a, b, c, d, e, f, g, h, i]);
    } finally {
      ctx.publish();
    }
  }) as unknown as HostFunction;
}

function failure(ctx: WasiContext, name: string, error: unknown, args: readonly (Arg | undefined)[]): number {
  if (error instanceof WasiError) {
    ctx.noteErrno(name, error.errno, undefined, (entry) => locateDenial(entry, ctx.memory, args));
    return error.errno;
  }
  if (error instanceof ExitSignal || error instanceof OutputLimitExceeded || error instanceof DeadlineReached) throw error;
  // A bug of ours or an unexpected host failure: the guest sees an I/O error, never the exception.
  ctx.noteErrno(name, Errno.IO, error instanceof Error ? error.message : String(error));
  return Errno.IO;
}

export function buildImports(ctx: WasiContext): WebAssembly.Imports {
  const all = { ...basicFunctions(ctx), ...fdFunctions(ctx), ...pathFunctions(ctx), ...pollFunctions(ctx) } as Record<string, HostFunction>;
  const wrapped: Record<string, HostFunction> = {};
  for (const [name, fn] of Object.entries(all)) wrapped[name] = guard(ctx, name, fn);
  // The deadline checkpoint the rewriter calls before memory.grow and bulk
  // memory/table operations, where V8 may delay termination for seconds: once
  // the deadline has passed it ends the run with the signal blocking calls use.
  // Unguarded, so that signal is not turned into an errno. One performance.now()
  // read and one comparison per call (the BigInt monotonic clock cost 129 ns a
  // call; this about 40).
  const checkpoint = (): void => {
    if (performance.now() >= ctx.deadlineAtPerf) ctx.checkDeadline();
  };
  return { wasi_snapshot_preview1: wrapped, [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: checkpoint } };
}
