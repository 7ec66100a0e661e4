// One pool of worker isolates that several sandboxes schedule their runs
// into. A worker holds nothing of a sandbox's policy: each run's grant,
// module and stdio cross into it as plain data on that run, the channel
// belongs to the isolate, and the worker resets its WASI host every run. So
// sandboxes with different policies can share workers; process isolates are
// started with their trust domain's permission flags and stay per sandbox.
//
// Each sandbox keeps its own limits: a gate in front of the shared pool lets
// at most `concurrency` of its runs in at once and queues at most `queue`
// more (one more is refused, as a pool of its own would). The shared pool
// keeps every pool guarantee (deadline kill and replacement, a wedged
// worker holding its slot) for all of them.

import { IsolatePool, SandboxBusyError, SandboxClosedError, type PoolOutcome, type RunHooks } from './isolate-pool.js';
import { workerIsolate } from './isolates.js';

export interface SharedPoolOptions {
  /** Worker isolates running guests at once, across every sandbox using the pool. */
  size: number;
  /** Runs that may wait for a free worker across all sandboxes; one more is refused (SandboxBusyError). */
  queue: number;
  /** Stack size of the workers, which bounds guest recursion. Default 4 MiB. */
  stackSizeMb?: number;
  /** Told when a worker stopped at a deadline has not exited a second later (it still holds its slot). */
  onWedged?: () => void;
}

/** Runs with the shape of IsolatePool.run: the pool itself, or a sandbox's gate in front of a shared one. */
export interface RunQueue {
  run(job: unknown, deadlineMs: number | null, hooks?: RunHooks): Promise<PoolOutcome<unknown>>;
}

export class SharedPool {
  /** @internal The pool every sandbox given this SharedPool runs its thread-isolated guests in. */
  readonly pool: IsolatePool<unknown, unknown>;
  readonly stackSizeMb: number;

  constructor(options: SharedPoolOptions & { workerEntry: URL }) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('a shared pool needs a size of at least 1');
    if (!(options.queue >= 0)) throw new RangeError('a shared pool needs a queue of 0 or more');
    this.stackSizeMb = options.stackSizeMb ?? 4;
    const stackSizeMb = this.stackSizeMb;
    this.pool = new IsolatePool<unknown, unknown>({
      // A shared pool's workers serve many callers' jobs, which reach each worker far apart
      // under load: they sleep at once between jobs (watching cost a loaded server CPU and paid nothing: RATIONALE).
      spawn: () => workerIsolate(options.workerEntry, { stackSizeMb, jobWatchUs: 0 }),
      size: options.size, maxQueued: options.queue, spares: 1,
      onWedged: () => options.onWedged?.(),
    });
  }

  /** Isolates replaced, wedged, and stopped but not yet exited, across every sandbox. */
  get stats(): { replaced: number; wedged: number; stopping: number } {
    return { replaced: this.pool.replaced, wedged: this.pool.wedged, stopping: this.pool.stopping };
  }

  /** Resolves when the workers have started. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  /** Changes the number of workers and the bound of the queue (IsolatePool.resize: no run is cut short). */
  resize(size: number, queue: number): void {
    this.pool.resize(size, queue);
  }

  /** Worker isolates running guests at once. */
  get size(): number {
    return this.pool.size;
  }

  /** Stops every worker; runs still waiting end as crashed. Sandboxes using it refuse further runs. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

interface Waiting {
  go: () => void;
  closed: () => void;
}

/** One sandbox's share of a shared pool: its own concurrency and queue, closed without closing the pool. */
export class SandboxGate implements RunQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  private closed = false;

  constructor(private readonly shared: SharedPool, private readonly concurrency: number, private readonly maxQueued: number) {}

  run(job: unknown, deadlineMs: number | null, hooks: RunHooks = {}): Promise<PoolOutcome<unknown>> {
    if (this.closed) return Promise.reject(new SandboxClosedError('the sandbox is closed'));
    if (this.running >= this.concurrency) return this.queueThenRun(job, deadlineMs, hooks);
    // A free slot (the common case): straight into the pool, without an async function's own promise.
    this.running++;
    return this.shared.pool.run(job, deadlineMs, hooks).then(this.leftWith, this.leftThrowing);
  }

  /** The slot passes straight to the next waiting run, so `running` never drops below what is in the pool. */
  private leave(): void {
    const next = this.waiting.shift();
    if (next) next.go();
    else this.running--;
  }

  private readonly leftWith = (outcome: PoolOutcome<unknown>): PoolOutcome<unknown> => { this.leave(); return outcome; };
  private readonly leftThrowing = (error: unknown): never => { this.leave(); throw error; };

  private async queueThenRun(job: unknown, deadlineMs: number | null, hooks: RunHooks): Promise<PoolOutcome<unknown>> {
    // The sandbox's own queue bound: one sandbox's backlog cannot fill the shared pool's queue.
    if (this.waiting.length >= this.maxQueued) {
      throw new SandboxBusyError(`sandbox busy: ${this.running} runs in progress and ${this.waiting.length} waiting`);
    }
    const admitted = await new Promise<boolean>((resolve) => this.waiting.push({ go: () => resolve(true), closed: () => resolve(false) }));
    if (!admitted) return { kind: 'crashed', message: 'the sandbox was closed' };
    try {
      return await this.shared.pool.run(job, deadlineMs, hooks);
    } finally {
      this.leave();
    }
  }

  /** Refuses new runs and ends the waiting ones; runs already in the pool finish there. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.closed();
  }
}
