// A bounded watch of one shared-memory cell: what lets a thread that expects
// another's signal within microseconds see it without going to sleep and
// being woken (a scheduler round trip of tens of microseconds here).

/** Watches `cell` until it differs from `from` or `micros` pass; returns its last value. A bound of 0 looks once. */
export function watch(i32: Int32Array, cell: number, from: number, micros: number): number {
  let now = Atomics.load(i32, cell);
  if (now !== from || micros <= 0) return now;
  const until = performance.now() + micros / 1000;
  for (let k = 1; ; k++) {
    now = Atomics.load(i32, cell);
    if (now !== from) return now;
    // The clock is read every 32nd look: a look is a few nanoseconds, a clock read tens.
    if ((k & 31) === 0 && performance.now() >= until) return now;
  }
}

/**
 * How long to watch, adapted to how the last watches went: a watch that
 * caught what it waited for keeps the full bound; one in vain halves what is
 * left, down to none, so a thread whose signals come far apart (an isolate
 * of a loaded server between its requests) soon stops spending CPU on
 * watching. With none left, one wait in 32 watches the full bound again, to
 * notice that things changed.
 */
export class WatchBudget {
  private micros = -1;
  private unwatched = 0;

  /** After a watch: whether it paid. */
  settle(paid: boolean, bound: number): void {
    this.micros = paid || this.micros < 0 ? bound : this.micros < 4 ? 0 : this.micros / 2;
  }

  /** How long the next watch lasts (µs), at most `bound`. */
  next(bound: number): number {
    if (this.micros < 0 || bound <= 0) this.micros = bound;
    if (this.micros > 0) return Math.min(this.micros, bound);
    if (++this.unwatched < 32) return 0;
    this.unwatched = 0;
    return bound;
  }
}
