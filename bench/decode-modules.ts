// The real multi-megabyte modules the decode benchmark reads, located from the
// repository root whatever directory the benchmark was compiled into.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/helpers/paths.js';

export interface BenchModule {
  label: string;
  path: string;
  bytes: Uint8Array;
}

export function benchModules(): BenchModule[] {
  const root = repoRoot;
  return [
    ['resvg (Rust)', 'node_modules/@resvg/resvg-wasm/index_bg.wasm'],
    ['esbuild (Go)', 'node_modules/esbuild-wasm/esbuild.wasm'],
    ['yosys (C++)', 'node_modules/@yowasp/yosys/gen/yosys.core.wasm'],
  ].map(([label, path]) => ({ label: label!, path: path!, bytes: new Uint8Array(readFileSync(join(root, path!))) }));
}
