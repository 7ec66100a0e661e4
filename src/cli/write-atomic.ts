// Writes a file the user named so that readers see the old contents or the
// new, never half (store/atomic-file.ts), and a failure is the user's input
// error naming that file.

import { createAtomicFile, writeFileAtomic as writeWhole } from '../store/atomic-file.js';
import { InputError, UsageError } from './errors.js';
import { parentOf } from './paths.js';
import { notFoundHint } from '../text/not-utf8.js';

/** `shown`: the path as the user gave it, for the message when the file cannot be written. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, shown = path): void {
  try {
    writeWhole(path, data, mode);
  } catch (error) {
    // A failure names the file asked for, not the temporary one beside it, and is the user's
    // input error (exit 2, or 125 for run), not an internal error with a stack to look for.
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`cannot write ${shown} (${code ?? (error as Error).message})${notFoundHint(shown, code)}`);
  }
}

/**
 * Like writeFileAtomic, but never replaces what is at `path` (linked into place, not renamed):
 * a command that refuses to overwrite without --force checks first for a clear message, and a
 * file made after that check (by a second run into the same name) is still never replaced.
 */
export function writeNewFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, shown = path): void {
  try {
    const file = createAtomicFile(parentOf(path), undefined, mode);
    file.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    file.commitNew(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${shown} exists; pass --force to overwrite`);
    throw new InputError(`cannot write ${shown} (${code ?? (error as Error).message})${notFoundHint(shown, code)}`);
  }
}
