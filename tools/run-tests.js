#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test with node:test (Node 20's
// --test takes files, not globs). Pass directories or files to narrow it.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['dist/test'];
const files = [];
function collect(path) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name));
  } else if (path.endsWith('.test.js')) files.push(resolve(path));
}
for (const root of roots) collect(root);
if (files.length === 0) {
  console.error('run-tests: no test files found under ' + roots.join(', '));
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
