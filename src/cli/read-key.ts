// Key and detached-signature files named on the command line, with one message
// per way they can be wrong. Sizes are checked before reading: a key file is
// small, and a path to something huge must not be read into memory.

import { notFoundHint } from '../text/not-utf8.js';
import { readFileSync, statSync } from 'node:fs';
import { KeyError, parsePublicKey, parseSecretKey, type PublicKey, type SecretKey } from '../signing/keys.js';
import { InputError } from './errors.js';
import { resolveFrom } from './paths.js';

const MAX_KEY_FILE = 64 * 1024;
const MAX_DETACHED_SIGNATURE = 4 * 1024 * 1024;

function read(path: string, cwd: string, maxBytes: number, what: string): Uint8Array {
  const full = resolveFrom(cwd, path);
  try {
    const stat = statSync(full);
    if (stat.isDirectory()) throw new InputError(`${path}: is a directory, not a ${what}`);
    if (!stat.isFile()) throw new InputError(`${path}: not a regular file`);
    if (stat.size > maxBytes) throw new InputError(`${path}: ${stat.size} bytes is too large for a ${what}`);
    return new Uint8Array(readFileSync(full));
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read (${code})`}${notFoundHint(path, code)}`);
  }
}

export function readPublicKey(path: string, cwd: string): PublicKey {
  try {
    return parsePublicKey(read(path, cwd, MAX_KEY_FILE, 'key file'));
  } catch (error) {
    if (error instanceof KeyError) throw new InputError(`${path}: ${error.message}`);
    throw error;
  }
}

export function readSecretKey(path: string, cwd: string): SecretKey {
  try {
    return parseSecretKey(read(path, cwd, MAX_KEY_FILE, 'key file'));
  } catch (error) {
    if (error instanceof KeyError) throw new InputError(`${path}: ${error.message}`);
    throw error;
  }
}

export function readDetached(path: string, cwd: string): Uint8Array {
  return read(path, cwd, MAX_DETACHED_SIGNATURE, 'detached signature');
}
