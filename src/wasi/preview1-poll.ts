// poll_oneoff: clock subscriptions sleep and stdin subscriptions wait for
// input (never past the run's deadline: reaching it ends the run); other
// descriptor subscriptions report ready at once.

import type { WasiContext } from './context.js';
import { CLOCK } from './clocks.js';
import { Errno, WasiError } from './errno.js';
import { sleepMs, type InputStream } from './stdio.js';

const SUBSCRIPTION_BYTES = 48;
const EVENT_BYTES = 32;
const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
const SUBCLOCKFLAGS_ABSTIME = 1;
/** The most subscriptions one call may pass (each costs host work). */
export const MAX_SUBSCRIPTIONS = 4096;

export function pollFunctions(ctx: WasiContext) {
  const m = ctx.memory;
  return {
    poll_oneoff: (inPtr: number, outPtr: number, count: number, neventsPtr: number) => {
      const n = count >>> 0;
      const input = inPtr >>> 0;
      const output = outPtr >>> 0;
      if (n === 0) throw new WasiError(Errno.INVAL);
      if (n > MAX_SUBSCRIPTIONS) throw new WasiError(Errno.INVAL);
      m.check(input, n * SUBSCRIPTION_BYTES);
      m.checkWrite(output, n * EVENT_BYTES);
      m.checkWrite(neventsPtr >>> 0, 4);
      const view = m.data();
      const events: Array<{ userdata: bigint; error: number; type: number; nbytes: bigint }> = [];
      let sleepUntilNs: bigint | null = null;
      const clockEvents: Array<{ userdata: bigint; at: bigint; id: number }> = [];
      const stdinWaits: Array<{ userdata: bigint; stream: InputStream }> = [];
      for (let i = 0; i < n; i++) {
        const s = input + i * SUBSCRIPTION_BYTES;
        const userdata = view.getBigUint64(s, true);
        const tag = view.getUint8(s + 8);
        if (tag === EVENTTYPE.CLOCK) {
          const id = view.getUint32(s + 16, true);
          const timeout = view.getBigUint64(s + 24, true);
          const flags = view.getUint16(s + 40, true);
          const now = ctx.clocks.now(id === CLOCK.REALTIME ? CLOCK.REALTIME : CLOCK.MONOTONIC);
          if (now === undefined || id > 3) {
            events.push({ userdata, error: Errno.INVAL, type: tag, nbytes: 0n });
            continue;
          }
          const at = flags & SUBCLOCKFLAGS_ABSTIME ? timeout : now + timeout;
          clockEvents.push({ userdata, at: at - now, id });
          const wait = at > now ? at - now : 0n;
          if (sleepUntilNs === null || wait < sleepUntilNs) sleepUntilNs = wait;
        } else if (tag === EVENTTYPE.FD_READ || tag === EVENTTYPE.FD_WRITE) {
          const fd = view.getUint32(s + 16, true);
          let error: number = Errno.SUCCESS;
          let nbytes = 0n;
          try {
            const entry = ctx.fds.get(fd);
            if (entry.kind === 'stdin' && tag === EVENTTYPE.FD_READ) {
              // Ready only when a read would not wait; otherwise waited on below.
              if (!entry.stream.ready(0)) {
                stdinWaits.push({ userdata, stream: entry.stream });
                continue;
              }
              nbytes = BigInt(entry.stream.available());
            } else if (entry.kind === 'dir') error = Errno.BADF;
          } catch (e) {
            error = e instanceof WasiError ? e.errno : Errno.BADF;
          }
          events.push({ userdata, error, type: tag, nbytes });
        } else {
          throw new WasiError(Errno.INVAL);
        }
      }
      // Nothing ready, stdin awaited: wait for input, the soonest clock, or the deadline (which ends the run).
      if (events.length === 0 && stdinWaits.length > 0) {
        ctx.flushOutput();
        const waitMs = sleepUntilNs === null ? Infinity : Number(sleepUntilNs) / 1e6;
        const started = performance.now();
        for (;;) {
          const left = waitMs - (performance.now() - started);
          const ready = stdinWaits.filter((w) => w.stream.ready(Math.min(Math.max(0, left), 50)));
          if (ready.length > 0) {
            for (const w of ready) events.push({ userdata: w.userdata, error: 0, type: EVENTTYPE.FD_READ, nbytes: BigInt(w.stream.available()) });
            break;
          }
          ctx.checkDeadline();
          if (waitMs - (performance.now() - started) <= 0) {
            sleepUntilNs = 0n;
            break;
          }
        }
      }
      // Only sleep when nothing else is ready; the wait never passes the run's deadline.
      if (events.length === 0 && sleepUntilNs !== null) {
        const ms = Number(sleepUntilNs) / 1e6;
        ctx.flushOutput();
        // A sleep past the deadline ends the run at the deadline (Atomics.wait may wake a little early).
        while (ms > ctx.msUntilDeadline()) {
          sleepMs(Math.max(1, ctx.msUntilDeadline()));
          ctx.checkDeadline();
        }
        sleepMs(ms);
        const soonest = clockEvents.reduce((a, b) => (b.at < a.at ? b : a));
        for (const c of clockEvents) if (c.at <= soonest.at) events.push({ userdata: c.userdata, error: 0, type: EVENTTYPE.CLOCK, nbytes: 0n });
      } else if (events.length === 0) {
        for (const c of clockEvents) events.push({ userdata: c.userdata, error: 0, type: EVENTTYPE.CLOCK, nbytes: 0n });
      }
      const out = m.data();
      events.forEach((e, i) => {
        const p = output + i * EVENT_BYTES;
        for (let k = 0; k < EVENT_BYTES; k += 4) out.setUint32(p + k, 0, true);
        out.setBigUint64(p, e.userdata, true);
        out.setUint16(p + 8, e.error, true);
        out.setUint8(p + 10, e.type);
        out.setBigUint64(p + 16, e.nbytes, true);
      });
      out.setUint32(neventsPtr >>> 0, events.length, true);
      return 0;
    },
  };
}
