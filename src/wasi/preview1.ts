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

/**
 * The calls programs make in loops (clocks, random bytes, reads and writes,
 * opening, stat-ing and removing files), each guarded by a function literal of
 * its own. `guard` is one function for all 46 calls, so V8 keeps one feedback
 * vector for it: its call of the wrapped function is megamorphic and never
 * inlined, about 25 ns a call (1 M calls in a fresh process: 176 against 152 ms
 * with the same try/catch/finally written per function; docs/RATIONALE.md).
 * Each of these does what `guard` does, in the same order.
 */
function guardHot(ctx: WasiContext, basic: ReturnType<typeof basicFunctions>, fd: ReturnType<typeof fdFunctions>, path: ReturnType<typeof pathFunctions>) {
  const memory = ctx.memory;
  const { clock_time_get: clockTimeGet, random_get: randomGet } = basic;
  const { fd_write: fdWrite, fd_read: fdRead, fd_close: fdClose, fd_fdstat_get: fdFdstatGet, fd_filestat_get: fdFilestatGet } = fd;
  const { path_open: pathOpen, path_filestat_get: pathFilestatGet, path_unlink_file: pathUnlinkFile } = path;
  return {
    clock_time_get: (a: number, b: bigint, c: number): number => {
      try { memory.sync(); return clockTimeGet(a, b, c); } catch (error) { return failure(ctx, 'clock_time_get', error, [a, b, c]); } finally { ctx.publish(); }
    },
    random_get: (a: number, b: number): number => {
      try { memory.sync(); return randomGet(a, b); } catch (error) { return failure(ctx, 'random_get', error, [a, b]); } finally { ctx.publish(); }
    },
    fd_write: (a: number, b: number, c: number, d: number): number => {
      try { memory.sync(); return fdWrite(a, b, c, d); } catch (error) { return failure(ctx, 'fd_write', error, [a, b, c, d]); } finally { ctx.publish(); }
    },
    fd_read: (a: number, b: number, c: number, d: number): number => {
      try { memory.sync(); return fdRead(a, b, c, d); } catch (error) { return failure(ctx, 'fd_read', error, [a, b, c, d]); } finally { ctx.publish(); }
    },
    fd_close: (a: number): number => {
      try { memory.sync(); return fdClose(a); } catch (error) { return failure(ctx, 'fd_close', error, [a]); } finally { ctx.publish(); }
    },
    fd_fdstat_get: (a: number, b: number): number => {
      try { memory.sync(); return fdFdstatGet(a, b); } catch (error) { return failure(ctx, 'fd_fdstat_get', error, [a, b]); } finally { ctx.publish(); }
    },
    fd_filestat_get: (a: number, b: number): number => {
      try { memory.sync(); return fdFilestatGet(a, b); } catch (error) { return failure(ctx, 'fd_filestat_get', error, [a, b]); } finally { ctx.publish(); }
    },
    path_open: (a: number, b: number, c: number, d: number, e: number, f: bigint, g: bigint, h: number, i: number): number => {
      try { memory.sync(); return pathOpen(a, b, c, d, e, f, g, h, i); } catch (error) { return failure(ctx, 'path_open', error, [a, b, c, d, e, f, g, h, i]); } finally { ctx.publish(); }
    },
    path_filestat_get: (a: number, b: number, c: number, d: number, e: number): number => {
      try { memory.sync(); return pathFilestatGet(a, b, c, d, e); } catch (error) { return failure(ctx, 'path_filestat_get', error, [a, b, c, d, e]); } finally { ctx.publish(); }
    },
    path_unlink_file: (a: number, b: number, c: number): number => {
      try { memory.sync(); return pathUnlinkFile(a, b, c); } catch (error) { return failure(ctx, 'path_unlink_file', error, [a, b, c]); } finally { ctx.publish(); }
    },
  };
}

export function buildImports(ctx: WasiContext): WebAssembly.Imports {
  const basic = basicFunctions(ctx);
  const fd = fdFunctions(ctx);
  const path = pathFunctions(ctx);
  const all = { ...basic, ...fd, ...path, ...pollFunctions(ctx) } as Record<string, HostFunction>;
  const hot: Record<string, HostFunction> = guardHot(ctx, basic, fd, path);
  const wrapped: Record<string, HostFunction> = {};
  for (const [name, fn] of Object.entries(all)) wrapped[name] = hot[name] ?? guard(ctx, name, fn);
  // The deadline checkpoint the rewriter calls before memory.grow and bulk
  // memory/table operations, where V8 may delay termination for seconds: once
  // the deadline has passed it ends the run with the signal blocking calls use.
  // Unguarded, so that signal is not turned into an errno. One performance.now()
  // read and one comparison per call (the BigInt monotonic clock cost 129 ns a
  // call; this about 40), and in an isolate, the memory's size compared with the
  // one last published (a killed worker's record has only what was published).
  const checkpoint = (): void => {
    ctx.publishIfGrown();
    if (performance.now() >= ctx.deadlineAtPerf) ctx.checkDeadline();
  };
  return { wasi_snapshot_preview1: wrapped, [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: checkpoint } };
}
