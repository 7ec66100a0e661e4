// How a plugin session's call crosses to its worker and back: through one
// SharedArrayBuffer, with no message in the common case.
//
// The host writes the function's name and the input into the region, bumps
// the request cell and notifies; the worker, waiting on that cell, runs the
// call, writes the reply and bumps the reply cell, which the host awaits with
// Atomics.waitAsync. Each side first watches its cell for a bounded few
// microseconds before it sleeps (the worker for the next call, the host for
// the reply), so a short call and a quick next one cross without a
// scheduler wake-up; past the bound nothing spins, so an idle session costs
// no CPU (bounds and measurements: docs/RATIONALE.md). A plain reply (the
// call returned; no stdio, logs, denials, limits or variable changes) is a
// few numbers and the output and error bytes; anything else is the whole record, serialized (node:v8).
// Whatever does not fit the region (a large input or record) goes through a
// MessagePort beside it, read synchronously on the other side
// (receiveMessageOnPort), so neither thread needs its event loop for a call.
// Measured against a posted message for the call itself: docs/RATIONALE.md.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import type { WarmResult } from './warm-instance.js';
import { watch, WatchBudget } from './watch-cell.js';
import { nextSeq } from './channel.js';

const REQ_SEQ = 0;
const REP_SEQ = 1;
const NAME_LEN = 2;
const INPUT_LEN = 3;
const RESULTS = 4;
const REPLY_KIND = 5;
const REPLY_LEN = 6;
const OUT_LEN = 7;
const ERR_LEN = 8;
const N_COUNTS = 9;
const REUSED = 10;
const READY = 11;
/** What the worker is doing between calls (WORKER.*), and how many times it went to sleep. */
const WORKER_STATE = 12;
const WORKER_SLEEPS = 13;
/** The last call the worker took (it runs it now, or has answered it). */
const TAKEN = 14;
/** The last call the host stopped watching for because the worker had not taken it at once. */
const GAVE_UP = 15;
const INT_CELLS = 16;
// Float64 cells of a plain reply.
const F_RC = 0;
const F_FUEL = 1;
const F_WALL = 2;
const F_PEAK = 3;
const F_MEMORY = 4;
const FLOAT_CELLS = 8;
const HEADER = INT_CELLS * 4 + FLOAT_CELLS * 8;
/** Bytes of a call or reply that cross in shared memory; more go through the port. */
export const WIRE_REGION = 256 * 1024;

/** Atomics.waitAsync (in Node 20, not yet in TypeScript's ES2022 library). */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

const KIND = { PLAIN: 1, FULL: 2, FULL_ON_PORT: 3, FAILED: 4 } as const;
/** INPUT_LEN when the input came through the port. */
const ON_PORT = -1;
/** NAME_LEN when the call names the same function as the last call on this wire (the name is not sent again). */
const SAME_NAME = -1;
const WORKER = { CALLING: 0, WATCHING: 1, ASLEEP: 2 } as const;

/**
 * How long the worker, having answered, watches for the next call before it
 * sleeps in Atomics.wait: long enough to cover an embedder that calls again
 * as soon as its await resumes, short enough that a session left idle stops
 * costing CPU within a fraction of a millisecond.
 */
export const NEXT_CALL_SPIN_US = 50;
/**
 * How long the host, once the worker took its call, watches for the reply before it
 * falls back to Atomics.waitAsync (its event loop is blocked meanwhile, so
 * this stays short: a trivial call answers in a few microseconds).
 */
export const REPLY_SPIN_US = 30;
/**
 * How long the host watches for a worker that was watching to take a call:
 * one running on another core takes it within a fraction of a microsecond;
 * one the scheduler does not run (a busy machine) does not, and watching
 * for it only holds this thread, perhaps on the very core the worker needs.
 * A sleeping worker is not watched for: woken on another core it takes
 * longer than a watch is worth (measured: docs/RATIONALE.md).
 */
const TAKE_SPIN_US = 2;


export function createWire(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + WIRE_REGION);
}

class Cells {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly region: Uint8Array;
  constructor(sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab, 0, INT_CELLS);
    this.f64 = new Float64Array(sab, INT_CELLS * 4, FLOAT_CELLS);
    this.region = new Uint8Array(sab, HEADER, WIRE_REGION);
  }
}

const utf8 = new TextEncoder();
const NO_COUNTS: readonly number[] = [];
const fromUtf8 = new TextDecoder();

