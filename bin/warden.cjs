#!/usr/bin/env node
'use strict';
const { main } = require('../dist/cli/warden.cjs');

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  debug: false,
}).then((code) => {
  process.exitCode = code;
});
