// Loads one of the optional native helpers built into dist/native
// (tools/build-native.js): `timestamps.node`, `fs-at.node`. Absent (no C
// compiler at build time) or refused (Node's permission model without
// --allow-addons, as in process isolation), the caller falls back to Node.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The helper's exports, or null when it is not built or cannot be loaded. */
export function loadNativeHelper<T>(file: string): T | null {
  // dist/native, seen from dist/src/wasi/fs or (bundled) from dist/cli.
  const path = typeof __dirname === 'string'
    ? `${__dirname}/../native/${file}`
    : fileURLToPath(new URL(`../../../native/${file}`, import.meta.url));
  try {
    if (!existsSync(path)) return null;
    // process.dlopen rather than require: about 0.5 ms against 2-7 ms through the module loader.
    const module = { exports: {} as T };
    process.dlopen(module, path);
    return module.exports;
  } catch {
    return null;
  }
}
