// Closing a descriptor the guest is done with: a failure here (already
// closed, I/O error on close) is nothing the guest could act on.

import { closeSync } from 'node:fs';

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to report to anyone.
  }
}
