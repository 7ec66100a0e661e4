#!/usr/bin/env node
// Bundles the compiled CLI into one chunk per command (dist/cli/), so that
// `warden run` loads a few files instead of dozens: on Node 20 each ESM file
// costs about half a millisecond to load, which a short run would notice.
import { rmSync } from 'node:fs';
import { build } from 'esbuild-wasm';

rmSync('dist/cli', { recursive: true, force: true });

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