/** What a reply carries back to the host. */
export type WireReply =
  | { kind: 'plain'; rc: number | null; output: Uint8Array; error: string | null; fuelUsed: number | null; wallMs: number; peakMemoryBytes: number; memoryBytes: number; counts: readonly number[]; reused: boolean }
  | { kind: 'full'; record: WarmResult }
  | { kind: 'failed'; message: string; refused: boolean };

// ------------------------------------------------------------------ host side

export class HostWire {
  private readonly c: Cells;
  private seq = 0;
  /** The name the worker holds from the last call on this wire. */
  private lastName: string | null = null;
  /** Whether the worker was watching for a call when the last one was sent (else it slept, or had not finished answering). */
  private sentToWatching = false;
  constructor(sab: SharedArrayBuffer, private readonly port: MessagePort) {
    this.c = new Cells(sab);
  }

  /** Sends one call; returns its sequence number, to await with `reply`. */
  send(name: string, wantsResult: boolean, input: Uint8Array): number {
    const { i32, region } = this.c;
    // The name was admitted against the module's exports; it is still never trusted to fit.
    if (name.length > 4096) throw new RangeError('function name too long');
    let nameLength = 0;
    if (name === this.lastName) {
      Atomics.store(i32, NAME_LEN, SAME_NAME);
    } else {
      nameLength = utf8.encodeInto(name, region).written;
      Atomics.store(i32, NAME_LEN, nameLength);
      this.lastName = name;
    }
    if (nameLength + input.length <= WIRE_REGION) {
      region.set(input, nameLength);
      Atomics.store(i32, INPUT_LEN, input.length);
    } else {
      this.port.postMessage(input);
      Atomics.store(i32, INPUT_LEN, ON_PORT);
    }
    Atomics.store(i32, RESULTS, wantsResult ? 1 : 0);
    this.sentToWatching = Atomics.load(i32, WORKER_STATE) === WORKER.WATCHING;
    // Wrapped as the 32-bit cells carry it (channel.ts nextSeq): a plain count stopped matching its reply past 2^31.
    const seq = (this.seq = nextSeq(this.seq));
    Atomics.store(i32, REQ_SEQ, seq);
    Atomics.notify(i32, REQ_SEQ);
    return seq;
  }

  /** Whether the worker has answered `seq`, watching for it at most `micros` (this thread does nothing else meanwhile). */
  answeredWithin(seq: number, micros: number): boolean {
    const i32 = this.c.i32;
    // Watched for only once the worker took it: a worker that was watching takes it at once if
    // it runs; one that slept is looked at once (the notify that woke it often returns after
    // the worker, run on this very core, has answered).
    if (watch(i32, TAKEN, (seq - 1) | 0, this.sentToWatching ? TAKE_SPIN_US : 0) !== seq) {
      Atomics.store(i32, GAVE_UP, seq);
      return false;
    }
    return watch(i32, REP_SEQ, (seq - 1) | 0, micros) === seq;
  }

  /** What the worker is doing: running a call, watching for the next one, or asleep until it comes. */
  get workerState(): 'calling' | 'watching' | 'asleep' {
    const state = Atomics.load(this.c.i32, WORKER_STATE);
    return state === WORKER.ASLEEP ? 'asleep' : state === WORKER.WATCHING ? 'watching' : 'calling';
  }

  /** How many times the worker has gone to sleep waiting for a call. */
  get workerSleeps(): number {
    return Atomics.load(this.c.i32, WORKER_SLEEPS);
  }

  /** Resolves when the worker has answered `seq` (the caller bounds the wait by killing the worker). */
  async answered(seq: number, stopped: () => boolean): Promise<boolean> {
    const i32 = this.c.i32;
    for (;;) {
      const seen = Atomics.load(i32, REP_SEQ);
      if (seen === seq) return true;
      if (stopped()) return false;
      const wait = waitAsync(i32, REP_SEQ, seen);
      if (wait.async) await wait.value;
    }
  }

  /** Resolves when the worker has started and can take calls (its set-up does not count against a call's deadline). */
  async started(stopped: () => boolean): Promise<boolean> {
    const i32 = this.c.i32;
    while (Atomics.load(i32, READY) === 0) {
      if (stopped()) return false;
      const wait = waitAsync(i32, READY, 0);
      if (wait.async) await wait.value;
    }
    return true;
  }

