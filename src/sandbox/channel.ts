// The channel between a host thread and the isolate thread that runs a guest:
// one SharedArrayBuffer plus one MessagePort.
//
// What it carries, and why each piece lives where it does:
//  - counters (bytes written, files created, output, denials, memory) in
//    shared memory, published after every host call, so the host can read
//    them when it had to kill the isolate at the deadline;
//  - stdout/stderr: gathered in shared memory and posted to the host in
//    chunks (transferred, not copied); the host writes inherited streams
//    asynchronously to non-blocking descriptors and keeps captured ones. A
//    captured stream's last, partial chunk is never posted: the host takes
//    it from shared memory when the run's result arrives (and, the same way,
//    at a kill), so a small output costs no message of its own. The guest
//    waits, bounded by the deadline, while too many bytes are in flight;
//  - denied attempts, posted as they happen;
//  - the run's result, posted after everything it wrote; or, when the host
//    watches for it and it is plain, handed over in cells (offerResultHandoff),
//    which spares the post's wake-up of the host's event loop;
//  - synchronous calls into the host (stdin; host functions): the isolate
//    posts a request (stdin) or writes it to shared memory and notifies (a
//    host function: the host waits with Atomics.waitAsync), then waits on a
//    reply cell with Atomics.wait, bounded by the deadline; the host answers
//    whenever it can, from its own event loop. postMessage from a busy
//    worker is delivered without the worker's event loop running.
// No thread on either side ever sits in a blocking system call.

import type { MessagePort } from 'node:worker_threads';
import { receiveMessageOnPort } from 'node:worker_threads';
import type { DeniedAttempt, WasiContext } from '../wasi/context.js';
import type { GuestMemory } from '../wasi/guest-memory.js';
import { inheritedEndpoint, type Endpoint } from '../wasi/endpoint.js';
import type { GrantSpec } from '../wasi/grant.js';
import type { RunResult, RunStdio, RunUsage } from '../wasi/run.js';
import { watch, WatchBudget } from './watch-cell.js';
import { thrownText } from './host-functions.js';
import {
  CHUNK_BYTES, discardSink, localStdin, type InputSource, type OutputSink, type OutputSpec,
} from '../wasi/stdio.js';

// Int32 cells.
const I_INFLIGHT = 0;
const I_REPLY_SEQ = 1;
const I_REPLY_LEN = 2;
const I_REPLY_STATUS = 3;
const I_GATHER_LEN = 4; // + stream (1, 2) - 1
const I_DENIED = 6;
// A host function's guest-memory access from the host thread, served by the
// isolate while it waits for that function's reply (doorbell, request, done).
const I_BELL = 7;
const I_MEM_OP = 8;
const I_MEM_PTR = 9;
const I_MEM_LEN = 10;
const I_MEM_DONE = 11;
const I_MEM_STATUS = 12;
// A host-function call posted through shared memory (the host waits for it with Atomics.waitAsync).
const I_REQ_SEQ = 13;
const I_REQ_FN = 14;
const I_REQ_LEN = 15;
const MEM = { READ: 1, WRITE: 2, SIZE: 3 } as const;
/** The guest-memory operations a host function asks of the isolate. */
export const MEMORY_OP = MEM;
// The doorbell the host rings after posting a job to the isolate; an idle
// isolate waits on it (Atomics.wait) rather than in its event loop. Never
// reset: it only counts.
const I_JOB = 16;
/** Cells a run resets (everything before the doorbell). */
const RUN_CELLS = I_JOB;
// Results the isolate has posted, counted after each is on its port: a host
// that expects a result within microseconds watches this cell instead of
// waiting for its event loop to be woken (isolate-pool.ts). Never reset.
const I_RESULTS = 17;
// A lone run's result handed over in these cells instead of posted (offerResultHandoff): whether
// the host offers (HANDOFF), and the handed result's job id and exit code. Never reset by a run.
const I_HANDOFF = 18;
const I_HANDED_ID = 19;
const I_HANDED_EXIT = 20;
/** Int32 cells; even, so that the Float64 cells after them are 8-byte aligned. */
const INT_CELLS = 22;
// Float64 counters.
const F_BYTES_WRITTEN = 0;
const F_FILES = 1;
const F_OUTPUT = 2;
const F_PEAK = 3;
const F_GATHER_BASE = 4; // + stream - 1: stream offset of the region's first byte
const F_FUEL_LEFT = 6;
// A handed result's usage and fuel (NaN for none).
const F_HANDED_WALL = 8;
const F_HANDED_WRITTEN = 9;
const F_HANDED_FILES = 10;
const F_HANDED_OUTPUT = 11;
const F_HANDED_PEAK = 12;
const F_HANDED_FUEL = 13;
const FLOAT_CELLS = 14;

const HEADER_BYTES = INT_CELLS * 4 + FLOAT_CELLS * 8;
const REGION_BYTES = CHUNK_BYTES;
const gatherOffset = (stream: 1 | 2) => HEADER_BYTES + (stream - 1) * REGION_BYTES;
const REPLY_OFFSET = HEADER_BYTES + 2 * REGION_BYTES;
export const CHANNEL_BYTES = REPLY_OFFSET + REGION_BYTES;

/** Output bytes posted to the host but not yet written out, past which the guest waits. */
export const MAX_IN_FLIGHT = 1024 * 1024;

export const REPLY = { OK: 0, END: 1, ERROR: 2 } as const;

/** Messages from the isolate to the host. */
export type ChannelMessage =
  | { t: 'out'; s: 1 | 2; chunk: Uint8Array; counted: boolean }
  | { t: 'denied'; entries: DeniedAttempt[] }
  | { t: 'limits'; names: string[] }
  | { t: 'call'; seq: number; op: string; arg: number; data?: Uint8Array };

