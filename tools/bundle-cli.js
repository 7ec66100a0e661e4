#!/usr/bin/env node
// Bundles the compiled CLI into one CommonJS file (dist/cli/warden.cjs), and
// each isolate entry (pool worker, process child, preparing worker) into one
// CommonJS file beside it, which the bundled sandbox starts instead of the ESM
// entries under dist/src. Node 20's ESM loader resolves, loads and links each
// module asynchronously, which cost `warden run` about 5 ms per start on 25
// small files, and each new isolate pays it again (docs/RATIONALE.md).
import { rmSync } from 'node:fs';
import { build } from 'esbuild-wasm';

rmSync('dist/cli', { recursive: true, force: true });
const bundles = {
  'dist/cli/warden.cjs': 'dist/src/cli/main.js',
  'dist/cli/worker-entry.cjs': 'dist/src/sandbox/worker-entry.js',
  'dist/cli/process-entry.cjs': 'dist/src/sandbox/process-entry.js',
  'dist/cli/prepare-worker.cjs': 'dist/src/sandbox/prepare-worker.js',
};
for (const [outfile, entry] of Object.entries(bundles)) await build({
  entryPoints: [entry],
  outfile,
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
