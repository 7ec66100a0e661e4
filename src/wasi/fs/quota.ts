// Per-run limits on what a guest may create and store through its mounts.
//
// The write quota (maxWriteBytes) counts storage the guest makes the host
// keep, not bytes passed to write: blocks allocated and apparent size grown
// (storage-meter.ts, per writable descriptor), plus what a new directory
// (its first block) or symlink (its target) costs.

import { Errno, WasiError } from '../errno.js';
import type { Quota } from './types.js';

export function createQuota(limits: { maxWriteBytes: number; maxFilesCreated: number }): Quota {
  // Named fields, not a spread: one object shape for every quota, built without a property walk (a run makes one).
  return { maxWriteBytes: limits.maxWriteBytes, maxFilesCreated: limits.maxFilesCreated, writtenBytes: 0, filesCreated: 0, hits: new Set() };
}

/** Storage the write quota still allows, in bytes. */
export function storageLeft(quota: Quota): number {
  return quota.maxWriteBytes - quota.writtenBytes;
}

/** EDQUOT for the write quota, noting the hit for the run's report. */
export function DQUOT_WRITE(quota: Quota): WasiError {
  quota.hits.add('max-write');
  return new WasiError(Errno.DQUOT);
}

export function chargeStorage(quota: Quota, bytes: number): void {
  quota.writtenBytes += bytes;
}

/** How many of `wanted` bytes may still be written; EDQUOT when none may. (Byte-counting stores: the in-memory filesystem.) */
export function allowWrite(quota: Quota, wanted: number): number {
  const left = storageLeft(quota);
  if (wanted > 0 && left <= 0) throw DQUOT_WRITE(quota);
  return Math.min(wanted, left);
}

export const chargeWrite = chargeStorage;

/** What a directory entry costs its parent directory: the name plus a record header. */
const ENTRY_OVERHEAD = 16;
/** A new directory's first block (ext4 gives each directory one). */
export const DIRECTORY_BLOCK = 4096;

/**
 * The storage a new directory or symlink costs beyond any file's slack: its
 * entry, plus `body` (a directory's block, a symlink's target). A new empty
 * file or hard link costs no blocks (its data is charged as it is written).
 */
export function creationCost(name: string, body: number): number {
  return ENTRY_OVERHEAD + Buffer.byteLength(name) + body;
}

/**
 * Reserves one more created file, directory or link, and (when `storage` is
 * given) the storage it costs; EDQUOT when either quota is spent.
 */
export function allowCreate(quota: Quota, storage = 0): void {
  if (quota.filesCreated >= quota.maxFilesCreated) {
    quota.hits.add('max-files');
    throw new WasiError(Errno.DQUOT);
  }
  if (storage > storageLeft(quota)) throw DQUOT_WRITE(quota);
}

export function chargeCreate(quota: Quota, storage = 0): void {
  quota.filesCreated++;
  quota.writtenBytes += storage;
}

/** A quota that never refuses, for callers that grant none. */
export function unlimitedQuota(): Quota {
  return createQuota({ maxWriteBytes: Number.MAX_SAFE_INTEGER, maxFilesCreated: Number.MAX_SAFE_INTEGER });
}
