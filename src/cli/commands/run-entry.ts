// `warden run`'s entry in the command table, alone in its own file: the run-only
// CLI bundle (../run-main.ts) is built from it and so holds no other command.

import type { CommandEntry } from './index.js';

export const run: CommandEntry = { summary: 'run a WASI module with explicit grants', load: () => import('./run.js') };

/** The table of the run-only entry. */
export const commands: Record<string, CommandEntry> = { run };
