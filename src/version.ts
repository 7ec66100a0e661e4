// The package's version, read from the first wasm-warden package.json found by
// walking up from a directory: the code runs from dist/src/… when built with
// tsc and from dist/cli/ when bundled, so the depth is not fixed.

import { readFileSync } from 'node:fs';

/** The version the bundler wrote into a bundle (tools/bundle-cli.js); absent when running from dist/src. */
declare const WARDEN_VERSION: string | undefined;

export function packageVersionFrom(start: string): string {
  // A bundle knows its version: no package.json is opened and parsed on each start.
  if (typeof WARDEN_VERSION === 'string') return WARDEN_VERSION;
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
