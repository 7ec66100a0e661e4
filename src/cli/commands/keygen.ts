// warden keygen --out KEY [--force]

import { encodePublicKey, encodeSecretKey, generateSecretKey } from '../../signing/keys.js';
import { flag, parseArgs } from '../args.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { entryExists, resolveFrom } from '../paths.js';
import { writeFileAtomic } from '../write-atomic.js';

export const usage = `usage: warden keygen --out KEY [--force]

Writes a new Ed25519 secret key to KEY (mode 0600) and its public key to KEY.pub,
in wasmsign2's raw format. Refuses to overwrite unless --force.

  --out KEY     where the secret key goes (KEY.pub: the public key)
  --force       overwrite KEY and KEY.pub
  --json        the key id and both paths, as JSON

Exit 0 when both keys are written; 2 for bad usage, or when KEY or KEY.pub exists without --force.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { out: { value: true }, force: {}, json: {}, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  const out = flag(args, 'out');
  if (!out || args.positionals.length) throw new UsageError('usage: warden keygen --out KEY');
  const secretPath = resolveFrom(io.cwd, out);
  if (!args.switches.has('force') && (entryExists(secretPath) || entryExists(`${secretPath}.pub`))) {
    throw new UsageError(`${out} or ${out}.pub exists; pass --force to overwrite`);
  }
  const key = generateSecretKey();
  writeFileAtomic(secretPath, encodeSecretKey(key), 0o600);
  writeFileAtomic(`${secretPath}.pub`, encodePublicKey(key.publicKey));
  const keyId = Buffer.from(key.publicKey.keyId).toString('hex');
  if (args.switches.has('json')) io.stdout(JSON.stringify({ keyId, secretKey: out, publicKey: `${out}.pub` }, null, 2) + '\n');
  else io.stdout(`key id ${keyId}\n`);
  return ExitCode.OK;
}
