#!/usr/bin/env node
// Bundles the compiled CLI into one CommonJS file (dist/cli/warden.cjs).
// Node 20's ESM loader resolves, loads and links each module asynchronously,
// which cost `warden run` about 5 ms per start on 25 small files; one CJS
// bundle brings a short run to parity with node:wasi (docs/RATIONALE.md).
import { rmSync } from 'node:fs';
import { build } from 'esbuild-wasm';

rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/cli/warden.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Whitespace and syntax only: names stay readable in --debug stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // The sandbox finds its worker entry through __dirname when bundled, import.meta.url when not.
  logOverride: { 'empty-import-meta': 'silent' },
  logLevel: 'warning',
});
