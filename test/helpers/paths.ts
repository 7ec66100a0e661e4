// Locates the repository from compiled tests, whatever the build's outDir.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'wasm-warden') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
}

export const repoRoot = findRoot();
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const wardenBin = join(repoRoot, 'bin', 'warden.cjs');

export function fixture(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}
