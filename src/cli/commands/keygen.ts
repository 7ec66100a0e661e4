// warden keygen --out KEY [--force]

import { notFoundHint } from '../../text/not-utf8.js';
import { encodePublicKey, encodeSecretKey, generateSecretKey } from '../../signing/keys.js';
import { flag, parseArgs } from '../args.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { entryExists, parentOf, resolveFrom } from '../paths.js';
import { createAtomicFile, type AtomicFile } from '../../store/atomic-file.js';
import { InputError } from '../errors.js';
import { lstatSync, rmSync } from 'node:fs';
import { printJson } from '../terminal-text.js';

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
  // `-` is stdout for an output, and two files (a secret key among them) cannot share it: never a file named '-'.
  if (out === '-') throw new UsageError('--out -: keygen writes two files, KEY and KEY.pub; name a path, not stdout');
  const secretPath = resolveFrom(io.cwd, out);
  if (!args.switches.has('force') && (entryExists(secretPath) || entryExists(`${secretPath}.pub`))) {
    throw new UsageError(`${out} or ${out}.pub exists; pass --force to overwrite`);
  }
  const key = generateSecretKey();
  writePair(secretPath, out, encodeSecretKey(key), encodePublicKey(key.publicKey), args.switches.has('force'));
  const keyId = Buffer.from(key.publicKey.keyId).toString('hex');
  if (args.switches.has('json')) printJson(io, { keyId, secretKey: out, publicKey: `${out}.pub` });
  else io.stdout(`key id ${keyId}\n`);
  return ExitCode.OK;
}

/**
 * Both halves or neither: each is written whole to a temporary file beside it first, and
 * only then are both put into place. Written one after the other, a public half that
 * could not be written (with --force) left a new secret key beside the old public key: a
 * pair that does not match, and the old secret key gone.
 *
 * Without `replace`, each half is linked into place, which fails when anything is already
 * there: the check before it (for a clear message early) could be beaten by a file made
 * after it, by another keygen into the same name above all, and a rename then replaced a
 * key without a word. A secret half placed before its public half was refused is removed
 * again (while it is still ours), so the refusal leaves neither.
 */
export function writePair(secretPath: string, shown: string, secret: Uint8Array, publicKey: Uint8Array, replace: boolean): void {
  const targets: Array<[string, string, Uint8Array, number]> = [[secretPath, shown, secret, 0o600], [`${secretPath}.pub`, `${shown}.pub`, publicKey, 0o644]];
  // A rename onto a directory fails: found now, before either half is in place.
  for (const [path, name] of targets) {
    if (lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new InputError(`cannot write ${name} (EISDIR); nothing was written`);
  }
  const files: AtomicFile[] = [];
  const placed: Array<{ path: string; dev: number; ino: number }> = [];
  let done = false;
  try {
    for (const [path, name, bytes, mode] of targets) {
      try {
        const file = createAtomicFile(parentOf(path), undefined, mode);
        files.push(file);
        file.write(bytes);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new InputError(`cannot write ${name} (${code ?? (error as Error).message})${notFoundHint(name, code)}; nothing was written`);
      }
    }
    targets.forEach(([path, name], i) => {
      try {
        if (replace) files[i]!.commit(path);
        else placed.push({ path, ...files[i]!.commitNew(path) });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new UsageError(`${shown} or ${shown}.pub exists; pass --force to overwrite`);
        throw new InputError(`cannot write ${name} (${code ?? (error as Error).message})${replace ? '' : '; nothing was written'}`);
      }
    });
    done = true;
  } finally {
    for (const file of files) file.abort();
    if (!done) {
      for (const { path, dev, ino } of placed) {
        const now = lstatSync(path, { throwIfNoEntry: false });
        if (now && now.dev === dev && now.ino === ino) rmSync(path, { force: true });
      }
    }
  }
}
