// Closing a descriptor the guest is done with: a failure here (already
// closed, I/O error on close) is nothing the guest could act on.

import { closeFd } from './native-at.js';

export function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // Nothing to report to anyone.
  }
}
