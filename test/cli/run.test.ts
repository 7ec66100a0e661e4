import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

async function watFile(t: Parameters<typeof tempDir>[0], name: string): Promise<string> {
  const path = join(tempDir(t), `${name}.wasm`);
  writeFileSync(path, await watFixture(name));
  return path;
}

describe('warden run', () => {
  it('runs a module, passing arguments after --, with the module path as argv[0]', async () => {
    const r = await runWarden(['run', fixture('c', 'hello.wasm'), '--', 'there']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from wasm-warden, there\n');
  });

  it('exits with the guest\'s own exit code', async () => {
    const r = await runWarden(['run', fixture('c', 'wasi', 'basics.wasm'), '42']);
    assert.equal(r.code, 42);
    assert.match(r.stdout, /argv\[0\] .*basics\.wasm/);
  });

  it('grants exactly the environment given, nothing of its own', async () => {
    const r = await runWarden(['run', '--env', 'ONLY=this', fixture('c', 'wasi', 'basics.wasm')], { env: { WARDEN_CANARY: 'secret' } });
    assert.match(r.stdout, /env ONLY=this\nenv count 1\n/);
    assert.ok(!r.stdout.includes('secret'));
    assert.ok(!r.stdout.includes('PATH='));
  });

  it('maps --dir HOST::GUEST and --dir HOST, matching Wasmtime on the conformance program', async (t) => {
    const dir = tempDir(t);
    const sandbox = join(dir, 'sandbox');
    mkdirSync(sandbox);
    const r = await runWarden(['run', '--dir', `${sandbox}::/sandbox`, fixture('c', 'wasi', 'fs_conformance.wasm')]);
    assert.equal(r.code, 0, r.stderr);
    // Wasmtime's output, but for one deliberate departure (docs/wasi.md, "links the guest makes"):
    // wasm-warden refuses to create links that lead out of the mount, where Wasmtime creates them
    // and then refuses to follow them.
    const departures: Record<string, string> = {
      'symlink out -> ../../etc': 'EPERM',
      'open out/passwd': 'ENOENT',
      'stat out': 'ENOENT',
      'symlink dangling -> ../escape': 'EPERM',
      'create through dangling': 'OK',
    };
    const wasmtime = readFileSync(fixture('c', 'wasi', 'fs_conformance.expected'), 'utf8');
    const expected = wasmtime.replace(/^(.{35})(\S+)$/gm, (line, step: string, result: string) => step + (departures[step.trim()] ?? result));
    assert.equal(r.stdout, expected);
    assert.deepEqual(readdirSync(dir), ['sandbox']);
  });

  it('--dir-ro refuses writes', async (t) => {
    const dir = tempDir(t);
    const r = await runWarden(['run', '--dir-ro', `${dir}::/scratch`, fixture('c', 'wasi', 'exhaust.wasm'), 'files']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^files 0 /);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('--tmpfs gives an empty scratch directory that is gone afterwards', async () => {
    const r = await runWarden(['run', '--tmpfs', '/scratch', '--max-files', '3', fixture('c', 'wasi', 'exhaust.wasm'), 'files']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'files 3 EDQUOT\n');
  });

  it('--max-fds gives EMFILE, --max-write gives EDQUOT, and the guest goes on', async (t) => {
    const fds = await runWarden(['run', '--tmpfs', '/scratch', '--max-fds', '10', fixture('c', 'wasi', 'exhaust.wasm'), 'fds']);
    assert.equal(fds.stdout, 'fds 6 EMFILE\n'); // 3 stdio + 1 preopen + 6 = 10
    const write = await runWarden(['run', '--dir', `${tempDir(t)}::/scratch`, '--max-write', '10KiB', fixture('c', 'wasi', 'exhaust.wasm'), 'write']);
    assert.equal(write.stdout, 'write 10240 EDQUOT\n');
  });

  it('a spinning guest ends at --timeout with 134 and a one-line reason', async (t) => {
    const r = await runWarden(['run', '--timeout', '200ms', await watFile(t, 'wasi-spin')]);
    assert.equal(r.code, 134);
    assert.match(r.stderr, /deadline/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('poll_oneoff cannot sleep past the deadline', async (t) => {
    const started = Date.now();
    const r = await runWarden(['run', '--timeout', '300ms', await watFile(t, 'wasi-sleep')]);
    assert.equal(r.code, 134);
    assert.match(r.stderr, /deadline/);
    assert.ok(Date.now() - started < 30_000);
  });

  it('an output flood ends at --max-output with 134', async (t) => {
    const r = await runWarden(['run', '--max-output', '1MiB', await watFile(t, 'wasi-flood')]);
    assert.equal(r.code, 134);
    assert.match(r.stderr, /output-limit/);
    assert.ok(r.stdout.length <= 1024 * 1024);
  });

  it('--stdin feeds a file; the default inherits stdin', async (t) => {
    const input = join(tempDir(t), 'in.txt');
    writeFileSync(input, 'x'.repeat(10_000));
    const fromFile = await runWarden(['run', '--env', 'READ_STDIN=1', '--stdin', input, fixture('c', 'wasi', 'basics.wasm')]);
    assert.match(fromFile.stdout, /stdin bytes 10000/);
    const inherited = await runWarden(['run', '--env', 'READ_STDIN=1', fixture('c', 'wasi', 'basics.wasm')], { input: 'abc' });
    assert.match(inherited.stdout, /stdin bytes 3/);
  });

  it('--report writes the run record', async (t) => {
    const dir = tempDir(t);
    const report = join(dir, 'report.json');
    const r = await runWarden(['run', '--report', report, '--timeout', '200ms', await watFile(t, 'wasi-spin')]);
    assert.equal(r.code, 134);
    const record = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(record.exitCode, null);
    assert.equal(record.trap.kind, 'deadline');
    assert.deepEqual(record.limitsHit, ['timeout']);
    assert.equal(typeof record.usage.wallMs, 'number');
    const ok = join(dir, 'ok.json');
    await runWarden(['run', '--report', ok, '--tmpfs', '/scratch', '--max-files', '2', fixture('c', 'wasi', 'exhaust.wasm'), 'files']);
    const okRecord = JSON.parse(readFileSync(ok, 'utf8'));
    assert.equal(okRecord.exitCode, 0);
    assert.deepEqual(okRecord.limitsHit, ['max-files']);
    assert.ok(okRecord.denied.some((d: { errno: string }) => d.errno === 'DQUOT'));
    assert.equal(okRecord.usage.filesCreated, 2);
  });

  it('refuses with 125 before the guest runs: bad flags, missing or broken modules, no _start', async (t) => {
    const dir = tempDir(t);
    const cases: Array<[string[], RegExp]> = [
      [['run'], /needs a module/],
      [['run', '--bogus', 'x.wasm'], /unknown flag/],
      [['run', '--max-fds', 'many', fixture('c', 'hello.wasm')], /not a whole number/],
      [['run', '--clock', 'sundial', fixture('c', 'hello.wasm')], /unknown clock policy/],
      [['run', join(dir, 'missing.wasm')], /no such file/],
      [['run', '--dir', join(dir, 'nope'), fixture('c', 'hello.wasm')], /directory .*nope does not exist/],
      [['run', await watFile(t, 'audit-clean').then(() => fixture('wat', 'audit-clean.wat'))], /WebAssembly text/],
    ];
    for (const [args, message] of cases) {
      const r = await runWarden(args);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const noStart = join(dir, 'lib.wasm');
    writeFileSync(noStart, await watFixture('audit-threads'));
    const r = await runWarden(['run', noStart]);
    assert.equal(r.code, 125);
  });
});

describe('warden run --file', () => {
  it('grants one host file read-only, alone in its guest directory', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'app.conf'), 'setting = 1\n');
    writeFileSync(join(dir, 'neighbour.secret'), 'not granted\n');
    const r = await runWarden(['run', '--file', `${join(dir, 'app.conf')}::/etc/app.conf`, fixture('c', 'wasi', 'cat.wasm'), '--', '/etc/app.conf']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'setting = 1\nwrite: Read-only file system\nentry: app.conf\n');
    assert.equal(readFileSync(join(dir, 'app.conf'), 'utf8'), 'setting = 1\n');
    const missing = await runWarden(['run', '--file', `${join(dir, 'nope')}::/etc/x`, fixture('c', 'wasi', 'cat.wasm'), '--', '/etc/x']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /file .*nope does not exist/);
  });
});

describe('warden run: one orchestrator, the policy as the source of the mode', () => {
  it('the policy file chooses the isolation; --isolation overrides it; without a policy the guest runs here', async (t) => {
    const dir = tempDir(t);
    const policy = join(dir, 'p.toml');
    writeFileSync(policy, 'isolation = "process"\n');
    const modes: Array<[string[], string]> = [
      [['--policy', policy], 'process'],
      [['--policy', policy, '--isolation', 'thread'], 'thread'],
      [[], 'none'],
    ];
    for (const [flags, expected] of modes) {
      const report = join(dir, `${expected}.json`);
      const r = await runWarden(['run', ...flags, '--report', report, fixture('c', 'hello.wasm'), '--', 'x']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'hello from wasm-warden, x\n');
      assert.equal(JSON.parse(readFileSync(report, 'utf8')).isolation, expected, flags.join(' '));
    }
    const bad = await runWarden(['run', '--isolation', 'fiber', fixture('c', 'hello.wasm')]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /not none, thread or process/);
  });

  it('writes reports as docs/report.md specifies them: version, fields, trap kinds', async (t) => {
    const doc = readFileSync(fixture('..', '..', 'docs', 'report.md'), 'utf8');
    const schema = JSON.parse(/## JSON Schema\s+```json\n([\s\S]+?)\n```/.exec(doc)![1]!);
    const { REPORT_VERSION, TRAP_KINDS } = await import('../../src/wasi/trap.js');
    assert.equal(schema.properties.version.const, REPORT_VERSION);
    const kinds = schema.properties.trap.oneOf[1].properties.kind.enum;
    assert.deepEqual([...kinds].sort(), [...TRAP_KINDS].sort());
    for (const kind of ['stack-guard', 'null-guard', 'rodata-write', 'host-function', 'unknown-import']) assert.ok(kinds.includes(kind), kind);
    const report = join(tempDir(t), 'r.json');
    await runWarden(['run', '--report', report, '--timeout', '200ms', await watFile(t, 'wasi-spin')]);
    const record = JSON.parse(readFileSync(report, 'utf8'));
    assert.deepEqual(Object.keys(record).sort(), [...schema.required].sort());
    assert.equal(record.version, REPORT_VERSION);
  });
});
