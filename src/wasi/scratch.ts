// Ephemeral scratch directories for `--tmpfs`: a fresh directory on the
// kernel's memory-backed tmpfs (/dev/shm), removed when the run ends. The
// guest reaches it through the same beneath-only host-directory capability as
// any mount, and its size is bounded by the run's write quota.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';

const memoryBacked = '/dev/shm';

export interface Scratch {
  path: string;
  remove(): void;
}

export function createScratch(): Scratch {
  const base = existsSync(memoryBacked) ? memoryBacked : '/tmp';
  const path = mkdtempSync(`${base}/warden-scratch-`);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
