// The guest's stdin, stdout and stderr. Inputs: nothing, a buffer, or a host
// descriptor (an inherited terminal or an opened file). Outputs: a host
// descriptor, a bounded capture buffer, or nowhere. One output cap counts
// stdout and stderr together; passing it ends the run.

import { readSync, writeSync } from 'node:fs';
import { Errno, WasiError } from './errno.js';

export type StdinSpec = { kind: 'none' } | { kind: 'buffer'; data: Uint8Array } | { kind: 'fd'; fd: number };
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

export class OutputCounter {
  used = 0;
  constructor(readonly max: number) {}
  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.max) throw new OutputLimitExceeded(`output passed ${this.max} bytes`);
  }
}

export class OutputStream {
  private readonly chunks: Uint8Array[] = [];
  private captured = 0;

  constructor(private readonly spec: OutputSpec, private readonly hostFd: number, private readonly counter: OutputCounter, private readonly deadline: () => void) {}

  write(data: Uint8Array): number {
    if (data.length === 0) return 0;
    this.counter.charge(data.length);
    switch (this.spec.kind) {
      case 'discard': return data.length;
      case 'capture':
        this.chunks.push(data.slice());
        this.captured += data.length;
        return data.length;
      case 'inherit': return this.writeAll(this.hostFd, data);
      case 'fd': return this.writeAll(this.spec.fd, data);
    }
  }

  private writeAll(fd: number, data: Uint8Array): number {
    let done = 0;
    while (done < data.length) {
      try {
        done += writeSync(fd, data, done, data.length - done);
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
  constructor(private readonly spec: StdinSpec, private readonly deadline: () => void) {}

  /** Reads into `target`; 0 at end of input. A blocking host read waits until data or the deadline. */
  read(target: Uint8Array): number {
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