class Views {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab, 0, INT_CELLS);
    this.f64 = new Float64Array(sab, INT_CELLS * 4, FLOAT_CELLS);
    this.u8 = new Uint8Array(sab);
  }
  reset(): void {
    for (let i = 0; i < RUN_CELLS; i++) Atomics.store(this.i32, i, 0);
    this.f64.fill(0);
    this.f64[F_FUEL_LEFT] = NaN;
  }
}

// The host's views of each isolate's channel, made once per isolate rather than once per run.
const hostViews = new WeakMap<SharedArrayBuffer, Views>();
function viewsOf(sab: SharedArrayBuffer): Views {
  let views = hostViews.get(sab);
  if (!views) hostViews.set(sab, (views = new Views(sab)));
  return views;
}

export function createChannelMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(CHANNEL_BYTES);
}

/**
 * Job hand-off without the isolate's event loop: the host posts the job,
 * then rings (ringJobBell); the isolate, idle in JobBell.next, wakes on the bell
 * and takes the message from its port synchronously. An Atomics.wait is
 * ended by worker.terminate(), so an idle isolate still stops at once.
 */
export function ringJobBell(sab: SharedArrayBuffer): void {
  const { i32 } = viewsOf(sab);
  Atomics.add(i32, I_JOB, 1);
  Atomics.notify(i32, I_JOB);
}

/**
 * How long an isolate with no job watches the bell before it sleeps on it:
 * a job rung meanwhile (the next run of a caller that awaits each) is taken
 * without a wake-up. The watch adapts (WatchBudget): an isolate whose jobs
 * come far apart (a loaded server's, between its requests) soon stops
 * watching, and an idle one sleeps, costing no CPU. Long enough to cover the
 * caller's thread being descheduled between two runs on a shared machine,
 * where waking a sleeping thread costs more than the run (docs/RATIONALE.md).
 */
export const NEXT_JOB_SPIN_US = 500;

/** How many results the isolate behind `sab` has posted so far. */
export function resultsPosted(sab: SharedArrayBuffer): number {
  return Atomics.load(viewsOf(sab).i32, I_RESULTS);
}

/** Watches, at most `micros`, for the isolate behind `sab` to post a result after its `seen`-th; whether it did. */
export function watchForResult(sab: SharedArrayBuffer, seen: number, micros: number): boolean {
  return watch(viewsOf(sab).i32, I_RESULTS, seen, micros) !== seen;
}

const HANDOFF = { NONE: 0, OFFERED: 1, HANDED: 2 } as const;

/** A finished run's result as the isolate posts it (worker-entry.ts). */
export interface ResultMessage {
  id: number;
  result: { ok: true; value: PlainResult } | { ok: false; refused: boolean; message: string };
}

/** The fields every run's record has (execute.ts); a plain one holds nothing but numbers beside them. */
type PlainResult = Omit<RunResult, 'results'> & { fuelUsed: number | null };
const PLAIN_FIELDS = 9;
const USAGE_FIELDS = 5;

/**
 * Whether a result crosses whole as numbers: the guest exited, with nothing
 * refused, limited, captured in the record or returned. A record with any
 * field beyond the nine (results, host-call counts, a plugin's outcome, or
 * one added later, to the record or to its usage) is posted.
 */
function isPlain(message: ResultMessage): boolean {
  const { result } = message;
  if (!result.ok) return false;
  const r = result.value;
  return r.trap === null && typeof r.exitCode === 'number' && r.limitsHit.length === 0 && r.denied.length === 0 && r.deniedCount === 0
    && r.stdout.length === 0 && r.stderr.length === 0 && Object.keys(r).length === PLAIN_FIELDS && Object.keys(r.usage).length === USAGE_FIELDS;
}

/**
 * Offers the isolate behind `sab` to hand its next result over in shared
 * memory rather than post it, while this thread watches for it (a lone run,
 * isolate-pool.ts): a plain result then costs neither side a message, and
 * this thread's event loop no wake-up. Always ended by withdrawResultHandoff
 * before the watching thread does anything else, so an offer never outlives
 * the watch: a result nobody would read is posted.
 */
export function offerResultHandoff(sab: SharedArrayBuffer): void {
  Atomics.store(viewsOf(sab).i32, I_HANDOFF, HANDOFF.OFFERED);
}

/** Ends the offer: the result the isolate handed over meanwhile, as it would have been posted, or null (it posts its result). */
export function withdrawResultHandoff(sab: SharedArrayBuffer): ResultMessage | null {
  const { i32, f64 } = viewsOf(sab);
  if (Atomics.compareExchange(i32, I_HANDOFF, HANDOFF.OFFERED, HANDOFF.NONE) !== HANDOFF.HANDED) return null;
  const fuel = f64[F_HANDED_FUEL]!;
  const value: PlainResult = {
    exitCode: Atomics.load(i32, I_HANDED_EXIT), trap: null, stdout: new Uint8Array(0), stderr: new Uint8Array(0), limitsHit: [], denied: [], deniedCount: 0,
    usage: { wallMs: f64[F_HANDED_WALL]!, bytesWritten: f64[F_HANDED_WRITTEN]!, filesCreated: f64[F_HANDED_FILES]!, outputBytes: f64[F_HANDED_OUTPUT]!, peakMemoryBytes: f64[F_HANDED_PEAK]! },
    fuelUsed: Number.isNaN(fuel) ? null : fuel,
  };
  const message: ResultMessage = { id: Atomics.load(i32, I_HANDED_ID), result: { ok: true, value } };
  Atomics.store(i32, I_HANDOFF, HANDOFF.NONE);
  return message;
}

/** The isolate's side of the job bell: the next message on its port, waiting on the bell while there is none. */
export class JobBell {
  private readonly i32: Int32Array;
  private readonly budget = new WatchBudget();

