// warden pull REGISTRY/REPO@sha256:… (-o FILE | --store)
// The module streams to a temporary file (beside FILE, or in the store) while
// it is hashed; it is renamed into place only once it matched the manifest.

import { notFoundHint } from '../../text/not-utf8.js';
import { createAtomicFile, type AtomicFile } from '../../store/atomic-file.js';
import { RegistryError } from '../../store/http.js';
import { openStore, StoreError, type BlobIngest } from '../../store/local.js';
import { DEFAULT_MAX_MODULE_BYTES, pullModuleInto, type Pulled } from '../../store/oci.js';
import { formatOciReference, parseOciReference, ReferenceError, type OciReference } from '../../store/reference.js';
import { flag, parseArgs, parsePositiveDuration, parsePositiveSize } from '../args.js';
import { dataDir } from '../data-dir.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { parentOf, resolveFrom } from '../paths.js';
import { credentialsFrom } from '../registry-credentials.js';
import { messagesFor, refuseJsonOnStdout, STDOUT_PATH, writeStdoutBytes } from '../output-path.js';
import { printJson, terminalSafe } from '../terminal-text.js';

export const usage = `usage: warden pull REGISTRY/REPO@sha256:<manifest digest> (-o FILE | --store) [options]

Fetches a Wasm artifact, checking the manifest's raw bytes against the pinned digest and
the module against the manifest. A tag works too, with a warning: tags can be moved.

  -o, --out FILE       write the module to FILE (atomically); prints REGISTRY/REPO@sha256:<manifest>
                       ('-': the module to stdout once it matched, what is printed to stderr)
  --store              put the module in the local store; prints its store digest sha256:<hex>
  --data-dir DIR       where the store lives
  --max-size SIZE      largest module accepted (default 256MiB)
  --timeout DURATION   the whole pull, every request from connecting to the last byte (default 5m)
  --insecure           plain HTTP (automatic for 127.0.0.1, localhost, [::1])
  --json               the pinned reference, digests and size as JSON

Credentials: WARDEN_REGISTRY_USER and WARDEN_REGISTRY_PASSWORD, else Docker's config.json.
Exit 0 on success; 1 when the registry's answer is refused (digest mismatch, not a Wasm
artifact, more than one layer, oversized, a redirect or token endpoint on another origin); 2 for bad usage, a
registry that cannot be reached, times out or answers with an error, or a local write failure.`;

interface Destination {
  write(chunk: Uint8Array): void;
  /** Moves the bytes into place; returns the store digest for the store. */
  commit(pulled: Pulled): string | void;
  abort(): void;
}

function fileDestination(path: string, shownAs: string): Destination {
  let file: AtomicFile;
  try {
    file = createAtomicFile(parentOf(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`cannot write ${shownAs} (${code ?? error})${notFoundHint(shownAs, code)}`);
  }
  const failed = (error: unknown) => new InputError(`cannot write ${shownAs} (${(error as NodeJS.ErrnoException).code ?? error}); nothing was written`);
  return {
    write(chunk) { try { file.write(chunk); } catch (error) { throw failed(error); } },
    commit() { try { file.commit(path); } catch (error) { throw failed(error); } },
    abort: () => file.abort(),
  };
}

/**
 * Stdout, which cannot be taken back: the module is held (at most --max-size) and written only once it
 * matched the manifest, so that a pull refused half-way puts nothing on stdout for the next command to run.
 */
function stdoutDestination(io: CommandIO): Destination {
  const chunks: Uint8Array[] = [];
  return {
    write(chunk) { chunks.push(chunk); },
    commit() { writeStdoutBytes(io, Buffer.concat(chunks)); },
    abort() { chunks.length = 0; },
  };
}

function storeDestination(dir: string): Destination {
  let blob: BlobIngest;
  try {
    blob = openStore(dir).ingest();
  } catch (error) {
    throw new InputError((error as Error).message);
  }
  return {
    write(chunk) { try { blob.write(chunk); } catch (error) { throw new InputError(`${(error as Error).message}; the store is unchanged`); } },
    commit(pulled) {
      try { return blob.commit(pulled.layerDigest); } catch (error) { throw new InputError((error as Error).message); }
    },
    abort: () => blob.abort(),
  };
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, {
    o: { value: true }, out: { value: true }, store: {}, 'data-dir': { value: true }, 'max-size': { value: true },
    timeout: { value: true }, insecure: {}, json: {}, help: {},
  });
  if (args.switches.has('help')) { io.stdout(usage + '\n'); return ExitCode.OK; }
  if (args.positionals.length !== 1) throw new UsageError('needs exactly one reference (REGISTRY/REPO@sha256:<manifest digest>)');
  if (args.flags.has('o') && args.flags.has('out')) throw new UsageError('-o and --out name the same thing; give one');
  const out = flag(args, 'o') ?? flag(args, 'out');
  if (!out && !args.switches.has('store')) throw new UsageError('needs -o FILE or --store');
  refuseJsonOnStdout(args.flags.has('o') ? '-o' : '--out', out, args.switches.has('json'), 'the module');
  let ref: OciReference;
  try {
    ref = parseOciReference(args.positionals[0]!);
  } catch (error) {
    if (error instanceof ReferenceError) throw new UsageError(error.message);
    throw error;
  }
  const timeout = flag(args, 'timeout');
  const maxSize = flag(args, 'max-size');
  const options = {
    insecure: args.switches.has('insecure'),
    ...credentialsFrom(io, ref.registry),
    ...(timeout !== undefined ? { timeoutMs: parsePositiveDuration(timeout, '--timeout') } : {}),
    maxBytes: maxSize !== undefined ? parsePositiveSize(maxSize, '--max-size') : DEFAULT_MAX_MODULE_BYTES,
  };
  const storeDir = args.switches.has('store') ? dataDir(flag(args, 'data-dir'), io) : null;
  if (!ref.digest) io.stderr(`warden pull: warning: ${terminalSafe(args.positionals[0]!)} is a tag, which can be moved; pin a digest\n`);

  const destinations: Destination[] = [];
  try {
    // The store commits first: a store that refuses the module leaves no output file behind (the
    // pull failed), while an output that cannot be written after it leaves only a valid store entry.
    if (storeDir) destinations.push(storeDestination(storeDir));
    if (out) destinations.push(out === STDOUT_PATH ? stdoutDestination(io) : fileDestination(resolveFrom(io.cwd, out), out));
    const pulled = await pullModuleInto(ref, (chunk) => { for (const d of destinations) d.write(chunk); }, options);
    let stored: string | undefined;
    for (const d of destinations) stored = d.commit(pulled) ?? stored;
    const reference = formatOciReference({ ...ref, tag: null, digest: pulled.manifestDigest });
    if (args.switches.has('json')) {
      printJson(io, { reference, manifestDigest: pulled.manifestDigest, layerDigest: pulled.layerDigest, size: pulled.size, ...(out ? { out } : {}), ...(stored ? { stored } : {}) });
    } else {
      const say = messagesFor(io, out);
      if (stored) say(stored + '\n');
      if (out) say(terminalSafe(reference) + '\n');
    }
    return ExitCode.OK;
  } catch (error) {
    for (const d of destinations) d.abort();
    if (error instanceof RegistryError) {
      if (error.failure === 'unavailable') throw new InputError(error.message);
      io.stderr(`warden pull: refused: ${terminalSafe(error.message)}\n`);
      return ExitCode.NEGATIVE;
    }
    if (error instanceof StoreError) throw new InputError(error.message);
    throw error;
  }
}
