// Where a refused call pointed: the descriptor and the guest path(s) it named,
// read back from guest memory only when a denial is recorded, so an operator
// can see what a module tried. Each path keeps at most MAX_DENIED_PATH_BYTES
// of the guest's bytes (decoded leniently: invalid UTF-8 shows as U+FFFD), so
// a guest cannot make the report, or the host, hold more by passing more.

import type { DeniedAttempt } from './context.js';
import type { GuestMemory } from './guest-memory.js';

/** The most bytes of one guest path a denial record keeps. */
export const MAX_DENIED_PATH_BYTES = 256;

type Arg = number | bigint | undefined;

/**
 * Argument positions per call: the descriptor, the path (pointer, length),
 * and for two-name calls the second descriptor and path (witx `new_fd`,
 * `new_path`) or the symlink's contents (`old_path`).
 */
const layouts: Record<string, { fd: number; path?: number; newFd?: number; newPath?: number; oldPath?: number }> = {
  path_open: { fd: 0, path: 2 },
  path_create_directory: { fd: 0, path: 1 },
  path_remove_directory: { fd: 0, path: 1 },
  path_unlink_file: { fd: 0, path: 1 },
  path_readlink: { fd: 0, path: 1 },
  path_filestat_get: { fd: 0, path: 2 },
  path_filestat_set_times: { fd: 0, path: 2 },
  path_symlink: { fd: 2, path: 3, oldPath: 0 },
  path_rename: { fd: 0, path: 1, newFd: 3, newPath: 4 },
  path_link: { fd: 0, path: 2, newFd: 4, newPath: 5 },
};

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Reads a bounded guest path, or null when the pointer and length do not lie in memory. */
function guestPath(memory: GuestMemory, ptrArg: Arg, lenArg: Arg): { text: string; truncated: boolean } | null {
  if (typeof ptrArg !== 'number' || typeof lenArg !== 'number') return null;
  const ptr = ptrArg >>> 0;
  const length = lenArg >>> 0;
  const kept = Math.min(length, MAX_DENIED_PATH_BYTES);
  try {
    memory.check(ptr, kept);
    // Copied out: the record outlives this call and the guest's memory.
    return { text: decoder.decode(memory.bytes().slice(ptr, ptr + kept)), truncated: kept < length };
  } catch {
    return null;
  }
}

/** Adds the descriptor and paths of a refused call to its record. */
export function locateDenial(entry: DeniedAttempt, memory: GuestMemory, args: readonly Arg[]): void {
  const layout = layouts[entry.call];
  const fd = args[layout?.fd ?? 0];
  // Every fd_*, path_* and sock_* call takes its descriptor first (path_symlink third).
  if (!/^(fd|path|sock)_/.test(entry.call) || typeof fd !== 'number') return;
  entry.fd = fd >>> 0;
  if (!layout) return;
  let truncated = false;
  const take = (at: number | undefined): string | undefined => {
    if (at === undefined) return undefined;
    const path = guestPath(memory, args[at], args[at + 1]);
    if (!path) return undefined;
    truncated ||= path.truncated;
    return path.text;
  };
  const path = take(layout.path);
  if (path !== undefined) entry.path = path;
  if (layout.newFd !== undefined && typeof args[layout.newFd] === 'number') entry.newFd = (args[layout.newFd] as number) >>> 0;
  const newPath = take(layout.newPath);
  if (newPath !== undefined) entry.newPath = newPath;
  const oldPath = take(layout.oldPath);
  if (oldPath !== undefined) entry.oldPath = oldPath;
  if (truncated) entry.truncated = true;
}
