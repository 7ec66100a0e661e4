// Beneath-only resolution over an in-memory tree, with the same rules as the
// host walk (walk.ts): `..` pops a stack that starts at the handle's own
// directory, symlinks are expanded into the remaining components (absolute
// targets refused), 40 links at most, a trailing slash demands a directory.

import { Errno, WasiError } from '../errno.js';
import type { MemDir, MemNode } from './memory-node.js';
import { ESCAPE, MAX_SYMLINKS, parsePath } from './walk.js';

export interface MemResolved {
  /** The directory holding the final component. */
  parent: MemDir;
  /** A plain name, or '.' for `parent` itself. */
  name: string;
  trailingSlash: boolean;
  /** What `name` names now, if anything (never set for '.'). */
  entry: MemNode | undefined;
}

function linkParts(target: string): { parts: string[]; trailingSlash: boolean } {
  if (target.startsWith('/')) throw new WasiError(ESCAPE);
  if (target.length === 0) throw new WasiError(Errno.NOENT);
  return { parts: target.split('/').filter((p) => p !== ''), trailingSlash: target.endsWith('/') };
}

/**
 * Resolves `path` beneath `root` down to its final component. Intermediate
 * symlinks are always followed; the final one when `followFinal` is set or
 * the path ends in '/'.
 */
export function resolveInMemory(root: MemDir, path: string, followFinal: boolean): MemResolved {
  const parsed = parsePath(path);
  const stack: MemDir[] = [root];
  const queue = parsed.parts;
  let trailingSlash = parsed.trailingSlash;
  let links = 0;
  for (;;) {
    const top = stack[stack.length - 1]!;
    if (queue.length === 0) return { parent: top, name: '.', trailingSlash, entry: undefined };
    const name = queue.shift()!;
    const final = queue.length === 0;
    if (name === '.') continue;
    if (name === '..') {
      if (stack.length === 1) throw new WasiError(ESCAPE);
      stack.pop();
      continue;
    }
    const entry = top.entries.get(name);
    if (final) {
      if (!(followFinal || trailingSlash) || entry === undefined) return { parent: top, name, trailingSlash, entry };
      if (entry.kind === 'link') {
        if (++links > MAX_SYMLINKS) throw new WasiError(Errno.LOOP);
        const link = linkParts(entry.target);
        queue.push(...link.parts);
        trailingSlash = trailingSlash || link.trailingSlash;
        continue;
      }
      if (trailingSlash && entry.kind !== 'dir') throw new WasiError(Errno.NOTDIR);
      return { parent: top, name, trailingSlash, entry };
    }
    if (entry === undefined) throw new WasiError(Errno.NOENT);
    if (entry.kind === 'link') {
      if (++links > MAX_SYMLINKS) throw new WasiError(Errno.LOOP);
      queue.unshift(...linkParts(entry.target).parts);
      continue;
    }
    if (entry.kind !== 'dir') throw new WasiError(Errno.NOTDIR);
    stack.push(entry);
  }
}
