// Where a one-shot command (warden run, warden call) keeps its prepared-module
// cache: <data dir>/cache/prepared (docs/cache.md).

import { dataDir } from './data-dir.js';
import type { CommandIO } from './io.js';

/**
 * The cache's directory, told to say with --debug why an entry was not used.
 * No data dir (no HOME, no flag): no cache, not an error.
 */
export function preparedCacheDir(command: string, dataDirFlag: string | undefined, io: CommandIO): { dir: string; log: (line: string) => void } | undefined {
  let dir: string;
  try {
    dir = dataDir(dataDirFlag, io);
  } catch {
    return undefined;
  }
  return { dir: `${dir}/cache/prepared`, log: (line) => { if (io.debug) io.stderr(`warden ${command}: ${line}\n`); } };
}
