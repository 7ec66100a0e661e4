// Writes a file so that readers see the old contents or the new, never half.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { InputError } from './errors.js';
import { baseName, parentOf } from './paths.js';

let counter = 0;

/** `shown`: the path as the user gave it, for the message when the file cannot be written. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, shown = path): void {
  const temp = `${parentOf(path)}/.${baseName(path)}.${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  // A failure names the file asked for, not the temporary one beside it, and is the user's
  // input error (exit 2, or 125 for run), not an internal error with a stack to look for.
  const failed = (error: unknown) => new InputError(`cannot write ${shown} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', mode);
  } catch (error) {
    throw failed(error);
  }
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw failed(error);
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw failed(error);
  }
}
