// The content-addressed module store: blobs/sha256/<hex> under a data
// directory. Writes go to a temporary file in the same directory, are synced,
// then renamed into place, so a crash or a full disk never leaves a partial
// module under a digest's name. Reads re-hash what they read.

import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { isStoreDigest } from './reference.js';

export class StoreError extends Error {
  override name = 'StoreError';
}

export const sha256 = (bytes: Uint8Array): string => 'sha256:' + createHash('sha256').update(bytes).digest('hex');

export interface Store {
  readonly dir: string;
  put(bytes: Uint8Array): string;
  get(digest: string): Uint8Array;
  has(digest: string): boolean;
  list(): string[];
}

let counter = 0;

export interface StoreOptions {
  /** The write call, replaceable so tests can make the disk fill up halfway. */
  write?: (fd: number, data: Uint8Array, offset: number) => number;
}

export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  const write = options.write ?? ((fd: number, data: Uint8Array, offset: number) => writeSync(fd, data, offset));
  const blobs = `${dataDir}/blobs/sha256`;
  const pathOf = (digest: string): string => {
    if (!isStoreDigest(digest)) throw new StoreError(`'${digest}' is not a sha256:<64 hex> digest`);
    return `${blobs}/${digest.slice(7)}`;
  };
  return {
    dir: dataDir,
    put(bytes) {
      const digest = sha256(bytes);
      const final = pathOf(digest);
      try {
        mkdirSync(blobs, { recursive: true });
      } catch (error) {
        throw new StoreError(`cannot create the store at ${dataDir} (${(error as NodeJS.ErrnoException).code})`);
      }
      const temp = `${blobs}/.tmp-${process.pid}-${counter++}`;
      let fd: number | null = null;
      try {
        fd = openSync(temp, 'wx', 0o644);
        let done = 0;
        while (done < bytes.length) done += write(fd, bytes, done);
        fsyncSync(fd);
        closeSync(fd);
        fd = null;
        renameSync(temp, final);
      } catch (error) {
        if (fd !== null) closeSync(fd);
        rmSync(temp, { force: true });
        throw new StoreError(`cannot write to the store at ${dataDir} (${(error as NodeJS.ErrnoException).code ?? error})`);
      }
      return digest;
    },
    get(digest) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(pathOf(digest)));
      } catch (error) {
        if (error instanceof StoreError) throw error;
        throw new StoreError(`${digest} is not in the store at ${dataDir}`);
      }
      if (sha256(bytes) !== digest) throw new StoreError(`the stored bytes for ${digest} are corrupted`);
      return bytes;
    },
    has(digest) {
      try {
        readFileSync(pathOf(digest), { flag: 'r' });
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
  };
}
