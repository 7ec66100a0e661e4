// `warden` entry: picks the command, runs it, maps errors to exit codes.

import { ExitCode, InputError, UsageError } from './errors.js';
import type { Command, CommandIO } from './io.js';
import { commands } from './commands/index.js';

const usage = `usage: warden <command> [options]

commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

Run 'warden <command> --help' for a command's options.`;

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage + '\n');
    return name ? ExitCode.OK : ExitCode.USAGE;
  }
  if (name === '--version') {
    io.stdout('wasm-warden 0.1.0\n');
    return ExitCode.OK;
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) {
    io.stderr(`warden: unknown command '${name}' (try 'warden --help')\n`);
    return ExitCode.USAGE;
  }
  const debug = rest.includes('--debug');
  const args = rest.filter((a) => a !== '--debug');
  try {
    const command = await entry.load();
    return await command.run(args, { ...io, debug });
  } catch (error) {
    // `warden run` reserves 1 and 2 for the guest: its own failures are 125.
    const failure = name === 'run' ? ExitCode.RUN_REFUSED : ExitCode.USAGE;
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError || error instanceof InputError) {
      io.stderr(`warden ${name}: ${message}\n`);
    } else {
      io.stderr(`warden ${name}: internal error: ${message}\n`);
    }
    if (debug && error instanceof Error && error.stack) io.stderr(error.stack + '\n');
    return failure;
  }
}

export type { Command, CommandIO };
