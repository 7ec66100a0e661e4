// The package as a user gets it: `npm pack`, then `npm install` of the tarball
// into a new npm project, with no network (the runtime dependencies are packed
// from this checkout's node_modules). From there: the `warden` binary runs the
// bundled example and prints one-line errors, the library imports and runs a
// module, and its types reject a unit-less size at compile time. Also: a clone
// that was never built says what to run instead of printing a stack.

import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

function sh(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 120_000 });
  if (result.error) throw result.error;
  return result;
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.status, 0, `${what}: ${result.stderr}`);
  return result.stdout;
}

describe('the packed package, installed into a new project', { timeout: 240_000 }, () => {
  let app = '';
  let work = '';
  after(() => { if (work) rmSync(work, { recursive: true, force: true }); });
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'warden-pack-'));
    // Scripts are skipped: the test run has just built dist/ (a `prepare` build here would rewrite it under the running tests).
    const packed = JSON.parse(ok(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], repoRoot), 'npm pack')) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = new Set(packed[0]!.files.map((f) => f.path));
    for (const needed of ['bin/warden.cjs', 'dist/cli/warden.cjs', 'dist/cli/warden-run.cjs', 'dist/cli/warden-run.cjs.cache', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/sandbox/worker-entry.js', 'dist/cli/worker-entry.cjs', 'dist/cli/process-entry.cjs', 'dist/cli/prepare-worker.cjs', 'examples/hello.wasm', 'README.md']) {
      assert.ok(files.has(needed), `the tarball holds ${needed}`);
    }
    assert.ok(![...files].some((f) => f.startsWith('dist/test/') || f.startsWith('src/')), 'no tests or sources in the tarball');
    // The optional native helpers this build made (N-API: any Node >= 20 on this platform loads them);
    // left out, an installed package fell back to Node for every one of them.
    const helpers = existsSync(join(repoRoot, 'dist/native')) ? readdirSync(join(repoRoot, 'dist/native')).filter((f) => f.endsWith('.node')) : [];
    for (const helper of helpers) assert.ok(files.has(`dist/native/${helper}`), `the tarball holds dist/native/${helper}`);
    const tarballs = [join(work, packed[0]!.filename)];
    const { dependencies = {} } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const name of Object.keys(dependencies)) {
      const tarball = join(work, `${name.replace(/\//g, '-')}.tgz`);
      ok(sh('tar', ['-czf', tarball, `--transform=s,^${name},package,`, '-C', join(repoRoot, 'node_modules'), name], work), `tar ${name}`);
      tarballs.push(tarball);
    }
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    ok(sh('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], app), 'npm install');
  });

  it('the warden binary runs the bundled example, and errors are one line', () => {
    const warden = join(app, 'node_modules', '.bin', 'warden');
    const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
    assert.equal(ok(sh(warden, ['--version'], app), 'version'), `wasm-warden ${version}\n`);
    assert.equal(ok(sh(warden, ['run', 'node_modules/wasm-warden/examples/hello.wasm'], app), 'run'), 'hello from wasm-warden\n');
    // The installed CLI starts its bundled isolate entries; a process child must be allowed to read its own.
    assert.equal(ok(sh(warden, ['run', '--isolation', 'thread', 'node_modules/wasm-warden/examples/hello.wasm'], app), 'run in a worker'), 'hello from wasm-warden\n');
    assert.equal(ok(sh(warden, ['run', '--isolation', 'process', 'node_modules/wasm-warden/examples/hello.wasm'], app), 'run in a child process'), 'hello from wasm-warden\n');
    const missing = sh(warden, ['run', 'missing.wasm'], app);
    assert.equal(missing.status, 125);
    assert.equal(missing.stderr, 'warden run: missing.wasm: no such file\n');
  });

  it('the library imports and runs a module, in a worker isolate and in a child process', () => {
    writeFileSync(join(app, 'main.js'), `
import { readFileSync } from 'node:fs';
import { createSandbox, inspect } from 'wasm-warden';
const bytes = readFileSync('node_modules/wasm-warden/examples/hello.wasm');
const report = inspect(bytes);
const sandbox = await createSandbox({ limits: { memory: '64MiB', timeout: '2s' } });
const result = await sandbox.run(bytes, { args: ['hello', 'library'] });
await sandbox.close();
console.log(report.findings.length >= 0, result.exitCode, new TextDecoder().decode(result.stdout).trim());
const child = await createSandbox({ isolation: 'process', limits: { memory: '64MiB', timeout: '2s' } });
const fromChild = await child.run(bytes, { args: ['hello', 'child'] });
await child.close();
console.log(fromChild.exitCode, new TextDecoder().decode(fromChild.stdout).trim());
try { await createSandbox({ limits: { memory: 64 } }); } catch (error) { console.log(error.message); }
`);
    const out = ok(sh(process.execPath, ['main.js'], app), 'node main.js');
    assert.equal(out, "true 0 hello from wasm-warden, library\n0 hello from wasm-warden, child\nlimits.memory: 64 is a bare number; give the unit, e.g. '64MiB', '1GiB' or '4096B' (units: B, KiB, MiB, GiB, TiB, KB, MB, GB)\n");
  });

  it('the types catch a unit-less size and a misspelt key at compile time', () => {
    writeFileSync(join(app, 'typed.ts'), `
import { createSandbox, type PolicyInput } from 'wasm-warden';
const good: PolicyInput = { mount: [{ host: './data', guest: '/data', mode: 'ro' }], clock: 'coarse:1ms', limits: { memory: '64MiB', timeout: '2s', fuel: 1e9 } };
const bad: PolicyInput = { limits: { memory: 64 } };
const typo: PolicyInput = { limits: { memroy: '64MiB' } };
export const sandbox = createSandbox(good);
export { bad, typo };
`);
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = sh(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', 'typed.ts'], app);
    assert.equal(r.status, 2, r.stdout);
    const errors = r.stdout.trim().split('\n').filter((l) => /error TS/.test(l));
    assert.equal(errors.length, 2, r.stdout);
    assert.match(errors[0]!, /^typed\.ts\(4,\d+\): error TS2322: Type 'number' is not assignable to type '`\$\{number\}B` \|/);
    assert.match(errors[1]!, /^typed\.ts\(5,\d+\): error TS\d+: .*'memroy' does not exist in type 'LimitsInput'/);
  });
});

describe('a clone that was never built', () => {
  it('says what to run, in one line, rather than a stack trace', (t) => {
    const clone = tempDir(t);
    mkdirSync(join(clone, 'bin'));
    copyFileSync(join(repoRoot, 'bin', 'warden.cjs'), join(clone, 'bin', 'warden.cjs'));
    const r = sh(process.execPath, [join(clone, 'bin', 'warden.cjs'), '--version'], clone);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^warden: the CLI is not built \(.*dist\/cli\/warden\.cjs is missing\); run 'npm run build' in /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});
