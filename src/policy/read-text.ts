// Reading a policy or config file as text, bounded: a path naming a device
// (/dev/zero), a FIFO that never ends, or a file of gigabytes is refused once
// it passes the bound instead of filling the host's memory. Pipes and process
// substitution (`--policy <(...)`) still work: the bound is on bytes read, not
// on the kind of file.

import { closeSync, openSync, readSync } from 'node:fs';

/** The largest policy or config file read, bytes (the largest example in docs/ is under 4 KiB). */
export const MAX_SETTINGS_FILE = 4 * 1024 * 1024;

export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

/** The file's text (UTF-8); TooLargeError past `max` bytes; fs errors as thrown by node:fs. */
export function readBoundedText(path: string, max = MAX_SETTINGS_FILE): string {
  const bytes = readBoundedBytes(path, max, `larger than ${max / (1024 * 1024)} MiB, not a settings file`);
  return bytes.toString('utf8');
}

/** The file's bytes; TooLargeError(`tooLarge`) once more than `max` have been read; fs errors as thrown by node:fs. */
export function readBoundedBytes(path: string, max: number, tooLarge: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(max + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      // One byte past the bound is enough to know: stop before reading any more.
      if (length > max) throw new TooLargeError(tooLarge);
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}
