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

const advised = new WeakSet<ArrayBuffer>();

/**
 * Advises huge pages over a guest's linear memory as it is now (each buffer once: memory.grow
 * makes a new one, which GuestMemory sees at the next host call and advises again). Only the
 * accessible part: the engine's reservation beyond it may be smaller than the memory could grow
 * (V8 drops guard regions once a process has reserved a terabyte), and advice must not spill into
 * a neighbouring mapping. What the guest can reach is unchanged, and the host keeps no more for
 * it than its current size: a huge page is only ever made where a whole aligned 2 MiB is accessible.
 */
export function adviseGuestMemory(buffer: ArrayBuffer): void {
  // Below one huge page there is nothing to advise, and a small guest never loads the helper.
  if (buffer.byteLength < LARGE_READ_BYTES || advised.has(buffer)) return;
  advised.add(buffer);
  loaded()?.adviseHuge(buffer, buffer.byteLength);
}
