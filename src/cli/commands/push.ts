// warden push FILE                       → the local store; prints sha256:<hex>
// warden push --oci REGISTRY/REPO:TAG FILE → a registry; prints REGISTRY/REPO@sha256:<manifest>

import { RegistryError } from '../../store/http.js';
import { openStore, StoreError } from '../../store/local.js';
import { pushModuleManifest } from '../../store/oci.js';
import { attachSignature } from '../../store/referrers.js';
import { readDetached } from '../read-key.js';
import { parseOciReference, ReferenceError } from '../../store/reference.js';
import { flag, parseArgs, parseDuration } from '../args.js';
import { dataDir } from '../data-dir.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readModuleFile } from '../read-module.js';
import { credentialsFrom } from '../registry-credentials.js';

export const usage = `usage: warden push [--data-dir DIR] FILE
       warden push --oci REGISTRY/REPO:TAG [--referrer SIG] [--insecure] [--timeout 30s] FILE

Stores a module in the local content-addressed store (printing its sha256 digest), or
pushes a signed module to an OCI registry as a Wasm artifact (printing the reference
pinned by manifest digest); --referrer also attaches a detached signature as an OCI
referrer (tag-schema fallback). Registry credentials: WARDEN_REGISTRY_USER, WARDEN_REGISTRY_PASSWORD.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { oci: { value: true }, 'data-dir': { value: true }, insecure: {}, timeout: { value: true }, referrer: { value: true }, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  if (args.positionals.length !== 1) throw new UsageError('needs exactly one module file');
  const bytes = readModuleFile(args.positionals[0]!, io.cwd);
  const target = flag(args, 'oci');
  try {
    if (!target) {
      io.stdout(openStore(dataDir(flag(args, 'data-dir'), io)).put(bytes) + '\n');
      return ExitCode.OK;
    }
    const ref = parseOciReference(target);
    const timeout = flag(args, 'timeout');
    const client = {
      insecure: args.switches.has('insecure'),
      ...credentialsFrom(io),
      ...(timeout ? { timeoutMs: parseDuration(timeout, '--timeout') } : {}),
    };
    const referrer = flag(args, 'referrer');
    const signature = referrer ? readDetached(referrer, io.cwd) : null;
    const pushed = await pushModuleManifest(ref, bytes, { ...client, created: new Date().toISOString() });
    if (signature) await attachSignature(ref, pushed, signature, client);
    io.stdout(pushed.pinned + '\n');
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof ReferenceError) throw new UsageError(error.message);
    if (error instanceof RegistryError) { io.stderr(`warden push: ${error.message}\n`); return ExitCode.NEGATIVE; }
    if (error instanceof StoreError) throw new InputError(error.message);
    throw error;
  }
}
