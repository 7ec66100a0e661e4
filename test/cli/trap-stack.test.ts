// Debugging a failed run: a trap prints the guest's stack, one line per frame,
// innermost first, with names from the name section (else function indices);
// the report and the library result carry it. A hostile name cannot forge
// frames or reach the terminal as escapes. A run that failed because no
// directory was granted gets a hint saying how to grant one.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { guestStack } from '../../src/wasi/trap.js';
import { runWasi } from '../../src/wasi/run.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

const openRelative = fixture('c', 'wasi', 'open_relative.wasm');
const LONG = 'f'.repeat(60);
const chain = (inner: string) => `(module
  (memory (export "memory") 1)
  (func $${inner} (param i32) (result i32) unreachable)
  (func $middle (result i32) (call $${inner} (i32.const 3)))
  (func $_start (export "_start") (drop (call $middle))))`;

describe('trap stacks', () => {
  it('warden run prints the C program\'s call chain by name, one line per frame, and the report carries it', async (t) => {
    const cwd = tempDir(t);
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'bad.txt'), '!boom\n');
    for (const isolation of [[], ['--isolation', 'thread'], ['--isolation', 'process']]) {
      const r = await runWarden(['run', ...isolation, '--report', 'r.json', '--dir', 'data', openRelative, 'data/bad.txt'], { cwd });
      assert.equal(r.code, 134, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.match(lines[0]!, /^warden run: .*open_relative\.wasm: unreachable: unreachable$/);
      const frames = lines.slice(1);
      assert.ok(frames.every((l) => /^ {4}at \S+ \(function \d+\)$/.test(l)), frames.join('\n'));
      const names = frames.map((l) => l.split(' ')[5]);
      assert.deepEqual(names.slice(0, 4), ['abort', 'parse_config', 'load_config', 'main'], isolation.join(' '));
      const record = JSON.parse(readFileSync(join(cwd, 'r.json'), 'utf8'));
      assert.deepEqual(record.trap.stack.slice(1, 3).map((f: { name: string }) => f.name), ['parse_config', 'load_config']);
      assert.equal(typeof record.trap.stack[0].index, 'number');
    }
  });

  it('without a name section, frames are function indices; the library result carries them', async () => {
    const bare = await wat(chain('inner'));
    const result = await runWasi(new WebAssembly.Module(bare), defineGrant({}));
    assert.equal(result.trap?.kind, 'unreachable');
    assert.deepEqual(result.trap?.stack, [{ index: 0, name: null }, { index: 1, name: null }, { index: 2, name: null }]);
    const named = await wat(chain('inner'), { names: true });
    const namedResult = await runWasi(new WebAssembly.Module(named), defineGrant({}));
    assert.deepEqual(namedResult.trap?.stack?.map((f) => f.name), ['inner', 'middle', '_start']);
  });

  it('a hostile function name cannot forge frames or put escapes on the terminal', async (t) => {
    const bytes = Buffer.from(await wat(chain(LONG), { names: true }));
    const forged = ') (x)\n    at forged (function 9)\n\u001b[2J\u202e';
    const payload = Buffer.alloc(LONG.length, 'z');
    Buffer.from(forged).copy(payload);
    assert.equal(payload.length, LONG.length);
    const at = bytes.indexOf(LONG);
    payload.copy(bytes, at);
    const path = join(tempDir(t), 'forged.wasm');
    writeFileSync(path, bytes);
    const r = await runWarden(['run', path]);
    assert.equal(r.code, 134);
    const frames = r.stderr.trimEnd().split('\n').slice(1);
    assert.equal(frames.length, 3, r.stderr);
    assert.doesNotMatch(r.stderr, /[\u001b\u202e]/);
    assert.match(frames[0]!, /^ {4}at \) \(x\)\?.*\(function 0\)$/);
    // A stack already formatted as text is parsed line by line, indices from each line's end.
    const error = new Error('unreachable');
    error.stack = 'RuntimeError: unreachable\n    at a\u001bb (wasm://wasm/1f:wasm-function[4]:0x10)\n    at host (file:///x.js:1:1)';
    assert.deepEqual(guestStack(error), [{ index: 4, name: 'a?b' }]);
  });
});

describe('the no-directory hint', () => {
  it('a relative fopen with no directory granted fails with a hint; with --dir it works', async (t) => {
    const cwd = tempDir(t);
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'config.txt'), 'ok=1\n');
    const r = await runWarden(['run', openRelative], { cwd });
    assert.equal(r.code, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'cannot open data/config.txt: Capabilities insufficient');
    assert.match(lines[1]!, /^warden run: hint: no directory was granted.*--dir data lets it open data\/… by that relative path$/);
    assert.equal(lines.length, 2);
    const granted = await runWarden(['run', '--dir', 'data', openRelative], { cwd });
    assert.equal(granted.code, 0, granted.stderr);
    assert.equal(granted.stdout, 'config: ok=1\n');
    assert.equal(granted.stderr, '');
    const otherFailure = await runWarden(['run', fixture('c', 'wasi', 'basics.wasm'), '3'], { cwd });
    assert.doesNotMatch(otherFailure.stderr, /hint/, 'a module that opens no paths gets no hint');
  });
});
