// A failed `warden run` whose grant refused something the guest tried says so
// on one line, with the flag that grants it: the guest's own message did not
// ("open failed: Operation not permitted", "Read-only file system"), and the
// refusals were only in --report.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const cat = fixture('c', 'wasi', 'cat.wasm');

describe('warden run after refused attempts', () => {
  it('names the first refusal and the flag that grants it when the run fails', async (t) => {
    const dir = tempDir(t);
    const r = await runWarden(['run', '--dir', `${dir}::/d`, cat, '--', '/d/../../etc/passwd']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'open failed: Operation not permitted\n');
    assert.equal(r.stderr, 'warden run: hint: the grant refused path_open "../../etc/passwd" (EPERM): it leads out of its mount; grant the directory it needs with --dir HOST[::GUEST]\n');
  });

  it('says nothing when the run succeeds despite a refusal', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'f'), 'x\n');
    const r = await runWarden(['run', '--dir-ro', `${dir}::/d`, cat, '--', '/d/f']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /write: Read-only file system/);
    assert.equal(r.stderr, '');
  });
});
