#!/usr/bin/env node
// Builds the optional native helper (native/timestamps.c -> dist/native/timestamps.node)
// with the system C compiler and Node's own headers. Optional: without a
// compiler or headers it says so and exits 0, and wasm-warden sets file times
// through Node instead, to the microsecond (docs/RATIONALE.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const headers = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((dir) => existsSync(join(dir, 'node_api.h')));
const compiler = process.env.CC ?? 'cc';
if (!headers) {
  console.log('build-native: no Node headers (node_api.h) found; file times will be set to the microsecond');
  process.exit(0);
}
mkdirSync('dist/native', { recursive: true });
const args = ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', `-I${headers}`, '-o', 'dist/native/timestamps.node', 'native/timestamps.c'];
const result = spawnSync(compiler, args, { stdio: 'inherit' });
if (result.error || result.status !== 0) {
  console.log(`build-native: ${compiler} could not build native/timestamps.c; file times will be set to the microsecond`);
  process.exit(0);
}
