// warden call [options] MODULE.wasm FUNC [--input FILE|-]

import { notFoundHint } from '../../text/not-utf8.js';
import { PolicyError } from '../../policy/load.js';
import { parsePolicy } from '../../policy/load.js';
import { loadPolicy } from '../../policy/read-file.js';
import type { Policy } from '../../policy/policy.js';
import { AdmissionError } from '../../sandbox/admission-error.js';
import { createSandbox } from '../../sandbox/sandbox.js';
import { RunRefused } from '../../wasi/run.js';
import { formatGuestStack, REPORT_VERSION } from '../../wasi/trap.js';
import { flag, flagList, namedPairs, parseArgs, parseCount, parseDuration, parseSize } from '../args.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { resolveFrom } from '../paths.js';
import { preparedCacheDir } from '../prepared-cache-dir.js';
import { readModuleArg } from '../module-arg.js';
import { STDIN_PATH } from '../read-module.js';
import { readBoundedBytes, TooLargeError } from '../../policy/read-text.js';
import { writeStdoutBytes } from '../output-path.js';
import { printJson, terminalSafe, violationLines } from '../terminal-text.js';

export const usage = `usage: warden call [options] MODULE.wasm FUNC [--input FILE|-]

Calls FUNC of a plugin written for the Extism kernel ABI (extism:host/env):
the input bytes in, the plugin's output bytes to stdout. The plugin reaches
nothing but its input, its config and its variables: no files, no network,
no clock, no randomness unless a policy grants them.

  --input FILE|-          the input bytes (default: none; '-' reads stdin), at most
                          the plugin memory limit (plugin.memory, default 64MiB)
  --policy FILE           a policy file; its [plugin] table gives config and bounds
  --config K=V            a config value the plugin can read (repeatable, each key once; over the policy's)
  --timeout DURATION      wall-clock limit (default none; 0s: none)
  --fuel N                instruction budget (default off)
  --memory-limit SIZE     the plugin's linear memory (default 1GiB)
  --isolation MODE        none | thread | process (default none)
  --json                  print the call's record (output as base64) instead of the bytes
  --data-dir DIR          the data dir: the prepared-module cache, and the store (MODULE
                          may be a sha256:<hex> store digest)
  --no-cache              neither read nor write the prepared-module cache

Logs go to stderr, one line each. Exit status: 0 when the plugin returns 0;
1 with its error message when it returns non-zero or sets an error; 125 when
wasm-warden refuses or fails before the plugin runs; 134 when it traps or a
limit ends the call.`;

const specs = {
  input: { value: true }, policy: { value: true }, config: { value: true, repeat: true }, timeout: { value: true },
  fuel: { value: true }, 'memory-limit': { value: true }, isolation: { value: true }, json: {}, help: {},
  'data-dir': { value: true }, 'no-cache': {},
} as const;

function effectivePolicy(args: ReturnType<typeof parseArgs>, io: CommandIO): Policy {
  const file = flag(args, 'policy');
  let raw: Record<string, unknown> = { isolation: 'none' };
  let base: Policy | null = null;
  try {
    if (file) base = loadPolicy(resolveFrom(io.cwd, file));
  } catch (error) {
    throw new InputError(error instanceof PolicyError ? error.message : String(error));
  }
  // No prototype, as the policy's own: on a plain object `--config __proto__=x` went to the prototype setter and was lost.
  const config: Record<string, string> = Object.assign(Object.create(null), base?.plugin.config);
  const pairs = namedPairs('--config', flagList(args, 'config'), (text) => {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new UsageError(`--config: '${text}' is not K=V`);
    return [text.slice(0, eq), text.slice(eq + 1)];
  });
  for (const [key, value] of pairs) config[key] = value;
  const limits: Record<string, unknown> = {};
  const timeout = flag(args, 'timeout');
  const fuel = flag(args, 'fuel');
  const memory = flag(args, 'memory-limit');
  const isolation = flag(args, 'isolation');
  if (isolation !== undefined && isolation !== 'none' && isolation !== 'thread' && isolation !== 'process') throw new UsageError(`--isolation: '${isolation}' is not none, thread or process`);
  if (base) {
    const timeoutMs = timeout !== undefined ? parseDuration(timeout, '--timeout') || null : base.limits.timeoutMs;
    const fuelN = fuel !== undefined ? parseCount(fuel, '--fuel') || null : base.limits.fuel;
    const memoryBytes = memory !== undefined ? parseSize(memory, '--memory-limit') : base.limits.memory;
    return Object.freeze({
      ...base,
      isolation: (isolation as Policy['isolation'] | undefined) ?? base.isolation,
      limits: Object.freeze({ ...base.limits, timeoutMs, fuel: fuelN, memory: memoryBytes }),
      plugin: Object.freeze({ ...base.plugin, config: Object.freeze(config) }),
    });
  }
  if (timeout !== undefined) limits.timeout = `${parseDuration(timeout, '--timeout')}ms`;
  if (fuel !== undefined) limits.fuel = parseCount(fuel, '--fuel');
  if (memory !== undefined) limits.memory = `${parseSize(memory, '--memory-limit')}B`;
  raw = { ...raw, ...(isolation ? { isolation } : {}), limits, plugin: { config } };
  try {
    return parsePolicy(raw);
  } catch (error) {
    throw new UsageError(error instanceof PolicyError ? error.message : String(error));
  }
}

