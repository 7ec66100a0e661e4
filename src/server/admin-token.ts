// The admin token: from the file or environment variable the config names,
// else $WARDEN_ADMIN_TOKEN, else generated once and kept (mode 0600) in the
// data dir. Never from the config itself.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createAtomicFile } from '../store/atomic-file.js';

export interface AdminToken {
  token: string;
  /** Where it came from, for the startup message (never the token itself). */
  source: string;
  /** The file holding it, when there is one. */
  file: string | null;
}

/** A token shorter than this is refused: it could be guessed. */
const MIN_LENGTH = 16;

export class TokenError extends Error {
  override name = 'TokenError';
}

function checked(token: string, where: string): string {
  const trimmed = token.trim();
  if (trimmed.length < MIN_LENGTH) throw new TokenError(`the admin token from ${where} is shorter than ${MIN_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(trimmed)) throw new TokenError(`the admin token from ${where} has characters a bearer token cannot carry`);
  return trimmed;
}

/** A token file anyone but its owner can read is refused: whoever reads it administers the server. */
function privateOrRefuse(file: string): void {
  if ((statSync(file).mode & 0o077) !== 0) throw new TokenError(`the admin token file ${file} is readable by others (chmod 600 it)`);
}

export function loadAdminToken(options: { tokenFile: string | null; tokenEnv: string | null; env: Readonly<Record<string, string | undefined>>; stateDir: string }): AdminToken {
  if (options.tokenFile) {
    let text: string;
    try {
      text = readFileSync(options.tokenFile, 'utf8');
    } catch (error) {
      throw new TokenError(`cannot read the admin token file ${options.tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    privateOrRefuse(options.tokenFile);
    return { token: checked(text, options.tokenFile), source: `file ${options.tokenFile}`, file: options.tokenFile };
  }
  if (options.tokenEnv) {
    const value = options.env[options.tokenEnv];
    if (!value) throw new TokenError(`the admin token variable $${options.tokenEnv} is not set`);
    return { token: checked(value, `$${options.tokenEnv}`), source: `$${options.tokenEnv}`, file: null };
  }
  if (options.env.WARDEN_ADMIN_TOKEN) {
    return { token: checked(options.env.WARDEN_ADMIN_TOKEN, '$WARDEN_ADMIN_TOKEN'), source: '$WARDEN_ADMIN_TOKEN', file: null };
  }
  const file = `${options.stateDir}/admin-token`;
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const kept = readKept(file);
  if (kept !== null) return kept;
  const token = randomBytes(32).toString('base64url');
  const created = createAtomicFile(options.stateDir, undefined, 0o600);
  created.write(Buffer.from(token + '\n'));
  try {
    // Linked into place, never renamed over: two servers starting at once on one state dir
    // each made a token, and the later rename left the file holding one the other server
    // did not accept. The loser of the link takes the winner's.
    created.commitNew(file);
  } catch (error) {
    const winner = (error as NodeJS.ErrnoException).code === 'EEXIST' ? readKept(file) : null;
    if (!winner) throw error;
    return winner;
  }
  return { token, source: `file ${file} (generated)`, file };
}

/** The token kept in `file`, or null when there is none yet. */
function readKept(file: string): AdminToken | null {
  let kept: string;
  try {
    kept = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return null;
  }
  // Held to the same rule as a configured token file: one placed here by hand, or whose mode
  // changed (a restored backup), was used however many others could read it.
  privateOrRefuse(file);
  return { token: checked(kept, file), source: `file ${file}`, file };
}
