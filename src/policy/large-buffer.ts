// Memory for reading a large file whole: on huge pages through the optional
// native helper (native/large-buffer.c), where a fresh buffer would take a page
// fault per 4 KiB on first touch (a 31 MB module: 7,500 faults, most of an
// 85 ms read; 15 with huge pages). Without the helper, or where it cannot map,
// an ordinary buffer.

import { loadNativeHelper } from '../wasi/fs/native-helper.js';

interface LargeBufferHelper {
  allocate(length: number): ArrayBuffer | null;
}

/** From this size up a read goes to huge pages: below it one huge page would be mostly unused. */
export const LARGE_READ_BYTES = 2 * 1024 * 1024;

let helper: LargeBufferHelper | null | undefined;

/** An ArrayBuffer of `length` bytes to read into (its contents are to be overwritten: not necessarily zeroed). */
export function bufferForRead(length: number): ArrayBuffer {
  if (length >= LARGE_READ_BYTES) {
    const buffer = (helper === undefined ? (helper = loadNativeHelper<LargeBufferHelper>('large-buffer.node')) : helper)?.allocate(length);
    if (buffer) return buffer;
  }
  return Buffer.allocUnsafeSlow(length).buffer;
}
