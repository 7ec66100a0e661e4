// Fairness between tenants. Each tenant has a lane: at most `concurrency` of
// its requests run at once and at most `queue` wait. The shared pool has
// `slots` runs at once across all tenants; when one frees, lanes are visited
// round-robin from where the last visit stopped, so one tenant's backlog can
// delay another tenant's request by at most one run per busy tenant, never
// starve it.

export interface Lane {
  /** Lowered to 1 while the tenant keeps hitting its deadline or fuel (see Tenant.strike). */
  concurrency: number;
  readonly maxQueued: number;
  running: number;
  readonly waiting: Array<() => void>;
}

export function createLane(concurrency: number, maxQueued: number): Lane {
  return { concurrency, maxQueued, running: 0, waiting: [] };
}

export class FairScheduler {
  private running = 0;
  /** Lanes with waiting work, in round-robin order. */
  private readonly ring: Lane[] = [];
  private cursor = 0;

  constructor(private slots: number) {}

  /**
   * Changes how many runs go at once (a reload's `server.workers`). More
   * slots take waiting requests now; fewer let the runs in progress finish
   * and start no new one until the count is below the new number.
   */
  resize(slots: number): void {
    this.slots = slots;
    this.pump();
  }

  /**
   * Waits for a run slot for `lane`. Resolves with a release function, or
   * with null when the lane's queue is full (the caller answers 429).
   */
  acquire(lane: Lane): Promise<(() => void) | null> {
    const now = this.tryAcquire(lane);
    if (now) return Promise.resolve(now);
    if (lane.waiting.length >= lane.maxQueued) return Promise.resolve(null);
    return new Promise((resolve) => {
      lane.waiting.push(() => resolve(this.releaser(lane)));
      if (!this.ring.includes(lane)) this.ring.push(lane);
    });
  }

  /**
   * A run slot for `lane` if one is free now and no request of the lane is
   * waiting (which would be overtaken): the release function, else null (then
   * acquire() waits). Spares a request that need not wait a promise turn.
   */
  tryAcquire(lane: Lane): (() => void) | null {
    if (lane.running < lane.concurrency && this.running < this.slots && lane.waiting.length === 0) {
      this.start(lane);
      return this.releaser(lane);
    }
    return null;
  }

  get load(): { running: number; queued: number } {
    let queued = 0;
    for (const lane of this.ring) queued += lane.waiting.length;
    return { running: this.running, queued };
  }

  private start(lane: Lane): void {
    lane.running++;
    this.running++;
  }

  private releaser(lane: Lane): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      lane.running--;
      this.running--;
      this.pump();
    };
  }

  /** Hands free slots to waiting lanes, one run per lane per turn. */
  private pump(): void {
    while (this.running < this.slots && this.ring.length > 0) {
      let started = false;
      for (let visited = 0; visited < this.ring.length && this.running < this.slots; visited++) {
        if (this.cursor >= this.ring.length) this.cursor = 0;
        const lane = this.ring[this.cursor]!;
        if (lane.waiting.length > 0 && lane.running < lane.concurrency) {
          const next = lane.waiting.shift()!;
          this.start(lane);
          next();
          started = true;
        }
        if (lane.waiting.length === 0) this.ring.splice(this.cursor, 1);
        else this.cursor++;
      }
      if (!started) break;
    }
  }
}
