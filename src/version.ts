// The package's version, read from the first wasm-warden package.json found by
// walking up from a directory: the code runs from dist/src/… when built with
// tsc and from dist/cli/ when bundled, so the depth is not fixed.

import { readFileSync } from 'node:fs';

export function packageVersionFrom(start: string): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'wasm-warden' && pkg.version) return pkg.version;
    } catch {
      // not here: one directory up
    }
    dir = `${dir}/..`;
  }
  return 'unknown';
}
