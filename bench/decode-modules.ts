// The real multi-megabyte modules the decode benchmark reads, located from the
// repository root whatever directory the benchmark was compiled into.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'wasm-warden') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
}

export interface BenchModule {
  label: string;
  path: string;
  bytes: Uint8Array;
}

export function benchModules(): BenchModule[] {
  const root = repositoryRoot();
  return [
    ['resvg (Rust)', 'node_modules/@resvg/resvg-wasm/index_bg.wasm'],
    ['esbuild (Go)', 'node_modules/esbuild-wasm/esbuild.wasm'],
    ['yosys (C++)', 'node_modules/@yowasp/yosys/gen/yosys.core.wasm'],
  ].map(([label, path]) => ({ label: label!, path: path!, bytes: new Uint8Array(readFileSync(join(root, path!))) }));
}
