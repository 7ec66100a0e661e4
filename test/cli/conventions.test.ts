// The CLI conventions, command by command: `warden help CMD` equals
// `warden CMD --help`; --version/-V; "did you mean" for slips; --json on every
// command that prints a result; store digests wherever a module is taken;
// `--env NAME` inherits one variable; colour only on a terminal; `-` is stdin;
// awkward file names; the usage and exit statuses; a closed stdout.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { colourWanted } from '../../src/cli/colour.js';
import { commands } from '../../src/cli/commands/index.js';
import { closest } from '../../src/cli/suggest.js';
import { runWarden } from '../helpers/cli.js';
import { fixture, repoRoot, wardenBin } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const hello = fixture('c', 'hello.wasm');
const oneLine = (text: string) => text.trim().split('\n').length === 1;

describe('CLI conventions', () => {
  it('warden help CMD prints exactly what warden CMD --help and -h print, for every command, exit statuses included', async () => {
    for (const name of Object.keys(commands)) {
      const viaHelp = await runWarden(['help', name]);
      const viaFlag = await runWarden([name, '--help']);
      const viaShort = await runWarden([name, '-h']);
      assert.equal(viaHelp.code, 0, `${name}: ${viaHelp.stderr}`);
      assert.match(viaHelp.stdout, new RegExp(`^usage: warden ${name}\\b`));
      assert.equal(viaHelp.stdout, viaFlag.stdout, name);
      assert.equal(viaHelp.stdout, viaShort.stdout, name);
      assert.match(viaHelp.stdout, /\bExit\b|\bexits 0\b/, `${name} --help does not state its exit statuses`);
      assert.match(viaHelp.stdout, /\b(2|125)\b/, `${name} --help does not name its exit status for bad usage`);
    }
  });

  it('--version and -V print the package version, and the help lists them', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = await runWarden([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `wasm-warden ${version}\n`);
    }
    const help = await runWarden(['--help']);
    assert.match(help.stdout, /--version, -V/);
    assert.match(help.stdout, /warden help <command>/);
  });

  it('a mistyped command or flag gets one line naming the closest one (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['rnu', 'x.wasm'], /unknown command 'rnu' \(did you mean run\?\)/],
      [['inpsect', 'x.wasm'], /did you mean inspect\?/],
      [['verify', '--threshhold', '2'], /unknown flag --threshhold \(did you mean --threshold\?\)/],
      [['inspect', '-json', hello], /unknown flag -json \(did you mean --json\?\)/],
      [['--verison'], /did you mean --version\?/],
    ];
    for (const [args, message] of cases) {
      const r = await runWarden(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.ok(oneLine(r.stderr), r.stderr);
    }
    const run = await runWarden(['run', '--timout', '2s', hello]);
    assert.equal(run.code, 125);
    assert.match(run.stderr, /did you mean --timeout\?/);
    assert.equal(closest('constructor', ['json']), null);
    assert.equal((await runWarden(['inspect', '--constructor', hello])).code, 2, 'Object.prototype names are not flags');
  });

  it('what the user typed is quoted without acting on the terminal: escapes and newlines in flags, commands and paths', async () => {
    // An escape in a flag or a path (a script passing on untrusted names) went to stderr raw: it could clear the
    // screen or forge a line of warden's own.
    for (const args of [['inspect', '--x\x1b[2J\nwarden: all good', hello], ['\x1b]0;owned\x07'], ['inspect', '/no/such\x1b[31m\u009b.wasm'], ['run', '--timeout', '2\x1b[2J', hello]]) {
      const r = await runWarden(args);
      assert.notEqual(r.code, 0, JSON.stringify(args));
      assert.doesNotMatch(r.stderr, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, JSON.stringify(r.stderr));
      assert.ok(oneLine(r.stderr), JSON.stringify(r.stderr));
      assert.match(r.stderr, /\\x1b|\\x9b/, JSON.stringify(r.stderr));
    }
  });

  it('a command missing what it needs says so in one line that names the command once', async (t) => {
    const cwd = tempDir(t);
    // Every command but those that do something with no arguments (ls lists, init writes, serve serves).
    const cases = Object.keys(commands).filter((name) => !['ls', 'init', 'serve'].includes(name)).map((name) => [name]);
    cases.push(['verify', 'x.wasm'], ['verify', '--key', 'k.pub'], ['sign', '--key', 'k'], ['deploy', 'tenant']);
    for (const args of cases) {
      const r = await runWarden(args, { cwd, env: { WARDEN_ADMIN_TOKEN: 't' } });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.ok(oneLine(r.stderr), `${args.join(' ')}: ${r.stderr}`);
      const prefix = `warden ${args[0]}: `;
      assert.ok(r.stderr.startsWith(prefix), `${args.join(' ')}: ${r.stderr}`);
      assert.ok(!r.stderr.slice(prefix.length).includes(prefix), `${args.join(' ')} names itself twice: ${r.stderr}`);
    }
  });

  it('--json on every command that prints a result; store digests wherever a module is taken', async (t) => {
    const cwd = tempDir(t);
    const env = { WARDEN_DATA_DIR: join(cwd, 'store') };
    const json = async (args: string[], code = 0) => {
      const r = await runWarden([...args, '--json'], { cwd, env });
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    assert.match((await json(['keygen', '--out', 'k'])).keyId, /^[0-9a-f]{24}$/);
    assert.deepEqual(await json(['ls']), { store: join(cwd, 'store'), modules: [] });
    const { digest } = await json(['push', hello]);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const listed = await json(['ls']);
    assert.deepEqual(listed.modules.map((m: { digest: string }) => m.digest), [digest]);
    assert.equal(listed.modules[0].size, readFileSync(hello).length);
    assert.equal((await json(['inspect', digest])).file, digest);
    assert.equal((await json(['sign', '--key', 'k', digest, '-o', 'signed.wasm'])).out, 'signed.wasm');
    const { digest: signed } = await json(['push', 'signed.wasm']);
    assert.equal((await json(['verify', '--key', 'k.pub', signed])).ok, true);
    await json(['init', '--out', 'p.toml']);
    assert.equal((await json(['check', '--policy', 'p.toml', digest])).admitted, true);
    assert.equal((await json(['harden', '--null-guard', digest, '-o', 'hardened.wasm'])).inputBytes, readFileSync(hello).length);
    const { digest: pluginDigest } = await json(['push', fixture('c', 'plugins', 'kernel-plugin.wasm')]);
    assert.equal((await json(['call', pluginDigest, 'echo', '--input', 'p.toml'])).rc, 0);
    assert.equal(JSON.parse((await runWarden(['run', '--json', digest], { cwd, env })).stdout).exitCode, 0);
    const plain = await runWarden(['ls'], { cwd, env });
    assert.match(plain.stdout, /^sha256:[0-9a-f]{64} +\d+(\.\d)? KiB {2}\d{4}-/m);
    const missing = await runWarden(['inspect', `sha256:${'0'.repeat(64)}`], { cwd, env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /is not in the store/);
    const typo = await runWarden(['inspect', 'sha256:ABC'], { cwd, env });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /looks like a store digest/);
    const runTypo = await runWarden(['run', 'sha256:ABC'], { cwd, env });
    assert.equal(runTypo.code, 125);
    assert.match(runTypo.stderr, /looks like a store digest/);
  });

  it("'-' reads the module from stdin, wherever a module is read", async (t) => {
    const cwd = tempDir(t);
    const module = readFileSync(hello);
    const plugin = readFileSync(fixture('c', 'plugins', 'kernel-plugin.wasm'));
    writeFileSync(join(cwd, 'p.toml'), '');
    const env = { WARDEN_DATA_DIR: join(cwd, 'store') };
    const cases: Array<[string[], Uint8Array, RegExp]> = [
      [['inspect', '-'], module, /^-: 28\.\d KiB/],
      [['check', '--policy', 'p.toml', '-'], module, /^-: admitted\n$/],
      [['run', '-', 'x'], module, /^hello from wasm-warden, x\n$/],
      [['push', '-'], module, /^sha256:[0-9a-f]{64}\n$/],
      [['harden', '--null-guard', '-', '-o', 'hardened.wasm'], module, /^wrote hardened\.wasm/],
      [['call', '-', 'echo'], plugin, /^$/],
    ];
    for (const [args, input, stdout] of cases) {
      const r = await runWarden(args, { cwd, env, input });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, stdout, args.join(' '));
    }
    // Not a module on stdin: one line, exit 2 (125 for run).
    const text = await runWarden(['inspect', '-'], { input: '(module)' });
    assert.equal(text.code, 2);
    assert.equal(text.stderr, 'warden inspect: stdin is WebAssembly text, not a binary module; assemble it first (e.g. wat2wasm)\n');
    assert.equal((await runWarden(['run', '-'])).stderr, 'warden run: stdin is empty\n');
    const twice = await runWarden(['call', '-', 'echo', '--input', '-'], { input: plugin });
    assert.equal(twice.code, 125);
    assert.match(twice.stderr, /cannot both be read from stdin/);
  });

  it('paths with spaces, non-ASCII letters or a leading dash are files like any other', async (t) => {
    const cwd = tempDir(t);
    const awkward = '-ünï côdé.wasm';
    writeFileSync(join(cwd, awkward), readFileSync(hello));
    const inspected = await runWarden(['inspect', '--json', '--', awkward], { cwd });
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(JSON.parse(inspected.stdout).file, awkward);
    const ran = await runWarden(['run', '--', awkward, 'a b'], { cwd });
    assert.equal(ran.stdout, 'hello from wasm-warden, a b\n');
    assert.equal((await runWarden(['keygen', '--out', '-k ü'], { cwd })).code, 0);
    assert.equal((await runWarden(['sign', '--key', '-k ü', '-o', '-s ü.wasm', '--', awkward], { cwd })).code, 0);
    const verified = await runWarden(['verify', '--key', '-k ü.pub', '--', '-s ü.wasm'], { cwd });
    assert.equal(verified.stdout, '-s ü.wasm: verified by -k ü.pub (1 part)\n');
    // Without --, a leading dash reads as a flag; the error says how to name the file.
    const slip = await runWarden(['inspect', awkward], { cwd });
    assert.equal(slip.code, 2);
    assert.match(slip.stderr, /unknown flag -ünï côdé\.wasm \(a file\? write \.\/-ünï côdé\.wasm, or put -- before it\)/);
  });

  it('no command: the usage on stderr, exit 2', async () => {
    const bare = await runWarden([]);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, '');
    assert.match(bare.stderr, /^usage: warden <command>/);
    assert.match(bare.stderr, /'-' \(read from stdin\)/);
  });

  it('a reader that stops reading ends the output quietly, not with a stack trace', async () => {
    const child = spawn(process.execPath, [wardenBin, 'inspect', '--json', hello], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // closed before the command writes: its first write meets EPIPE
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('warden run --json captures the guest\'s output into the run record', async () => {
    for (const isolation of [[], ['--isolation', 'thread']]) {
      const r = await runWarden(['run', ...isolation, '--json', hello, '--', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const record = JSON.parse(r.stdout);
      assert.equal(record.exitCode, 0);
      assert.equal(record.stdout, 'hello from wasm-warden, json\n');
      assert.equal(record.trap, null);
    }
  });

  it('--env NAME passes that one host variable through, and nothing else', async () => {
    const basics = fixture('c', 'wasi', 'basics.wasm');
    const grants = ['--clock', 'coarse', '--random', 'os'];
    const r = await runWarden(['run', ...grants, '--env', 'WARDEN_PASS', '--env', 'SET=1', basics], { env: { WARDEN_PASS: 'through', WARDEN_CANARY: 'leak' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /env WARDEN_PASS=through\nenv SET=1\nenv count 2\n/);
    assert.doesNotMatch(r.stdout, /leak/);
    const absent = await runWarden(['run', '--env', 'WARDEN_ABSENT', basics]);
    assert.equal(absent.code, 125);
    assert.match(absent.stderr, /the host has no variable WARDEN_ABSENT/);
  });

  it('colour only for a terminal, and never with NO_COLOR or TERM=dumb', async (t) => {
    assert.equal(colourWanted({}, true), true);
    assert.equal(colourWanted({}, false), false);
    assert.equal(colourWanted({ NO_COLOR: '1' }, true), false);
    assert.equal(colourWanted({ TERM: 'dumb' }, true), false);
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'p.toml'), '');
    const piped = await runWarden(['check', '--policy', 'p.toml', hello], { cwd });
    assert.equal(piped.stdout, `${hello}: admitted\n`);
  });
});
