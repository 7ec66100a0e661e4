#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test with node:test (Node 20's
// --test takes files, not globs). Pass directories or files to narrow it.
// A compiled test whose source is gone is not run: tsc leaves the outputs of
// deleted or renamed sources in dist/, where a test would run twice (or fail
// on code that no longer exists) in a working copy but never in a clean clone.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['dist/test'];
const files = [];
function collect(path) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name));
  } else if (path.endsWith('.test.js')) {
    const source = resolve(relative(resolve('dist'), resolve(path)).replace(/\.js$/, '.ts'));
    if (existsSync(source)) files.push(resolve(path));
    else console.error(`run-tests: ${path} not run: its source ${relative(process.cwd(), source)} is gone (stale output)`);
  }
}
for (const root of roots) collect(root);
if (files.length === 0) {
  console.error('run-tests: no test files found under ' + roots.join(', '));
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
