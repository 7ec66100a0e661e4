// warden run [options] MODULE.wasm [-- ARGS...]

import { notFoundHint } from '../../text/not-utf8.js';
import { statSync } from 'node:fs';
import { parseClockPolicy } from '../../wasi/clocks.js';
import { RunRefused } from '../../wasi/run.js';
import { formatWasmValue } from '../../wasi/values.js';
import { formatGuestStack, noDirectoryHint, REPORT_VERSION } from '../../wasi/trap.js';
import { PolicyError } from '../../policy/load.js';
import { loadPolicy } from '../../policy/read-file.js';
import { guestPathProblem } from '../../policy/guest-path.js';
import { checkMountSources, mountSourceProblem } from '../../policy/mount-sources.js';
import { applyOverrides, commandLinePolicy, type Overrides } from '../../policy/overrides.js';
import type { MountPolicy, Policy } from '../../policy/policy.js';
import type { SandboxResult } from '../../sandbox/execute.js';
import { AdmissionError } from '../../sandbox/admission-error.js';
import { createSandbox } from '../../sandbox/sandbox.js';
import { flag, flagList, namedPairs, parseArgs, parseCount, parseDuration, parseSize, type ParsedArgs } from '../args.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { parentOf, resolveFrom } from '../paths.js';
import { readModuleArg } from '../module-arg.js';
import { preparedCacheDir } from '../prepared-cache-dir.js';
import { forEachSection } from '../../binary/sections.js';
import { defaultDecodeLimits } from '../../binary/limits.js';
import { writeFileAtomic } from '../write-atomic.js';
import { tableAndMemoryFlags } from '../limit-flags.js';
import { printJson, terminalSafe, terminalSafeJson, violationLines } from '../terminal-text.js';
import { deniedHint } from '../denied-hint.js';

export const usage = `usage: warden run [options] MODULE.wasm [-- ARGS...]
       warden run --invoke FUNC [options] MODULE.wasm [-- ARGS...]

Runs a WASI command module with exactly the capabilities the options grant.
Admission checks the module against the policy before any of its code runs.
With --invoke, calls the exported function FUNC instead of _start (after the
module's _initialize, if any) with ARGS parsed per its parameter types, and
prints its results one per line.

  --policy FILE           a policy file (TOML, or JSON by extension); flags override it
  --data-dir DIR          where the module store and the cache live (MODULE may be a sha256:<hex>
                          store digest)
  --no-cache              neither read nor write the prepared-module cache in the data dir
                          (admission verdicts and rewritten modules, by module digest, policy
                          and wasm-warden build: docs/cache.md); a fresh admission every run
  --dir HOST[::GUEST]     grant a host directory read-write (guest path defaults to HOST)
  --dir-ro HOST[::GUEST]  grant a host directory read-only
  --tmpfs GUEST           grant an empty scratch directory, removed after the run
  --file HOST::GUEST      grant one host file, read-only (a snapshot), at the guest file path
  --env K=V               set an environment variable (repeatable, each name once; nothing is inherited)
  --env NAME              pass the host's NAME through (only the names given)
  --clock POLICY          real | coarse[:RES] | frozen | virtual[:STEP]   (default coarse:1ms)
  --random SOURCE         os | seeded:N                                   (default os)
  --stdin FILE            read stdin from FILE ('-' inherits, 'none' gives EOF; default inherit)
  --timeout DURATION      wall-clock limit, preempting running code (default none; 0s: none)
  --memory-limit SIZE     linear memory (default 1GiB; memory.grow fails beyond)
  --fuel N                instruction budget, about one unit per instruction (default off)
  --invoke FUNC           call the exported function FUNC with numeric ARGS (i32, i64, f32, f64)
  --unknown-imports MODE  refuse | trap | zero: imports nothing provides are refused (default),
                          or linked to stubs that trap when called, or return zeros
  --isolation MODE        none | thread | process (default: the policy's; without
                          --policy, none: the guest runs on this process's thread)
  --max-output SIZE       stdout + stderr (default 1GiB; passing it ends the run)
  --max-fds N             open descriptors (default 256; EMFILE beyond)
  --max-files N           files and directories created (default 10000; EDQUOT beyond)
  --max-write SIZE        storage the guest makes the host keep on writable mounts and
                          scratch: file footprints, directories, symlinks (default 256MiB;
                          EDQUOT beyond; docs/wasi.md)
  --max-table-elements N  elements of all tables together (default 1000000; table.grow fails beyond)
  --max-tables N          tables a module may declare (default 16)
  --max-memories N        memories a module may declare (default 1; more needs multi-memory)
  --report FILE           write a JSON record of the run (docs/report.md)
  --json                  capture the guest's stdout and stderr (up to --max-output) and print
                          the run record with them as JSON instead

Exit status: the guest's own (0 when an invoked function returns); 134 when it
traps or a limit ends the run; 125 when wasm-warden refuses or fails before the
guest runs.`;

