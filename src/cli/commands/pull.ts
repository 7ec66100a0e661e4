// warden pull REGISTRY/REPO@sha256:… (-o FILE | --store)

import { RegistryError } from '../../store/http.js';
import { openStore, StoreError } from '../../store/local.js';
import { pullModule } from '../../store/oci.js';
import { parseOciReference, ReferenceError } from '../../store/reference.js';
import { flag, parseArgs, parseDuration, parseSize } from '../args.js';
import { dataDir } from '../data-dir.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { resolveFrom } from '../paths.js';
import { credentialsFrom } from '../registry-credentials.js';
import { writeFileAtomic } from '../write-atomic.js';

export const usage = `usage: warden pull REGISTRY/REPO@sha256:<manifest digest> (-o FILE | --store) [--max-size 256MiB] [--timeout 30s] [--insecure]

Fetches a Wasm artifact, checking the manifest against the pinned digest and the module
against the manifest. A tag works too, with a warning: tags can be moved.
Exit 0 on success; 1 when the registry's answer is refused (digest mismatch, not a Wasm
artifact, oversized, a redirect to another host, a timeout); 2 for bad usage or a local failure.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { o: { value: true }, out: { value: true }, store: {}, 'data-dir': { value: true }, 'max-size': { value: true }, timeout: { value: true }, insecure: {}, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  if (args.positionals.length !== 1) throw new UsageError('needs exactly one reference');
  const out = flag(args, 'o') ?? flag(args, 'out');
  if (!out && !args.switches.has('store')) throw new UsageError('needs -o FILE or --store');
  let ref;
  try {
    ref = parseOciReference(args.positionals[0]!);
  } catch (error) {
    if (error instanceof ReferenceError) throw new UsageError(error.message);
    throw error;
  }
  if (!ref.digest) io.stderr(`warden pull: warning: ${args.positionals[0]} is a tag, which can be moved; pin a digest\n`);
  const timeout = flag(args, 'timeout');
  const maxSize = flag(args, 'max-size');
  let pulled;
  try {
    pulled = await pullModule(ref, {
      insecure: args.switches.has('insecure'),
      ...credentialsFrom(io),
      ...(timeout ? { timeoutMs: parseDuration(timeout, '--timeout') } : {}),
      ...(maxSize ? { maxBytes: parseSize(maxSize, '--max-size') } : {}),
    });
  } catch (error) {
    if (error instanceof RegistryError) { io.stderr(`warden pull: ${error.message}\n`); return ExitCode.NEGATIVE; }
    throw error;
  }
  try {
    if (out) writeFileAtomic(resolveFrom(io.cwd, out), pulled.module);
    if (args.switches.has('store')) io.stdout(openStore(dataDir(flag(args, 'data-dir'), io)).put(pulled.module) + '\n');
  } catch (error) {
    if (error instanceof StoreError) throw new InputError(error.message);
    throw new InputError(`cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (out) io.stdout(`${out} (manifest ${pulled.manifestDigest})\n`);
  return ExitCode.OK;
}
