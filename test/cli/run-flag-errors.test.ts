// A `warden run` grant flag whose host path is missing or of the wrong kind is
// reported by the flag and the value the user typed, not by the policy key it
// became (`mount[0].host`); a policy file's own mount keeps its key and names
// the file. One line each, exit 125, the guest never run.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const hello = fixture('c', 'hello.wasm');

describe('warden run: a grant flag that cannot be granted', () => {
  it('names the flag and its value', async (t) => {
    const cwd = tempDir(t);
    writeFileSync(join(cwd, 'a-file'), 'x');
    mkdirSync(join(cwd, 'a-dir'));
    const cases: Array<[string[], string]> = [
      [['--dir', '/nonexistent::/x'], "--dir /nonexistent::/x: the directory /nonexistent does not exist"],
      [['--dir', 'missing'], `--dir missing: the directory ${cwd}/missing does not exist`],
      [['--dir-ro', 'a-file::/x'], `--dir-ro a-file::/x: the directory ${cwd}/a-file is not a directory`],
      [['--dir', 'a-dir::/ok', '--file', 'nope::/x'], `--file nope::/x: the file ${cwd}/nope does not exist`],
      [['--file', 'a-dir::/x'], `--file a-dir::/x: the file ${cwd}/a-dir is not a regular file`],
      [['--stdin', 'nope'], `--stdin nope: ${cwd}/nope does not exist`],
      [['--stdin', 'a-dir'], `--stdin a-dir: ${cwd}/a-dir is a directory`],
    ];
    for (const [flags, message] of cases) {
      const r = await runWarden(['run', ...flags, hello], { cwd });
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `warden run: ${message}\n`);
      assert.equal(r.stdout, '');
    }
  });

  it("keeps a policy file's key for its own mount, names the flag for the flag's, after a policy mount", async (t) => {
    const cwd = tempDir(t);
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'broken.toml'), '[[mount]]\nhost = "gone"\nguest = "/gone"\n');
    writeFileSync(join(cwd, 'good.toml'), '[[mount]]\nhost = "data"\nguest = "/data"\n');
    const broken = await runWarden(['run', '--policy', 'broken.toml', hello], { cwd });
    assert.equal(broken.code, 125);
    assert.equal(broken.stderr, `warden run: broken.toml: mount[0].host: the directory ${cwd}/gone does not exist\n`);
    const flagged = await runWarden(['run', '--policy', 'good.toml', '--dir', 'nope::/nope', hello], { cwd });
    assert.equal(flagged.code, 125);
    assert.equal(flagged.stderr, `warden run: --dir nope::/nope: the directory ${cwd}/nope does not exist\n`);
    const twice = await runWarden(['run', '--dir', 'data::/d', '--dir-ro', 'data::/d', hello], { cwd });
    assert.equal(twice.code, 125);
    assert.equal(twice.stderr, "warden run: --dir-ro data::/d: '/d' is already mounted\n");
    const overPolicy = await runWarden(['run', '--policy', 'good.toml', '--tmpfs', '/data', hello], { cwd });
    assert.equal(overPolicy.code, 125);
    assert.equal(overPolicy.stderr, "warden run: --tmpfs /data: '/data' is already mounted (by good.toml)\n");
    const stdin = await runWarden(['run', '--stdin', '/dev/null', hello], { cwd });
    assert.equal(stdin.code, 0, stdin.stderr);
  });
});