  /** Wakes an `answered` or `started` wait (the worker was stopped). */
  wake(): void {
    Atomics.notify(this.c.i32, REP_SEQ);
    Atomics.notify(this.c.i32, READY);
  }

  reply(): WireReply {
    const { i32, f64, region } = this.c;
    const kind = Atomics.load(i32, REPLY_KIND);
    const len = Atomics.load(i32, REPLY_LEN);
    if (kind === KIND.PLAIN) {
      // Lengths the worker wrote, kept inside the region whatever they say.
      const n = Math.min(Math.max(0, Atomics.load(i32, N_COUNTS)), WIRE_REGION / 8);
      const outLen = Math.min(Math.max(0, Atomics.load(i32, OUT_LEN)), WIRE_REGION - n * 8);
      const errLen = Math.min(Atomics.load(i32, ERR_LEN), WIRE_REGION - n * 8 - outLen);
      const counts = n === 0 ? NO_COUNTS : Array.from(new Float64Array(region.buffer, region.byteOffset, n));
      const at = n * 8;
      const rc = f64[F_RC]!;
      const fuel = f64[F_FUEL]!;
      return {
        kind: 'plain', rc: Number.isNaN(rc) ? null : rc, output: region.slice(at, at + outLen),
        error: errLen < 0 ? null : fromUtf8.decode(region.subarray(at + outLen, at + outLen + errLen)),
        fuelUsed: Number.isNaN(fuel) ? null : fuel, wallMs: f64[F_WALL]!, peakMemoryBytes: f64[F_PEAK]!, memoryBytes: f64[F_MEMORY]!,
        counts, reused: Atomics.load(i32, REUSED) === 1,
      };
    }
    // From a copy: node:v8 makes each typed array in the record a view of the bytes it reads, and a view of the
    // region would show the next call's reply (a record handed to the caller changed under it).
    if (kind === KIND.FULL) return { kind: 'full', record: deserialize(region.slice(0, len)) as WarmResult };
    if (kind === KIND.FULL_ON_PORT) return { kind: 'full', record: takeFromPort(this.port) as WarmResult };
    const failure = JSON.parse(fromUtf8.decode(region.subarray(0, len))) as { message: string; refused: boolean };
    return { kind: 'failed', ...failure };
  }
}

// ---------------------------------------------------------------- worker side

export class WorkerWire {
  private readonly c: Cells;
  private seen = 0;
  /** The last call's function name (a call naming the same one does not send it again). */
  private name = '';
  /** The region as Float64 cells, for a plain reply's host-call counts. */
  private readonly counts: Float64Array;
  /** How long the next watch lasts, adapted to how the last ones went (`budget`). */
  private readonly watchBudget = new WatchBudget();
  /** The call after which the worker last watched, and whether that watch caught the next call. */
  private watched = -1;
  private caught = false;
  constructor(sab: SharedArrayBuffer, private readonly port: MessagePort) {
    this.c = new Cells(sab);
    this.counts = new Float64Array(sab, HEADER, WIRE_REGION / 8);
  }

  /** Tells the host the worker takes calls now. */
  ready(): void {
    Atomics.store(this.c.i32, READY, 1);
    Atomics.notify(this.c.i32, READY);
  }

  /**
   * Waits for the next call: watches for it `spinMicros` first, then sleeps.
   * The sleep has no timeout: between calls the worker has nothing to do,
   * and the host ends it with terminate(), which wakes it.
   *
   * The input is a view of the shared region, valid until this call is
   * answered (the host writes the region again only for the next call).
   */
  next(spinMicros = NEXT_CALL_SPIN_US): { name: string; wantsResult: boolean; input: Uint8Array } {
    const { i32, region } = this.c;
    if (Atomics.load(i32, REQ_SEQ) === this.seen) {
      Atomics.store(i32, WORKER_STATE, WORKER.WATCHING);
      const caught = watch(i32, REQ_SEQ, this.seen, this.budget(spinMicros)) !== this.seen;
      this.watched = this.seen;
      this.caught = caught;
      while (Atomics.load(i32, REQ_SEQ) === this.seen) {
        Atomics.store(i32, WORKER_STATE, WORKER.ASLEEP);
        Atomics.add(i32, WORKER_SLEEPS, 1);
        Atomics.wait(i32, REQ_SEQ, this.seen);
      }
    }
    Atomics.store(i32, WORKER_STATE, WORKER.CALLING);
    this.seen = Atomics.load(i32, REQ_SEQ);
    Atomics.store(i32, TAKEN, this.seen);
    // Lengths the host wrote: it is trusted, but a wrong one still reads only inside the region.
    const nameLen = Math.min(Atomics.load(i32, NAME_LEN), WIRE_REGION);
    const inputLen = Atomics.load(i32, INPUT_LEN);
    if (nameLen !== SAME_NAME) this.name = fromUtf8.decode(region.subarray(0, Math.max(0, nameLen)));
    const at = Math.max(0, nameLen);
    const input = inputLen === ON_PORT ? takeFromPort(this.port) as Uint8Array : region.subarray(at, Math.min(WIRE_REGION, at + inputLen));
    return { name: this.name, wantsResult: Atomics.load(i32, RESULTS) === 1, input };
  }

