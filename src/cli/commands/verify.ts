// warden verify --key KEY.pub [--key …] IN.wasm [--detached SIG] [--threshold N] [--json]

import { verifyModule } from '../../signing/verify.js';
import { flag, flagList, parseArgs, parseCount } from '../args.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readDetached, readPublicKey } from '../read-key.js';
import { DATA_DIR_HELP, readModuleArg } from '../module-arg.js';
import { printJson, terminalSafe } from '../terminal-text.js';

export const usage = `usage: warden verify --key KEY.pub [--key KEY.pub …] IN.wasm [--detached SIG] [--threshold N] [--json]

  --key KEY.pub        a trusted public key (repeatable): wasmsign2 raw, PEM, DER or OpenSSH
  --threshold N        how many distinct trusted keys must have signed (default 1)
  --detached SIG       a detached signature (warden sign --detached) instead of an embedded one
  --json               the verdict as JSON
${DATA_DIR_HELP}

Exit 0 when a trusted signature (N distinct trusted keys, with --threshold) covers every
part of the module exactly; 1 when none does (the reason on stderr); 2 for bad usage or input.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { key: { value: true, repeat: true }, detached: { value: true }, threshold: { value: true }, json: {}, 'data-dir': { value: true }, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  const keyPaths = flagList(args, 'key');
  if (keyPaths.length === 0) throw new UsageError('at least one --key KEY.pub is required');
  if (args.positionals.length !== 1) throw new UsageError('exactly one module, IN.wasm, is required');
  const thresholdText = flag(args, 'threshold');
  const threshold = thresholdText === undefined ? 1 : parseCount(thresholdText, '--threshold');
  const keys = keyPaths.map((p) => readPublicKey(p, io.cwd));
  // The threshold counts distinct public keys: the same key named twice (two paths,
  // two formats) is one signer.
  const distinct = new Set(keys.map((k) => Buffer.from(k.raw).toString('hex'))).size;
  if (threshold < 1 || threshold > distinct) {
    const repeats = distinct < keys.length ? ` (${keys.length} --key given, ${keys.length - distinct} of them repeating a key)` : '';
    throw new UsageError(`--threshold must be between 1 and the number of distinct keys, ${distinct}${repeats}`);
  }
  const detachedPath = flag(args, 'detached');
  const detached = detachedPath === undefined ? undefined : readDetached(detachedPath, io.cwd);
  const path = args.positionals[0]!;
  const bytes = readModuleArg(path, io, flag(args, 'data-dir'));
  const result = verifyModule(bytes, keys, { requirement: threshold === 1 ? 'any' : { threshold }, ...(detached ? { detached } : {}) });
  const keyName = (i: number | null) => (i === null ? null : keyPaths[i]!);
  if (args.switches.has('json')) {
    printJson(io, {
      module: path,
      ...result,
      verifiedBy: result.verifiedBy.map(keyName),
      signatures: result.signatures.map((s) => ({ ...s, verifiedBy: keyName(s.verifiedBy) })),
    });
  } else if (result.ok) {
    io.stdout(`${terminalSafe(path)}: verified by ${terminalSafe(result.verifiedBy.map(keyName).join(', '))} (${result.parts} part${result.parts === 1 ? '' : 's'})\n`);
  }
  if (!result.ok) io.stderr(`warden verify: ${terminalSafe(path)}: ${terminalSafe(result.reason ?? '')}\n`);
  return result.ok ? ExitCode.OK : ExitCode.NEGATIVE;
}
