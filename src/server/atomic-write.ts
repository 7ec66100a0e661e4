// Small state files (deployments, the admin token) written whole or not at
// all: a temporary file beside the target, synced, then renamed over it.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export function writeFileAtomic(path: string, text: string, mode: number): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const bytes = Buffer.from(text, 'utf8');
  const fd = openSync(temp, 'wx', mode);
  try {
    // write(2) may take only part of the bytes (a disk filling up, a file-size limit) and
    // fail only on the next call: one unchecked write renamed a cut-off deployments.json
    // over the whole one, and the server then could not start.
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
    closeSync(fd);
  } catch (error) {
    try { closeSync(fd); } catch { /* closed already, or closing failed: the removal is what matters */ }
    rmSync(temp, { force: true });
    throw error;
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
