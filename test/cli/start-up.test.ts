// How the CLI starts: its bundle compiled from V8's code cache when the cache
// was made for it (bin/load-bundle.cjs), and ignored or refused otherwise with
// the same behaviour; builtins a run does not use are never loaded.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { fixture, repoRoot, wardenBin } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { codeHashOf } from '../../src/sandbox/code-hash.js';

const require = createRequire(import.meta.url);
const { loadBundle } = require(join(repoRoot, 'bin', 'load-bundle.cjs')) as {
  loadBundle: (file: string, options?: { useCache?: boolean }) => { exports: { main: unknown }; cacheRejected: boolean | undefined };
};

/** A copy of bin/ and dist/cli/ (the CLI as installed), whose cache a test may spoil. */
function installedCopy(t: Parameters<typeof tempDir>[0]): { bin: string; bundle: string } {
  const top = tempDir(t);
  cpSync(join(repoRoot, 'bin'), join(top, 'bin'), { recursive: true });
  mkdirSync(join(top, 'dist'));
  cpSync(join(repoRoot, 'dist', 'cli'), join(top, 'dist', 'cli'), { recursive: true, preserveTimestamps: true });
  return { bin: join(top, 'bin', 'warden.cjs'), bundle: join(top, 'dist', 'cli', 'warden.cjs') };
}

const hello = (bin: string) => spawnSync(process.execPath, [bin, 'run', fixture('c', 'hello.wasm')], { encoding: 'utf8' });

// Each CLI bundle with a command bin/warden.cjs loads it for: `warden run` the run-only bundle, every other command the whole CLI's.
const cliBundles = [
  { file: 'warden-run.cjs', command: (bin: string) => hello(bin), expected: 'hello from wasm-warden\n' },
  { file: 'warden.cjs', command: (bin: string) => spawnSync(process.execPath, [bin, 'inspect', fixture('c', 'hello.wasm')], { encoding: 'utf8' }), expected: null },
];
const pristine = (command: (bin: string) => ReturnType<typeof hello>) => command(wardenBin).stdout;

for (const { file, command, expected } of cliBundles) describe(`the CLI bundle ${file} and its code cache`, () => {
  const builtBundle = join(repoRoot, 'dist', 'cli', file);
  const copyOf = (t: Parameters<typeof tempDir>[0]) => {
    const { bin, bundle } = installedCopy(t);
    return { bin, bundle: join(bundle, '..', file) };
  };
  const runsAsBuilt = (bin: string) => {
    const r = command(bin);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected ?? pristine(command));
    return r;
  };

  it('the build writes a cache that this Node accepts', () => {
    assert.ok(existsSync(`${builtBundle}.cache`), `npm run build writes dist/cli/${file}.cache`);
    const loaded = loadBundle(builtBundle);
    assert.equal(loaded.cacheRejected, false);
    assert.equal(typeof loaded.exports.main, 'function');
  });

  it('the bundle is ASCII and one function expression, as bin/load-bundle.cjs reads and compiles it', () => {
    // Read as latin1 (one read, no utf8 decoding) and compiled as it is (no wrapper concatenated and
    // flattened on each start): both need the build to have written it so.
    const bytes = readFileSync(builtBundle);
    assert.ok(!bytes.some((byte) => byte > 0x7f), 'a byte outside ASCII would read differently as latin1');
    const source = bytes.toString('latin1');
    assert.ok(source.startsWith('(function (exports, require, module, __filename, __dirname, __wardenImport) {'), source.slice(0, 80));
    assert.match(source, /\n\}\);\n\/\/ warden-build \S+\s*$/);
  });

  it('ignores a cache made for another build of the bundle (the build id on its last line)', (t) => {
    const { bin, bundle } = copyOf(t);
    // The same cache beside a bundle of another build (same length, another id): not offered to V8 at all.
    const source = readFileSync(bundle, 'utf8');
    const id = /\/\/ warden-build (\S+)\s*$/.exec(source)![1]!;
    writeFileSync(bundle, source.replace(`// warden-build ${id}`, `// warden-build ${id.replace(/[0-9a-f]/g, '0')}`));
    assert.equal(loadBundle(bundle).cacheRejected, undefined);
    runsAsBuilt(bin);
  });

  it('runs the same when V8 refuses the cache', (t) => {
    const { bin, bundle } = copyOf(t);
    const cache = readFileSync(`${bundle}.cache`);
    cache.fill(0x5a, 64);
    writeFileSync(`${bundle}.cache`, cache);
    assert.equal(loadBundle(bundle).cacheRejected, true);
    assert.equal(runsAsBuilt(bin).stderr, '');
  });

  it('runs the same with no cache', (t) => {
    const { bin, bundle } = copyOf(t);
    rmSync(`${bundle}.cache`);
    assert.equal(loadBundle(bundle).cacheRejected, undefined);
    runsAsBuilt(bin);
  });
});

