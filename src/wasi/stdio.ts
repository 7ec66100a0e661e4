// The guest's stdin, stdout and stderr. Inputs: nothing, a buffer, or a host
// descriptor (an inherited terminal or an opened file). Outputs: a host
// descriptor, a bounded capture buffer, or nowhere. One output cap counts
// stdout and stderr together; passing it ends the run.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { Errno, WasiError } from './errno.js';

export type StdinSpec = { kind: 'none' } | { kind: 'buffer'; data: Uint8Array } | { kind: 'fd'; fd: number } | { kind: 'file'; path: string };
export type OutputSpec = { kind: 'inherit' } | { kind: 'capture' } | { kind: 'discard' } | { kind: 'fd'; fd: number };

/** Thrown from a write that passes the output cap: the run ends with trap kind `output-limit`. */
export class OutputLimitExceeded extends Error {
  override name = 'OutputLimitExceeded';
}

/** Thrown when a blocking host call reaches the run's deadline. */
export class DeadlineReached extends Error {
  override name = 'DeadlineReached';
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` (host-side only; the guest never sees this buffer). */
export function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * What stdout and stderr share: the output cap, and the order of writes. Small
 * writes to host descriptors are gathered into one buffer and written in one
 * call (as C stdio would), flushed whenever order could show: before the
 * other stream writes, before stdin is read, before a sleep, and at the end.
 */
export class OutputGroup {
  used = 0;
  private pending: OutputStream | null = null;
  constructor(readonly max: number) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.max) throw new OutputLimitExceeded(`output passed ${this.max} bytes`);
  }

  /** Called by a stream about to buffer; flushes the other stream first. */
  claim(stream: OutputStream): void {
    if (this.pending && this.pending !== stream) this.pending.flush();
    this.pending = stream;
  }

  flush(): void {
    this.pending?.flush();
    this.pending = null;
  }
}

/** Writes smaller than this are gathered; larger ones go straight out. */
const GATHER_BYTES = 64 * 1024;

export class OutputStream {
  private readonly chunks: Uint8Array[] = [];
  private captured = 0;
  private gathered: Uint8Array | null = null;
  private gatheredLength = 0;

  constructor(private readonly spec: OutputSpec, private readonly hostFd: number, private readonly group: OutputGroup, private readonly deadline: () => void) {}

  /** Writes `length` bytes of `memory` from `offset`; takes no copy unless capturing or gathering. */
  write(memory: Uint8Array, offset: number, length: number): number {
    if (length === 0) return 0;
    this.group.charge(length);
    switch (this.spec.kind) {
      case 'discard': return length;
      case 'capture':
        this.chunks.push(memory.slice(offset, offset + length));
        this.captured += length;
        return length;
      case 'inherit': case 'fd': {
        this.group.claim(this);
        if (this.gatheredLength + length > GATHER_BYTES) this.flush();
        if (length >= GATHER_BYTES) return this.writeAll(memory, offset, length);
        this.gathered ??= new Uint8Array(GATHER_BYTES);
        this.gathered.set(memory.subarray(offset, offset + length), this.gatheredLength);
        this.gatheredLength += length;
        return length;
      }
    }
  }

  flush(): void {
    if (this.gatheredLength === 0 || !this.gathered) return;
    const length = this.gatheredLength;
    this.gatheredLength = 0;
    this.writeAll(this.gathered, 0, length);
  }

  private writeAll(memory: Uint8Array, offset: number, length: number): number {
    const fd = this.spec.kind === 'fd' ? this.spec.fd : this.hostFd;
    let done = 0;
    while (done < length) {
      try {
        done += writeSync(fd, memory, offset + done, length - done);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN') throw new WasiError(Errno.IO);
        this.deadline();
        sleepMs(1);
      }
    }
    return done;
  }

  /** What was captured (empty unless the spec is `capture`). */
  contents(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.captured);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }
}

export class InputStream {
  private offset = 0;
  private readonly spec: Exclude<StdinSpec, { kind: 'file' }>;
  private readonly owned: number | null = null;

  /** A `file` stdin is opened here (in whichever isolate runs the guest) and closed by `close`. */
  constructor(spec: StdinSpec, private readonly deadline: () => void, private readonly output: OutputGroup) {
    if (spec.kind === 'file') {
      try {
        this.owned = openSync(spec.path, 'r');
      } catch (error) {
        throw new Error(`cannot open stdin file ${spec.path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
      }
      this.spec = { kind: 'fd', fd: this.owned };
    } else {
      this.spec = spec;
    }
  }

  close(): void {
    if (this.owned !== null) closeSync(this.owned);
  }

  /** Reads into `target`; 0 at end of input. A blocking host read waits until data or the deadline. */
  read(target: Uint8Array): number {
    // Whatever the guest printed (a prompt) must be out before it waits for input.
    this.output.flush();
    switch (this.spec.kind) {
      case 'none': return 0;
      case 'buffer': {
        const n = Math.min(target.length, this.spec.data.length - this.offset);
        target.set(this.spec.data.subarray(this.offset, this.offset + n));
        this.offset += n;
        return n;
      }
      case 'fd':
        for (;;) {
          try {
            return readSync(this.spec.fd, target, 0, target.length, null);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'EOF') return 0;
            if (code !== 'EAGAIN') throw new WasiError(Errno.IO);
            this.deadline();
            sleepMs(1);
          }
        }
    }
  }

  /** Bytes that can be read without blocking, for poll_oneoff (1 when unknown but possibly ready). */
  available(): number {
    if (this.spec.kind === 'buffer') return this.spec.data.length - this.offset;
    return this.spec.kind === 'none' ? 0 : 1;
  }
}
