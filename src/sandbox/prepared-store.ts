// The on-disk prepared-module cache (by default <data dir>/cache/prepared):
// one file per key, named by the key's hash, written whole or not at all
// (a temporary file renamed over the name, so concurrent writers of one key
// leave one whole entry), bounded in total size with the least recently used
// (oldest modification time; a hit touches its entry) removed first.
//
// Nothing read from here is trusted until it checks out (prepared-entry.ts):
// the MAC under this directory's key, the key inside the entry, the pieces
// within their bounds. A bad entry is a miss, said with --debug, removed, and
// written afresh by the fresh preparation that follows.

import { fillRandom } from '../wasi/random-bytes.js';
import { sha256Hex } from './digest.js';
import {
  closeSync, constants, fstatSync, futimesSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { decodeEntry, encodeEntry, type EntryKey, type StoredVerdict } from './prepared-entry.js';

export interface PreparedStoreOptions {
  /** The directory entries live in (made, mode 0700, if missing). */
  dir: string;
  /** Bound on the entries' total size, bytes. Default 1 GiB. */
  maxBytes?: number;
  /** Told why an entry was not used or not written (warden's --debug). */
  log?: (line: string) => void;
}

export const DEFAULT_STORE_BYTES = 1024 * 1024 * 1024;
const KEY_FILE = 'mac.key';
const ENTRY_SUFFIX = '.prep';
/** A temporary file older than this was left by a writer that died: eviction removes it. */
const STALE_TEMP_MS = 10 * 60 * 1000;

let tempCounter = 0;

export class PreparedStore {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly log: (line: string) => void;
  private macKey: Uint8Array | null | undefined;

  constructor(options: PreparedStoreOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULT_STORE_BYTES;
    this.log = options.log ?? (() => {});
  }

  /** The entry's file: named by a hash of the whole key, so no part of a key reaches a path. */
  pathOf(key: EntryKey): string {
    const name = sha256Hex(`${key.digest}\n${key.config}\n${key.version}`);
    return `${this.dir}/${name}${ENTRY_SUFFIX}`;
  }

  /**
   * The stored verdict for `key` over `original` (whose digest the caller
   * computed), or null. `inPlace`: the caller gives `original` over, and a
   * hit's rewritten module is built over it where its buffer has the room
   * (prepared-entry.ts); a miss leaves it as it was.
   */
  read(key: EntryKey, original: Uint8Array, inPlace = false): StoredVerdict | null {
    const macKey = this.key();
    if (!macKey) return null;
    const path = this.pathOf(key);
    let data: Uint8Array;
    try {
      const read = readEntryFile(path, maxEntryBytes(original.length));
      if (read === null) return null;
      if (typeof read === 'string') return this.bad(path, read);
      data = read;
    } catch (error) {
      this.log(`cache: ${path}: not read: ${(error as Error).message}`);
      return null;
    }
    const decoded = decodeEntry(data, key, original, macKey, inPlace);
    if (!decoded.ok) return this.bad(path, decoded.reason);
    return decoded.stored;
  }

  /** Stores `outcome` under `key`; a failure to write is said with --debug, never thrown. */
  write(key: EntryKey, original: Uint8Array, outcome: StoredVerdict): void {
    const macKey = this.key();
    if (!macKey) return;
    const path = this.pathOf(key);
    try {
      writeWhole(this.dir, path, encodeEntry(key, original, outcome, macKey));
    } catch (error) {
      this.log(`cache: ${path}: not written: ${(error as Error).message}`);
      return;
    }
    this.evict();
  }

  /** Removes the least recently used entries until the rest fit the bound, and temporary files of writers that died. */
  evict(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const entries: Array<{ path: string; size: number; used: number }> = [];
    let total = 0;
    const now = Date.now();
    for (const name of names) {
      const path = `${this.dir}/${name}`;
      let stat;
      try {
        stat = lstatSync(path);
      } catch {
        continue; // removed meanwhile by another process
      }
      if (name.startsWith('.tmp-')) {
        if (now - stat.mtimeMs > STALE_TEMP_MS) rmSync(path, { force: true });
        continue;
      }
      if (!name.endsWith(ENTRY_SUFFIX) || !stat.isFile()) continue;
      entries.push({ path, size: stat.size, used: stat.mtimeMs });
      total += stat.size;
    }
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      rmSync(e.path, { force: true });
      total -= e.size;
      this.log(`cache: evicted ${e.path} (${e.size} bytes; the cache holds at most ${this.maxBytes})`);
    }
  }

  private bad(path: string, reason: string): null {
    this.log(`cache: ${path}: not used: ${reason}; removed, to be written afresh`);
    rmSync(path, { force: true });
    return null;
  }

  /**
   * This directory's MAC key, made on first use: 32 random bytes in a file
   * only this user can read. Without a key that only we can read, a MAC
   * proves nothing, so the cache is not used when the directory or the key
   * file is open to others or not ours (said with --debug).
   */
  private key(): Uint8Array | null {
    if (this.macKey !== undefined) return this.macKey;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const dir = statSync(this.dir);
      // Others able to write here could replace the key file with their own.
      if (!dir.isDirectory() || (dir.mode & 0o022) !== 0 || (process.getuid && dir.uid !== process.getuid())) {
        this.log(`cache: ${this.dir} is writable by others or not ours: not used`);
        return (this.macKey = null);
      }
      const path = `${this.dir}/${KEY_FILE}`;
      let key = readKey(path);
      if (key === null) {
        // Made beside the name and linked to it: of two processes making it at once, one key wins and both use it.
        const temp = `${this.dir}/.tmp-key-${process.pid}-${tempCounter++}`;
        const fresh = new Uint8Array(32);
        fillRandom(fresh);
        writeWhole(this.dir, temp, fresh, true);
        try {
          linkSync(temp, path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        } finally {
          rmSync(temp, { force: true });
        }
        key = readKey(path);
      }
      if (typeof key === 'string' || key === null) {
        this.log(`cache: ${path}: ${key ?? 'missing'}: the cache is not used`);
        return (this.macKey = null);
      }
      return (this.macKey = key);
    } catch (error) {
      this.log(`cache: ${this.dir}: not used: ${(error as Error).message}`);
      return (this.macKey = null);
    }
  }
}

