// Memory on transparent huge pages, through the optional native helper
// (native/huge-pages.c), for the two places a run touches tens of megabytes
// for the first time: a large file read whole (a module), and the guest's
// linear memory. Each 4 KiB page first touched is a page fault, 10-15 µs on
// this kind of machine: a 31 MB module's read took 7,500 of them (most of an
// 85 ms read), and a guest filling 64 MiB of memory 16,000 (190 ms); with
// huge pages, 15 and 300 (docs/RATIONALE.md). Without the helper (no C
// compiler at build time; process isolation's permission model refusing
// addons) or where the kernel has no huge pages to give, ordinary pages.

import { loadNativeHelper } from './fs/native-helper.js';

interface HugePagesHelper {
  allocate(length: number): ArrayBuffer | null;
  adviseHuge(buffer: ArrayBuffer, reserved: number): boolean;
}

/** From this size up a read goes to huge pages: below it one huge page would be mostly unused. */
export const LARGE_READ_BYTES = 2 * 1024 * 1024;

let helper: HugePagesHelper | null | undefined;
const loaded = (): HugePagesHelper | null => (helper === undefined ? (helper = loadNativeHelper<HugePagesHelper>('huge-pages.node')) : helper);

/** An ArrayBuffer of `length` bytes to read into (its contents are to be overwritten: not necessarily zeroed). */
export function bufferForRead(length: number): ArrayBuffer {
  if (length >= LARGE_READ_BYTES) {
    const buffer = loaded()?.allocate(length);
    if (buffer) return buffer;
  }
  return Buffer.allocUnsafeSlow(length).buffer;
}

/** The 4 GiB a 32-bit memory may grow to: the engine reserves at least that much address space for it. */
const MEMORY32_RESERVATION = 2 ** 32;
const advised = new WeakSet<WebAssembly.Memory>();

/**
 * Advises huge pages for a guest's linear memory, up to what it may grow to, once per memory.
 * What the guest can reach is unchanged: huge pages are only ever made inside the memory's
 * accessible part, so the host keeps no more for it than its current size, as before.
 */
export function adviseGuestMemory(memory: WebAssembly.Memory): void {
  if (advised.has(memory)) return;
  advised.add(memory);
  const buffer = memory.buffer;
  // A shared memory's buffer is not an ArrayBuffer the helper takes (and shared memories are refused anyway).
  if (buffer instanceof ArrayBuffer) loaded()?.adviseHuge(buffer, MEMORY32_RESERVATION);
}
