// Scratch directories never outlive their run: not when the guest nests
// directories past PATH_MAX, not when a file mount's source is missing, and
// a cleanup failure is never the run's exit status.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { RunRefused } from '../../src/wasi/run.js';
import { removeTree } from '../../src/wasi/scratch.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

const shm = () => readdirSync('/dev/shm').filter((n) => n.startsWith('warden-scratch-')).sort();

describe('scratch lifetime', () => {
  for (const isolation of ['none', 'thread', 'process'] as const) {
    it(`20 levels of 255-byte names under --tmpfs are removed, ${isolation} isolation`, async (t) => {
      const dir = tempDir(t);
      const module = join(dir, 'deep.wasm');
      writeFileSync(module, await watFixture('hostile-deep-scratch'));
      const report = join(dir, 'report.json');
      const before = shm();
      const r = await runWarden(['run', '--isolation', isolation, '--tmpfs', '/scratch', '--report', report, module]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(readFileSync(report, 'utf8')).exitCode, 0);
      assert.deepEqual(shm(), before);
    });
  }

  it('a missing file-mount source refuses the run and leaves no scratch (CLI and library)', async (t) => {
    const dir = tempDir(t);
    const before = shm();
    const r = await runWarden(['run', '--tmpfs', '/t', '--file', `${join(dir, 'missing')}::/etc/x`, '--isolation', 'thread', fixture('c', 'hello.wasm')]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /cannot mount file/);
    const sandbox = await createSandbox({ isolation: 'thread', mount: [{ kind: 'tmpfs', guest: '/t' }, { kind: 'file', host: join(dir, 'missing'), guest: '/etc/x' }] });
    try {
      await assert.rejects(sandbox.run(new Uint8Array(readFileSync(fixture('c', 'hello.wasm')))), RunRefused);
    } finally {
      await sandbox.close();
    }
    assert.deepEqual(shm(), before);
  });

  it('removeTree removes links, never what they point to', (t) => {
    const dir = tempDir(t);
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep'), 'x');
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'a', 'b', 'c'), { recursive: true });
    symlinkSync(outside, join(tree, 'a', 'link'));
    symlinkSync(outside, join(tree, 'a', 'b', 'c', 'link'));
    writeFileSync(join(tree, 'a', 'b', 'file'), 'y');
    assert.equal(removeTree(tree), true);
    assert.equal(existsSync(tree), false);
    assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'x');
    assert.equal(removeTree(join(dir, 'never-was')), true);
  });
});
