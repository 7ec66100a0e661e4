#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/cli/warden.cjs');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('warden.cjs')) {
    // A clone (or a git dependency) that was never built: say what to run, not a stack.
    process.stderr.write(`warden: the CLI is not built (${require('node:path').resolve(__dirname, '../dist/cli/warden.cjs')} is missing); run 'npm run build' in ${require('node:path').resolve(__dirname, '..')}\n`);
    process.exit(2);
  }
  throw error;
}

cli.main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stdoutBytes: (bytes) => process.stdout.write(bytes),
  stdinBytes: () => require('node:fs').readFileSync(0),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  debug: false,
  isTTY: process.stdout.isTTY === true,
}).then((code) => {
  process.exitCode = code;
});
