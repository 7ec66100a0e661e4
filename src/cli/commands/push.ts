// warden push FILE                       → the local store; prints sha256:<hex>
// warden push --oci REGISTRY/REPO:TAG FILE → a registry; prints REGISTRY/REPO@sha256:<manifest>

import { RegistryError } from '../../store/http.js';
import { openStore, StoreError } from '../../store/local.js';
import { pushModuleManifest } from '../../store/oci.js';
import { attachSignature } from '../../store/referrers.js';
import { parseOciReference, ReferenceError, type OciReference } from '../../store/reference.js';
import { flag, parseArgs, parsePositiveDuration } from '../args.js';
import { dataDir } from '../data-dir.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { readDetached } from '../read-key.js';
import { readModuleArg } from '../module-arg.js';
import { credentialsFrom } from '../registry-credentials.js';
import { detachedMismatch } from '../../signing/verify.js';
import { printJson, terminalSafe } from '../terminal-text.js';

export const usage = `usage: warden push [--data-dir DIR] FILE
       warden push --oci REGISTRY/REPO:TAG [--referrer SIG] [options] FILE

Stores a module in the local content-addressed store, printing its digest sha256:<hex>; or
pushes a signed module to an OCI registry as a Wasm artifact, printing the reference pinned
by manifest digest, REGISTRY/REPO@sha256:<hex>. Only modules carrying an embedded signature
(warden sign) are pushed to a registry.

  --data-dir DIR       where the store lives (FILE may be a sha256:<hex> store digest)
  --oci REF            push to a registry, under the tag REF names
  --referrer SIG       also attach a detached signature (warden sign --detached) of FILE's
                       bytes as an OCI referrer, through the tag-schema fallback
                       (sha256-<hex> index tag); one for other bytes is refused
  --timeout DURATION   each registry operation (the module's push, the referrer's), every
                       request from connecting to the last byte (default 5m)
  --insecure           plain HTTP (automatic for 127.0.0.1, localhost, [::1])
  --json               the digest (and pinned reference) as JSON

Credentials: WARDEN_REGISTRY_USER and WARDEN_REGISTRY_PASSWORD, else Docker's config.json.
Exit 0 on success; 1 when the module is refused (not signed), the referrer signs other
bytes, or the registry's answer is; 2 for bad usage, an unreadable file, a registry that
cannot be reached or answers with an error, or a local write failure.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { oci: { value: true }, 'data-dir': { value: true }, insecure: {}, timeout: { value: true }, referrer: { value: true }, json: {}, help: {} });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  if (args.positionals.length !== 1) throw new UsageError('needs exactly one module file');
  const target = flag(args, 'oci');
  for (const only of ['referrer', 'timeout'] as const) {
    if (!target && args.flags.has(only)) throw new UsageError(`--${only} needs --oci`);
  }
  if (!target && args.switches.has('insecure')) throw new UsageError('--insecure needs --oci');
  let ref: OciReference | null = null;
  if (target) {
    try {
      ref = parseOciReference(target);
    } catch (error) {
      if (error instanceof ReferenceError) throw new UsageError(error.message);
      throw error;
    }
    if (!ref.tag || ref.digest) throw new UsageError(`--oci needs REGISTRY/REPO:TAG (the registry computes the digest), not ${target}`);
  }
  const json = args.switches.has('json');
  const bytes = readModuleArg(args.positionals[0]!, io, flag(args, 'data-dir'));
  if (!ref) {
    try {
      const digest = openStore(dataDir(flag(args, 'data-dir'), io)).put(bytes);
      if (json) printJson(io, { digest });
      else io.stdout(digest + '\n');
    } catch (error) {
      if (error instanceof StoreError) throw new InputError(error.message);
      throw error;
    }
    return ExitCode.OK;
  }
  const timeout = flag(args, 'timeout');
  const client = {
    insecure: args.switches.has('insecure'),
    ...credentialsFrom(io, ref.registry),
    ...(timeout !== undefined ? { timeoutMs: parsePositiveDuration(timeout, '--timeout') } : {}),
  };
  const referrer = flag(args, 'referrer');
  const signature = referrer ? readDetached(referrer, io.cwd) : null;
  if (referrer && signature) {
    // Published as the module's signature, it must be one for these bytes: a signature of
    // other bytes (or no signature data at all) would go out under the module's name.
    const why = detachedMismatch(bytes, signature);
    if (why) {
      io.stderr(`warden push: refused: ${referrer}${why === 'other-bytes' ? ` does not sign ${args.positionals[0]}: it signs other bytes` : `: ${why}`}\n`);
      return ExitCode.NEGATIVE;
    }
  }
  try {
    const pushed = await pushModuleManifest(ref, bytes, { ...client, created: new Date().toISOString() });
    if (signature) await attachSignature(ref, pushed, signature, client);
    if (json) printJson(io, { reference: pushed.pinned, manifestDigest: pushed.digest, referrer: !!signature });
    else io.stdout(pushed.pinned + '\n');
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof RegistryError) {
      if (error.failure === 'unavailable') throw new InputError(error.message);
      io.stderr(`warden push: refused: ${terminalSafe(error.message)}\n`);
      return ExitCode.NEGATIVE;
    }
    throw error;
  }
}

