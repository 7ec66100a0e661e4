// Zeroed linear memories kept by one thread and lent to its fresh instances
// (modules rewritten with `hostMemory`: transform/host-memory.ts).
//
// What a fresh instance may see: exactly what an engine-made memory holds,
// zeros at the module's initial size with the module's maximum. A memory
// comes back only after its run, from an instance that never runs again; it
// is kept only if it still has its initial size (memory cannot shrink, so a
// grown one would start the next instance bigger than its module says) and
// it is zeroed before it is kept. So no byte of one run reaches another, of
// the same tenant or any other.
//
// Why zeroing pays: on this kind of machine a new memory costs 25-30 µs of
// mmap/munmap per instance, and each 4 KiB page the guest then touches
// faults in at several µs; zeroing a kept 128 KiB memory takes about 2 µs,
// 4 MiB about 140 µs (docs/RATIONALE.md, "Serve: a memory per request").

import { newMemory, type HostMemoryShape } from '../transform/host-memory.js';

const PAGE = 65536;

/** Larger memories are not kept: zeroing them costs more than the page faults of a new one. */
export const POOLED_MEMORY_MAX_BYTES = 4 * 1024 * 1024;
/** What one thread keeps at most, in all (zeroed pages stay resident). */
export const POOL_MAX_BYTES = 8 * 1024 * 1024;

export class MemoryPool {
  private readonly kept = new Map<string, WebAssembly.Memory[]>();
  private keptBytes = 0;
  /** Memories handed out again after their first instance (for tests and metrics). */
  reused = 0;

  constructor(private readonly maxBytes = POOL_MAX_BYTES, private readonly maxMemoryBytes = POOLED_MEMORY_MAX_BYTES) {}

  /** A zeroed memory of `shape`: a kept one, or a new one. */
  acquire(shape: HostMemoryShape): WebAssembly.Memory {
    const memory = this.kept.get(keyOf(shape))?.pop();
    if (!memory) return newMemory(shape);
    this.reused++;
    this.keptBytes -= memory.buffer.byteLength;
    return memory;
  }

  /**
   * Takes back a memory whose instance will never run again. Kept, zeroed,
   * when it is still at its initial size and there is room; otherwise left to
   * the garbage collector.
   */
  release(memory: WebAssembly.Memory, shape: HostMemoryShape): void {
    const size = shape.initial * PAGE;
    // A grown memory would hand the next instance more pages than its module declares.
    if (memory.buffer.byteLength !== size) return;
    if (size > this.maxMemoryBytes || this.keptBytes + size > this.maxBytes) return;
    // Stops one run's bytes from reaching the next: nothing is kept unzeroed.
    new Uint8Array(memory.buffer).fill(0);
    const key = keyOf(shape);
    const list = this.kept.get(key);
    if (list) list.push(memory);
    else this.kept.set(key, [memory]);
    this.keptBytes += size;
  }

  /** Bytes kept now (for tests and metrics). */
  get bytes(): number {
    return this.keptBytes;
  }
}

const keyOf = (shape: HostMemoryShape) => `${shape.initial}:${shape.maximum ?? ''}`;

/** This thread's pool (each worker loads its own copy of this module). */
export const threadMemoryPool = new MemoryPool();
