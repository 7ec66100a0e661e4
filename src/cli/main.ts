// `warden` entry: every command (bin/warden.cjs loads its bundle for every command but `run`).

import { commands } from './commands/index.js';
import { dispatch } from './dispatch.js';
import type { Command, CommandIO } from './io.js';

export function main(argv: string[], io: CommandIO): Promise<number> {
  return dispatch(commands, argv, io);
}

export type { Command, CommandIO };
