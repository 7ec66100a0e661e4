// Blocking host calls and memory.grow loops against the deadline, through the
// real CLI, in every isolation mode: stdin a pipe that stays open and silent,
// stdout a pipe nobody reads, poll_oneoff on stdin with a one-hour clock, and
// grow loops as shipped (V8 delays termination in them; the rewrite's
// checkpoint ends them). Each run must end with 134, trap `deadline` in its
// report, and the process must exit.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { wardenBin } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

interface Stalled {
  code: number | null;
  /** False when the process had to be killed because it did not exit by itself. */
  exitedByItself: boolean;
  stderr: string;
}

/** Runs warden with stdin open and silent and stdout never read; kills it only if it outlives `limitMs`. */
function runStalled(args: string[], limitMs = 20_000): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wardenBin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    const err: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // stdout is never read and stdin never written or closed.
    let killed = false;
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, limitMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      child.stdout.destroy();
      resolve({ code, exitedByItself: !killed, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function moduleFile(dir: string, name: string): Promise<string> {
  const path = join(dir, `${name}.wasm`);
  writeFileSync(path, await watFixture(name));
  return path;
}

for (const isolation of ['none', 'thread', 'process'] as const) {
  describe(`warden run --isolation ${isolation}: blocking calls end at the deadline`, () => {
    for (const guest of ['wasi-stdin-wait', 'wasi-stdout-stall', 'wasi-poll-stdin', 'hostile-grow-loop', 'hostile-grow-fill']) {
      it(guest, async (t) => {
        const dir = tempDir(t);
        const report = join(dir, 'report.json');
        const r = await runStalled(['run', '--isolation', isolation, '--timeout', '300ms', '--report', report, await moduleFile(dir, guest)]);
        assert.ok(r.exitedByItself, `the process did not exit by itself: ${r.stderr}`);
        assert.equal(r.code, 134, r.stderr);
        assert.match(r.stderr, /deadline/);
        const record = JSON.parse(readFileSync(report, 'utf8'));
        assert.equal(record.trap.kind, 'deadline');
        assert.equal(record.exitCode, null);
        assert.ok(record.limitsHit.includes('timeout'));
      });
    }
  });
}
