// An output a command writes (-o, --out, --detached): a file the user named,
// or `-`, stdout (docs/ARCHITECTURE.md), never a file named '-'.

import { UsageError } from './errors.js';
import type { CommandIO } from './io.js';
import { resolveFrom } from './paths.js';
import { terminalSafe } from './terminal-text.js';
import { writeFileAtomic } from './write-atomic.js';

/** The output that means "write to stdout". */
export const STDOUT_PATH = '-';

/** Raw bytes to stdout, exactly as they would go to a file. */
export function writeStdoutBytes(io: CommandIO, bytes: Uint8Array): void {
  if (io.stdoutBytes) io.stdoutBytes(bytes);
  else io.stdout(new TextDecoder().decode(bytes));
}

/** Writes `data` to the output `out` names: stdout for `-`, else the file, atomically. */
export function writeOutput(io: CommandIO, out: string, data: Uint8Array, mode = 0o644): void {
  if (out === STDOUT_PATH) writeStdoutBytes(io, data);
  else writeFileAtomic(resolveFrom(io.cwd, out), data, mode, out);
}

/**
 * Where a command's own lines go: stderr when stdout carries the output's bytes (a module piped on must
 * not have a summary appended to it), else stdout.
 */
export function messagesFor(io: CommandIO, out: string | undefined): (text: string) => void {
  return out === STDOUT_PATH ? io.stderr : io.stdout;
}

/** `out` as a message names it: stdout, or the path with nothing in it that acts on a terminal. */
export function shownOutput(out: string): string {
  return out === STDOUT_PATH ? 'stdout' : terminalSafe(out);
}

/** --json would share stdout with the bytes written there: refused, naming the flag. */
export function refuseJsonOnStdout(flagName: string, out: string | undefined, json: boolean, what: string): void {
  if (json && out === STDOUT_PATH) throw new UsageError(`${flagName} - writes ${what} itself to stdout; --json cannot share it`);
}