  constructor(sab: SharedArrayBuffer, private readonly port: MessagePort, private readonly spinUs = NEXT_JOB_SPIN_US) {
    this.i32 = new Int32Array(sab, 0, INT_CELLS);
  }

  next<T>(): T {
    const { i32, port, spinUs } = this;
    for (;;) {
      // The bell is read before the port is looked at: a job posted after the look rings a bell that no longer matches, so the wait returns.
      const rung = Atomics.load(i32, I_JOB);
      const message = receiveMessageOnPort(port);
      if (message) return message.message as T;
      const caught = watch(i32, I_JOB, rung, this.budget.next(spinUs)) !== rung;
      this.budget.settle(caught, spinUs);
      if (caught) continue;
      Atomics.wait(i32, I_JOB, rung);
    }
  }
}

// ---------------------------------------------------------------- isolate side

/** The isolate's end: stdio and counters for the run in progress. */
export class IsolateChannel {
  private readonly v: Views;
  private seq = 0;
  private deadline: () => void = () => {};
  private msLeft: () => number = () => Infinity;
  private sentDenied = 0;
  private deniedList: DeniedAttempt[] | null = null;
  private limitsSeen = 0;

  constructor(sab: SharedArrayBuffer, private readonly port: MessagePort) {
    this.v = new Views(sab);
  }

  /** Starts a run: clears the counters and builds its stdio over the channel. */
  begin(grant: GrantSpec, deadline: () => void, msLeft: () => number): RunStdio {
    this.v.reset();
    this.deadline = deadline;
    this.msLeft = msLeft;
    this.sentDenied = 0;
    this.deniedList = null;
    this.limitsSeen = 0;
    const sink = (spec: OutputSpec, s: 1 | 2): OutputSink => (spec.kind === 'discard' ? discardSink : this.sinkFor(s, spec.kind !== 'capture'));
    return {
      stdout: sink(grant.stdout, 1),
      stderr: sink(grant.stderr, 2),
      stdin: grant.stdin.kind === 'fd' ? new ChannelInput(this) : localStdin(grant.stdin, deadline),
    };
  }

  /**
   * A stream's sink, made once per channel: a sink's whole state is in the
   * shared cells, which begin() resets, so nothing of a run stays in it.
   */
  private sinkFor(stream: 1 | 2, toHost: boolean): ChannelSink {
    const at = (stream - 1) * 2 + (toHost ? 1 : 0);
    return (this.sinks[at] ??= new ChannelSink(this, stream, toHost));
  }

  private readonly sinks: Array<ChannelSink | undefined> = [];

  /**
   * Host-function calls only (a child process's guest, whose relay thread
   * plays the host's part): the deadline the calls wait within, without the
   * per-run stdio and reset of begin().
   */
  arm(deadline: () => void, msLeft: () => number): void {
    this.deadline = deadline;
    this.msLeft = msLeft;
  }

  /** Copies the live counters where the host can read them, and posts new denials. */
  publish(usage: RunUsage, ctx: WasiContext): void {
    const f = this.v.f64;
    f[F_BYTES_WRITTEN] = usage.bytesWritten;
    f[F_FILES] = usage.filesCreated;
    f[F_OUTPUT] = usage.outputBytes;
    f[F_PEAK] = usage.peakMemoryBytes;
    Atomics.store(this.v.i32, I_DENIED, ctx.deniedCount);
    if (this.deniedList !== ctx.denied) {
      this.deniedList = ctx.denied;
      this.sentDenied = 0;
    }
    if (ctx.denied.length > this.sentDenied) {
      this.post({ t: 'denied', entries: ctx.denied.slice(this.sentDenied) });
      this.sentDenied = ctx.denied.length;
    }
    // Limits that refused something (the guest went on): few, posted when the set grows.
    const limits = ctx.limitsHit.size + ctx.quota.hits.size;
    if (limits !== this.limitsSeen) {
      this.limitsSeen = limits;
      this.post({ t: 'limits', names: [...ctx.limitsHit, ...ctx.quota.hits] });
    }
  }

  setFuelLeft(left: number): void {
    this.v.f64[F_FUEL_LEFT] = left;
  }

  post(message: ChannelMessage, transfer?: ArrayBuffer[]): void {
    this.port.postMessage(message, transfer ?? []);
  }

  /** Hands a finished run's result over (when the host offers and it is plain), else posts it after everything it wrote. */
  postResult(message: ResultMessage): void {
    const { i32 } = this.v;
    if (Atomics.load(i32, I_HANDOFF) !== HANDOFF.OFFERED || !isPlain(message) || !this.hand(message)) this.port.postMessage(message);
    Atomics.add(i32, I_RESULTS, 1);
  }

  /** Writes a plain result into the handoff cells; whether the host's offer still stood to take it. */
  private hand(message: ResultMessage): boolean {
    const { i32, f64 } = this.v;
    const r = (message.result as { value: PlainResult }).value;
    Atomics.store(i32, I_HANDED_ID, message.id);
    Atomics.store(i32, I_HANDED_EXIT, r.exitCode!);
    f64[F_HANDED_WALL] = r.usage.wallMs;
    f64[F_HANDED_WRITTEN] = r.usage.bytesWritten;
    f64[F_HANDED_FILES] = r.usage.filesCreated;
    f64[F_HANDED_OUTPUT] = r.usage.outputBytes;
    f64[F_HANDED_PEAK] = r.usage.peakMemoryBytes;
    f64[F_HANDED_FUEL] = r.fuelUsed ?? NaN;
    // The exchange publishes the writes above: the host reads them only after seeing HANDED.
    return Atomics.compareExchange(i32, I_HANDOFF, HANDOFF.OFFERED, HANDOFF.HANDED) === HANDOFF.OFFERED;
  }

