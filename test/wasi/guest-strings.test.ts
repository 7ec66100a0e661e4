// Arguments and environment are encoded when the guest first asks, all in one
// encode: what the guest reads must be what encoding each string alone gives,
// whatever the strings hold (non-ASCII, a NUL inside, a lone surrogate), and
// a run that reads them twice, or reads only the sizes, must see the same.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuestStrings } from '../../src/wasi/guest-strings.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { runWasi } from '../../src/wasi/run.js';
import { wat } from '../helpers/wat.js';

const utf8 = new TextEncoder();

/** What the guest must read: each string encoded alone, then a NUL. */
function expectedLayout(strings: string[]): { bytes: number[]; starts: number[] } {
  const bytes: number[] = [];
  const starts: number[] = [];
  for (const s of strings) {
    starts.push(bytes.length);
    bytes.push(...utf8.encode(s), 0);
  }
  return { bytes, starts };
}

// Prints, for args and then the environment: the count and total size (u32 each),
// each pointer minus the buffer's address (u32 each), then the buffer.
const reader = (kind: 'args' | 'environ') => `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "${kind}_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "${kind}_get" (func $get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32) (local $n i32)
    (drop (call $sizes (i32.const 1024) (i32.const 1028)))
    (local.set $n (i32.load (i32.const 1024)))
    ;; read twice: the second read must give the same
    (drop (call $get (i32.const 1032) (i32.const 8192)))
    (drop (call $get (i32.const 1032) (i32.const 8192)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.add (i32.const 1032) (i32.shl (local.get $i) (i32.const 2)))
        (i32.sub (i32.load (i32.add (i32.const 1032) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 8192)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.add (i32.const 8) (i32.shl (local.get $n) (i32.const 2))))
    (i32.store (i32.const 8) (i32.const 8192))
    (i32.store (i32.const 12) (i32.load (i32.const 1028)))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))))`;

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

const awkward = ['plain', '', 'é and ☃ and 😀', 'a\0b', 'lone \ud800 high', '\udc00 lone low', 'end'];

describe('arguments and environment as the guest reads them', () => {
  it('lay out each string as encoding it alone would, ASCII or not', () => {
    for (const strings of [[], ['a'], ['ascii', 'only', ''], awkward]) {
      const packed = GuestStrings.of(strings);
      const { bytes, starts } = expectedLayout(strings);
      assert.deepEqual([...packed.bytes()], bytes);
      assert.deepEqual(strings.map((_, i) => packed.start(i)), starts);
    }
    const env: Array<[string, string]> = [['A', '1'], ['É', 'x\0y'], ['B', '\ud83d']];
    const packed = GuestStrings.ofEnv(env);
    const { bytes, starts } = expectedLayout(env.map(([k, v]) => `${k}=${v}`));
    assert.deepEqual([...packed.bytes()], bytes);
    assert.deepEqual(env.map((_, i) => packed.start(i)), starts);
  });

  for (const kind of ['args', 'environ'] as const) {
    it(`reach a real guest through ${kind}_sizes_get and ${kind}_get`, async () => {
      const module = new WebAssembly.Module(await wat(reader(kind)));
      const strings = kind === 'args' ? awkward : awkward.map((s, i) => `V${i}=${s}`);
      const grant = kind === 'args'
        ? defineGrant({ args: awkward })
        : defineGrant({ env: awkward.map((s, i) => [`V${i}`, s] as const) });
      const { bytes, starts } = expectedLayout(strings);
      for (let run = 0; run < 2; run++) {
        const result = runWasi(module, grant);
        assert.equal(result.exitCode, 0, JSON.stringify(result.trap));
        assert.deepEqual([...result.stdout], [...u32(strings.length), ...u32(bytes.length), ...starts.flatMap(u32), ...bytes]);
      }
    });
  }
});
