// A pool of isolates that each run one guest at a time.
//
// A run that reaches its deadline is not interrupted inside the isolate (that
// would cost a watchdog thread per run, about 60 µs): the pool answers the
// caller at the deadline, kills the isolate, and hands the next run to a warm
// spare, so a spinning guest costs one replacement and nobody a wait.

import type { Isolate } from './isolates.js';

export type PoolOutcome<Result> = { kind: 'done'; result: Result } | { kind: 'deadline' } | { kind: 'crashed'; message: string };

/** Too many runs at once: the sandbox refuses rather than queueing without bound. */
export class SandboxBusyError extends Error {
  override name = 'SandboxBusyError';
}

export class SandboxClosedError extends Error {
  override name = 'SandboxClosedError';
}

interface Slot {
  isolate: Isolate;
  busy: boolean;
}

interface Pending {
  job: unknown;
  deadlineMs: number | null;
  resolve: (outcome: PoolOutcome<unknown>) => void;
}

export interface PoolOptions {
  spawn: () => Isolate;
  /** Isolates running guests at once. */
  size: number;
  /** Runs that may wait for a free isolate; one more is refused. */
  maxQueued: number;
  /** Warm isolates kept to replace killed ones. */
  spares: number;
}

export class IsolatePool<Job, Result> {
  private readonly slots: Slot[] = [];
  private readonly spares: Isolate[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Isolates replaced after a deadline or a crash. */
  replaced = 0;

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < options.size; i++) this.slots.push({ isolate: options.spawn(), busy: false });
    for (let i = 0; i < options.spares; i++) this.spares.push(options.spawn());
  }

  async ready(): Promise<void> {
    const all = [...this.slots.map((s) => s.isolate), ...this.spares];
    for (const isolate of all) isolate.hold(true);
    try {
      await Promise.all(all.map((i) => i.ready));
    } finally {
      for (const isolate of all) isolate.hold(false);
    }
  }

  run(job: Job, deadlineMs: number | null): Promise<PoolOutcome<Result>> {
    if (this.closed) return Promise.reject(new SandboxClosedError('the sandbox is closed'));
    return new Promise((resolve, reject) => {
      const pending: Pending = { job, deadlineMs, resolve: resolve as Pending['resolve'] };
      const free = this.slots.find((s) => !s.busy);
      if (free) return this.dispatch(free, pending);
      if (this.queue.length >= this.options.maxQueued) {
        reject(new SandboxBusyError(`sandbox busy: ${this.slots.length} runs in progress and ${this.queue.length} waiting`));
        return;
      }
      this.queue.push(pending);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.resolve({ kind: 'crashed', message: 'the sandbox was closed' });
    for (const isolate of [...this.slots.map((s) => s.isolate), ...this.spares]) isolate.kill();
  }

  private dispatch(slot: Slot, pending: Pending): void {
    slot.busy = true;
    const id = this.nextId++;
    const { isolate } = slot;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: PoolOutcome<unknown>, replace: boolean): void => {
      if (timer) clearTimeout(timer);
      isolate.hold(false);
      isolate.off('message', onMessage);
      isolate.off('error', onError);
      isolate.off('exit', onExit);
      pending.resolve(outcome);
      if (replace) this.replace(slot);
      else this.release(slot);
    };
    const onMessage = (message: { id?: number; result?: unknown }): void => {
      if (message?.id === id) finish({ kind: 'done', result: message.result }, false);
    };
    const onError = (error: Error): void => finish({ kind: 'crashed', message: error.message }, true);
    const onExit = (code: number): void => finish({ kind: 'crashed', message: `the isolate exited with code ${code}` }, true);
    isolate.on('message', onMessage);
    isolate.once('error', onError);
    isolate.once('exit', onExit);
    if (pending.deadlineMs !== null) timer = setTimeout(() => finish({ kind: 'deadline' }, true), pending.deadlineMs);
    isolate.hold(true);
    isolate.send({ id, job: pending.job });
  }

  private release(slot: Slot): void {
    slot.busy = false;
    if (this.closed) return;
    const next = this.queue.shift();
    if (next) this.dispatch(slot, next);
  }

  /** Retires an isolate that may still be running and puts a warm one in its place. */
  private replace(slot: Slot): void {
    this.replaced++;
    slot.isolate.removeAllListeners('error');
    slot.isolate.on('error', () => {});
    slot.isolate.kill();
    if (this.closed) return;
    slot.isolate = this.spares.shift() ?? this.options.spawn();
    this.spares.push(this.options.spawn());
    this.release(slot);
  }
}
