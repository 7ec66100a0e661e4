// preview1 functions that touch no descriptors: args, environment, clocks,
// randomness, process control, and the socket calls (no sockets are granted).

import type { WasiContext } from './context.js';
import { Errno, WasiError } from './errno.js';
import type { GuestStrings } from './guest-strings.js';

/** Raised by proc_exit; unwinds the guest and carries its exit code to the host. */
export class ExitSignal {
  constructor(readonly code: number) {}
}

function writeStrings(ctx: WasiContext, strings: GuestStrings, pointers: number, buffer: number): void {
  const m = ctx.memory;
  const packed = strings.bytes();
  // Both ranges are checked before either is written: a refusal leaves the guest's memory as it was.
  m.checkWrite(pointers, strings.count * 4);
  m.checkWrite(buffer, packed.length);
  m.bytes().set(packed, buffer);
  for (let i = 0; i < strings.count; i++) m.setU32(pointers + i * 4, buffer + strings.start(i));
}

function sizes(ctx: WasiContext, strings: GuestStrings, countPtr: number, sizePtr: number): void {
  ctx.memory.setU32(countPtr, strings.count);
  ctx.memory.setU32(sizePtr, strings.bytes().length);
}

export function basicFunctions(ctx: WasiContext) {
  const m = ctx.memory;
  return {
    args_get: (argv: number, buf: number) => { writeStrings(ctx, ctx.args, argv >>> 0, buf >>> 0); return 0; },
    args_sizes_get: (count: number, size: number) => { sizes(ctx, ctx.args, count >>> 0, size >>> 0); return 0; },
    environ_get: (env: number, buf: number) => { writeStrings(ctx, ctx.env, env >>> 0, buf >>> 0); return 0; },
    environ_sizes_get: (count: number, size: number) => { sizes(ctx, ctx.env, count >>> 0, size >>> 0); return 0; },

    clock_res_get: (id: number, out: number) => {
      const res = ctx.clocks.resolution(id);
      if (res === undefined) throw new WasiError(Errno.INVAL);
      m.setU64(out >>> 0, res);
      return 0;
    },
    clock_time_get: (id: number, _precision: bigint, out: number) => {
      const now = ctx.clocks.now(id);
      if (now === undefined) throw new WasiError(Errno.INVAL);
      m.setU64(out >>> 0, now);
      return 0;
    },

    random_get: (buf: number, len: number) => {
      const length = len >>> 0;
      if (length > ctx.maxRandomBytesPerCall) {
        ctx.limitsHit.add('max-random-per-call');
        throw new WasiError(Errno.INVAL);
      }
      const ptr = buf >>> 0;
      m.checkWrite(ptr, length);
      ctx.random.fill(m.bytes(), ptr, length);
      return 0;
    },

    proc_exit: (code: number) => { throw new ExitSignal(code >>> 0); },
    proc_raise: (_signal: number) => { throw new WasiError(Errno.NOSYS); },
    sched_yield: () => 0,

    // No sockets are ever granted: a socket call on any open descriptor is ENOTSOCK.
    sock_accept: (fd: number, _flags: number, _out: number) => { ctx.fds.get(fd); throw new WasiError(Errno.NOTSOCK); },
    sock_recv: (fd: number) => { ctx.fds.get(fd); throw new WasiError(Errno.NOTSOCK); },
    sock_send: (fd: number) => { ctx.fds.get(fd); throw new WasiError(Errno.NOTSOCK); },
    sock_shutdown: (fd: number) => { ctx.fds.get(fd); throw new WasiError(Errno.NOTSOCK); },
  };
}
