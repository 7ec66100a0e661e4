// A pool of worker threads that each run one guest at a time.
//
// A run that reaches its deadline is not interrupted inside the worker (that
// would cost a watchdog thread per run, ~60 µs): the pool answers the caller
// at the deadline, terminates the worker, and hands the next run to a warm
// spare, so a spinning guest costs the pool one replacement and nobody a wait.

import { Worker } from 'node:worker_threads';

export interface PoolOptions {
  /** Module that the workers run; it must answer `{ id, result }` for each `{ id, job }`. */
  workerUrl: URL;
  /** Workers that may run guests at once. */
  size: number;
  /** Runs that may wait for a free worker; one more is refused at once. */
  maxQueued: number;
  /** Per-worker V8 limits (stack size matters: it bounds guest recursion). */
  resourceLimits?: { stackSizeMb?: number; maxOldGenerationSizeMb?: number };
  /** Extra warm workers kept beyond `size`, so a terminated one is replaced without a cold start. */
  spares?: number;
}

export interface PoolRun<Result> {
  result: Promise<PoolOutcome<Result>>;
}

export type PoolOutcome<Result> =
  | { kind: 'done'; result: Result }
  | { kind: 'deadline' }
  | { kind: 'crashed'; message: string };

export class PoolBusyError extends Error {
  override name = 'PoolBusyError';
}

export class PoolClosedError extends Error {
  override name = 'PoolClosedError';
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
}

interface Pending<Job> {
  job: Job;
  transfer: ReadonlyArray<ArrayBuffer>;
  deadlineMs: number | null;
  resolve: (outcome: PoolOutcome<unknown>) => void;
}

export class WorkerPool<Job, Result> {
  private readonly options: Required<Omit<PoolOptions, 'resourceLimits'>> & Pick<PoolOptions, 'resourceLimits'>;
  private readonly slots: Slot[] = [];
  private readonly spares: Slot[] = [];
  private readonly queue: Array<Pending<Job>> = [];
  private nextId = 1;
  private closed = false;
  /** Workers replaced after a deadline or a crash, for metrics and tests. */
  replaced = 0;

  constructor(options: PoolOptions) {
    if (!(options.size >= 1)) throw new RangeError('pool size must be at least 1');
    this.options = { spares: 1, ...options };
    for (let i = 0; i < this.options.size; i++) this.slots.push(this.spawn());
    for (let i = 0; i < this.options.spares; i++) this.spares.push(this.spawn());
  }

  /** Resolves when every worker is online. */
  async ready(): Promise<void> {
    await Promise.all([...this.slots, ...this.spares].map((s) => s.ready));
  }

  get activeRuns(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  get queuedRuns(): number {
    return this.queue.length;
  }

  run(job: Job, options: { deadlineMs: number | null; transfer?: ArrayBuffer[] }): Promise<PoolOutcome<Result>> {
    if (this.closed) return Promise.reject(new PoolClosedError('the sandbox is closed'));
    return new Promise((resolve, reject) => {
      const pending: Pending<Job> = {
        job,
        transfer: options.transfer ?? [],
        deadlineMs: options.deadlineMs,
        resolve: resolve as (o: PoolOutcome<unknown>) => void,
      };
      const free = this.slots.find((s) => !s.busy);
      if (free) return this.dispatch(free, pending);
      if (this.queue.length >= this.options.maxQueued) {
        reject(new PoolBusyError(`too many runs: ${this.options.size} running and ${this.queue.length} waiting`));
        return;
      }
      this.queue.push(pending);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.resolve({ kind: 'crashed', message: 'the sandbox was closed' });
    await Promise.all([...this.slots, ...this.spares].map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.workerUrl, {
      resourceLimits: this.options.resourceLimits,
      // Guests never see the host's environment; workers get an empty one.
      env: {},
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    ready.catch(() => {});
    return { worker, ready, busy: false };
  }

  private dispatch(slot: Slot, pending: Pending<Job>): void {
    slot.busy = true;
    const id = this.nextId++;
    const { worker } = slot;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: PoolOutcome<unknown>, replace: boolean): void => {
      if (timer) clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      pending.resolve(outcome);
      if (replace) this.replace(slot);
      else this.release(slot);
    };
    const onMessage = (message: { id: number; result: unknown }): void => {
      if (message.id === id) finish({ kind: 'done', result: message.result }, false);
    };
    const onError = (error: Error): void => finish({ kind: 'crashed', message: error.message }, true);
    const onExit = (code: number): void => finish({ kind: 'crashed', message: `worker exited with code ${code}` }, true);
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    if (pending.deadlineMs !== null) {
      timer = setTimeout(() => finish({ kind: 'deadline' }, true), Math.max(0, pending.deadlineMs));
    }
    worker.postMessage({ id, job: pending.job }, pending.transfer as ArrayBuffer[]);
  }

  private release(slot: Slot): void {
    slot.busy = false;
    const next = this.queue.shift();
    if (next) this.dispatch(slot, next);
  }

  /** Retires a worker that may still be spinning and puts a warm one in its place. */
  private replace(slot: Slot): void {
    this.replaced++;
    const old = slot.worker;
    old.removeAllListeners('error');
    old.on('error', () => {});
    void old.terminate();
    if (this.closed) return;
    const fresh = this.spares.shift() ?? this.spawn();
    this.spares.push(this.spawn());
    const index = this.slots.indexOf(slot);
    this.slots[index] = fresh;
    this.release(fresh);
  }
}
