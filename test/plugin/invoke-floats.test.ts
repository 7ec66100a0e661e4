// `warden run --invoke` prints float results as Wasmtime's --invoke does: Rust's
// Display for f32/f64 (`NaN` whatever its sign or payload, `inf`, `-inf`, `-0`,
// never an exponent, f32 in the fewest digits that read back as the same f32).
// The values were checked against Wasmtime (wasmtime-py) while writing this;
// the spellings are Rust's Display, which Wasmtime's run command prints.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

const floats = `(module
  (func (export "nan32") (result f32) (f32.const nan))
  (func (export "negnan32") (result f32) (f32.const -nan))
  (func (export "payload32") (result f32) (f32.const nan:0x200001))
  (func (export "inf32") (result f32) (f32.const inf))
  (func (export "neginf32") (result f32) (f32.const -inf))
  (func (export "negnan64") (result f64) (f64.const -nan:0x8000000000001))
  (func (export "neginf64") (result f64) (f64.const -inf))
  (func (export "negzero32") (result f32) (f32.const -0))
  (func (export "big64") (result f64) (f64.const 1e21))
  (func (export "tiny32") (result f32) (f32.const 1e-7))
  (func (export "max32") (result f32) (f32.const 0x1.fffffep+127))
  (func (export "zerodiv32") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "echo32") (param f32) (result f32) (local.get 0))
  (func (export "echo64") (param f64) (result f64) (local.get 0))
  (func (export "both") (result f32 f64) (f32.const -nan) (f64.const inf)))`;

describe('warden run --invoke: NaN and infinities as Wasmtime prints them', () => {
  it('prints each result in Rust\'s Display form', async (t) => {
    const path = join(tempDir(t), 'floats.wasm');
    writeFileSync(path, await wat(floats));
    const cases: Array<[string[], string]> = [
      [['nan32'], 'NaN\n'],
      [['negnan32'], 'NaN\n'],
      [['payload32'], 'NaN\n'],
      [['inf32'], 'inf\n'],
      [['neginf32'], '-inf\n'],
      [['negnan64'], 'NaN\n'],
      [['neginf64'], '-inf\n'],
      [['negzero32'], '-0\n'],
      [['big64'], '1000000000000000000000\n'],
      [['tiny32'], '0.0000001\n'],
      [['max32'], '340282350000000000000000000000000000000\n'],
      [['zerodiv32'], 'NaN\n'],
      [['echo32', '-nan'], 'NaN\n'],
      [['echo32', 'NaN'], 'NaN\n'],
      [['echo32', 'Infinity'], 'inf\n'],
      [['echo64', '-inf'], '-inf\n'],
      [['echo64', '-0'], '-0\n'],
      [['both'], 'NaN\ninf\n'],
    ];
    for (const [[fn, ...args], out] of cases) {
      const r = await runWarden(['run', '--invoke', fn!, path, '--', ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, out, `${fn} ${args.join(' ')}`);
    }
  });
});