const specs = {
  policy: { value: true }, dir: { value: true, repeat: true }, 'dir-ro': { value: true, repeat: true },
  'data-dir': { value: true }, tmpfs: { value: true, repeat: true }, file: { value: true, repeat: true }, env: { value: true, repeat: true }, clock: { value: true },
  random: { value: true }, stdin: { value: true }, timeout: { value: true }, 'memory-limit': { value: true },
  fuel: { value: true }, isolation: { value: true }, 'max-output': { value: true }, 'max-fds': { value: true },
  'max-files': { value: true }, 'max-write': { value: true }, 'max-table-elements': { value: true },
  'max-tables': { value: true }, 'max-memories': { value: true }, report: { value: true }, json: {}, help: {},
  invoke: { value: true, empty: true }, 'unknown-imports': { value: true }, 'no-cache': {},
} as const;

function parseMount(text: string, readOnly: boolean, cwd: string): MountPolicy {
  const split = text.indexOf('::');
  const host = split === -1 ? text : text.slice(0, split);
  const guest = split === -1 ? text : text.slice(split + 2);
  if (!host || !guest) throw new UsageError(`--dir${readOnly ? '-ro' : ''}: '${text}' is not HOST[::GUEST]`);
  return { kind: 'host', host: resolveFrom(cwd, host), guest, readOnly };
}

/** `--stdin FILE`, resolved and there: a file, a device or a pipe, not a directory; named by the flag when not. */
function stdinFile(text: string, cwd: string): string {
  const path = resolveFrom(cwd, text);
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`--stdin ${text}: ${path} ${code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be reached (permission denied)' : `cannot be read (${code})`}${notFoundHint(path, code)}`);
  }
  if (stat.isDirectory()) throw new InputError(`--stdin ${text}: ${path} is a directory`);
  return path;
}

