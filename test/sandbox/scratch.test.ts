// Scratch directories never outlive their run: not when the guest nests
// directories past PATH_MAX, not when a file mount's source has gone, and a
// cleanup failure is never the run's exit status. /dev/shm is shared with
// every other process: each check looks at the directories its run's
// process made (their names carry its pid).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { RunRefused } from '../../src/wasi/run.js';
import { removeTree } from '../../src/wasi/scratch.js';
import { fixture, wardenBin } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

/** Scratch directories the process `pid` made and left (their names carry the creator's pid; /dev/shm is shared). */
const leftBy = (pid: number) => readdirSync('/dev/shm').filter((n) => n.startsWith(`warden-scratch-${pid}-`));

/** Runs the CLI and reports its pid with its result. */
function warden(args: string[]): Promise<{ code: number | null; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wardenBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    const err: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: Buffer.concat(err).toString('utf8'), pid: child.pid! }));
  });
}

describe('scratch lifetime', () => {
  for (const isolation of ['none', 'thread', 'process'] as const) {
    it(`20 levels of 255-byte names under --tmpfs are removed, ${isolation} isolation`, async (t) => {
      const dir = tempDir(t);
      const module = join(dir, 'deep.wasm');
      writeFileSync(module, await watFixture('hostile-deep-scratch'));
      const report = join(dir, 'report.json');
      const r = await warden(['run', '--isolation', isolation, '--tmpfs', '/scratch', '--report', report, module]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(readFileSync(report, 'utf8')).exitCode, 0);
      assert.deepEqual(leftBy(r.pid), []);
    });
  }

  it('a file-mount source gone by the time of the run refuses it and leaves no scratch', async (t) => {
    const dir = tempDir(t);
    const source = join(dir, 'app.conf');
    writeFileSync(source, 'x');
    for (const isolation of ['none', 'thread'] as const) {
      const sandbox = await createSandbox({ isolation, mount: [{ kind: 'tmpfs', guest: '/t' }, { kind: 'file', host: source, guest: '/etc/app.conf' }] });
      try {
        rmSync(source);
        await assert.rejects(sandbox.run(new Uint8Array(readFileSync(fixture('c', 'hello.wasm')))), RunRefused);
      } finally {
        await sandbox.close();
        writeFileSync(source, 'x');
      }
      assert.deepEqual(leftBy(process.pid), [], isolation);
    }
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