  /**
   * A synchronous call into the host: posts the request, then waits for the
   * reply, never past the run's deadline. The reply's bytes are in the reply
   * region until the next call.
   */
  call(op: string, arg: number): { status: number; bytes: Uint8Array } {
    const seq = (this.seq = nextSeq(this.seq));
    this.post({ t: 'call', seq, op, arg });
    const i32 = this.v.i32;
    for (;;) {
      const seen = Atomics.load(i32, I_REPLY_SEQ);
      if (seen === seq) break;
      this.deadline();
      Atomics.wait(i32, I_REPLY_SEQ, seen, Math.max(1, Math.min(this.msLeft(), 1000)));
    }
    const len = Atomics.load(i32, I_REPLY_LEN);
    return { status: Atomics.load(i32, I_REPLY_STATUS), bytes: this.v.u8.subarray(REPLY_OFFSET, REPLY_OFFSET + len) };
  }

  /**
   * A synchronous call carrying bytes (a host function's arguments). While it
   * waits (never past the deadline), it serves the host function's reads and
   * writes of guest memory through `memory`, which checks every range.
   */
  callWith(fn: number, data: Uint8Array, memory: GuestMemory): { status: number; bytes: Uint8Array } {
    const seq = (this.seq = nextSeq(this.seq));
    const i32 = this.v.i32;
    Atomics.store(i32, I_MEM_OP, 0);
    // The request goes through shared memory, not a message: the host is woken by Atomics.waitAsync.
    this.v.u8.set(data.subarray(0, REGION_BYTES), REPLY_OFFSET);
    Atomics.store(i32, I_REQ_FN, fn);
    Atomics.store(i32, I_REQ_LEN, Math.min(data.length, REGION_BYTES));
    Atomics.store(i32, I_REQ_SEQ, seq);
    Atomics.notify(i32, I_REQ_SEQ);
    for (;;) {
      if (Atomics.load(i32, I_REPLY_SEQ) === seq) break;
      if (Atomics.load(i32, I_MEM_OP) !== 0) {
        this.serveMemory(memory);
        continue;
      }
      this.deadline();
      const bell = Atomics.load(i32, I_BELL);
      if (Atomics.load(i32, I_REPLY_SEQ) === seq || Atomics.load(i32, I_MEM_OP) !== 0) continue;
      Atomics.wait(i32, I_BELL, bell, Math.max(1, Math.min(this.msLeft(), 1000)));
    }
    const len = Atomics.load(i32, I_REPLY_LEN);
    return { status: Atomics.load(i32, I_REPLY_STATUS), bytes: this.v.u8.subarray(REPLY_OFFSET, REPLY_OFFSET + len) };
  }

  /** One guest-memory request from the host: the range is checked here, against the guest's memory as it is now. */
  private serveMemory(memory: GuestMemory): void {
    const { i32, u8 } = this.v;
    const op = Atomics.load(i32, I_MEM_OP);
    const ptr = Atomics.load(i32, I_MEM_PTR) >>> 0;
    const len = Atomics.load(i32, I_MEM_LEN) >>> 0;
    let status = 0;
    try {
      memory.sync();
      if (op === MEM.SIZE) {
        Atomics.store(i32, I_MEM_LEN, memory.bytes().length);
      } else if (len > REGION_BYTES) {
        status = 1;
      } else if (op === MEM.READ) {
        u8.set(memory.slice(ptr, len), REPLY_OFFSET);
      } else if (op === MEM.WRITE) {
        memory.bytes().set(u8.subarray(REPLY_OFFSET, REPLY_OFFSET + len), (memory.checkWrite(ptr, len), ptr));
      } else {
        status = 1;
      }
    } catch {
      // Outside guest memory (or no memory): the host function fails, the guest traps.
      status = 1;
    }
    Atomics.store(i32, I_MEM_STATUS, status);
    Atomics.store(i32, I_MEM_OP, 0);
    Atomics.add(i32, I_MEM_DONE, 1);
    Atomics.notify(i32, I_MEM_DONE);
  }

  /** Waits until the call `seq` has been answered or `ms` passed; false on timeout. */
  awaitReply(seq: number, ms: number): boolean {
    const i32 = this.v.i32;
    const until = performance.now() + ms;
    for (;;) {
      const seen = Atomics.load(i32, I_REPLY_SEQ);
      if (seen === seq) return true;
      this.deadline();
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(i32, I_REPLY_SEQ, seen, Math.max(1, Math.min(left, this.msLeft(), 1000)));
    }
  }

  /** Posts a request without waiting (the reply is awaited with awaitReply). */
  request(op: string, arg: number): number {
    const seq = (this.seq = nextSeq(this.seq));
    this.post({ t: 'call', seq, op, arg });
    return seq;
  }

  reply(): { status: number; bytes: Uint8Array } {
    const i32 = this.v.i32;
    const len = Atomics.load(i32, I_REPLY_LEN);
    return { status: Atomics.load(i32, I_REPLY_STATUS), bytes: this.v.u8.subarray(REPLY_OFFSET, REPLY_OFFSET + len) };
  }

  /** Waits, bounded by the deadline, while more than MAX_IN_FLIGHT bytes wait to be written by the host. */
  waitForRoom(): void {
    const i32 = this.v.i32;
    for (;;) {
      const inFlight = Atomics.load(i32, I_INFLIGHT);
      if (inFlight <= MAX_IN_FLIGHT) return;
      this.deadline();
      Atomics.wait(i32, I_INFLIGHT, inFlight, Math.max(1, Math.min(this.msLeft(), 1000)));
    }
  }

  addInFlight(bytes: number): void {
    Atomics.add(this.v.i32, I_INFLIGHT, bytes);
  }

  get views(): Views {
    return this.v;
  }

}

