// The package's version, read from its package.json (found by walking up from
// this file, which lives at dist/cli/warden.cjs when bundled, or under
// dist/src/cli/ when not). Read only for --version.

import { readFileSync } from 'node:fs';

declare const __dirname: string | undefined;

export function packageVersion(): string {
  let dir = typeof __dirname === 'string' ? __dirname : new URL('.', import.meta.url).pathname;
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
