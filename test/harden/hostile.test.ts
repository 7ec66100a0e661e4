// Hostile input to the hardening passes: modules whose guards would take the
// output past what V8 compiles are refused while the passes are applied, with
// a message naming the limit, not built in full first.

import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { parsePolicy } from '../../src/policy/load.js';
import { AdmissionError, prepare } from '../../src/sandbox/prepare.js';
import { RewriteTooLarge } from '../../src/transform/bodies.js';
import { hardenModule } from '../../src/transform/harden.js';
import { runWarden } from '../helpers/cli.js';
import { startWithMemory } from '../helpers/module-builder.js';
import { tempDir } from '../helpers/tmp.js';

/** `_start`: one body of `loads` chained 3-byte i32.loads from 2048, then drop. */
function denseLoads(loads: number): Uint8Array {
  const code = new Uint8Array(3 + loads * 3 + 1);
  code.set([0x41, 0x80, 0x10]); // i32.const 2048
  for (let i = 0; i < loads; i++) code.set([0x28, 0x02, 0x00], 3 + i * 3);
  code[code.length - 1] = 0x1a; // drop
  return startWithMemory(code);
}

describe('hardening a module the guards would take past V8\'s limits', () => {
  // 1 MB as shipped; with the null guard (23 bytes in front of each 3-byte load) its body would be about
  // 8.8 MB, over V8's 7,654,321. Before, the whole output was built and then refused by WebAssembly.validate
  // as "a function may have too many locals"; now the count of sites refuses it before any guard is written.
  const bytes = denseLoads(340_000);

  it('is refused as too large, naming the limit', () => {
    assert.ok(WebAssembly.validate(bytes as BufferSource));
    assert.throws(() => hardenModule(decodeModule(bytes), { passes: ['null'] }),
      (e: unknown) => e instanceof RewriteTooLarge && /function 0 would pass V8's limit of 7654321 bytes once hardened/.test(e.message));
  });

  it('at admission (policy harden), as module-too-large', () => {
    assert.throws(() => prepare(bytes, parsePolicy({ harden: ['null'] })), (e: unknown) => {
      assert.ok(e instanceof AdmissionError, String(e));
      assert.deepEqual(e.violations.map((v) => v.rule), ['module-too-large']);
      return true;
    });
  });

  it('by warden harden: exit 2, one line, no output written', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'dense.wasm'), bytes);
    const r = await runWarden(['harden', '--null-guard', join(dir, 'dense.wasm'), '-o', join(dir, 'out.wasm')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^warden harden: .*dense\.wasm: function 0 would pass V8's limit of 7654321 bytes once hardened.*\n$/);
    assert.equal(existsSync(join(dir, 'out.wasm')), false);
  });
});
