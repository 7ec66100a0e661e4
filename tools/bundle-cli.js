#!/usr/bin/env node
// Bundles the compiled CLI into one CommonJS file (dist/cli/warden.cjs; `warden run` alone
// into dist/cli/warden-run.cjs, which bin/warden.cjs loads for that command), and
// each isolate entry (pool worker, process child, preparing worker) into one
// CommonJS file beside it, which the bundled sandbox starts instead of the ESM
// entries under dist/src. Node 20's ESM loader resolves, loads and links each
// module asynchronously, which cost `warden run` about 5 ms per start on 25
// small files, and each new isolate pays it again (docs/RATIONALE.md).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild-wasm';
import { codeHashOf } from '../dist/src/sandbox/code-hash.js';

rmSync('dist/cli', { recursive: true, force: true });

// Builtins that only some commands or modes use, loaded when first used rather than when the
// bundle starts: a module that imports `createHash` gets a getter that requires node:crypto on
// first call. `warden run` in isolation none never touches most of them, and loading node:crypto
// alone took 2-6 ms of a start (docs/RATIONALE.md).
const LAZY_BUILTINS = ['node:crypto', 'node:module', 'node:worker_threads', 'node:child_process', 'node:http', 'node:https', 'node:v8'];
const requireHere = createRequire(import.meta.url);
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    // `import('node:...')` becomes a require too: code loaded from V8's code cache has no
    // dynamic-import callback in Node 20 ("A dynamic import callback was not specified").
    build.onResolve({ filter: /^node:/ }, (args) =>
      (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'lazy-builtin' } : undefined));
    build.onResolve({ filter: new RegExp(`^(${LAZY_BUILTINS.join('|')})$`) }, (args) =>
      // The getters' own require is the real builtin.
      args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' });
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      // The names are this Node's; a name another Node lacks reads as undefined, as a plain import would.
      const names = Object.keys(requireHere(args.path)).filter((name) => name !== 'default');
      const getters = names.map((name) => `  get ${JSON.stringify(name)}() { return load()[${JSON.stringify(name)}]; },`).join('\n');
      // The getters live on the exports' prototype, not on the exports: each importing module's
      // `__toESM` copies a module's own properties one by one into an object made from that
      // prototype, and with ~70 own getters per builtin and 30 importers that copying alone
      // allocated about 450 KB as the CLI started, a young generation's worth (docs/RATIONALE.md).
      return {
        loader: 'js',
        contents: `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(args.path)}));\nmodule.exports = Object.create({\n${getters}\n  get default() { return load(); },\n});\n`,
      };
    });
  },
};
const bundles = {
  'dist/cli/warden.cjs': 'dist/src/cli/main.js',
  // `warden run` alone, which bin/warden.cjs loads for that command: a start reads and deserialises
  // less than the whole CLI (docs/RATIONALE.md).
  'dist/cli/warden-run.cjs': 'dist/src/cli/run-main.js',
  'dist/cli/worker-entry.cjs': 'dist/src/sandbox/worker-entry.js',
  'dist/cli/process-entry.cjs': 'dist/src/sandbox/process-entry.js',
  'dist/cli/prepare-worker.cjs': 'dist/src/sandbox/prepare-worker.js',
};
/** The bundles bin/warden.cjs loads through bin/load-bundle.cjs, each with its code cache. */
const CLI_BUNDLES = ['dist/cli/warden.cjs', 'dist/cli/warden-run.cjs'];
/**
 * In the CLI bundle, `import(expression)` (a file named at run time) calls `__wardenImport`,
 * which bin/load-bundle.cjs supplies: V8's code cache drops the callback import() needs.
 */
const importThroughLoader = {
  name: 'import-through-loader',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const rewritten = source.replace(/\bimport\((?!\s*['"`])/g, '__wardenImport(');
      return rewritten === source ? undefined : { contents: rewritten, loader: 'js' };
    });
  },
};

// The hash of dist/src that keys prepared-module entries (src/sandbox/code-hash.ts), computed
// here once rather than by hashing the bundle on every start.
const codeHash = codeHashOf('dist/src');
// The version too: `--version` and the prepared-module cache's key read it, and a bundle is rebuilt
// with the package.
const packageVersion = JSON.parse(readFileSync('package.json', 'utf8')).version;
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
  define: { WARDEN_CODE_HASH: JSON.stringify(codeHash), WARDEN_VERSION: JSON.stringify(packageVersion) },
  plugins: CLI_BUNDLES.includes(outfile) ? [lazyBuiltins, importThroughLoader] : [lazyBuiltins],
  // The CLI bundle is one function expression (Module.wrap's wrapper and `__wardenImport`), which
  // bin/load-bundle.cjs compiles as it is read; its last line names its build, and its code cache is
  // used only with the same id.
  ...(CLI_BUNDLES.includes(outfile) ? {
    banner: { js: '(function (exports, require, module, __filename, __dirname, __wardenImport) {' },
    footer: { js: `\n});\n// warden-build ${randomUUID()}` },
  } : {}),
});

for (const file of CLI_BUNDLES) {
  // No dynamic import() may be left in a CLI bundle: under the code cache it would fail (above).
  const cliBundle = readFileSync(file);
  if (/\bimport\(/.test(cliBundle.toString('latin1'))) throw new Error(`bundle-cli: ${file} has a dynamic import(); make it a require`);
  // bin/load-bundle.cjs reads the bundle as latin1, which is its utf8 text only while every byte is ASCII
  // (esbuild escapes any other character by default).
  if (cliBundle.some((byte) => byte > 0x7f)) throw new Error(`bundle-cli: ${file} has a byte outside ASCII; bin/load-bundle.cjs reads it as latin1`);
}

// V8's code cache for each CLI bundle (bin/load-bundle.cjs reads it): written after real
// `warden run`s (hello; files created, read, stat'ed and removed; clocks and randomness), so it
// holds the bytecode of every function such runs call, not only the top level (the whole CLI's
// bundle serves `call` and `serve`, which share the sandbox and the WASI host with a run). Made
// with this Node; another Node's V8 refuses it and compiles as before.
const scratch = mkdtempSync(join(tmpdir(), 'warden-cache-training-'));
try {
  // Each run twice with a data dir: the first prepares the module and writes its cache entry,
  // the second reads it back, so both paths are in the code cache (a user's second run of a
  // module is the common one). The run-only bundle's cache holds the second path alone: its
  // training runs against a data dir an earlier pass filled, so admission, the decoder and the
  // rewriter stay out of what every start deserialises (557 -> 426 KB; a miss compiles them from
  // the source, which measured the same for a cold hello, docs/RATIONALE.md).
  const train = (file, runs) => spawnSync(process.execPath, ['bin/load-bundle.cjs', file, JSON.stringify(runs)], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const [index, file] of CLI_BUNDLES.entries()) {
    const data = join(scratch, `data-${index}`);
    const runs = [
      ['run', '--data-dir', data, '--dir', `${scratch}::/sandbox`, 'test/fixtures/c/hello.wasm'],
      ['run', '--data-dir', data, '--dir', `${scratch}::/sandbox`, 'test/fixtures/c/bench/files.wasm', '--', '/sandbox', '20'],
      ['run', '--data-dir', data, '--clock', 'real', 'test/fixtures/c/bench/clocks.wasm', '--', '1000', '100'],
    ].flatMap((args) => [args, args]);
    if (file === 'dist/cli/warden-run.cjs') train(file, runs);
    const training = train(file, runs);
    if (training.status !== 0) console.log(`bundle-cli: the code-cache training run of ${file} failed; the CLI will compile it on each start`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
