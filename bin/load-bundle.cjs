'use strict';
// Loads a CommonJS bundle the way `require` would, but compiled with V8's code
// cache when one was written for it (dist/cli/NAME.cjs.cache, made by
// tools/bundle-cli.js from a run of the CLI): V8 then deserialises bytecode for
// the bundle and every function that run compiled, instead of parsing and
// compiling them again on each start (docs/RATIONALE.md).
//
// A cache is used only when it was made for this very file: its header names
// the bundle's size and modification time, and V8 itself refuses a cache made by
// another V8 version or with other flags (then the bundle compiles as usual).
const fs = require('node:fs');
// This module's own Module class: the same as require('node:module'), without loading that
// builtin (and the ESM loader it brings) on every start.
const Module = module.constructor;
const path = require('node:path');
const vm = require('node:vm');

/** The header before the V8 data: `warden-code-cache <size> <mtimeMs>` padded to 64 bytes. */
const HEADER_BYTES = 64;
const header = (stat) => Buffer.from(`warden-code-cache ${stat.size} ${stat.mtimeMs}`.padEnd(HEADER_BYTES, ' ').slice(0, HEADER_BYTES));

function readCache(cacheFile, stat) {
  let data;
  try {
    data = fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  if (data.length <= HEADER_BYTES || !data.subarray(0, HEADER_BYTES).equals(header(stat))) return undefined;
  return data.subarray(HEADER_BYTES);
}

/**
 * Loads `file` (a CommonJS module) and returns its exports and the compiled
 * script (to write a cache from). With `useCache` false the cache is not read.
 */
function loadBundle(bundle, { useCache = true } = {}) {
  const file = path.resolve(bundle);
  const stat = fs.statSync(file);
  const source = fs.readFileSync(file, 'utf8');
  const cachedData = useCache ? readCache(`${file}.cache`, stat) : undefined;
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
    // The bundle's own `import('node:...')` calls resolve as they would under require.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  return { exports: module.exports, script, cacheRejected: cachedData === undefined ? undefined : script.cachedDataRejected };
}

/** Writes the code cache for `file` from a script that has run (so the functions it called are in it). */
function writeCache(file, script) {
  const stat = fs.statSync(file);
  fs.writeFileSync(`${file}.cache`, Buffer.concat([header(stat), script.createCachedData()]));
}

module.exports = { loadBundle, writeCache };

// `node bin/load-bundle.cjs BUNDLE [ARGS...]` (the build's training run): loads BUNDLE without
// its cache, runs its CLI with ARGS (output discarded), and writes the cache from what ran.
if (require.main === module) {
  const [bundle, ...args] = process.argv.slice(2);
  const { exports, script } = loadBundle(bundle, { useCache: false });
  const discard = () => {};
  exports.main(args, {
    stdout: discard, stdoutBytes: discard, stdinBytes: () => new Uint8Array(0), stderr: (text) => process.stderr.write(text),
    env: {}, cwd: process.cwd(), debug: false, isTTY: false,
  }).then((code) => {
    if (code !== 0) throw new Error(`the training run of ${bundle} exited ${code}`);
    writeCache(bundle, script);
  });
}
