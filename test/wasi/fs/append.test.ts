// O_APPEND as the guest means it: two runs appending to one file at once (two
// requests of one tenant, say) keep every line of both. An append that found
// the end with fstat and then wrote there could land two writes on one offset,
// and one of them was lost.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../../helpers/cli.js';
import { fixture } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/tmp.js';

const appender = fixture('c', 'wasi', 'appender.wasm');
const LINES = 4000;

describe('O_APPEND', () => {
  it('two runs appending to one file at once lose no line', async (t) => {
    const dir = tempDir(t);
    const run = (tag: string) => runWarden(['run', '--dir', `${dir}::/data`, '--no-cache', appender, '--', '/data/log', tag, String(LINES)]);
    const [a, b] = await Promise.all([run('A'), run('B')]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const lines = readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean);
    for (const tag of ['A', 'B']) {
      const mine = lines.filter((l) => l.startsWith(`${tag} `));
      assert.deepEqual(mine, Array.from({ length: LINES }, (_, i) => `${tag} ${String(i).padStart(6, '0')}`), `lines of ${tag} lost or reordered`);
    }
    assert.equal(lines.length, 2 * LINES);
  });

  it('appends after what is already there, in every isolation mode (the process child reopens through /proc too)', async (t) => {
    const dir = tempDir(t);
    for (const [tag, isolation] of [['first', 'none'], ['second', 'process']] as const) {
      const r = await runWarden(['run', '--isolation', isolation, '--dir', `${dir}::/data`, appender, '--', '/data/log', tag, '2']);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(readFileSync(join(dir, 'log'), 'utf8'), 'first 000000\nfirst 000001\nsecond 000000\nsecond 000001\n');
  });
});