  /**
   * How long to watch for the next call. A watch pays only when it catches a
   * call the host is still watching for itself (both threads running at
   * once, on two cores): then the next watch lasts the full bound. A watch
   * that ran out, or that took a call the host had already stopped watching
   * for (the worker had not been running: a busy machine, or an embedder that
   * calls rarely), halves it, down to none; with none, one call in 32 is
   * watched again for the full bound, to notice that things changed.
   */
  private budget(bound: number): number {
    // The last watch ended with the call `seen` (or ran out before it).
    if (bound > 0 && this.watched === ((this.seen - 1) | 0)) this.watchBudget.settle(this.caught && Atomics.load(this.c.i32, GAVE_UP) !== this.seen, bound);
    return this.watchBudget.next(bound);
  }

  /** Answers the call `next` returned. */
  answer(record: WarmResult): void {
    const { i32, f64, region } = this.c;
    const p = record.plugin;
    const plain = !record.trap && record.exitCode === 0 && record.results !== undefined && record.usage.outputBytes === 0 && record.stdout.length === 0 && record.stderr.length === 0
      && record.limitsHit.length === 0 && record.deniedCount === 0 && p.logs.length === 0 && p.logsDropped === 0 && !p.vars;
    const counts = record.hostCalls ? Object.values(record.hostCalls) : NO_COUNTS;
    const error = p.error === null ? null : utf8.encode(p.error);
    if (plain && counts.length * 8 + p.output.length + (error?.length ?? 0) <= WIRE_REGION) {
      for (let i = 0; i < counts.length; i++) this.counts[i] = counts[i]!;
      const at = counts.length * 8;
      region.set(p.output, at);
      if (error) region.set(error, at + p.output.length);
      const rc = record.results!.length === 1 ? Number(record.results![0]) : 0;
      f64[F_RC] = rc;
      f64[F_FUEL] = record.fuelUsed ?? NaN;
      f64[F_WALL] = record.usage.wallMs;
      f64[F_PEAK] = record.usage.peakMemoryBytes;
      f64[F_MEMORY] = p.memoryBytes;
      Atomics.store(i32, N_COUNTS, counts.length);
      Atomics.store(i32, OUT_LEN, p.output.length);
      Atomics.store(i32, ERR_LEN, error ? error.length : -1);
      Atomics.store(i32, REUSED, record.instanceReused ? 1 : 0);
      this.done(KIND.PLAIN, 0);
      return;
    }
    const bytes = serialize(record);
    if (bytes.length <= WIRE_REGION) {
      region.set(bytes, 0);
      this.done(KIND.FULL, bytes.length);
    } else {
      this.port.postMessage(record);
      this.done(KIND.FULL_ON_PORT, 0);
    }
  }

  /** Answers with a failure that is not the guest's (a host function module that did not load). */
  fail(message: string, refused: boolean): void {
    const bytes = utf8.encode(JSON.stringify({ message: message.slice(0, 2000), refused }));
    this.c.region.set(bytes, 0);
    this.done(KIND.FAILED, bytes.length);
  }

  private done(kind: number, len: number): void {
    const i32 = this.c.i32;
    Atomics.store(i32, REPLY_KIND, kind);
    Atomics.store(i32, REPLY_LEN, len);
    Atomics.store(i32, REP_SEQ, this.seen);
    Atomics.notify(i32, REP_SEQ);
  }
}

/**
 * A message the other side posted before it bumped a cell: already queued on
 * this port (postMessage enqueues before it returns), read synchronously.
 */
function takeFromPort(port: MessagePort): unknown {
  const m = receiveMessageOnPort(port);
  if (!m) throw new Error('plugin session: a message announced through shared memory is missing');
  return m.message;
}
