#!/usr/bin/env node
'use strict';
// `warden run` loads the bundle of that command alone (the same dispatcher and command, a third less
// to read and deserialise); every other command, the whole CLI's. A process loads one of them only.
const bundle = require('node:path').join(__dirname, process.argv[2] === 'run' ? '../dist/cli/warden-run.cjs' : '../dist/cli/warden.cjs');
if (!require('node:fs').existsSync(bundle)) {
  // A clone (or a git dependency) that was never built: say what to run, not a stack.
  process.stderr.write(`warden: the CLI is not built (${bundle} is missing); run 'npm run build' in ${require('node:path').resolve(__dirname, '..')}\n`);
  process.exit(2);
}
const cli = require('./load-bundle.cjs').loadBundle(bundle).exports;

// A reader that goes away (`warden inspect x.wasm | head -1`) ends the output, not with a stack
// trace: EPIPE ends the process quietly, with the status the command would have had.
let stdoutGuarded = false;
function stdout() {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    process.stdout.on('error', (error) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
  return process.stdout;
}

const io = {
  stdout: (text) => stdout().write(text),
  stdoutBytes: (bytes) => stdout().write(bytes),
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
