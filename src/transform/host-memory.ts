// The guest's linear memory, provided by the host instead of made by the
// engine at instantiation.
//
// Why: a memory the engine makes for each instance reserves its guard region
// (about 10 GiB of address space) and gives it back when the instance dies.
// Those mmap/munmap calls cost 25-30 µs of kernel time per instance here, and
// the unmapping stalls the process's other threads too (docs/RATIONALE.md,
// "Serve: a memory per request"). A host that runs a fresh instance per
// request can instead lend a memory it already has, zeroed: to the guest it
// is the same memory at the same size, with the same maximum.
//
// The rewrite (index.ts, option `hostMemory`) turns the module's one defined
// memory into an import from the reserved module `warden:host` (admission
// refuses guests that import from it, so no guest names it), with the same
// limits, at the same index 0: every load, store, data segment and export
// keeps naming the same memory. The limits cross to the host in a custom
// section the rewrite writes (any the module shipped under that name is
// dropped), so a compiled module says for itself what memory it needs.

import type { Limits, WasmModule } from '../binary/types.js';
import { ByteReader } from '../binary/reader.js';
import { WasmDecodeError } from '../binary/errors.js';
import { encodeLimits } from '../binary/encode.js';
import { ByteWriter } from '../binary/writer.js';
import { CHECKPOINT_MODULE } from './checkpoint.js';

/** `(import "warden:host" "memory" (memory …))`. */
export const HOST_MEMORY_MODULE = CHECKPOINT_MODULE;
export const HOST_MEMORY_NAME = 'memory';
/** The custom section holding the imported memory's limits: u32 minimum, then a byte (1 when a maximum follows) and the u32 maximum. */
export const HOST_MEMORY_SECTION = 'warden.host-memory';

/** The memory the host must provide, in pages (64 KiB). */
export interface HostMemoryShape {
  initial: number;
  maximum: number | null;
}

/**
 * The limits of the memory the rewrite may move to the host: the module's
 * only memory, defined (not imported), 32-bit and not shared. Others stay as
 * they are (a shared memory is refused by policy anyway).
 */
export function movableMemory(module: WasmModule, edited: Limits | undefined): Limits | null {
  if (module.importedMemoryCount !== 0 || module.memories.length !== 1) return null;
  const limits = edited ?? module.memories[0]!.limits;
  return limits.shared || limits.is64 ? null : limits;
}

/** The import entry that replaces the memory's definition. */
export function hostMemoryImport(limits: Limits): Uint8Array {
  const writer = new ByteWriter(32).name(HOST_MEMORY_MODULE).name(HOST_MEMORY_NAME).u8(0x02);
  encodeLimits(writer, limits);
  return writer.finish();
}

/** The custom section's payload (after its name). */
export function hostMemoryRecord(limits: Limits): Uint8Array {
  const writer = new ByteWriter(12).u32(limits.min);
  return (limits.max === null ? writer.u8(0) : writer.u8(1).u32(limits.max)).finish();
}

const shapes = new WeakMap<WebAssembly.Module, HostMemoryShape | null>();

/**
 * What memory `module` needs from the host, or null when it makes its own.
 * Read once per compiled module (a custom section written by the rewrite, as
 * the import it describes).
 */
export function hostMemoryShape(module: WebAssembly.Module): HostMemoryShape | null {
  let shape = shapes.get(module);
  if (shape !== undefined) return shape;
  const [record] = WebAssembly.Module.customSections(module, HOST_MEMORY_SECTION);
  shape = null;
  // A record without the import it describes (raw bytes given to runWasi, the record forged) asks for nothing.
  if (record && WebAssembly.Module.imports(module).some((i) => i.kind === 'memory' && i.module === HOST_MEMORY_MODULE && i.name === HOST_MEMORY_NAME)) {
    shape = readRecord(new Uint8Array(record));
  }
  shapes.set(module, shape);
  return shape;
}

/** The largest 32-bit memory, in pages. */
const MAX_PAGES = 65536;

/**
 * A record's shape, or null when it is not one the rewrite could have
 * written (cut short, trailing bytes, sizes past 4 GiB or a maximum below
 * the minimum): raw bytes given to runWasi are not admitted, and a forged
 * record must end as a link error (nothing lent), never as a host exception
 * or a memory of the guest's choosing.
 */
function readRecord(bytes: Uint8Array): HostMemoryShape | null {
  try {
    const reader = new ByteReader(bytes);
    const initial = reader.u32();
    const maximum = reader.u8() === 1 ? reader.u32() : null;
    if (!reader.atEnd() || initial > MAX_PAGES || (maximum !== null && (maximum > MAX_PAGES || maximum < initial))) return null;
    return { initial, maximum };
  } catch (error) {
    if (error instanceof WasmDecodeError) return null;
    throw error;
  }
}

/** A new memory of `shape` (the JS API wants `maximum` absent, not null, when there is none). */
export function newMemory(shape: HostMemoryShape): WebAssembly.Memory {
  return new WebAssembly.Memory(shape.maximum === null ? { initial: shape.initial } : { initial: shape.initial, maximum: shape.maximum });
}

/** `imports` with `memory` as the host's memory import (a new object: the host's own imports are not changed). */
export function withHostMemory(imports: WebAssembly.Imports, memory: WebAssembly.Memory): WebAssembly.Imports {
  return { ...imports, [HOST_MEMORY_MODULE]: { ...imports[HOST_MEMORY_MODULE], [HOST_MEMORY_NAME]: memory } };
}
