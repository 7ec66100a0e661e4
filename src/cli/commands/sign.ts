// warden sign --key KEY IN.wasm -o OUT.wasm [--detached SIG] [--key-id HEX]

import { WasmDecodeError } from '../../binary/errors.js';
import { SignatureFormatError } from '../../signing/format.js';
import { signModule, SigningError } from '../../signing/sign.js';
import { flag, parseArgs } from '../args.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readSecretKey } from '../read-key.js';
import { DATA_DIR_HELP, readModuleArg } from '../module-arg.js';
import { messagesFor, refuseJsonOnStdout, writeOutput } from '../output-path.js';
import { printJson } from '../terminal-text.js';

export const usage = `usage: warden sign --key KEY IN.wasm -o OUT.wasm [--key-id HEX]
       warden sign --key KEY IN.wasm --detached SIG

Signs a module (wasmsign2 format): a signature section placed first, or added to the
one already there; with --detached, the signature goes to SIG and the module is unchanged.

  --key KEY            the secret key (warden keygen; wasmsign2 raw or PEM)
  -o, --out OUT.wasm   where the signed module goes ('-': stdout)
  --detached SIG       write the signature alone to SIG ('-': stdout)
  --key-id HEX         the key id recorded with the signature (default: wasmsign2's)
  --json               what was written, as JSON
${DATA_DIR_HELP}

Exit 0 when written; 2 for bad usage, an unreadable module or key, or a module that cannot be signed.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { key: { value: true }, o: { value: true }, out: { value: true }, detached: { value: true }, 'key-id': { value: true, empty: true }, 'data-dir': { value: true }, json: {}, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  const keyPath = flag(args, 'key');
  if (args.flags.has('o') && args.flags.has('out')) throw new UsageError('-o and --out name the same thing; give one');
  const out = flag(args, 'o') ?? flag(args, 'out');
  const detached = flag(args, 'detached');
  if (!keyPath || args.positionals.length !== 1) throw new UsageError('usage: warden sign --key KEY IN.wasm -o OUT.wasm');
  if (!out && !detached) throw new UsageError('needs -o OUT.wasm or --detached SIG');
  if (out && detached) throw new UsageError('-o and --detached are exclusive');
  refuseJsonOnStdout(detached !== undefined ? '--detached' : args.flags.has('o') ? '-o' : '--out', detached ?? out, args.switches.has('json'), detached !== undefined ? 'the signature' : 'the module');
  const keyIdText = flag(args, 'key-id');
  if (keyIdText !== undefined && !/^([0-9a-f]{2})*$/i.test(keyIdText)) throw new UsageError(`--key-id: '${keyIdText}' is not hex`);
  const key = readSecretKey(keyPath, io.cwd);
  const bytes = readModuleArg(args.positionals[0]!, io, flag(args, 'data-dir'));
  let signed;
  try {
    signed = signModule(bytes, key, { detached: !!detached, ...(keyIdText !== undefined ? { keyId: keyIdText ? Uint8Array.from(Buffer.from(keyIdText, 'hex')) : null } : {}) });
  } catch (error) {
    if (error instanceof SigningError || error instanceof SignatureFormatError || error instanceof WasmDecodeError) throw new InputError(`${args.positionals[0]}: ${error.message}`);
    throw error;
  }
  if (detached) writeOutput(io, detached, signed.signature);
  else writeOutput(io, out!, signed.module);
  const keyId = Buffer.from(key.publicKey.keyId).toString('hex');
  if (args.switches.has('json')) printJson(io, { module: args.positionals[0], keyId, ...(detached ? { detached } : { out }) });
  else messagesFor(io, detached ?? out)(`signed by key id ${keyId}\n`);
  return ExitCode.OK;
}
