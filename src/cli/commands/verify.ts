// warden verify --key KEY.pub [--key …] IN.wasm [--detached SIG] [--threshold N] [--json]

import { verifyModule } from '../../signing/verify.js';
import { flag, flagList, parseArgs, parseCount } from '../args.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readDetached, readPublicKey } from '../read-key.js';
import { readModuleFile } from '../read-module.js';

export const usage = `usage: warden verify --key KEY.pub [--key KEY.pub …] IN.wasm [--detached SIG] [--threshold N] [--json]

Exit 0 when a trusted signature (N distinct trusted keys, with --threshold) covers every
part of the module exactly; 1 when none does (the reason on stderr); 2 for bad usage or input.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { key: { value: true, repeat: true }, detached: { value: true }, threshold: { value: true }, json: {}, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  const keyPaths = flagList(args, 'key');
  if (keyPaths.length === 0 || args.positionals.length !== 1) throw new UsageError('usage: warden verify --key KEY.pub IN.wasm');
  const threshold = flag(args, 'threshold') === undefined ? 1 : parseCount(flag(args, 'threshold')!, '--threshold');
  if (threshold < 1 || threshold > keyPaths.length) throw new UsageError(`--threshold must be between 1 and the number of keys (${keyPaths.length})`);
  const keys = keyPaths.map((p) => readPublicKey(p, io.cwd));
  const detachedPath = flag(args, 'detached');
  const detached = detachedPath ? readDetached(detachedPath, io.cwd) : undefined;
  const path = args.positionals[0]!;
  const bytes = readModuleFile(path, io.cwd);
  const result = verifyModule(bytes, keys, { threshold, ...(detached ? { detached } : {}) });
  if (args.switches.has('json')) {
    io.stdout(JSON.stringify({ module: path, ...result, verifiedBy: result.verifiedBy.map((i) => keyPaths[i]) }, null, 2) + '\n');
  } else if (result.ok) {
    io.stdout(`${path}: verified by ${result.verifiedBy.map((i) => keyPaths[i]).join(', ')}\n`);
  }
  if (!result.ok) io.stderr(`warden verify: ${path}: ${result.reason}\n`);
  return result.ok ? ExitCode.OK : ExitCode.NEGATIVE;
}