/**
 * The input bytes, read up to the plugin memory limit: Extism's kernel keeps a
 * call's input in plugin memory, and a bigger one could not be handed over
 * anyway. The bound stops `--input /dev/zero`, or a pipe that never ends,
 * from filling the host's memory before the plugin is even called.
 */
function readInput(spec: string | undefined, io: CommandIO, limit: number): Uint8Array {
  if (spec === undefined) return new Uint8Array(0);
  try {
    return readBoundedBytes(spec === '-' ? 0 : resolveFrom(io.cwd, spec), limit, 'the plugin memory limit (plugin.memory)');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`--input ${spec}: ${error instanceof TooLargeError ? error.message : code ?? (error as Error).message}${notFoundHint(spec, code)}`);
  }
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, specs);
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  const [modulePath, fn, extra] = args.positionals;
  if (!modulePath || !fn || extra !== undefined) throw new UsageError('needs a module and a function (warden call MODULE.wasm FUNC [--input FILE|-])');
  // One stdin cannot be read twice: the second reader would get nothing, silently.
  if (modulePath === STDIN_PATH && flag(args, 'input') === STDIN_PATH) throw new UsageError('the module and --input cannot both be read from stdin (-)');
  const policy = effectivePolicy(args, io);
  const input = readInput(flag(args, 'input'), io, policy.plugin.memoryBytes);
  const bytes = readModuleArg(modulePath, io, flag(args, 'data-dir'));
  const cacheDir = args.switches.has('no-cache') ? undefined : preparedCacheDir('call', flag(args, 'data-dir'), io);
  const sandbox = await createSandbox(policy, { oneShot: true, ...(cacheDir ? { cacheDir } : {}) });
  let result;
  try {
    result = await sandbox.callPlugin(bytes, fn, input);
  } catch (error) {
    if (error instanceof AdmissionError) throw new InputError(`${modulePath} refused before running:`, violationLines(error.violations));
    if (error instanceof RunRefused) throw new InputError(error.message);
    throw error;
  } finally {
    await sandbox.close();
  }
  const { plugin } = result;
  if (args.switches.has('json')) {
    printJson(io, {
      version: REPORT_VERSION, module: modulePath, function: fn, isolation: result.isolation, rc: plugin.rc, error: plugin.error,
      output: Buffer.from(plugin.output).toString('base64'), logs: plugin.logs, logsDropped: plugin.logsDropped,
      trap: result.trap, limitsHit: result.limitsHit, fuelUsed: result.fuelUsed, usage: { ...result.usage, pluginMemoryBytes: plugin.memoryBytes },
    });
  } else {
    for (const line of plugin.logs) io.stderr(`${line.level}: ${terminalSafe(line.message)}\n`);
    if (plugin.logsDropped) io.stderr(`warden call: ${plugin.logsDropped} more log lines dropped (plugin.logs)\n`);
    // What the plugin printed through WASI, if it was granted stdio, goes to stderr: stdout carries its output bytes.
    if (result.stdout.length) io.stderr(new TextDecoder().decode(result.stdout));
    if (result.stderr.length) io.stderr(new TextDecoder().decode(result.stderr));
    if (plugin.output.length) {
      writeStdoutBytes(io, plugin.output);
    }
  }
  if (result.trap) {
    io.stderr(`warden call: ${modulePath}: ${result.trap.kind}: ${terminalSafe(result.trap.message)}\n`);
    if (result.trap.stack?.length) io.stderr(formatGuestStack(result.trap.stack).join('\n') + '\n');
    return ExitCode.RUN_TRAPPED;
  }
  if (plugin.error !== null || plugin.rc !== 0) {
    io.stderr(`warden call: ${fn}: ${plugin.error === null ? `returned ${plugin.rc}` : terminalSafe(plugin.error)}\n`);
    return ExitCode.NEGATIVE;
  }
  return ExitCode.OK;
}
