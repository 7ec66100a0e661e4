// A 64-bit memory under fuel and deadlines. The charges and checks the
// rewriter puts before memory.grow, fill and copy read their size as an i32;
// for a 64-bit memory it is an i64, and the rewritten module did not validate:
// `warden run --fuel` answered "the module does not compile" (exit 125) for a
// module V8 accepts. It is refused by name (`not-meterable`) before any
// rewrite; without fuel and deadline it is admitted and runs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import { parsePolicy } from '../../src/policy/load.js';
import { AdmissionError, prepare } from '../../src/sandbox/prepare.js';
import { watFixture } from '../helpers/wat.js';

// What Node 20 needs to run memory64 (Node 24 runs it by default); this test file's own process only.
v8.setFlagsFromString('--experimental-wasm-memory64');

const policyWith = (limits: Record<string, unknown>) => parsePolicy({ features: { memory64: true }, limits });

describe('a 64-bit memory under the rewrites', async () => {
  const bytes = await watFixture('transform-memory64');

  it('is valid as shipped (for this V8)', () => {
    assert.equal(WebAssembly.validate(bytes), true);
  });

  it('is admitted and rewritten into a valid module without fuel or deadline', () => {
    const prepared = prepare(bytes, policyWith({ memory: '128KiB' }));
    assert.equal(WebAssembly.validate(prepared.bytes), true);
  });

  for (const [what, limits] of [['fuel', { fuel: 100_000 }], ['a deadline', { timeout: '2s' }], ['both', { fuel: 100_000, timeout: '2s' }]] as const) {
    it(`is refused as not-meterable under ${what}, never rewritten into bytes V8 refuses`, () => {
      assert.throws(() => prepare(bytes, policyWith(limits)), (error: unknown) => {
        assert.ok(error instanceof AdmissionError, String(error));
        assert.deepEqual(error.violations.map((v) => v.rule), ['not-meterable']);
        assert.match(error.violations[0]!.message, /64-bit/);
        return true;
      });
    });
  }
});
