// The guest's stdin, stdout and stderr. Inputs: nothing, a buffer, a host
// descriptor (an inherited terminal or pipe, or an opened file), or a source
// an isolate's channel provides. Outputs: a host descriptor, a bounded
// capture, nowhere, or a sink the channel provides. One output cap counts
// stdout and stderr together; passing it ends the run.
//
// No thread ever sits in a blocking system call here: host descriptors are
// non-blocking (endpoint.ts), and waiting is Atomics.wait in short slices,
// each followed by a deadline check.

import { Errno, WasiError } from './errno.js';
import { inheritedEndpoint, pathEndpoint, type Endpoint } from './endpoint.js';

export type StdinSpec = { kind: 'none' } | { kind: 'buffer'; data: Uint8Array } | { kind: 'fd'; fd: number } | { kind: 'file'; path: string };
export type OutputSpec = { kind: 'inherit' } | { kind: 'capture' } | { kind: 'discard' } | { kind: 'fd'; fd: number };

/** Thrown from a write that passes the output cap: the run ends with trap kind `output-limit`. */
export class OutputLimitExceeded extends Error {
  override name = 'OutputLimitExceeded';
}

/** Thrown when a blocking host call (or a checkpoint) reaches the run's deadline. */
export class DeadlineReached extends Error {
  override name = 'DeadlineReached';
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` (host-side only; the guest never sees this buffer). */
export function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/** How long one wait on a would-block descriptor lasts before the deadline is checked again. */
const POLL_SLICE_MS = 1;

/** Where one output stream's bytes go. */
export interface OutputSink {
  /** Takes `length` bytes of `memory` from `offset` (copied before returning). */
  write(memory: Uint8Array, offset: number, length: number): void;
  /** Pushes out anything gathered (a no-op for sinks that keep everything). */
  flush(): void;
  /** What was captured (empty unless capturing). */
  contents(): Uint8Array;
}

/** Where stdin's bytes come from. */
export interface InputSource {
  /** Reads into `target`; 0 at end of input. May wait, never past the deadline. */
  read(target: Uint8Array): number;
  /** Whether a read would return at once, waiting at most `waitMs` (never past the deadline) to find out. */
  ready(waitMs: number): boolean;
  /** Bytes known to be readable now (1 when unknown but ready). */
  available(): number;
  close(): void;
}

/** The descriptor table's name for a stdin source. */
export type InputStream = InputSource;

/**
 * What stdout and stderr share: the output cap, and the order of writes. Small
 * writes to host descriptors are gathered and written in one call (as C stdio
 * would), flushed whenever order could show: before the other stream writes,
 * before stdin is read, before a sleep, and at the end.
 */
export class OutputGroup {
  used = 0;
  private pending: OutputStream | null = null;
  constructor(readonly max: number) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.max) throw new OutputLimitExceeded(`output passed ${this.max} bytes`);
  }

  /** Called by a stream about to gather; flushes the other stream first. */
  claim(stream: OutputStream): void {
    if (this.pending && this.pending !== stream) this.pending.flush();
    this.pending = stream;
  }

  flush(): void {
    this.pending?.flush();
    this.pending = null;
  }
}

export class OutputStream {
  /** `ordered`: the sink reaches a host descriptor, where the order of stdout against stderr shows. */
  constructor(private readonly sink: OutputSink, private readonly group: OutputGroup, private readonly ordered: boolean) {}

  /** Writes `length` bytes of `memory` from `offset`. */
  write(memory: Uint8Array, offset: number, length: number): number {
    if (length === 0) return 0;
    this.group.charge(length);
    if (this.ordered) this.group.claim(this);
    this.sink.write(memory, offset, length);
    return length;
  }

  flush(): void {
    this.sink.flush();
  }

  contents(): Uint8Array {
    return this.sink.contents();
  }
}

const empty = new Uint8Array(0);

export const discardSink: OutputSink = { write() {}, flush() {}, contents: () => empty };

/** Size of one gathered chunk: captures grow by whole chunks, host writes go out a chunk at a time. */
export const CHUNK_BYTES = 64 * 1024;
/** A capture's first chunk (then doubled up to CHUNK_BYTES). */
const FIRST_CHUNK_BYTES = 256;

/**
 * Keeps what the guest writes in chunks, copied in: the host keeps at most
 * about two bytes per captured byte however small the guest's writes are (a
 * slice per write cost ~250 bytes per 1-byte iovec), and one once the output
 * reaches whole CHUNK_BYTES chunks.
 */
export class CaptureSink implements OutputSink {
  private readonly full: Uint8Array[] = [];
  private current: Uint8Array | null = null;
  private used = 0;

  write(memory: Uint8Array, offset: number, length: number): void {
    let at = offset;
    let left = length;
    while (left > 0) {
      if (!this.current || this.used === this.current.length) {
        if (this.current) this.full.push(this.current);
        // Chunks start small and double up to CHUNK_BYTES, so a run that prints a line neither
        // allocates nor hands back (the result's view keeps its buffer) a whole chunk.
        // A large write gets a chunk of its own size: no waste, no split.
        const next = this.current ? Math.min(CHUNK_BYTES, this.current.length * 2) : FIRST_CHUNK_BYTES;
        this.current = new Uint8Array(Math.max(left, next));
        this.used = 0;
      }
      const n = Math.min(left, this.current.length - this.used);
      this.current.set(memory.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      left -= n;
    }
  }

  /** Takes an already copied chunk (from an isolate's channel). */
  take(chunk: Uint8Array): void {
    // Copied in rather than kept: chunks stay full, so nothing is held but the bytes.
    this.write(chunk, 0, chunk.length);
  }

  get size(): number {
    let n = this.used;
    for (const c of this.full) n += c.length;
    return n;
  }

  flush(): void {}

  contents(): Uint8Array {
    const parts = this.current ? [...this.full, this.current.subarray(0, this.used)] : this.full;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of parts) { out.set(c, at); at += c.length; }
    return out;
  }
}

/** Waits for `attempt` to stop answering "would block" (-1), checking the deadline between slices. */
function untilDone(attempt: () => number, deadline: () => void): number {
  for (;;) {
    const n = attempt();
    if (n >= 0) return n;
    deadline();
    sleepMs(POLL_SLICE_MS);
  }
}

/** Writes to a host descriptor that never blocks: a full pipe is waited on in slices, up to the deadline. */
export class DescriptorSink implements OutputSink {
  private gathered: Uint8Array | null = null;
  private gatheredLength = 0;

  constructor(private readonly endpoint: Endpoint, private readonly deadline: () => void) {}

  write(memory: Uint8Array, offset: number, length: number): void {
    if (this.gatheredLength + length > CHUNK_BYTES) this.flush();
    if (length >= CHUNK_BYTES) {
      this.writeAll(memory, offset, length);
      return;
    }
    this.gathered ??= new Uint8Array(CHUNK_BYTES);
    this.gathered.set(memory.subarray(offset, offset + length), this.gatheredLength);
    this.gatheredLength += length;
  }

  flush(): void {
    if (this.gatheredLength === 0 || !this.gathered) return;
    const length = this.gatheredLength;
    this.gatheredLength = 0;
    this.writeAll(this.gathered, 0, length);
  }

  contents(): Uint8Array {
    return empty;
  }

  private writeAll(source: Uint8Array, offset: number, length: number): void {
    let done = 0;
    while (done < length) {
      try {
        done += untilDone(() => this.endpoint.write(source, offset + done, length - done), this.deadline);
      } catch (error) {
        if (error instanceof DeadlineReached) throw error;
        throw new WasiError(Errno.IO);
      }
    }
  }
}

export const noInput: InputSource = { read: () => 0, ready: () => true, available: () => 0, close() {} };

export class BufferInput implements InputSource {
  private offset = 0;
  constructor(private readonly data: Uint8Array) {}
  read(target: Uint8Array): number {
    const n = Math.min(target.length, this.data.length - this.offset);
    target.set(this.data.subarray(this.offset, this.offset + n));
    this.offset += n;
    return n;
  }
  ready(): boolean { return true; }
  available(): number { return this.data.length - this.offset; }
  close(): void {}
}

/** Reads a non-blocking host descriptor; a read-ahead buffer lets poll_oneoff learn readiness without losing bytes. */
export class DescriptorInput implements InputSource {
  private ahead: Uint8Array | null = null;
  private aheadStart = 0;
  private aheadEnd = 0;
  private ended = false;

  constructor(private readonly endpoint: Endpoint, private readonly deadline: () => void, private readonly owned: boolean) {}

  read(target: Uint8Array): number {
    if (target.length === 0) return 0;
    if (this.aheadEnd > this.aheadStart) return this.fromAhead(target);
    if (this.ended) return 0;
    try {
      const n = untilDone(() => this.endpoint.read(target, 0, target.length), this.deadline);
      if (n === 0) this.ended = true;
      return n;
    } catch (error) {
      if (error instanceof DeadlineReached) throw error;
      throw new WasiError(Errno.IO);
    }
  }

  ready(waitMs: number): boolean {
    if (this.aheadEnd > this.aheadStart || this.ended) return true;
    this.ahead ??= new Uint8Array(CHUNK_BYTES);
    const until = performance.now() + waitMs;
    for (;;) {
      let n: number;
      try {
        n = this.endpoint.read(this.ahead, 0, this.ahead.length);
      } catch {
        this.ended = true;
        return true;
      }
      if (n === 0) this.ended = true;
      if (n >= 0) {
        this.aheadStart = 0;
        this.aheadEnd = n;
        return true;
      }
      this.deadline();
      const left = until - performance.now();
      if (left <= 0) return false;
      sleepMs(Math.min(POLL_SLICE_MS, left));
    }
  }

  available(): number {
    return this.aheadEnd - this.aheadStart || (this.ended ? 0 : 1);
  }

  close(): void {
    if (this.owned) this.endpoint.close();
  }

  private fromAhead(target: Uint8Array): number {
    const n = Math.min(target.length, this.aheadEnd - this.aheadStart);
    target.set(this.ahead!.subarray(this.aheadStart, this.aheadStart + n));
    this.aheadStart += n;
    return n;
  }
}

/** Stdio over this thread's own descriptors (the caller's thread, or a child process). */
export function localStdin(spec: StdinSpec, deadline: () => void): InputSource {
  switch (spec.kind) {
    case 'none': return noInput;
    case 'buffer': return new BufferInput(spec.data);
    case 'fd': return new DescriptorInput(inheritedEndpoint(spec.fd, 'read'), deadline, false);
    case 'file': {
      let endpoint: Endpoint;
      try {
        endpoint = pathEndpoint(spec.path);
      } catch (error) {
        throw new Error(`cannot open stdin file ${spec.path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
      }
      return new DescriptorInput(endpoint, deadline, true);
    }
  }
}

export function localSink(spec: OutputSpec, hostFd: number, deadline: () => void): OutputSink {
  switch (spec.kind) {
    case 'discard': return discardSink;
    case 'capture': return new CaptureSink();
    case 'inherit': return new DescriptorSink(inheritedEndpoint(hostFd, 'write'), deadline);
    case 'fd': return new DescriptorSink(inheritedEndpoint(spec.fd, 'write'), deadline);
  }
}

/** The host descriptor a stream built from `spec` reads or writes (`inheritedFd` for `inherit`), or null. */
export function hostFdOf(spec: StdinSpec | OutputSpec, inheritedFd: number): number | null {
  return spec.kind === 'fd' ? spec.fd : spec.kind === 'inherit' ? inheritedFd : null;
}

/** Whether a sink built from `spec` reaches a host descriptor (where stdout/stderr order shows). */
export function reachesHost(spec: OutputSpec): boolean {
  return spec.kind === 'inherit' || spec.kind === 'fd';
}
