'use strict';
// Loads a CommonJS bundle the way `require` would, but compiled with V8's code
// cache when one was written for it (dist/cli/NAME.cjs.cache, made by
// tools/bundle-cli.js from a run of the CLI): V8 then deserialises bytecode for
// the bundle and every function that run compiled, instead of parsing and
// compiling them again on each start (docs/RATIONALE.md).
//
// A cache is used only when it was made for this very build of the bundle: the
// build ends the bundle with a random build id and heads the cache with the same
// id (a copy or an install keeps both; any rebuild changes both). V8 itself
// refuses a cache made by another V8 version or with other flags, and the
// bundle then compiles as usual.
const fs = require('node:fs');
// This module's own Module class: the same as require('node:module'), without loading that
// builtin (and the ESM loader it brings) on every start.
const Module = module.constructor;
const path = require('node:path');
const vm = require('node:vm');

/** The header before the V8 data: `warden-code-cache <build id>` padded to 64 bytes. */
const HEADER_BYTES = 64;
const BUILD_ID_MARK = '// warden-build ';
const header = (buildId) => Buffer.from(`warden-code-cache ${buildId}`.padEnd(HEADER_BYTES, ' ').slice(0, HEADER_BYTES));

/** The id on the bundle's last line ('' when it has none: then no cache is used). */
function buildIdOf(source) {
  const at = source.lastIndexOf(BUILD_ID_MARK);
  return at === -1 ? '' : source.slice(at + BUILD_ID_MARK.length).trim();
}

function readCache(cacheFile, buildId) {
  if (!buildId) return undefined;
  let data;
  try {
    data = fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  if (data.length <= HEADER_BYTES || !data.subarray(0, HEADER_BYTES).equals(header(buildId))) return undefined;
  return data.subarray(HEADER_BYTES);
}

/**
 * Loads `file` (a CommonJS module) and returns its exports and the compiled
 * script (to write a cache from). With `useCache` false the cache is not read.
 */
function loadBundle(bundle, { useCache = true } = {}) {
  const file = path.resolve(bundle);
  // The bundle is ASCII (tools/bundle-cli.js checks), so latin1 reads the same text as utf8, in one
  // read into one buffer: Node 20's utf8 reader took it 8 KiB at a time into a growing buffer and
  // then decoded it (about 500 page faults against 300 for this 0.6 MB file).
  const source = fs.readFileSync(file, 'latin1');
  const cachedData = useCache ? readCache(`${file}.cache`, buildIdOf(source)) : undefined;
  // The bundle is already wrapped in Module.wrap's function, with one more parameter (the build
  // writes it so: a wrapper added here made V8 copy the whole source into a flat string before
  // compiling it). `import()` from code V8 took from a cache finds no dynamic-import callback in
  // Node 20, so the bundle imports files through this module's own import() (tools/bundle-cli.js
  // rewrites its calls to `__wardenImport`).
  const script = new vm.Script(source, { filename: file, cachedData });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, path.dirname(file), (specifier) => import(specifier));
  module.loaded = true;
  return { exports: module.exports, script, cacheRejected: cachedData === undefined ? undefined : script.cachedDataRejected };
}

/** Writes the code cache for `file` from a script that has run (so the functions it called are in it). */
function writeCache(file, script) {
  const buildId = buildIdOf(fs.readFileSync(file, 'utf8'));
  if (!buildId) throw new Error(`${file} has no build id: no cache is written for it`);
  fs.writeFileSync(`${file}.cache`, Buffer.concat([header(buildId), script.createCachedData()]));
}

module.exports = { loadBundle, writeCache };

// `node bin/load-bundle.cjs BUNDLE RUNS` (the build's training run): loads BUNDLE without its
// cache, runs its CLI once for each argument list in RUNS (a JSON array of arrays; output
// discarded), and writes the cache from what ran.
if (require.main === module) {
  const [bundle, runs] = process.argv.slice(2);
  const { exports, script } = loadBundle(bundle, { useCache: false });
  const discard = () => {};
  const io = {
    stdout: discard, stdoutBytes: discard, stdinBytes: () => new Uint8Array(0), stderr: (text) => process.stderr.write(text),
    env: {}, cwd: process.cwd(), debug: false, isTTY: false,
  };
  (async () => {
    for (const args of JSON.parse(runs)) {
      const code = await exports.main(args, io);
      if (code !== 0) throw new Error(`the training run ${args.join(' ')} exited ${code}`);
    }
    writeCache(bundle, script);
  })().catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  });
}
