// The content-addressed module store: blobs/sha256/<hex> under a data
// directory. Writes go to a temporary file in the same directory, are synced,
// then renamed into place, so a crash or a full disk never leaves a partial
// module under a digest's name. Reads re-hash what they read, and read only
// regular files the store could have written: never through a symlink, never
// a FIFO or a device, never more than the largest module any command reads.

import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { readOpenedFile } from '../policy/read-text.js';
import { createAtomicFile, defaultWrite, type AtomicFile, type WriteFn } from './atomic-file.js';
import { classifyModuleRef, isStoreDigest } from './reference.js';

export class StoreError extends Error {
  override name = 'StoreError';
}

export const sha256 = (bytes: Uint8Array): string => 'sha256:' + createHash('sha256').update(bytes).digest('hex');

/** A blob being streamed into the store: nothing is visible under a digest until `commit`. */
export interface BlobIngest {
  write(chunk: Uint8Array): void;
  /** Checks the bytes against `expected` (when given), then moves them under their digest. */
  commit(expected?: string): string;
  abort(): void;
}

/** A module argument resolved: the bytes from the store, or a path for the caller to read. */
export type ResolvedModule = { kind: 'store'; digest: string; bytes: Uint8Array } | { kind: 'path'; path: string };

export interface Store {
  readonly dir: string;
  put(bytes: Uint8Array): string;
  /** Streams a blob in (a pull from a registry), hashing as it goes. */
  ingest(): BlobIngest;
  get(digest: string): Uint8Array;
  has(digest: string): boolean;
  list(): string[];
  /** Each stored blob's digest, size in bytes and when it was stored (ISO 8601), by digest. */
  entries(): StoreEntry[];
  /** `sha256:<hex>` → the stored bytes; anything else that claims to be a digest → ReferenceError; else a path. */
  resolveModuleRef(ref: string): ResolvedModule;
}

export interface StoreEntry {
  digest: string;
  size: number;
  stored: string;
}

export interface StoreOptions {
  /** The write call, replaceable so tests can make the disk fill up halfway. */
  write?: WriteFn;
}

/** The largest blob read back: the largest module any command reads (a file named on the command line). */
export const MAX_STORED_BYTES = 1024 * 1024 * 1024;

const code = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));

export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  const write = options.write ?? defaultWrite;
  const blobs = `${dataDir}/blobs/sha256`;
  const pathOf = (digest: string): string => {
    if (!isStoreDigest(digest)) throw new StoreError(`'${digest.slice(0, 80)}' is not a sha256:<64 hex> digest`);
    return `${blobs}/${digest.slice(7)}`;
  };

  const ingest = (): BlobIngest => {
    let file: AtomicFile;
    try {
      mkdirSync(blobs, { recursive: true });
      file = createAtomicFile(blobs, write);
    } catch (error) {
      throw new StoreError(`cannot write to the store at ${dataDir} (${code(error)})`);
    }
    const hash: Hash = createHash('sha256');
    return {
      write(chunk) {
        try {
          file.write(chunk);
        } catch (error) {
          throw new StoreError(`cannot write to the store at ${dataDir} (${code(error)})`);
        }
        hash.update(chunk);
      },
      commit(expected) {
        const digest = 'sha256:' + hash.digest('hex');
        if (expected !== undefined && digest !== expected) {
          file.abort();
          throw new StoreError(`the bytes hash to ${digest}, not ${expected}; not stored`);
        }
        try {
          file.commit(pathOf(digest));
        } catch (error) {
          throw new StoreError(`cannot write to the store at ${dataDir} (${code(error)})`);
        }
        return digest;
      },
      abort: () => file.abort(),
    };
  };

  const get = (digest: string): Uint8Array => {
    const path = pathOf(digest);
    let fd: number;
    try {
      // O_NOFOLLOW: the store writes regular files only, so a link under a digest's name was put
      // there by someone else; followed, one to /dev/zero was read until the host's memory ran out.
      // O_NONBLOCK: opening a FIFO waits for a writer that never comes; this way it opens, and is refused below.
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if (code(error) === 'ENOENT') throw new StoreError(`${digest} is not in the store at ${dataDir}`);
      if (code(error) === 'ELOOP') throw new StoreError(`the store entry for ${digest} is a symbolic link, which the store never writes; refused (remove it and push the module again)`);
      throw new StoreError(`cannot read ${digest} from the store at ${dataDir} (${code(error)})`);
    }
    let bytes: Uint8Array;
    try {
      const stat = fstatSync(fd);
      // A FIFO or a device never ends: only a regular file, of a bounded size, is read.
      if (!stat.isFile()) throw new StoreError(`the store entry for ${digest} is not a regular file; refused`);
      if (stat.size > MAX_STORED_BYTES) throw new StoreError(`the store entry for ${digest} is ${stat.size} bytes, over the ${MAX_STORED_BYTES} a module may have`);
      // What fstat said, no more: a file that grows while read is cut there (and fails the hash).
      bytes = readOpenedFile(fd, stat.size);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`cannot read ${digest} from the store at ${dataDir} (${code(error)})`);
    } finally {
      closeSync(fd);
    }
    if (sha256(bytes) !== digest) throw new StoreError(`the stored bytes for ${digest} are corrupted (they hash to ${sha256(bytes)})`);
    return bytes;
  };

  return {
    dir: dataDir,
    put(bytes) {
      const blob = ingest();
      blob.write(bytes);
      return blob.commit();
    },
    ingest,
    get,
    has(digest) {
      // Anything under the name: get() then says what is wrong with an entry that is no regular file.
      try {
        lstatSync(pathOf(digest));
        return true;
      } catch {
        return false;
      }
    },
    list() {
      try {
        return readdirSync(blobs).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`).sort();
      } catch {
        return [];
      }
    },
    entries() {
      return this.list().flatMap((digest) => {
        try {
          const stat = lstatSync(pathOf(digest)); // a link is not an entry get() would read
          return stat.isFile() ? [{ digest, size: stat.size, stored: stat.mtime.toISOString() }] : [];
        } catch {
          return []; // removed while listing
        }
      });
    },
    resolveModuleRef(ref) {
      const source = classifyModuleRef(ref);
      return source.kind === 'store' ? { kind: 'store', digest: source.digest, bytes: get(source.digest) } : source;
    },
  };
}
