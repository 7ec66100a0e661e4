// Key files named on the command line, with one message per way they can be wrong.

import { readFileSync } from 'node:fs';
import { KeyError, parsePublicKey, parseSecretKey, type PublicKey, type SecretKey } from '../signing/keys.js';
import { InputError } from './errors.js';
import { resolveFrom } from './paths.js';

function read(path: string, cwd: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(resolveFrom(cwd, path)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code})`}`);
  }
}

export function readPublicKey(path: string, cwd: string): PublicKey {
  try {
    return parsePublicKey(read(path, cwd));
  } catch (error) {
    if (error instanceof KeyError) throw new InputError(`${path}: ${error.message}`);
    throw error;
  }
}

export function readSecretKey(path: string, cwd: string): SecretKey {
  try {
    return parseSecretKey(read(path, cwd));
  } catch (error) {
    if (error instanceof KeyError) throw new InputError(`${path}: ${error.message}`);
    throw error;
  }
}

export function readDetached(path: string, cwd: string): Uint8Array {
  return read(path, cwd);
}
