// Picks the command, runs it, maps errors to exit codes: the one dispatcher of
// both CLI entries (main.ts, every command; run-main.ts, `warden run` alone).

import { colourWanted } from './colour.js';
import { ExitCode, InputError, UsageError } from './errors.js';
import type { CommandIO } from './io.js';
import type { CommandEntry } from './commands/index.js';
import { didYouMean } from './suggest.js';
import { packageVersion } from './version.js';
import { terminalSafe } from './terminal-text.js';

const usageOf = (commands: Record<string, CommandEntry>): string => `usage: warden <command> [options]

commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

options for every command:
  --help, -h      that command's options (also: warden help <command>)
  --json          the result as JSON, where the command prints one
  --debug         stack traces with errors

  A module may be named by its file, by '-' (read from stdin), or by its store
  digest sha256:<hex> (warden push; the data dir: --data-dir, $WARDEN_DATA_DIR,
  $XDG_DATA_HOME/wasm-warden, ~/.local/share/wasm-warden).

  warden --version, -V   prints the version

Run 'warden help <command>' for a command's options.`;

/** Runs the command `argv` names from `commands`. */
export async function dispatch(commands: Record<string, CommandEntry>, argv: string[], io: CommandIO): Promise<number> {
  const [first, ...after] = argv;
  if (!first || first === '--help' || first === '-h' || (first === 'help' && after.length === 0)) {
    // Asked for, the usage is the answer (stdout, 0); with no command at all it is bad usage (stderr, 2).
    (first ? io.stdout : io.stderr)(usageOf(commands) + '\n');
    return first ? ExitCode.OK : ExitCode.USAGE;
  }
  if (first === '--version' || first === '-V') {
    io.stdout(`wasm-warden ${packageVersion()}\n`);
    return ExitCode.OK;
  }
  // `warden help CMD` is `warden CMD --help`, by construction.
  const [name, rest] = first === 'help' ? [after[0]!, ['--help']] : [first, after];
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) {
    const hint = name.startsWith('-') ? didYouMean(name.replace(/^-+/, ''), ['help', 'version'], '--') : didYouMean(name, Object.keys(commands));
    io.stderr(`warden: unknown ${name.startsWith('-') ? 'option' : 'command'} '${terminalSafe(name)}'${hint || " (try 'warden --help')"}\n`);
    return ExitCode.USAGE;
  }
  const debug = rest.includes('--debug');
  const args = rest.filter((a) => a !== '--debug');
  const commandIO: CommandIO = { ...io, debug };
  // Decided when a command first paints: whether stdout is a terminal is not free to ask (bin/warden.cjs).
  let colour: boolean | undefined;
  Object.defineProperty(commandIO, 'colour', { get: () => (colour ??= colourWanted(io.env, io.isTTY ?? false)), enumerable: true });
  try {
    const command = await entry.load();
    return await command.run(args, commandIO);
  } catch (error) {
    // `warden run` and `warden call` reserve 1 and 2 for the guest: their own failures are 125.
    const failure = name === 'run' || name === 'call' ? ExitCode.RUN_REFUSED : ExitCode.USAGE;
    // Messages quote what the user typed (a flag, a path) and what a file held: an escape or a newline in either
    // must neither act on the terminal nor forge a line of warden's own.
    const message = terminalSafe(error instanceof Error ? error.message : String(error));
    if (error instanceof UsageError || error instanceof InputError) {
      io.stderr(`warden ${name}: ${message}\n${error instanceof InputError && error.details ? `${error.details}\n` : ''}`);
    } else {
      io.stderr(`warden ${name}: internal error: ${message}${debug ? '' : ' (--debug shows where)'}\n`);
    }
    if (debug && error instanceof Error && error.stack) io.stderr(error.stack + '\n');
    return failure;
  }
}

