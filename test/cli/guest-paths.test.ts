// A guest path a program could reach only by an odd spelling ('..' or '.' after a name, an
// empty component) is refused, by the flag and value on the command line and by the key in a
// policy file, with the same words: wasi-libc matches a path to a mount by its spelling and
// does not resolve '..', so `--dir d::/a/../y` was a mount no `open("/y/f")` reached. A relative
// guest path stays (it is what `--dir data` and `--dir ..` give, as in Wasmtime), and reaches
// what it names.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const cat = fixture('c', 'wasi', 'cat.wasm');

function setUp(t: Parameters<typeof tempDir>[0]): string {
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'd'));
  writeFileSync(join(cwd, 'd', 'f'), 'hi\n');
  return cwd;
}

describe('guest paths of mounts', () => {
  it('refuses a guest path with . or .. after a name, or an empty component, naming the flag and value', async (t) => {
    const cwd = setUp(t);
    const cases: Array<[string[], string]> = [
      [['--dir', 'd::/a/../y'], "--dir d::/a/../y: the guest path '/a/../y' has a '..' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant"],
      [['--dir-ro', 'd::y/..'], "--dir-ro d::y/..: the guest path 'y/..' has a '..' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant"],
      [['--dir', 'd::/../y'], "--dir d::/../y: the guest path '/../y' has a '..' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant"],
      [['--dir', 'd::/a/./y'], "--dir d::/a/./y: the guest path '/a/./y' has a '.' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant"],
      [['--dir', 'd::/a//y'], "--dir d::/a//y: the guest path '/a//y' has an empty component (//)"],
      [['--dir', 'd/../d'], "--dir d/../d: the guest path 'd/../d' has a '..' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant (without ::GUEST it is the host path as given; add ::/GUEST)"],
      [['--tmpfs', '//t'], "--tmpfs //t: the guest path '//t' has an empty component (//)"],
      [['--file', 'd/f::/a/../f'], "--file d/f::/a/../f: the guest path '/a/../f' has a '..' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant"],
    ];
    for (const [flags, message] of cases) {
      const r = await runWarden(['run', ...flags, cat, '/y/f'], { cwd });
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `warden run: ${message}\n`);
      assert.equal(r.stdout, '');
    }
  });

  it('refuses the same in a policy file, by its key, for run and check alike', async (t) => {
    const cwd = setUp(t);
    writeFileSync(join(cwd, 'p.toml'), '[[mount]]\nhost = "d"\nguest = "/a/../y"\n');
    const r = await runWarden(['run', '--policy', 'p.toml', cat, '/y/f'], { cwd });
    assert.equal(r.code, 125, r.stderr);
    assert.equal(r.stderr, `warden run: ${join(cwd, 'p.toml')}: mount[0].guest: the guest path '/a/../y' has a '..' component after its start (a guest reaches a mount by its spelling, which is not resolved); write the path meant\n`);
    writeFileSync(join(cwd, 'q.toml'), '[[mount]]\nkind = "tmpfs"\nguest = "/t//x"\n');
    const check = await runWarden(['check', '--policy', 'q.toml', fixture('c', 'hello.wasm')], { cwd });
    assert.equal(check.code, 2, check.stderr);
    assert.match(check.stderr, /mount\[0\]\.guest: the guest path '\/t\/\/x' has an empty component \(\/\/\)/);
  });

  it('keeps relative guest paths, leading ./ and .., and a trailing slash: each reaches what it names', async (t) => {
    const cwd = setUp(t);
    const cases: Array<[string, string[]]> = [
      ['d::y', ['y/f', '/y/f']],
      ['d::./y', ['y/f', '/y/f']],
      ['d::/y/', ['/y/f']],
      ['d::../y', ['../y/f']],
      ['d::.', ['f']],
      ['d', ['d/f']],
    ];
    for (const [dir, paths] of cases) {
      for (const path of paths) {
        const r = await runWarden(['run', '--dir', dir, cat, path], { cwd });
        assert.equal(r.code, 0, `--dir ${dir}, ${path}: ${r.stderr}${r.stdout}`);
        assert.match(r.stdout, /^hi\n/);
      }
    }
  });
});