/**
 * The number of the call after `seq`, as the 32-bit cells carry it: wrapped at 2^31, and never 0
 * (a cell's value before any call, which the host's listener takes for none). An isolate numbers
 * its calls for its whole life; a plain count stopped matching its reply cell past 2^31, and every
 * later call waited for its deadline, or for ever without one.
 */
export function nextSeq(seq: number): number {
  return ((seq + 1) | 0) || 1;
}

const NOTHING_HERE = new Uint8Array(0);

/** A stream gathered in the shared region and posted to the host a chunk at a time. */
class ChannelSink implements OutputSink {
  private readonly region: Uint8Array;
  private readonly lenCell: number;
  private readonly baseCell: number;

  /** `toHost`: written to a host descriptor (bounded in flight); else kept by the host. */
  constructor(private readonly channel: IsolateChannel, private readonly stream: 1 | 2, private readonly toHost: boolean) {
    const at = gatherOffset(stream);
    this.region = channel.views.u8.subarray(at, at + REGION_BYTES);
    this.lenCell = I_GATHER_LEN + stream - 1;
    this.baseCell = F_GATHER_BASE + stream - 1;
  }

  write(memory: Uint8Array, offset: number, length: number): void {
    const i32 = this.channel.views.i32;
    let len = Atomics.load(i32, this.lenCell);
    if (len + length > REGION_BYTES) {
      this.post();
      len = 0;
    }
    if (length > REGION_BYTES) {
      this.send(memory.slice(offset, offset + length));
      this.channel.views.f64[this.baseCell] += length;
      return;
    }
    this.region.set(memory.subarray(offset, offset + length), len);
    // The length is stored after the bytes: what the host recovers at a kill is always written.
    Atomics.store(i32, this.lenCell, len + length);
  }

  flush(): void {
    // A captured stream waits for nothing: its partial chunk stays in shared
    // memory, where the host takes it at the end of the run (takeGathered).
    if (!this.toHost) return;
    this.post();
  }

  /** Posts the gathered bytes (the region is full, or an inherited stream must be out now). */
  private post(): void {
    const v = this.channel.views;
    const len = Atomics.load(v.i32, this.lenCell);
    if (len === 0) return;
    this.send(this.region.slice(0, len));
    // Emptied before the base moves: a kill in between loses nothing and duplicates nothing.
    Atomics.store(v.i32, this.lenCell, 0);
    v.f64[this.baseCell] += len;
  }

  contents(): Uint8Array {
    // What it gathered is read by the host from shared memory and messages, never from here.
    return NOTHING_HERE;
  }

  private send(chunk: Uint8Array): void {
    if (this.toHost) {
      this.channel.waitForRoom();
      this.channel.addInFlight(chunk.length);
    }
    this.channel.post({ t: 'out', s: this.stream, chunk, counted: this.toHost }, [chunk.buffer as ArrayBuffer]);
  }
}

/** Stdin read by the host and handed over through the reply region. */
class ChannelInput implements InputSource {
  private pending = 0;
  private ahead: Uint8Array | null = null;
  private aheadStart = 0;
  private ended = false;

  constructor(private readonly channel: IsolateChannel) {}

  read(target: Uint8Array): number {
    if (target.length === 0) return 0;
    if (!this.has()) {
      if (this.ended) return 0;
      if (this.pending === 0) this.pending = this.channel.request('stdin', CHUNK_BYTES);
      while (!this.channel.awaitReply(this.pending, 1000)) { /* bounded by the deadline inside */ }
      this.take();
      if (!this.has()) return 0;
    }
    const n = Math.min(target.length, this.ahead!.length - this.aheadStart);
    target.set(this.ahead!.subarray(this.aheadStart, this.aheadStart + n));
    this.aheadStart += n;
    return n;
  }

  ready(waitMs: number): boolean {
    if (this.has() || this.ended) return true;
    if (this.pending === 0) this.pending = this.channel.request('stdin', CHUNK_BYTES);
    if (!this.channel.awaitReply(this.pending, waitMs)) return false;
    this.take();
    return true;
  }

  available(): number {
    return this.has() ? this.ahead!.length - this.aheadStart : this.ended ? 0 : 1;
  }

  close(): void {}

  private has(): boolean {
    return this.ahead !== null && this.aheadStart < this.ahead.length;
  }

  private take(): void {
    const { status, bytes } = this.channel.reply();
    this.pending = 0;
    if (status !== REPLY.OK || bytes.length === 0) {
      this.ended = true;
      this.ahead = null;
      return;
    }
    this.ahead = bytes.slice();
    this.aheadStart = 0;
  }
}

/** What a relayed call is waiting for next: its reply, or the host's guest-memory request. */
export type RelayedState =
  | { kind: 'reply'; status: number; bytes: Uint8Array }
  | { kind: 'memory'; op: number; ptr: number; len: number; bytes: Uint8Array }
  | null;

/**
 * The isolate's side of host-function calls, driven from an event loop
 * instead of a waiting thread: a relay that forwards calls made in another
 * process posts each as callWith does, and serves the host's guest-memory
 * requests by asking where the memory is (asynchronously), then answers
 * them as serveMemory does. The host's side (HostChannel) cannot tell the
 * difference.
 */
export class RelayedCalls {
  private readonly v: Views;
  private seq = 0;

  constructor(sab: SharedArrayBuffer) {
    this.v = new Views(sab);
  }

  /** Posts a call (fn, argument bytes, at most one region); returns its sequence number. */
  post(fn: number, data: Uint8Array): number {
    const seq = (this.seq = nextSeq(this.seq));
    const { i32, u8 } = this.v;
    Atomics.store(i32, I_MEM_OP, 0);
    u8.set(data.subarray(0, REGION_BYTES), REPLY_OFFSET);
    Atomics.store(i32, I_REQ_FN, fn);
    Atomics.store(i32, I_REQ_LEN, Math.min(data.length, REGION_BYTES));
    Atomics.store(i32, I_REQ_SEQ, seq);
    Atomics.notify(i32, I_REQ_SEQ);
    return seq;
  }

