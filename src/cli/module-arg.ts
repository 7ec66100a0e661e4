// A module named on the command line: a file path, `-` for stdin, or a store
// digest (sha256:<hex>, as `warden push` prints it) read from the data dir's store.

import { openStore, StoreError } from '../store/local.js';
import { isStoreDigest, ReferenceError } from '../store/reference.js';
import { dataDir } from './data-dir.js';
import { InputError } from './errors.js';
import type { CommandIO } from './io.js';
import { readModuleFile } from './read-module.js';

export const DATA_DIR_HELP = '  --data-dir DIR       the module store (MODULE may be a sha256:<hex> store digest)';

/**
 * The bytes of MODULE: from the store for `sha256:<hex>`, else from the file
 * (or stdin). `room`: as readModuleFile's, for a file.
 */
export function readModuleArg(text: string, io: CommandIO, dataDirFlag: string | undefined, room = 0): Uint8Array {
  if (!isStoreDigest(text)) {
    if (/^sha256:/i.test(text)) throw new InputError(`'${text}' looks like a store digest but is not sha256:<64 lowercase hex digits>`);
    return readModuleFile(text, io.cwd, undefined, room);
  }
  try {
    return openStore(dataDir(dataDirFlag, io)).get(text);
  } catch (error) {
    if (error instanceof StoreError || error instanceof ReferenceError) throw new InputError(error.message);
    throw error;
  }
}
