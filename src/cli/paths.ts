// Path handling for the CLI without node:path (which costs a share of a short
// run's startup): resolving a command-line path against the working directory
// is all the CLI needs, and the kernel resolves `.` and `..` itself.

import { lstatSync } from 'node:fs';

export function resolveFrom(cwd: string, path: string): string {
  return path.startsWith('/') ? path : `${cwd.endsWith('/') ? cwd : cwd + '/'}${path}`;
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? (slash === 0 ? '/' : '.') : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Whether something is at `path`, a symlink counting even when what it names
 * is missing: a command that refuses to overwrite without --force must not
 * replace a user's dangling link (existsSync follows it and says no).
 */
export function entryExists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