  /** The call's state now: answered, a memory request pending, or neither. */
  poll(seq: number): RelayedState {
    const { i32, u8 } = this.v;
    if (Atomics.load(i32, I_REPLY_SEQ) === seq) {
      const len = Math.min(Atomics.load(i32, I_REPLY_LEN) >>> 0, REGION_BYTES);
      return { kind: 'reply', status: Atomics.load(i32, I_REPLY_STATUS), bytes: u8.slice(REPLY_OFFSET, REPLY_OFFSET + len) };
    }
    const op = Atomics.load(i32, I_MEM_OP);
    if (op === 0) return null;
    const len = Atomics.load(i32, I_MEM_LEN) >>> 0;
    const bytes = op === MEM.WRITE && len <= REGION_BYTES ? u8.slice(REPLY_OFFSET, REPLY_OFFSET + len) : new Uint8Array(0);
    return { kind: 'memory', op, ptr: Atomics.load(i32, I_MEM_PTR) >>> 0, len, bytes };
  }

  /** Resolves when the host has rung since `bell` was read (an answer or a memory request). */
  async rung(bell: number): Promise<void> {
    const wait = waitAsync(this.v.i32, I_BELL, bell);
    if (wait.async) await wait.value;
  }

  get bell(): number {
    return Atomics.load(this.v.i32, I_BELL);
  }

  /** Answers the pending memory request: status 0 with the bytes read (or the size), else a failure. */
  memoryDone(status: number, read: Uint8Array | null, size: number): void {
    const { i32, u8 } = this.v;
    if (status === 0 && read) u8.set(read.subarray(0, REGION_BYTES), REPLY_OFFSET);
    if (status === 0 && Atomics.load(i32, I_MEM_OP) === MEM.SIZE) Atomics.store(i32, I_MEM_LEN, size | 0);
    Atomics.store(i32, I_MEM_STATUS, status);
    Atomics.store(i32, I_MEM_OP, 0);
    Atomics.add(i32, I_MEM_DONE, 1);
    Atomics.notify(i32, I_MEM_DONE);
  }
}

// ------------------------------------------------------------------- host side

/** A host function the isolate may call synchronously: resolves to reply bytes, or null for end/none. */
export type HostCall = (arg: number, data?: Uint8Array) => Promise<Uint8Array | null> | Uint8Array | null;

export interface HostRunSpec {
  stdin: GrantSpec['stdin'];
  stdout: OutputSpec;
  stderr: OutputSpec;
}

/** Atomics.waitAsync (in Node 20, not yet in TypeScript's ES2022 library). */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** Raw guest-memory access from the host thread (host-functions.ts wraps it in the checked view). */
export interface RemoteMemory {
  size(): number;
  read(ptr: number, length: number): Uint8Array;
  write(ptr: number, bytes: Uint8Array): void;
}

/** What the host knows of a run without the isolate's cooperation. */
export interface ChannelSnapshot {
  usage: Omit<RunUsage, 'wallMs'>;
  limitsHit: string[];
  deniedCount: number;
  denied: DeniedAttempt[];
  stdout: Uint8Array;
  stderr: Uint8Array;
  fuelLeft: number | null;
}

const MAX_DENIED_RECORDS = 100;

/** The host's end for one run: handles the isolate's messages on the host's event loop. */
export class HostChannel {
  private readonly v: Views;
  private readonly captures: Array<CapturedChunks | null> = [null, null];
  private readonly targets: Array<Endpoint | null> = [null, null];
  private readonly received = [0, 0];
  private readonly queue: Array<{ s: 1 | 2; chunk: Uint8Array; at: number; counted: boolean }> = [];
  private readonly denied: DeniedAttempt[] = [];
  private limitsHit: string[] = [];
  private readonly calls = new Map<string, HostCall>();
  private timer: NodeJS.Timeout | null = null;
  private ended = false;
  /** No more host-function calls are taken or answered for this run (endCalls). */
  private callsOver = false;
  private drainWaiters: Array<() => void> = [];
  private writeFailed = false;

  constructor(sab: SharedArrayBuffer, private readonly spec: HostRunSpec) {
    this.v = viewsOf(sab);
    this.v.reset();
    for (const s of [1, 2] as const) {
      const out = s === 1 ? spec.stdout : spec.stderr;
      if (out.kind === 'capture') this.captures[s - 1] = new CapturedChunks();
      else if (out.kind === 'inherit') this.targets[s - 1] = inheritedEndpoint(s, 'write');
      else if (out.kind === 'fd') this.targets[s - 1] = inheritedEndpoint(out.fd, 'write');
    }
    if (spec.stdin.kind === 'fd') this.calls.set('stdin', readerOf(inheritedEndpoint(spec.stdin.fd, 'read'), () => this.ended));
  }

  /** Registers a host function the isolate may call (plugins). */
  handle(op: string, fn: HostCall): void {
    this.calls.set(op, fn);
    if (op.startsWith('host:')) this.listen();
  }

  private listening = false;

