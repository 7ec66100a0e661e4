// Writes a file the user named so that readers see the old contents or the
// new, never half (store/atomic-file.ts), and a failure is the user's input
// error naming that file.

import { writeFileAtomic as writeWhole } from '../store/atomic-file.js';
import { InputError } from './errors.js';

/** `shown`: the path as the user gave it, for the message when the file cannot be written. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, shown = path): void {
  try {
    writeWhole(path, data, mode);
  } catch (error) {
    // A failure names the file asked for, not the temporary one beside it, and is the user's
    // input error (exit 2, or 125 for run), not an internal error with a stack to look for.
    throw new InputError(`cannot write ${shown} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
