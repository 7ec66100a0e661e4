// A pool of isolates that each run one guest at a time.
//
// A run that reaches its deadline is not interrupted inside a worker (a
// watchdog costs about 60 µs a run): the pool terminates the worker at the
// deadline and answers with what the run's channel holds. A child process
// stops its own guest at the deadline (it has a watchdog and reports itself);
// one that has not answered shortly after is SIGKILLed.
//
// A stopped isolate keeps its slot until it has really exited: V8 may delay
// a worker's termination (a memory.grow loop, measured in seconds), and
// such a thread still burns a core, so it is counted against the
// concurrency limit until it is gone, and reported as wedged if it lingers.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Isolate } from './isolates.js';
import { offerResultHandoff, resultsPosted, watchForResult, withdrawResultHandoff, type ResultMessage } from './channel.js';
import { WatchBudget } from './watch-cell.js';

export type PoolOutcome<Result> =
  | { kind: 'done'; result: Result }
  | { kind: 'deadline'; exited: boolean }
  | { kind: 'crashed'; message: string };

/** Too many runs at once: the sandbox refuses rather than queueing without bound. */
export class SandboxBusyError extends Error {
  override name = 'SandboxBusyError';
}

export class SandboxClosedError extends Error {
  override name = 'SandboxClosedError';
}

/** How long a terminated worker gets to exit before the run is answered anyway. */
export const KILL_GRACE_MS = 40;
/** How long after its deadline a child process has to report itself before SIGKILL. */
export const PROCESS_GRACE_MS = 80;
/** A stopped isolate still alive after this long is reported as wedged. */
export const WEDGED_AFTER_MS = 1000;

export interface RunHooks {
  /** Every message of the run other than its result (stdio, denials, calls). */
  onMessage?: (message: unknown) => void;
  /** Called when the run is handed to an isolate. */
  onDispatch?: (isolate: Isolate) => void;
  /**
   * Called with the run's result as it arrives, before the isolate takes its
   * next run: what the run left in the isolate's shared memory is still there.
   */
  onResult?: () => void;
  /**
   * The run needs nothing of this thread while it runs (no closure, no
   * `http_request`, no stdin read or output written from here): the pool may
   * hold the thread watching for its result (`resultWatchUs`), since nothing
   * waits on it.
   */
  mayWatchResult?: boolean;
}

interface Slot {
  isolate: Isolate;
  busy: boolean;
  /** Removed by a resize while busy: when its run ends its isolate is stopped, not given the next run. */
  leaving?: boolean;
}

interface Pending {
  job: unknown;
  deadlineMs: number | null;
  hooks: RunHooks;
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
  /** Told when a stopped isolate has not exited WEDGED_AFTER_MS after it was stopped. */
  onWedged?: (isolate: Isolate) => void;
  /**
   * How long this thread may watch, right after handing a run to a worker
   * while no other run is in progress, for its result (default 0: never).
   * A short run's result is then taken at once instead of after the event
   * loop is woken for it; the watch adapts (WatchBudget), so a pool whose
   * runs take longer soon stops holding the thread. Not for a pool that
   * serves many callers at once (a server's: its thread has requests to take).
   */
  resultWatchUs?: number;
}

