// warden harden [--stack-guard] [--null-guard] [--null-guard-size SIZE] [--rodata-guard]
//               [--rodata-range START..END] [--bulk-guard] [--all] IN.wasm -o OUT.wasm [--json]

import { decodeModule } from '../../binary/decode.js';
import { WasmDecodeError } from '../../binary/errors.js';
import { RewriteTooLarge } from '../../transform/bodies.js';
import { hardenModule, HardenError, HARDEN_PASSES, type HardenPassName } from '../../transform/harden.js';
import { flag, parseArgs, parseSize } from '../args.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readModuleArg } from '../module-arg.js';
import { messagesFor, refuseJsonOnStdout, shownOutput, writeOutput } from '../output-path.js';
import { printJson, terminalSafe } from '../terminal-text.js';

export const usage = `usage: warden harden [--stack-guard] [--null-guard] [--null-guard-size SIZE] [--rodata-guard]
                     [--rodata-range START..END] [--bulk-guard] [--all] IN.wasm -o OUT.wasm [--json]

Compiles guards into a module's code against memory bugs inside its own linear memory
(docs/memory-safety.md). Each pass is opt-in; a trap names the guard that fired.
  --stack-guard          trap (stack-guard) when the stack pointer goes below the end of static data
  --null-guard           trap (null-guard) on loads and stores below --null-guard-size (default 1KiB)
  --rodata-guard         trap (rodata-write) on stores into the .rodata segment (or --rodata-range)
  --bulk-guard           memory.fill/copy/init checked against the same two ranges
  --all                  every pass that applies (the others are listed as not applied)
  -o, --out OUT.wasm     where the hardened module goes ('-': stdout, the summary then on stderr)
  --data-dir DIR         the module store (IN.wasm may be a sha256:<hex> store digest)
Passes the module already carries are recognised from its code and not applied twice.
A signed module's signature does not cover the hardened bytes: it is removed; re-sign.
Exit status: 0 written; 2 bad usage, an unreadable input, or a pass that cannot apply.`;

const SWITCHES: Record<string, HardenPassName> = { 'stack-guard': 'stack', 'null-guard': 'null', 'rodata-guard': 'rodata', 'bulk-guard': 'bulk' };

function parseRange(text: string): { start: number; end: number } {
  const m = /^(\w+)\.\.(\w+)$/.exec(text);
  if (!m) throw new UsageError(`--rodata-range: '${text}' is not START..END`);
  const start = parseSize(m[1]!, '--rodata-range start');
  const end = parseSize(m[2]!, '--rodata-range end');
  if (end <= start || end > 2 ** 32) throw new UsageError(`--rodata-range: '${text}' is empty or beyond 4 GiB`);
  return { start, end };
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, {
    'stack-guard': {}, 'null-guard': {}, 'null-guard-size': { value: true }, 'rodata-guard': {}, 'rodata-range': { value: true },
    'bulk-guard': {}, all: {}, o: { value: true }, out: { value: true }, 'data-dir': { value: true }, json: {}, help: {},
  });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  const passes = args.switches.has('all') ? [...HARDEN_PASSES] : HARDEN_PASSES.filter((p) => Object.entries(SWITCHES).some(([s, q]) => q === p && args.switches.has(s)));
  if (args.flags.has('o') && args.flags.has('out')) throw new UsageError('-o and --out name the same thing; give one');
  const out = flag(args, 'o') ?? flag(args, 'out');
  if (args.positionals.length !== 1 || !out) throw new UsageError('usage: warden harden [--stack-guard] [--null-guard] [--rodata-guard] [--bulk-guard] [--all] IN.wasm -o OUT.wasm');
  refuseJsonOnStdout(args.flags.has('o') ? '-o' : '--out', out, args.switches.has('json'), 'the module');
  if (passes.length === 0) throw new UsageError('no pass chosen: give --stack-guard, --null-guard, --rodata-guard, --bulk-guard or --all');
  const sizeText = flag(args, 'null-guard-size');
  const nullSize = sizeText === undefined ? undefined : parseSize(sizeText, '--null-guard-size');
  if (nullSize !== undefined && (nullSize < 1 || nullSize > 2 ** 31)) throw new UsageError(`--null-guard-size: ${sizeText} is not 1 byte to 2GiB`);
  const rangeText = flag(args, 'rodata-range');
  const rodataRange = rangeText === undefined ? undefined : parseRange(rangeText);
  const input = args.positionals[0]!;
  const bytes = readModuleArg(input, io, flag(args, 'data-dir'));
  let result;
  try {
    result = hardenModule(decodeModule(bytes), { passes, lenient: args.switches.has('all'), ...(nullSize !== undefined ? { nullSize } : {}), ...(rodataRange ? { rodataRange } : {}) });
  } catch (error) {
    if (error instanceof HardenError || error instanceof WasmDecodeError || error instanceof RewriteTooLarge) throw new InputError(`${input}: ${error.message}`);
    throw error;
  }
  writeOutput(io, out, result.bytes);
  if (args.switches.has('json')) {
    printJson(io, {
      output: out, bytes: result.bytes.length, inputBytes: bytes.length, passes: result.passes, signatureRemoved: result.signatureRemoved,
      layout: { stackPointer: result.layout.stackPointer?.global ?? null, layout: result.layout.layout, staticEnd: result.layout.staticEnd, staticEndFrom: result.layout.staticEndFrom ?? null, rodata: result.layout.rodata },
    });
  } else {
    const say = messagesFor(io, out);
    const growth = ((result.bytes.length / bytes.length - 1) * 100).toFixed(1);
    say(`wrote ${out === '-' ? 'the module to stdout' : terminalSafe(out)} (${result.bytes.length} bytes, ${growth}% larger)\n`);
    for (const p of result.passes) {
      const name = p.pass === 'rodata' ? 'rodata-guard' : `${p.pass}-guard`;
      say(`  ${name.padEnd(13)} ${p.status === 'not-applicable' ? `not applied: ${p.detail}` : `${p.status === 'applied' ? 'applied' : 'already present'}, ${p.sites} site${p.sites === 1 ? '' : 's'}: ${p.detail}`}\n`);
    }
    if (result.layout.staticEndFrom === 'estimate' && result.passes.some((p) => p.pass === 'stack' && p.status === 'applied')) {
      say('  (the end of static data is estimated from the stack\'s placement; link with --export=__data_end to give it exactly)\n');
    }
  }
  if (result.signatureRemoved) {
    io.stderr(`warden harden: warning: ${terminalSafe(input)} was signed; the publisher's signature does not cover the hardened module, so it was removed: re-sign ${shownOutput(out)} (warden sign)\n`);
  }
  return ExitCode.OK;
}