  /**
   * Host-function calls arrive through shared memory: this thread waits for
   * the request cell with Atomics.waitAsync (no message, nothing to
   * deserialize) and answers as for a posted call. `end` wakes the wait.
   */
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    const { i32, u8 } = this.v;
    let seen = Atomics.load(i32, I_REQ_SEQ);
    const step = (): void => {
      if (this.callsOver) return;
      const seq = Atomics.load(i32, I_REQ_SEQ);
      if (seq !== seen && seq !== 0) {
        seen = seq;
        const len = Atomics.load(i32, I_REQ_LEN);
        const data = u8.slice(REPLY_OFFSET, REPLY_OFFSET + len);
        this.onMessage({ t: 'call', seq, op: `host:${Atomics.load(i32, I_REQ_FN)}`, arg: len, data });
      }
      const wait = waitAsync(i32, I_REQ_SEQ, seen);
      if (wait.async) wait.value.then(step);
      else step();
    };
    step();
  }

  onMessage(message: ChannelMessage): void {
    switch (message.t) {
      case 'out': {
        const chunk = message.chunk;
        this.received[message.s - 1]! += chunk.length;
        const capture = this.captures[message.s - 1];
        if (capture) {
          capture.take(chunk);
        } else if (this.targets[message.s - 1]) {
          this.queue.push({ s: message.s, chunk, at: 0, counted: message.counted });
          this.pump();
        } else if (message.counted) {
          this.release(chunk.length);
        }
        return;
      }
      case 'denied':
        for (const entry of message.entries) if (this.denied.length < MAX_DENIED_RECORDS) this.denied.push(entry);
        return;
      case 'limits':
        this.limitsHit = message.names.slice(0, 16).map(String);
        return;
      case 'call': {
        const fn = this.calls.get(message.op);
        if (!fn) {
          this.answer(message.seq, REPLY.ERROR, null);
          return;
        }
        // thrownText: a value that cannot be made a string fails the call, not the embedder's thread.
        const failed = (error: unknown) => this.answer(message.seq, REPLY.ERROR, new TextEncoder().encode(thrownText(error).slice(0, 500)));
        let reply: ReturnType<HostCall>;
        try {
          reply = fn(message.arg, message.data);
        } catch (error) {
          failed(error);
          return;
        }
        // A synchronous answer goes back at once (no microtask turn: the guest is waiting).
        if (!(reply instanceof Promise)) {
          this.answer(message.seq, reply === null ? REPLY.END : REPLY.OK, reply);
          return;
        }
        // The error's message goes back as the reply (a host function's failure names itself in the trap).
        reply.then((bytes) => this.answer(message.seq, bytes === null ? REPLY.END : REPLY.OK, bytes), failed);
      }
    }
  }

  /** Resolves when every chunk received so far is written (or the run ended). */
  drained(): Promise<void> {
    if (this.queue.length === 0 || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Whether a write to a host descriptor failed (a closed pipe). */
  get failed(): boolean {
    return this.writeFailed;
  }

  /** Takes messages the isolate posted but the event loop has not delivered yet (after a kill). */
  drainPort(port: MessagePort): void {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const message = m.message as ChannelMessage & { id?: number };
      if (message && typeof message === 'object' && 't' in message) this.onMessage(message);
    }
  }

  /**
   * What a killed run leaves: the counters it published, the denials it
   * posted, and its output, including what was gathered but not yet posted.
   * Gathered bytes of inherited streams are written out too.
   */
  snapshot(): ChannelSnapshot {
    const { i32, f64 } = this.v;
    this.takeGathered();
    const fuel = f64[F_FUEL_LEFT]!;
    return {
      usage: { bytesWritten: f64[F_BYTES_WRITTEN]!, filesCreated: f64[F_FILES]!, outputBytes: f64[F_OUTPUT]!, peakMemoryBytes: f64[F_PEAK]! },
      limitsHit: [...this.limitsHit],
      deniedCount: Atomics.load(i32, I_DENIED),
      denied: [...this.denied],
      stdout: this.captured(1),
      stderr: this.captured(2),
      fuelLeft: Number.isNaN(fuel) ? null : fuel,
    };
  }

  /**
   * Takes what the isolate gathered in shared memory but did not post: a
   * captured stream's last chunk when its result arrives, anything at a
   * kill. Must run before the isolate's next run resets the channel.
   */
  takeGathered(): void {
    const { i32, f64, u8 } = this.v;
    for (const s of [1, 2] as const) {
      const len = Atomics.load(i32, I_GATHER_LEN + s - 1);
      const base = f64[F_GATHER_BASE + s - 1]!;
      const have = this.received[s - 1]!;
      // The isolate's cells are not trusted to be sane: a length past the region is ignored.
      if (len <= 0 || len > REGION_BYTES || have >= base + len) continue;
      const from = Math.max(0, have - base);
      const start = gatherOffset(s);
      const tail = u8.slice(start + from, start + len);
      this.onMessage({ t: 'out', s, chunk: tail, counted: false });
    }
  }

  /** Whether every chunk received so far has been written out (nothing to wait for). */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  captured(s: 1 | 2): Uint8Array {
    return this.captures[s - 1]?.contents() ?? new Uint8Array(0);
  }

  /**
   * The run's result has arrived: its isolate may take its next run now (in a
   * shared pool, another sandbox's) while this side still writes the run's
   * inherited output. From here no host-function call is taken or answered
   * and no guest-memory access is asked for here: the channel's cells are
   * the next run's, and a call of that run would otherwise also reach this
   * run's closures (another sandbox's grants, with that guest's arguments and
   * memory), and this run's late reply could overwrite that run's.
   */
  endCalls(): void {
    if (this.callsOver) return;
    this.callsOver = true;
    // Wakes a pending Atomics.waitAsync for host-function requests, which then stops.
    if (this.listening) Atomics.notify(this.v.i32, I_REQ_SEQ);
  }

  /** The run is over: stop waiting on descriptors; what could not be written by now is dropped. */
  end(): void {
    this.ended = true;
    this.endCalls();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private answer(seq: number, status: number, bytes: Uint8Array | null): void {
    if (this.callsOver) return;
    const { i32, u8 } = this.v;
    const len = bytes ? Math.min(bytes.length, REGION_BYTES) : 0;
    if (bytes) u8.set(bytes.subarray(0, len), REPLY_OFFSET);
    Atomics.store(i32, I_REPLY_LEN, len);
    Atomics.store(i32, I_REPLY_STATUS, status);
    Atomics.store(i32, I_REPLY_SEQ, seq);
    Atomics.notify(i32, I_REPLY_SEQ);
    Atomics.add(i32, I_BELL, 1);
    Atomics.notify(i32, I_BELL);
  }

  /**
   * Guest memory as a host function on this thread sees it while the isolate
   * waits for its reply: each access is a request the isolate serves (and
   * bounds-checks) in 64 KiB pieces; this thread waits for each, never past
   * the deadline (`deadlineAt`, performance.now() time; null for none). A range outside guest memory throws, failing the call.
   */
  remoteMemory(deadlineAt: number | null): RemoteMemory {
    const { i32, u8 } = this.v;
    const request = (op: number, ptr: number, len: number): void => {
      if (this.callsOver) throw new Error('the run is over');
      const done = Atomics.load(i32, I_MEM_DONE);
      Atomics.store(i32, I_MEM_PTR, ptr | 0);
      Atomics.store(i32, I_MEM_LEN, len | 0);
      Atomics.store(i32, I_MEM_OP, op);
      Atomics.add(i32, I_BELL, 1);
      Atomics.notify(i32, I_BELL);
      while (Atomics.load(i32, I_MEM_DONE) === done) {
        const left = deadlineAt === null ? 1000 : deadlineAt - performance.now();
        if (left <= 0) throw new Error('the run reached its deadline during a guest-memory access');
        // The isolate is waiting for this call's reply, so it answers at once; a stopped one is noticed at the deadline.
        Atomics.wait(i32, I_MEM_DONE, done, Math.min(left, 1000));
        if (this.callsOver) throw new Error('the run is over');
      }
      if (Atomics.load(i32, I_MEM_STATUS) !== 0) throw new RangeError(`[${ptr}, ${ptr + len}) is outside guest memory`);
    };
    const valid = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
    return {
      size: () => { request(MEM.SIZE, 0, 0); return Atomics.load(i32, I_MEM_LEN) >>> 0; },
      read: (ptr, len) => {
        if (!valid(ptr) || !valid(len) || ptr + len > 0x100000000) throw new RangeError(`[${ptr}, ${ptr + len}) is outside guest memory`);
        // The length usually comes from the guest: before allocating more than one
        // region for it, check the whole range against the memory's current size
        // (memory never shrinks), so a bogus length costs the host nothing.
        if (len > REGION_BYTES) {
          request(MEM.SIZE, 0, 0);
          if (ptr + len > Atomics.load(i32, I_MEM_LEN) >>> 0) throw new RangeError(`[${ptr}, ${ptr + len}) is outside guest memory`);
        }
        const out = new Uint8Array(len);
        for (let at = 0; at < len || (len === 0 && at === 0); at += REGION_BYTES) {
          const n = Math.min(REGION_BYTES, len - at);
          request(MEM.READ, ptr + at, n);
          out.set(u8.subarray(REPLY_OFFSET, REPLY_OFFSET + n), at);
          if (len === 0) break;
        }
        return out;
      },
      write: (ptr, bytes) => {
        if (!valid(ptr) || ptr + bytes.length > 0x100000000) throw new RangeError(`[${ptr}, ${ptr + bytes.length}) is outside guest memory`);
        for (let at = 0; at < bytes.length; at += REGION_BYTES) {
          const n = Math.min(REGION_BYTES, bytes.length - at);
          u8.set(bytes.subarray(at, at + n), REPLY_OFFSET);
          request(MEM.WRITE, ptr + at, n);
        }
      },
    };
  }

  private release(bytes: number): void {
    Atomics.sub(this.v.i32, I_INFLIGHT, bytes);
    Atomics.notify(this.v.i32, I_INFLIGHT);
  }

  /** Writes queued chunks in order until a descriptor would block; then retries on a timer. */
  private pump(): void {
    if (this.timer || this.ended) return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const target = this.targets[head.s - 1]!;
      let n: number;
      try {
        n = this.writeFailed ? head.chunk.length - head.at : target.write(head.chunk, head.at, head.chunk.length - head.at);
      } catch {
        // A closed pipe: the guest's later writes are dropped, as a reader that went away would.
        this.writeFailed = true;
        n = head.chunk.length - head.at;
      }
      if (n < 0) {
        this.timer = setTimeout(() => { this.timer = null; this.pump(); }, 1);
        return;
      }
      head.at += n;
      if (head.counted) this.release(n);
      if (head.at >= head.chunk.length) this.queue.shift();
    }
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

/**
 * A captured stream on the host: the chunks as they arrived, kept as they are.
 * Each is a fresh copy of exactly the bytes written (a full region, a write
 * larger than one, or the last partial region), so the host keeps about one
 * byte per captured byte without copying them again.
 */
class CapturedChunks {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  take(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  contents(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Reads an inherited descriptor on the host's event loop, polling while it would block, until the run ends. */
function readerOf(endpoint: Endpoint, over: () => boolean): HostCall {
  return (max) => new Promise((resolve, reject) => {
    const buffer = new Uint8Array(Math.min(max, REGION_BYTES));
    let waited = 0;
    const attempt = (): void => {
      if (over()) return resolve(null);
      let n: number;
      try {
        n = endpoint.read(buffer, 0, buffer.length);
      } catch (error) {
        reject(error);
        return;
      }
      if (n > 0) return resolve(buffer.subarray(0, n));
      if (n === 0) return resolve(null);
      // Short polls first (interactive input), then a coarser pace for an idle descriptor.
      waited++;
      setTimeout(attempt, waited < 200 ? 1 : 10);
    };
    attempt();
  });
}