/** The watch a sandbox's own thread pool keeps for a lone run's result (µs). */
export const RESULT_WATCH_US = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class IsolatePool<Job, Result> {
  private readonly slots: Slot[] = [];
  private readonly spares: Isolate[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Isolates replaced after a deadline or a crash. */
  replaced = 0;
  /** Stopped isolates that took longer than WEDGED_AFTER_MS to exit. */
  wedged = 0;
  /** Stopped isolates that have not exited yet. */
  stopping = 0;
  private readonly resultWatch = new WatchBudget();

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < options.size; i++) this.slots.push({ isolate: this.spawn(), busy: false });
    for (let i = 0; i < options.spares; i++) this.spares.push(this.spawn());
  }

  /**
   * A new isolate, watched between runs: one that fails or exits while idle
   * is replaced at once. Without this, an 'error' nobody listened for would
   * be thrown on the host's thread, and a run handed to an isolate that had
   * exited would wait for its deadline (for ever, without one). During a run
   * the run's own listeners answer it (dispatch).
   */
  private spawn(): Isolate {
    const isolate = this.options.spawn();
    const lost = (): void => this.lostWhileIdle(isolate);
    isolate.on('error', lost);
    isolate.on('exit', lost);
    return isolate;
  }

  private lostWhileIdle(isolate: Isolate): void {
    if (this.closed) return;
    // One that never started is left to fail the run that waits for it (dispatch), so an entry
    // that cannot start is retried as runs come, never in a loop of its own.
    if (!isolate.started) return;
    const spare = this.spares.indexOf(isolate);
    if (spare >= 0) {
      this.spares.splice(spare, 1);
      isolate.kill();
      return;
    }
    const slot = this.slots.find((s) => s.isolate === isolate && !s.busy);
    if (!slot) return; // busy: the run's listeners, or a retirement already under way, have it
    slot.busy = true;
    this.retire(slot);
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

  run(job: Job, deadlineMs: number | null, hooks: RunHooks = {}): Promise<PoolOutcome<Result>> {
    if (this.closed) return Promise.reject(new SandboxClosedError('the sandbox is closed'));
    return new Promise((resolve, reject) => {
      const pending: Pending = { job, deadlineMs, hooks, resolve: resolve as Pending['resolve'] };
      for (const slot of this.slots) if (!slot.busy) return this.dispatch(slot, pending);
      if (this.queue.length >= this.options.maxQueued) {
        reject(new SandboxBusyError(`sandbox busy: ${this.slots.length} runs in progress and ${this.queue.length} waiting`));
        return;
      }
      this.queue.push(pending);
    });
  }

  /** Isolates running guests at once (the slots, busy or idle, that no resize has removed). */
  get size(): number {
    let size = 0;
    for (const slot of this.slots) if (!slot.leaving) size++;
    return size;
  }

  /**
   * Changes how many isolates run guests at once. New slots take a spare or a
   * new isolate and then the queued runs; removed slots are idle ones first,
   * their isolates stopped now, then busy ones, whose runs finish as they
   * would have (their isolates stopped after). A run is never cut short.
   * `maxQueued` bounds the queue from now on; runs already queued stay.
   */
  resize(size: number, maxQueued = this.options.maxQueued): void {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('a pool needs a size of at least 1');
    if (this.closed) return;
    this.options.maxQueued = maxQueued;
    // Slots a previous shrink marked, still busy, are taken back first.
    for (const slot of this.slots) {
      if (this.size >= size) break;
      if (slot.leaving) slot.leaving = false;
    }
    while (this.size < size) {
      const slot: Slot = { isolate: this.spares.shift() ?? this.spawn(), busy: false };
      this.slots.push(slot);
      if (this.spares.length < this.options.spares) this.spares.push(this.spawn());
      this.release(slot);
    }
    for (let excess = this.size - size; excess > 0; excess--) {
      const slot = this.slots.find((s) => !s.leaving && !s.busy) ?? this.slots.find((s) => !s.leaving)!;
      slot.leaving = true;
      if (!slot.busy) this.remove(slot);
    }
  }

  /** Takes a slot out of the pool and stops its isolate (idle, or its run just ended). */
  private remove(slot: Slot): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    slot.isolate.kill();
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
    let settled = false;
    // Set once the deadline has stopped the isolate: a result it posted in its last moments may
    // still settle the run, but the slot must never be handed a dying isolate for the next run.
    let killed = false;
    const detach = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      isolate.hold(false);
      isolate.off('message', onMessage);
      isolate.off('error', onError);
      isolate.off('exit', onExit);
    };
    const finish = (outcome: PoolOutcome<unknown>, stop: boolean): void => {
      if (settled) return;
      detach();
      pending.resolve(outcome);
      if (stop || killed) this.retire(slot);
      else this.release(slot);
    };
    const onMessage = (message: { id?: number; result?: unknown }): void => {
      if (message?.id === id && 'result' in message) {
        if (!settled) pending.hooks.onResult?.();
        finish({ kind: 'done', result: message.result }, false);
      } else {
        pending.hooks.onMessage?.(message);
      }
    };
    const onError = (error: Error): void => finish({ kind: 'crashed', message: error.message }, true);
    const onExit = (code: number): void => finish({ kind: 'crashed', message: `the isolate exited with code ${code}` }, true);
    const atDeadline = async (): Promise<void> => {
      if (settled) return;
      // The exit this causes is the deadline's, not a crash.
      isolate.off('exit', onExit);
      isolate.off('error', onError);
      killed = true;
      isolate.kill();
      if (isolate.kind === 'thread') {
        // Let the worker go (normally a few ms), then take every message it posted.
        const exited = await Promise.race([isolate.exited.then(() => true), sleep(KILL_GRACE_MS).then(() => false)]);
        if (settled) return;
        const port = isolate.channel?.port;
        if (port) drainInto(port, onMessage);
        finish({ kind: 'deadline', exited }, true);
      } else {
        finish({ kind: 'deadline', exited: false }, true);
      }
    };
    // Removed again by detach() (on rather than once: once wraps each listener).
    isolate.on('message', onMessage);
    isolate.on('error', onError);
    isolate.on('exit', onExit);
    isolate.hold(true);
    const go = (): void => {
      if (settled) return;
      pending.hooks.onDispatch?.(isolate);
      if (pending.deadlineMs !== null) {
        const grace = isolate.kind === 'process' ? PROCESS_GRACE_MS : 0;
        timer = setTimeout(() => void atDeadline(), pending.deadlineMs + grace);
      }
      const channel = isolate.channel;
      const watchUs = this.options.resultWatchUs ?? 0;
      const lone = watchUs > 0 && pending.hooks.mayWatchResult === true && channel !== undefined && this.slots.every((s) => s === slot || !s.busy);
      const posted = lone ? resultsPosted(channel.sab) : 0;
      // While this thread watches, a plain result may be handed over in shared memory instead of posted (channel.ts).
      if (lone) offerResultHandoff(channel.sab);
      let seen = false;
      let handed: ResultMessage | null = null;
      try {
        // When it was sent, on the wall clock both sides share: a child counts its deadline from here, not from receipt.
        isolate.send({ id, job: pending.job, sentAt: performance.timeOrigin + performance.now() });
        if (lone) seen = watchForResult(channel.sab, posted, this.resultWatch.next(watchUs));
      } finally {
        // Withdrawn whatever happened: past the watch nobody reads the cells, so the isolate must post.
        if (lone) handed = withdrawResultHandoff(channel.sab);
      }
      if (!lone) return;
      if (seen || handed) {
        // Within the watch: the run's messages taken here, in order, a handed result after them.
        drainInto(channel.port, onMessage);
        if (handed) onMessage(handed);
      }
      this.resultWatch.settle(settled, watchUs);
    };
    // A started isolate takes the run now; one still starting, when it is up.
    if (isolate.started) go();
    else isolate.ready.then(go, (error: Error) => finish({ kind: 'crashed', message: `the isolate did not start: ${error.message}` }, true));
  }

  private release(slot: Slot): void {
    slot.busy = false;
    if (this.closed) return;
    if (slot.leaving) return this.remove(slot);
    const next = this.queue.shift();
    if (next) this.dispatch(slot, next);
  }

  /** Stops an isolate; its slot stays taken until it has exited, then a warm one takes its place. */
  private retire(slot: Slot): void {
    const old = slot.isolate;
    this.replaced++;
    this.stopping++;
    old.removeAllListeners('error');
    old.on('error', () => {});
    // Runs may be queued for this slot: the host stays alive until the old isolate has gone.
    old.hold(true);
    old.kill();
    const wedgedTimer = setTimeout(() => {
      this.wedged++;
      this.options.onWedged?.(old);
    }, WEDGED_AFTER_MS);
    wedgedTimer.unref();
    void old.exited.then(() => {
      old.hold(false);
      clearTimeout(wedgedTimer);
      this.stopping--;
      if (this.closed) return;
      // A slot a resize removed gets no new isolate.
      if (slot.leaving) {
        this.slots.splice(this.slots.indexOf(slot), 1);
        return;
      }
      slot.isolate = this.spares.shift() ?? this.spawn();
      if (this.spares.length < this.options.spares) this.spares.push(this.spawn());
      this.release(slot);
    });
  }
}

/** Delivers, synchronously, every message a stopped worker posted that the event loop has not delivered yet. */
function drainInto(port: MessagePort, deliver: (message: { id?: number; result?: unknown }) => void): void {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) deliver(m.message as { id?: number });
}
