// warden run [options] MODULE.wasm [-- ARGS...]

import { closeSync, openSync } from 'node:fs';
import { parseClockPolicy } from '../../wasi/clocks.js';
import { defineGrant, type MountSpec } from '../../wasi/grant.js';
import { RunRefused, runWasi, type RunResult } from '../../wasi/run.js';
import { createScratch, type Scratch } from '../../wasi/scratch.js';
import { flag, flagList, parseArgs, parseCount, parseDuration, parseSize } from '../args.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readModuleFile } from '../read-module.js';
import { resolveFrom } from '../paths.js';
import { writeFileAtomic } from '../write-atomic.js';

export const usage = `usage: warden run [options] MODULE.wasm [-- ARGS...]

Runs a WASI command module with exactly the capabilities the options grant.

  --dir HOST[::GUEST]     grant a host directory read-write (guest path defaults to HOST)
  --dir-ro HOST[::GUEST]  grant a host directory read-only
  --tmpfs GUEST           grant an empty scratch directory, removed after the run
  --env K=V               set an environment variable (repeatable; nothing is inherited)
  --clock POLICY          real | coarse[:RES] | frozen | virtual[:STEP]   (default coarse:1ms)
  --random SOURCE         os | seeded:N                                   (default os)
  --stdin FILE            read stdin from FILE ('-' inherits, 'none' gives EOF; default inherit)
  --timeout DURATION      wall-clock limit, preempting running code (default none)
  --max-output SIZE       stdout + stderr (default 1GiB; passing it ends the run)
  --max-fds N             open descriptors (default 256; EMFILE beyond)
  --max-files N           files and directories created (default 10000; EDQUOT beyond)
  --max-write SIZE        bytes written to files (default 256MiB; EDQUOT beyond)
  --report FILE           write a JSON record of the run (docs/report.md)

Exit status: the guest's own; 134 when it traps or a limit ends the run;
125 when wasm-warden refuses or fails before the guest runs.`;

const specs = {
  dir: { value: true, repeat: true }, 'dir-ro': { value: true, repeat: true }, tmpfs: { value: true, repeat: true },
  env: { value: true, repeat: true }, clock: { value: true }, random: { value: true }, stdin: { value: true },
  timeout: { value: true }, 'max-output': { value: true }, 'max-fds': { value: true }, 'max-files': { value: true },
  'max-write': { value: true }, report: { value: true }, help: {},
} as const;

function parseMount(text: string, readOnly: boolean, cwd: string): MountSpec {
  const split = text.indexOf('::');
  const host = split === -1 ? text : text.slice(0, split);
  const guest = split === -1 ? text : text.slice(split + 2);
  if (!host || !guest) throw new UsageError(`--dir${readOnly ? '-ro' : ''}: '${text}' is not HOST[::GUEST]`);
  return { host: resolveFrom(cwd, host), guest, readOnly };
}

function parseEnv(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`--env: '${text}' is not K=V`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function parseRandom(text: string): { kind: 'os' } | { kind: 'seeded'; seed: number } {
  if (text === 'os') return { kind: 'os' };
  const match = /^seeded:(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--random: '${text}' is not os or seeded:N`);
  return { kind: 'seeded', seed: Number(match[1]) >>> 0 };
}

export function reportOf(modulePath: string, result: RunResult): object {
  return {
    version: 1,
    module: modulePath,
    exitCode: result.exitCode,
    trap: result.trap,
    limitsHit: result.limitsHit,
    denied: result.denied,
    deniedCount: result.deniedCount,
    usage: result.usage,
  };
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, specs, { stopAtPositional: true });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  const modulePath = args.positionals[0];
  if (!modulePath) throw new UsageError('needs a module (warden run [options] MODULE.wasm [-- ARGS...])');

  const mounts = [
    ...flagList(args, 'dir').map((d) => parseMount(d, false, io.cwd)),
    ...flagList(args, 'dir-ro').map((d) => parseMount(d, true, io.cwd)),
  ];
  let clock;
  try {
    clock = parseClockPolicy(flag(args, 'clock') ?? 'coarse:1ms');
  } catch (error) {
    throw new UsageError(`--clock: ${(error as Error).message}`);
  }
  const stdinFlag = flag(args, 'stdin') ?? '-';
  const timeout = flag(args, 'timeout');
  const limits = {
    maxOutputBytes: parseSize(flag(args, 'max-output') ?? '1GiB', '--max-output'),
    maxFds: parseCount(flag(args, 'max-fds') ?? '256', '--max-fds'),
    maxFilesCreated: parseCount(flag(args, 'max-files') ?? '10000', '--max-files'),
    maxWriteBytes: parseSize(flag(args, 'max-write') ?? '256MiB', '--max-write'),
    timeoutMs: timeout === undefined ? null : parseDuration(timeout, '--timeout'),
  };
  const random = parseRandom(flag(args, 'random') ?? 'os');
  const env = flagList(args, 'env').map(parseEnv);
  const reportPath = flag(args, 'report');

  const bytes = readModuleFile(modulePath, io.cwd);
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (error) {
    throw new InputError(`${modulePath} does not compile: ${(error as Error).message}`);
  }

  let stdinFd: number | null = null;
  const scratches: Scratch[] = [];
  try {
    if (stdinFlag !== '-' && stdinFlag !== 'none') {
      try {
        stdinFd = openSync(resolveFrom(io.cwd, stdinFlag), 'r');
      } catch (error) {
        throw new InputError(`--stdin ${stdinFlag}: ${(error as NodeJS.ErrnoException).code ?? 'cannot open'}`);
      }
    }
    for (const guest of flagList(args, 'tmpfs')) {
      const scratch = createScratch();
      scratches.push(scratch);
      mounts.push({ host: scratch.path, guest, readOnly: false });
    }
    const grant = defineGrant({
      args: [modulePath, ...args.rest],
      env,
      mounts,
      clock,
      random,
      stdin: stdinFlag === 'none' ? { kind: 'none' } : stdinFd !== null ? { kind: 'fd', fd: stdinFd } : { kind: 'fd', fd: 0 },
      stdout: { kind: 'inherit' },
      stderr: { kind: 'inherit' },
      limits,
    });
    let result: RunResult;
    try {
      result = runWasi(module, grant);
    } catch (error) {
      if (error instanceof RunRefused) throw new InputError(error.message);
      throw error;
    }
    if (reportPath) writeFileAtomic(resolveFrom(io.cwd, reportPath), JSON.stringify(reportOf(modulePath, result), null, 2) + '\n');
    if (result.trap) {
      io.stderr(`warden run: ${modulePath}: ${result.trap.kind}: ${result.trap.message}\n`);
      return ExitCode.RUN_TRAPPED;
    }
    return result.exitCode ?? ExitCode.RUN_TRAPPED;
  } finally {
    if (stdinFd !== null) closeSync(stdinFd);
    for (const s of scratches) s.remove();
  }
}
