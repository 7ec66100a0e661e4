// Per-run limits on what a guest may create and write through its mounts.

import { Errno, WasiError } from '../errno.js';
import type { Quota } from './types.js';

export function createQuota(limits: { maxWriteBytes: number; maxFilesCreated: number }): Quota {
  return { ...limits, writtenBytes: 0, filesCreated: 0, hits: new Set() };
}

/** How many of `wanted` bytes may still be written; EDQUOT when none may. */
export function allowWrite(quota: Quota, wanted: number): number {
  const left = quota.maxWriteBytes - quota.writtenBytes;
  if (wanted > 0 && left <= 0) {
    quota.hits.add('max-write');
    throw new WasiError(Errno.DQUOT);
  }
  return Math.min(wanted, left);
}

export function chargeWrite(quota: Quota, bytes: number): void {
  quota.writtenBytes += bytes;
}

/** Reserves one more created file, directory or link; EDQUOT when the quota is spent. */
export function allowCreate(quota: Quota): void {
  if (quota.filesCreated >= quota.maxFilesCreated) {
    quota.hits.add('max-files');
    throw new WasiError(Errno.DQUOT);
  }
}

export function chargeCreate(quota: Quota): void {
  quota.filesCreated++;
}

/** A quota that never refuses, for callers that grant none. */
export function unlimitedQuota(): Quota {
  return createQuota({ maxWriteBytes: Number.MAX_SAFE_INTEGER, maxFilesCreated: Number.MAX_SAFE_INTEGER });
}