function parseEnv(text: string, hostEnv: CommandIO['env']): [string, string] {
  const eq = text.indexOf('=');
  if (eq === -1 && text) {
    // `--env NAME` passes one host variable through, as Wasmtime's does; only named ones.
    const value = Object.hasOwn(hostEnv, text) ? hostEnv[text] : undefined;
    if (value === undefined) throw new UsageError(`--env ${text}: the host has no variable ${text} to pass through (use --env ${text}=VALUE)`);
    return [text, value];
  }
  if (eq <= 0) throw new UsageError(`--env: '${text}' is not K=V or NAME`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function parseRandom(text: string): { kind: 'os' } | { kind: 'seeded'; seed: number } {
  if (text === 'os') return { kind: 'os' };
  const match = /^seeded:(\d{1,10})$/.exec(text);
  // The seed is 32 bits: a larger one had been cut to its low bits without a word, two seeds then one stream.
  if (!match || Number(match[1]) > 0xffffffff) throw new UsageError(`--random: '${text}' is not os or seeded:N (N from 0 to 4294967295)`);
  return { kind: 'seeded', seed: Number(match[1]) };
}

/** The policy this run gets: the file's (or the CLI's defaults), with every flag on top. */
function effectivePolicy(args: ParsedArgs, cwd: string, hostEnv: CommandIO['env']): Policy {
  const file = flag(args, 'policy');
  let base: Policy;
  try {
    base = file ? loadPolicy(resolveFrom(cwd, file)) : commandLinePolicy();
    // The file's own mounts, by their keys and the file's name, before the flags' are added after them.
    if (file) checkMountSources(base, file);
  } catch (error) {
    throw new InputError(error instanceof PolicyError ? error.message : String(error));
  }
  const overrides: Overrides = { limits: {} };
  const limits = overrides.limits!;
  // Each grant flag with the words the user typed, so that a host path that is missing is reported by
  // the flag and value (`--dir /x::/y`), not by the policy key it becomes (`mount[0].host`).
  const granted: Array<[string, MountPolicy]> = [
    ...flagList(args, 'dir').map((d): [string, MountPolicy] => [`--dir ${d}`, parseMount(d, false, cwd)]),
    ...flagList(args, 'dir-ro').map((d): [string, MountPolicy] => [`--dir-ro ${d}`, parseMount(d, true, cwd)]),
    ...flagList(args, 'tmpfs').map((guest): [string, MountPolicy] => [`--tmpfs ${guest}`, { kind: 'tmpfs', guest }]),
    ...flagList(args, 'file').map((text): [string, MountPolicy] => {
      const split = text.indexOf('::');
      const guest = text.slice(split + 2);
      if (split <= 0 || !guest.startsWith('/')) throw new UsageError(`--file: '${text}' is not HOST::/GUEST/PATH`);
      return [`--file ${text}`, { kind: 'file', host: resolveFrom(cwd, text.slice(0, split)), guest }];
    }),
  ];
  const guests = new Set(base.mounts.map((m) => m.guest));
  for (const [typed, mount] of granted) {
    // The policy loader's own check of a guest path, so that a flag and a policy file refuse the same paths.
    const guestProblem = guestPathProblem(mount.guest);
    if (guestProblem) {
      const unnamed = mount.kind === 'host' && !typed.includes('::');
      throw new UsageError(`${typed}: ${guestProblem}${unnamed ? ' (without ::GUEST it is the host path as given; add ::/GUEST)' : ''}`);
    }
    const problem = mountSourceProblem(mount);
    if (problem) throw new InputError(`${typed}: ${problem}`);
    if (guests.has(mount.guest)) throw new UsageError(`${typed}: '${mount.guest}' is already mounted${file && base.mounts.some((m) => m.guest === mount.guest) ? ` (by ${file})` : ''}`);
    guests.add(mount.guest);
  }
  overrides.mounts = granted.map(([, mount]) => mount);
  overrides.env = namedPairs('--env', flagList(args, 'env'), (e) => parseEnv(e, hostEnv));
  const clock = flag(args, 'clock');
  if (clock !== undefined) {
    try { overrides.clock = parseClockPolicy(clock); } catch (error) { throw new UsageError(`--clock: ${(error as Error).message}`); }
  }
  const random = flag(args, 'random');
  if (random !== undefined) overrides.random = parseRandom(random);
  const stdin = flag(args, 'stdin');
  if (stdin !== undefined) overrides.stdin = stdin === '-' ? { kind: 'inherit' } : stdin === 'none' ? { kind: 'none' } : { kind: 'file', path: stdinFile(stdin, cwd) };
  const timeout = flag(args, 'timeout');
  // 0 is no deadline, as a policy's timeout = "0s" is (and --fuel 0 is no metering); it had ended every run at once.
  if (timeout !== undefined) limits.timeoutMs = parseDuration(timeout, '--timeout') || null;
  const memory = flag(args, 'memory-limit');
  if (memory !== undefined) limits.memory = parseSize(memory, '--memory-limit');
  const fuel = flag(args, 'fuel');
  if (fuel !== undefined) limits.fuel = parseCount(fuel, '--fuel') || null;
  const sizes = [['max-output', 'outputBytes'], ['max-write', 'writeBytes']] as const;
  for (const [name, key] of sizes) { const v = flag(args, name); if (v !== undefined) limits[key] = parseSize(v, `--${name}`); }
  const counts = [['max-fds', 'fds'], ['max-files', 'files'], ...tableAndMemoryFlags] as const;
  for (const [name, key] of counts) { const v = flag(args, name); if (v !== undefined) limits[key] = parseCount(v, `--${name}`); }
  const unknown = flag(args, 'unknown-imports');
  if (unknown !== undefined) {
    if (unknown !== 'refuse' && unknown !== 'trap' && unknown !== 'zero') throw new UsageError(`--unknown-imports: '${unknown}' is not refuse, trap or zero`);
    overrides.unknownImports = unknown;
  }
  const isolation = flag(args, 'isolation');
  if (isolation !== undefined) {
    if (isolation !== 'none' && isolation !== 'thread' && isolation !== 'process') throw new UsageError(`--isolation: '${isolation}' is not none, thread or process`);
    overrides.isolation = isolation;
  }
  // A terminal user sees the guest's output: a policy's `capture` means "to the terminal" here,
  // unless --json asks for it inside the record.
  const json = args.switches.has('json');
  if (base.stdout === 'capture' || json) overrides.stdout = json ? 'capture' : 'inherit';
  if (base.stderr === 'capture' || json) overrides.stderr = json ? 'capture' : 'inherit';
  try {
    return applyOverrides(base, overrides);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Bytes of buffer left after a module read for a run: room for its rewritten module to be built over it. */
const REWRITE_ROOM = 64 * 1024;

/** Does the module import path_open? For the hint after a failed run with no mount; reads the import section only. */
async function opensPaths(bytes: Uint8Array): Promise<boolean> {
  try {
    // A module importing path_open holds the name's bytes in its import section: one without them there is
    // answered without loading the decoder, and without scanning the rest (31 MB took 13-50 ms).
    let imports: [number, number] | null = null;
    forEachSection(bytes, defaultDecodeLimits.maxStringBytes, (id, _start, payloadStart, end) => {
      if (id === 2) imports = [payloadStart, end];
    });
    const section = imports as [number, number] | null;
    if (!section || Buffer.from(bytes.buffer, bytes.byteOffset + section[0], section[1] - section[0]).indexOf('path_open', 0, 'latin1') === -1) return false;
    const { decodeImports } = await import('../../binary/decode.js');
    return decodeImports(bytes).some((i) => i.module === 'wasi_snapshot_preview1' && i.name === 'path_open');
  } catch {
    return false;
  }
}

export function reportOf(modulePath: string, result: SandboxResult): object {
  return {
    version: REPORT_VERSION,
    module: modulePath,
    isolation: result.isolation,
    exitCode: result.exitCode,
    trap: result.trap,
    limitsHit: result.limitsHit,
    denied: result.denied,
    deniedCount: result.deniedCount,
    fuelUsed: result.fuelUsed,
    usage: result.usage,
    ...(result.results ? { results: result.results.map((v) => (typeof v === 'bigint' ? v.toString() : jsonNumber(v))) } : {}),
    ...(result.hostCalls ? { hostCalls: result.hostCalls } : {}),
    ...(result.unknownImports ? { unknownImports: result.unknownImports } : {}),
  };
}

/** JSON has no NaN or infinities: those go as strings. */
function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** Throws the error writing `path` would, when it is a directory or its parent is not one, before anything runs. */
function checkWritable(path: string, shown: string): void {
  const problem = (target: string, want: 'file' | 'directory'): string | null => {
    try {
      const stat = statSync(target);
      return want === 'file' ? (stat.isDirectory() ? 'EISDIR' : null) : stat.isDirectory() ? null : 'ENOTDIR';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      return want === 'file' && code === 'ENOENT' ? null : code;
    }
  };
  const code = problem(path, 'file') ?? problem(parentOf(path), 'directory');
  if (code) throw new InputError(`cannot write ${shown} (${code})${notFoundHint(shown, code)}`);
}

function writeReport(path: string | undefined, cwd: string, record: object): void {
  if (path) writeFileAtomic(resolveFrom(cwd, path), terminalSafeJson(record) + '\n');
}

/** A module named by its store digest (warden push prints it). */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, specs, { stopAtPositional: true });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  const modulePath = args.positionals[0];
  if (!modulePath) throw new UsageError('needs a module (warden run [options] MODULE.wasm [-- ARGS...])');
  const policy = effectivePolicy(args, io.cwd, io.env);
  const reportPath = flag(args, 'report');
  // `-` is stdout for an output, and stdout is the guest's: the record would be mixed into its output. --json puts it there alone.
  if (reportPath === '-') throw new UsageError('--report -: stdout carries the guest\'s output; name a file, or use --json for the record on stdout');
  // A report that cannot be written is found now, not after the guest ran (its effects done, and exit 125 saying it had not).
  if (reportPath !== undefined) checkWritable(resolveFrom(io.cwd, reportPath), reportPath);
  const invoke = flag(args, 'invoke');
  const guestArgs = [modulePath, ...args.rest];
  // The same orchestrator as the library's; the isolate (if any) starts now, while the module is read and compiled.
  let sandbox;
  try {
    const cacheDir = args.switches.has('no-cache') ? undefined : preparedCacheDir('run', flag(args, 'data-dir'), io);
    // The module's bytes are read for this run alone: its rewritten module (a cache hit's or a fresh one) may be built over them.
    sandbox = await createSandbox(policy, { oneShot: true, overwriteModuleBytes: true, ...(cacheDir ? { cacheDir } : {}) });
  } catch (error) {
    // A mount whose host path is missing: one line naming it.
    if (error instanceof PolicyError) throw new InputError(error.message);
    throw error;
  }
  const directoryMounts = policy.mounts.filter((m) => m.kind !== 'file').length;
  let opens = false;
  let result: SandboxResult;
  try {
    // Room after the bytes read for a rewrite of maxima to be built over them (each adds a few bytes).
    const bytes = readModuleArg(modulePath, io, flag(args, 'data-dir'), REWRITE_ROOM);
    // Asked now, while the bytes are the module's own (the run may overwrite them), and only when the
    // hint could be given (no directory granted); only the import section is read.
    opens = directoryMounts === 0 && (await opensPaths(bytes));
    result = invoke === undefined ? await sandbox.run(bytes, { args: guestArgs }) : await sandbox.invoke(bytes, invoke, ...args.rest);
  } catch (error) {
    if (error instanceof AdmissionError) {
      writeReport(reportPath, io.cwd, { version: REPORT_VERSION, module: modulePath, refused: error.violations });
      throw new InputError(`${modulePath} refused before running:`, violationLines(error.violations));
    }
    if (error instanceof RunRefused) throw new InputError(error.message);
    throw error;
  } finally {
    await sandbox.close();
  }
  writeReport(reportPath, io.cwd, reportOf(modulePath, result));
  if (args.switches.has('json')) {
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    printJson(io, { ...reportOf(modulePath, result), stdout: text(result.stdout), stderr: text(result.stderr) });
  }
  const hint = noDirectoryHint(result, directoryMounts, () => opens) ?? deniedHint(result);
  if (result.trap) {
    // A trap's message may quote the module's own names (an unknown import's): escaped, as warden call does.
    io.stderr(`warden run: ${modulePath}: ${result.trap.kind}: ${terminalSafe(result.trap.message)}\n`);
    if (result.trap.stack?.length) io.stderr(formatGuestStack(result.trap.stack).join('\n') + '\n');
    if (hint) io.stderr(`warden run: ${hint}\n`);
    return ExitCode.RUN_TRAPPED;
  }
  if (hint) io.stderr(`warden run: ${hint}\n`);
  if (result.results && result.exitCode === 0 && !args.switches.has('json')) {
    const types = result.resultTypes ?? [];
    for (const [i, v] of result.results.entries()) io.stdout(`${formatWasmValue(v, types[i] ?? (typeof v === 'bigint' ? 'i64' : 'f64'))}\n`);
  }
  return result.exitCode ?? ExitCode.RUN_TRAPPED;
}
