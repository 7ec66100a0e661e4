#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('./load-bundle.cjs').loadBundle(require('node:path').join(__dirname, '../dist/cli/warden.cjs')).exports;
} catch (error) {
  if (error && error.code === 'ENOENT' && String(error.path).endsWith('warden.cjs')) {
    // A clone (or a git dependency) that was never built: say what to run, not a stack.
    process.stderr.write(`warden: the CLI is not built (${require('node:path').resolve(__dirname, '../dist/cli/warden.cjs')} is missing); run 'npm run build' in ${require('node:path').resolve(__dirname, '..')}\n`);
    process.exit(2);
  }
  throw error;
}

const io = {
  stdout: (text) => process.stdout.write(text),
  stdoutBytes: (bytes) => process.stdout.write(bytes),
  stdinBytes: () => require('node:fs').readFileSync(0),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  debug: false,
};
// Asked only when a command paints (it loads node:tty, and process.stdout.isTTY would build the
// stdout stream too: 2-3 ms of a run that never looks). Not enumerable, so copying io does not ask.
Object.defineProperty(io, 'isTTY', { get: () => require('node:tty').isatty(1), enumerable: false });

cli.main(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
});
