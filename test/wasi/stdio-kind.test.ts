// What a guest learns about its stdio: a terminal only when the host's stream
// is one (wasi-libc's isatty() reads fd_fdstat_get's filetype), of unknown
// type otherwise, as in Wasmtime. Every stream was reported as a character
// device, so `warden run prog > out.txt` told the program it was writing to a
// terminal: C stdio line-buffered the file, and programs that colour or prompt
// on a terminal did so into pipes, files and captures.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defineGrant } from '../../src/wasi/grant.js';
import { runWasi } from '../../src/wasi/run.js';
import { runWarden } from '../helpers/cli.js';
import { fixture, wardenBin } from '../helpers/paths.js';

const probe = fixture('c', 'wasi', 'stdio_kind.wasm');
const line = (fd: number, tty: boolean) => `fd ${fd} isatty ${tty ? 1 : 0} fdstat 0:${tty ? 2 : 0} filestat 0:${tty ? 2 : 0}`;
const expected = (tty: [boolean, boolean, boolean]) => tty.map((t, fd) => line(fd, t)).join('\n') + '\n';

describe('stdio filetypes', () => {
  it('reports pipes as no terminal under warden run', async () => {
    const r = await runWarden(['run', probe]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected([false, false, false]));
  });

  it('reports /dev/null as no terminal, though it is a character device', () => {
    const nul = openSync('/dev/null', 'r+');
    try {
      const r = spawnSync(process.execPath, [wardenBin, 'run', probe], { stdio: [nul, 'pipe', nul] });
      assert.equal(r.status, 0);
      assert.equal(r.stdout.toString(), expected([false, false, false]));
    } finally {
      closeSync(nul);
    }
  });

  it('reports a captured stream as no terminal', async () => {
    const module = new WebAssembly.Module(readFileSync(probe));
    const result = runWasi(module, defineGrant({}));
    assert.equal(new TextDecoder().decode(result.stdout), expected([false, false, false]));
  });

  const script = spawnSync('script', ['--version']).status === 0;
  it('reports a terminal as a terminal', { skip: script ? false : 'no script(1) to make a pseudo-terminal' }, () => {
    // script(1) runs the command on a fresh pseudo-terminal: stdin, stdout and stderr are all it.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${wardenBin} run ${probe}`, '/dev/null'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.replace(/\r\n/g, '\n'), expected([true, true, true]));
  });
});
