// Reading a file the user named, bounded: a path naming a device
// (/dev/zero), a FIFO that never ends, or a file of gigabytes is refused once
// it passes the bound instead of filling the host's memory. Pipes and process
// substitution (`--policy <(...)`) still work: the bound is on bytes read, not
// on the kind of file.

import { closeSync, openSync, readSync } from 'node:fs';
import { bufferForRead } from '../wasi/huge-pages.js';

/** The largest policy or config file read, bytes (the largest example in docs/ is under 4 KiB). */
export const MAX_SETTINGS_FILE = 4 * 1024 * 1024;

export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

/** What a bound is called in an error: "4 MiB", "64 KiB", "1000 bytes". */
function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * All of a file's bytes, or of an open descriptor's (0: stdin), in a buffer of
 * their own length; TooLargeError past `max` bytes (its message: "larger than 4 MiB, `what`");
 * fs errors as node:fs throws them.
 */
export function readBoundedBytes(source: string | number, max: number, what: string): Uint8Array {
  const fd = typeof source === 'number' ? source : openSync(source, 'r');
  try {
    // Grown as bytes arrive, so a small input costs a small buffer whatever the bound.
    let buffer = Buffer.allocUnsafe(Math.min(max + 1, 64 * 1024));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const grown = Buffer.allocUnsafe(Math.min(max + 1, buffer.length * 2));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      // One byte past the bound is enough to know: stop before reading any more.
      if (length > max) throw new TooLargeError(`larger than ${sizeText(max)}, ${what}`);
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length).slice();
  } finally {
    if (typeof source !== 'number') closeSync(fd);
  }
}

/** The file's text (UTF-8); TooLargeError past `max` bytes; fs errors as thrown by node:fs. */
export function readBoundedText(path: string, max = MAX_SETTINGS_FILE): string {
  return Buffer.from(readBoundedBytes(path, max, 'not a settings file').buffer).toString('utf8');
}

/**
 * The first `size` bytes of an open file (its size as fstat gave it), read by position, in a buffer
 * `room` bytes longer than they are (not zeroed: the room is the caller's to write before it reads);
 * fewer when the file shrank meanwhile, never more when it grew: what a caller bounded by the size
 * it checked stays bounded. Shared by every reader that opens first and judges the descriptor
 * (a module named on the command line, the store, Docker's config.json, a tenant's module file).
 */
export function readOpenedFile(fd: number, size: number, room = 0): Uint8Array {
  const buffer = new Uint8Array(bufferForRead(size + room), 0, size);
  let at = 0;
  while (at < size) {
    const n = readSync(fd, buffer, at, size - at, at);
    if (n === 0) break;
    at += n;
  }
  return buffer.subarray(0, at);
}