describe('which bundle a command loads', () => {
  it('warden run loads the run-only bundle, which holds no other command; every other command the whole CLI', (t) => {
    const { bin, bundle } = installedCopy(t);
    rmSync(bundle);
    // Without the whole CLI's bundle, run still runs and another command says the CLI is not built.
    assert.equal(hello(bin).stdout, 'hello from wasm-warden\n');
    const check = spawnSync(process.execPath, [bin, 'check', fixture('c', 'hello.wasm')], { encoding: 'utf8' });
    assert.equal(check.status, 2);
    assert.match(check.stderr, /the CLI is not built/);
    const written: string[] = [];
    const io = { stdout: (text: string) => written.push(text), stderr: (text: string) => written.push(text), env: {}, cwd: process.cwd(), debug: false };
    const runOnly = loadBundle(join(repoRoot, 'dist', 'cli', 'warden-run.cjs')).exports as { main: (argv: string[], io: object) => Promise<number> };
    return runOnly.main(['serve'], io).then((code) => {
      assert.equal(code, 2);
      assert.match(written.join(''), /unknown command 'serve'/);
    });
  });
});

describe('what a run loads', () => {
  // node:crypto is not in this list: a first run makes the cache's key file with it (randomBytes).
  /** Runs `warden ARGS` in a fresh process (stdout to a file) and answers the builtins it loaded, and what it printed. */
  function builtinsLoadedBy(t: Parameters<typeof tempDir>[0], args: string[]): { loaded: string[]; stdout: string } {
    const probe = join(tempDir(t), 'probe.cjs');
    writeFileSync(probe, `
      const before = new Set(process.moduleLoadList);
      process.argv = [process.argv[0], ${JSON.stringify(wardenBin)}, ...${JSON.stringify(args)}];
      require(${JSON.stringify(wardenBin)});
      process.on('exit', () => require('node:fs').writeSync(2, JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m)))));
    `);
    // stdout to a file, as a benchmark's /dev/null: a pipe from spawn is a socket, which needs node:net.
    const out = join(tempDir(t), 'out');
    const r = spawnSync(process.execPath, [probe], { encoding: 'utf8', stdio: ['ignore', openSync(out, 'w'), 'pipe'] });
    assert.equal(r.status, 0, r.stderr);
    return { loaded: JSON.parse(r.stderr) as string[], stdout: readFileSync(out, 'utf8') };
  }

  it('warden run in isolation none loads neither worker threads, nor child processes, nor a stdout stream or tty', (t) => {
    const { loaded, stdout } = builtinsLoadedBy(t, ['run', fixture('c', 'hello.wasm')]);
    assert.equal(stdout, 'hello from wasm-warden\n');
    // node:os among them: the native helper names its errors through node:util, which Node loads to start.
    for (const name of ['worker_threads', 'child_process', 'net', 'dgram', 'tty', 'internal/fs/sync_write_stream', 'http', 'os']) {
      assert.ok(!loaded.includes(`NativeModule ${name}`), `${name} was loaded: ${loaded.join(', ')}`);
    }
  });

  it('a run of a small module from the prepared-module cache loads neither node:v8 nor node:crypto', (t) => {
    // node:v8 sets V8's lazy-validation flag for large modules only: loading it costs a start
    // as much as node:crypto, and revalidating a small module costs less. The cache's digests and
    // MAC go through the native helper (src/sandbox/digest.ts): node:crypto's module graph was
    // about 15 M instructions of a 173 M start.
    const data = join(tempDir(t), 'data');
    const runs = [0, 1].map(() => builtinsLoadedBy(t, ['run', '--data-dir', data, fixture('c', 'hello.wasm')]));
    for (const { stdout } of runs) assert.equal(stdout, 'hello from wasm-warden\n');
    assert.ok(readdirSync(join(data, 'cache'), { recursive: true }).length > 0, 'the first run wrote a cache entry');
    const { loaded } = runs[1]!;
    assert.ok(!loaded.includes('NativeModule v8'), `v8 was loaded: ${loaded.join(', ')}`);
    assert.ok(!loaded.includes('NativeModule crypto'), `crypto was loaded: ${loaded.join(', ')}`);
  });

  it('a guest reading coarse clocks and random bytes loads neither Web Crypto, node:crypto nor perf_hooks (nor does making the cache key)', (t) => {
    // A fresh process paid about 7 ms for Web Crypto's first random byte (node:crypto, its streams,
    // WebIDL) and 2 ms for performance.now()'s perf_hooks; the native helper (native/random.c)
    // draws from the same generator, and the coarse clocks read process.hrtime.
    if (!existsSync(join(repoRoot, 'dist', 'native', 'random.node'))) {
      t.skip('the native random helper is not built here (no C compiler or Node headers)');
      return;
    }
    // The first run in a new data dir also makes the cache's key (32 random bytes).
    const data = join(tempDir(t), 'data');
    const { loaded, stdout } = builtinsLoadedBy(t, ['run', '--data-dir', data, fixture('c', 'bench', 'clocks.wasm'), '--', '1000', '100']);
    assert.match(stdout, /\S/, 'the guest printed its result');
    for (const name of ['internal/crypto/webcrypto', 'crypto', 'internal/crypto/random', 'perf_hooks', 'internal/perf/performance']) {
      assert.ok(!loaded.includes(`NativeModule ${name}`), `${name} was loaded: ${loaded.join(', ')}`);
    }
  });

  it('a run from the prepared-module cache loads none of admission, the decoder or the rewriter (a miss loads them)', (t) => {
    // They are a third of the modules `warden run` imported and a fifth of what a start allocated
    // (their tables), enough to cost a scavenge; a hit reads a stored verdict and rewritten bytes.
    // Watched through the library's ESM graph, whose imports the CLI bundle's lazy module
    // initialisers follow: a module hook records every file of dist/src loaded.
    const dir = tempDir(t);
    const hook = join(dir, 'hook.mjs');
    writeFileSync(hook, `import { appendFileSync } from 'node:fs';
      export async function load(url, context, next) {
        if (url.includes('/dist/src/')) appendFileSync(process.env.WARDEN_LOADED, url.slice(url.indexOf('/dist/src/') + 10) + '\\n');
        return next(url, context);
      }`);
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hook).href)});`);
    const script = join(dir, 'run.mjs');
    writeFileSync(script, `import { createSandbox } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'src', 'sandbox', 'sandbox.js')).href)};
      import { readFileSync } from 'node:fs';
      const sandbox = await createSandbox({}, { oneShot: true, cacheDir: ${JSON.stringify(join(dir, 'cache'))} });
      const result = await sandbox.run(new Uint8Array(readFileSync(${JSON.stringify(fixture('c', 'hello.wasm'))})));
      await sandbox.close();
      process.exitCode = result.exitCode;`);
    const loadedBy = (name: string): string[] => {
      const list = join(dir, name);
      writeFileSync(list, '');
      const r = spawnSync(process.execPath, ['--no-warnings', '--import', pathToFileURL(register).href, script], { encoding: 'utf8', env: { ...process.env, WARDEN_LOADED: list } });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(list, 'utf8').split('\n').filter(Boolean);
    };
    const missOnly = ['sandbox/prepare.js', 'sandbox/admission.js', 'binary/decode.js', 'binary/body-walk.js', 'binary/opcodes.js', 'transform/index.js', 'signing/verify.js'];
    const miss = loadedBy('miss');
    for (const file of missOnly) assert.ok(miss.includes(file), `the first run (a miss) loads ${file}: the hook sees it`);
    const hit = loadedBy('hit');
    assert.ok(hit.includes('sandbox/prepared-store.js'), 'the second run reads the store');
    assert.deepEqual(missOnly.filter((file) => hit.includes(file)), [], 'the second run (a hit) loads none of them');
  });

  it('each CLI bundle carries the hash of the library it was built from, so all read the same cache entries', () => {
    // Hashed at bundle time, not on each start (src/sandbox/code-hash.ts).
    for (const { file } of cliBundles) {
      const bundle = readFileSync(join(repoRoot, 'dist', 'cli', file), 'utf8');
      assert.ok(bundle.includes(codeHashOf(join(repoRoot, 'dist', 'src'))), file);
    }
  });

  it('the builtins loaded on first use still work where a command uses them (keygen: node:crypto)', (t) => {
    const key = join(tempDir(t), 'k');
    const r = spawnSync(process.execPath, [wardenBin, 'keygen', '--out', key], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(key) && existsSync(`${key}.pub`));
  });
});
