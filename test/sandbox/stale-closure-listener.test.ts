// A run's host side stops answering host-function calls when its result
// arrives, even while it still writes the run's inherited output: by then the
// worker may be running the next run, perhaps another sandbox's in a shared
// pool, and a call of that run must reach that run's closures only. Before,
// the earlier run's channel kept listening until its output was out, so one
// guest call ran the earlier run's closure too (another sandbox's grant,
// with this guest's arguments and memory), and either reply could be the one
// the guest read. In a child process: its stdout is a pipe this test leaves
// unread until the second run is over.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const child = fileURLToPath(new URL('./stale-closure-listener-child.js', import.meta.url));

describe('closures over a worker shared by runs', () => {
  it('a call of the next run on the worker reaches only that run\'s closure, while the previous run\'s output is still being written', async () => {
    const proc = spawn(process.execPath, ['--no-warnings', child], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Not read until the second run has reported: the first run's 512 KiB stay in flight meanwhile.
    proc.stdout.pause();
    const lines: string[] = [];
    let errText = '';
    proc.stderr.setEncoding('utf8');
    const firstLine = new Promise<string>((resolve) => {
      proc.stderr.on('data', (chunk: string) => {
        errText += chunk;
        const cut = errText.indexOf('\n');
        if (cut >= 0 && lines.length === 0) {
          lines.push(errText.slice(0, cut));
          resolve(lines[0]!);
        }
      });
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const killer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    try {
      const seen = JSON.parse(await Promise.race([firstLine, exited.then(() => { throw new Error(`the child ended early: ${errText.slice(-400)}`); })])) as {
        calls: { a: number; b: number }; results: number[]; hostCalls: Record<string, number>; trap: unknown;
      };
      proc.stdout.resume();
      assert.equal(seen.trap, null);
      assert.deepEqual(seen.results, [2], 'the guest read its own sandbox\'s reply');
      assert.deepEqual(seen.hostCalls, { 'env.ping': 1 });
      assert.deepEqual(seen.calls, { a: 0, b: 1 }, 'one guest call, one closure: its own sandbox\'s');
      assert.equal(await exited, 0, errText.slice(-400));
      assert.match(errText, /"spewed":0/);
    } finally {
      clearTimeout(killer);
      proc.stdout.resume();
    }
  });
});
