// `warden run` entry. bin/warden.cjs loads this one's bundle when the command
// is `run`: a bundle of `run` alone is what a start reads and deserialises
// (docs/RATIONALE.md), where the whole CLI's is half as large again. The same
// dispatcher and the same command as main.ts: only the table is smaller, and a
// process loads one bundle or the other, never both (each holds its own copy of
// every module it shares with the other).

import { commands } from './commands/run-entry.js';
import { dispatch } from './dispatch.js';
import type { CommandIO } from './io.js';

export function main(argv: string[], io: CommandIO): Promise<number> {
  return dispatch(commands, argv, io);
}
