// warden ls [--data-dir DIR] [--json]

import { statSync } from 'node:fs';
import { openStore } from '../../store/local.js';
import { flag, parseArgs } from '../args.js';
import { dataDir } from '../data-dir.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { printJson, terminalSafe } from '../terminal-text.js';

export const usage = `usage: warden ls [--data-dir DIR] [--json]

Lists the modules in the local store: digest, size and when each was stored. Any
command that takes a module takes one of these digests in its place.

  --data-dir DIR       where the store lives (default: $WARDEN_DATA_DIR, else
                       $XDG_DATA_HOME/wasm-warden, else ~/.local/share/wasm-warden)
  --json               the list as JSON

Exit 0 (an empty or missing store lists nothing); 2 for bad usage.`;

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { 'data-dir': { value: true }, json: {}, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  if (args.positionals.length) throw new UsageError(`takes no arguments (got '${args.positionals[0]}')`);
  const dir = dataDir(flag(args, 'data-dir'), io);
  // A data dir that is a file holds no store: said so, where it had listed "no modules in" it and exited 0.
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) throw new InputError(`the data dir ${dir} is not a directory`);
  const entries = openStore(dir).entries();
  if (args.switches.has('json')) {
    printJson(io, { store: dir, modules: entries });
  } else if (entries.length === 0) {
    io.stderr(`warden ls: no modules in ${terminalSafe(dir)} (warden push FILE adds one)\n`);
  } else {
    for (const e of entries) io.stdout(`${e.digest}  ${humanSize(e.size).padStart(9)}  ${e.stored}\n`);
  }
  return ExitCode.OK;
}
