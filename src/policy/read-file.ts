// Reading a policy file: TOML unless the name ends in .json.

import { notFoundHint } from '../text/not-utf8.js';
import { parse as parseToml } from 'smol-toml';
import { repeatedJsonKey } from './json-keys.js';
import { parsePolicy, PolicyError } from './load.js';
import { readBoundedText, TooLargeError } from './read-text.js';
import type { Policy } from './policy.js';

export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readBoundedText(path);
  } catch (error) {
    if (error instanceof TooLargeError) throw new PolicyError([error.message], path);
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyError([`cannot read (${code ?? 'error'})${notFoundHint(path, code)}`], path);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (error) {
    throw new PolicyError([`not valid ${path.endsWith('.json') ? 'JSON' : 'TOML'}${syntaxPosition(error, text)}: ${syntaxReason(error)}`], path);
  }
  if (path.endsWith('.json')) {
    // A key given twice is refused, as TOML refuses it: JSON.parse had kept the last one.
    const repeated = repeatedJsonKey(text);
    if (repeated) throw new PolicyError([`not valid JSON${positionOf(text, repeated.offset)}: the key ${JSON.stringify(repeated.key.length > 60 ? `${repeated.key.slice(0, 60)}…` : repeated.key)} is given twice`], path);
  }
  // Relative paths in the file are read from its directory, spelt without `.`/`..` so
  // that messages name it plainly.
  const dir = normalise(path.slice(0, Math.max(0, path.lastIndexOf('/'))) || (path.startsWith('/') ? '/' : '.'));
  return parsePolicy(raw, path, dir);
}

/** ` at line L, column C`, from a TOML error's fields or a JSON error's offset. */
function syntaxPosition(error: unknown, text: string): string {
  const { line, column } = error as { line?: unknown; column?: unknown };
  if (typeof line === 'number' && typeof column === 'number') return ` at line ${line}, column ${column}`;
  const offset = /at position (\d+)/.exec((error as Error).message ?? '')?.[1];
  return offset === undefined ? '' : positionOf(text, Number(offset));
}

/** ` at line L, column C` of a character offset. */
function positionOf(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const lineNumber = before.split('\n').length;
  return ` at line ${lineNumber}, column ${offset - before.lastIndexOf('\n')}`;
}

/** The reason alone: no code excerpt, no repeated position. */
function syntaxReason(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0]!.replace(/^Invalid TOML document: /, '').replace(/ (in JSON )?at position \d+.*$/, '');
}

/** `/a/b/../c/.` → `/a/c`; a relative path keeps its leading `..`s. */
function normalise(path: string): string {
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else if (part !== '..' || !absolute) parts.push(part);
  }
  return (absolute ? '/' : '') + parts.join('/') || (absolute ? '/' : '.');
}
