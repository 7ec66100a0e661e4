// A module's start function runs exactly once before whatever entry a run
// calls: the rewriter moves it into `_start`, and an invoked export must not
// skip it (with fuel metering or without, in every isolation mode).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

// start adds 1 to the global: an export that returns it shows whether (and how often) start ran.
const source = `(module
  (global $g (mut i32) (i32.const 0))
  (func $init (global.set $g (i32.add (global.get $g) (i32.const 1))))
  (start $init)
  (func (export "_start"))
  (func (export "get") (result i32) (global.get $g)))`;

describe('the start function before an invoked export', () => {
  for (const isolation of ['none', 'thread'] as const) {
    for (const fuel of [null, 1_000_000] as const) {
      it(`runs once before invoke (${isolation} isolation, fuel ${fuel === null ? 'off' : 'on'})`, async (t) => {
        const module = await wat(source);
        const sandbox = await createSandbox({ isolation, limits: { fuel: fuel ?? 0 } });
        t.after(() => sandbox.close());
        const r = await sandbox.invoke(module, 'get');
        assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
        assert.deepEqual(r.results, [1]);
        // _start still runs it exactly once too (the wrapper), and a second invoke gets a fresh instance.
        assert.equal((await sandbox.run(module)).exitCode, 0);
        assert.deepEqual((await sandbox.invoke(module, 'get')).results, [1]);
      });
    }
  }

  it('warden run --invoke _start runs the start function once, as warden run does, in every isolation', async (t) => {
    // start writes "S" and _start "M": the invoked wrapper already calls start, so the host must not call it too.
    const printing = `(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "\\08\\00\\00\\00\\01\\00\\00\\00S")
      (data (i32.const 16) "\\18\\00\\00\\00\\01\\00\\00\\00M")
      (func $s (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 100))))
      (func (export "_start") (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 100))))
      (start $s))`;
    const path = join(tempDir(t), 'printing-start.wasm');
    writeFileSync(path, await wat(printing));
    for (const isolation of ['none', 'thread', 'process']) {
      for (const invoke of [[], ['--invoke', '_start']]) {
        const r = await runWarden(['run', '--isolation', isolation, ...invoke, path]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'SM', `${isolation} ${invoke.join(' ')}`);
      }
    }
  });

  it('warden run --invoke get prints 1, with --fuel and without', async (t) => {
    const path = join(tempDir(t), 'start.wasm');
    writeFileSync(path, await wat(source));
    for (const flags of [[], ['--fuel', '1000000']]) {
      const r = await runWarden(['run', ...flags, '--invoke', 'get', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), '1', flags.join(' '));
    }
  });
});
