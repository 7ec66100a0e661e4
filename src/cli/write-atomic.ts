// Writes a file so that readers see the old contents or the new, never half.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { baseName, parentOf } from './paths.js';

let counter = 0;

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const temp = `${parentOf(path)}/.${baseName(path)}.${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = openSync(temp, 'wx', mode);
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