/** An entry is never larger than this: the module's length twice (every section rewritten) plus headers; a larger file is not read. */
function maxEntryBytes(moduleLength: number): number {
  return 2 * moduleLength + 16 * 1024 * 1024;
}

/** The key file's 32 bytes; null if missing; a reason if it is not a private regular file of ours. */
function readKey(path: string): Uint8Array | string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size !== 32) return 'not a 32-byte file';
    if ((stat.mode & 0o077) !== 0 || (process.getuid && stat.uid !== process.getuid())) return 'readable by others or not ours';
    const key = Buffer.alloc(32);
    if (readSync(fd, key, 0, 32, 0) !== 32) return 'short';
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * The entry file's bytes; null when there is none; a reason when it is not a
 * regular file (a symlink is not followed) or larger than an entry can be.
 * A hit touches it: eviction goes by modification time.
 */
function readEntryFile(path: string, maxBytes: number): Uint8Array | string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') return 'a symlink';
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return 'not a regular file';
    if (stat.size > maxBytes) return `${stat.size} bytes, larger than an entry for this module can be`;
    const data = Buffer.allocUnsafe(stat.size);
    let at = 0;
    while (at < data.length) {
      const n = readSync(fd, data, at, data.length - at, at);
      if (n === 0) break;
      at += n;
    }
    if (at !== data.length) return 'shorter than its size';
    const now = new Date();
    try {
      futimesSync(fd, now, now);
    } catch {
      // A read-only cache still serves hits; its order of eviction is then the order of writing.
    }
    return data;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to a temporary file in `dir` and renames (or, for the key,
 * leaves) it at `path`. Not synced: an entry torn by a crash fails its MAC and
 * is a miss, which costs a fresh preparation, never a wrong one.
 */
function writeWhole(dir: string, path: string, data: Uint8Array, keepAtTemp = false): void {
  const temp = keepAtTemp ? path : `${dir}/.tmp-${process.pid}-${Date.now().toString(36)}-${(tempCounter++).toString(36)}`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  if (keepAtTemp) return;
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
