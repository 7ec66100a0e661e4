// The command table. Each command lives in its own file and exports `run`.

import type { Command } from '../io.js';

export interface CommandEntry {
  summary: string;
  run: Command;
}

export const commands: Record<string, CommandEntry> = {};
