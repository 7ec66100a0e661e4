// Admission and V8 read a module the same way: constructs where they once
// disagreed, each as the attack that found it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { limitTables } from '../../src/transform/index.js';
import { parsePolicy } from '../../src/policy/load.js';
import { admit } from '../../src/sandbox/admission.js';
import { body, FUNC_TYPE_VOID, moduleOf, name, section, vector } from '../helpers/module-builder.js';
import { wat } from '../helpers/wat.js';

const START = section(7, vector([[...name('_start'), 0, 0]]));
const rules = (bytes: Uint8Array, policy: object = {}) =>
  admit(decodeModule(bytes, { validateBodies: false }), parsePolicy(policy), () => 'sha256:x').violations.map((v) => `${v.rule}: ${v.message}`);

describe('legacy exceptions: try … delegate', () => {
  it('decodes delegate to the function, to an enclosing try, and from inside blocks, as V8 compiles them', async () => {
    const bytes = await wat(`(module
      (tag $e)
      (func (export "_start")
        try
          try
            throw $e
          delegate 0
        catch_all
        end
        block
          try
            try
              throw $e
            delegate 2
          catch $e
          end
        end
        try
          nop
        delegate 0))`);
    assert.equal(WebAssembly.validate(bytes), true);
    assert.doesNotThrow(() => decodeModule(bytes));
    assert.deepEqual(rules(bytes, { features: { 'exceptions-legacy': true } }), []);
    assert.deepEqual(rules(bytes).map((r) => r.split(':')[0]), ['feature-not-allowed']);
  });
});

describe('feature gates cover declarations, not only instructions', () => {
  const fn = (type: number[], code: number[] = [], locals: Array<[number, number]> = []) =>
    moduleOf(section(1, vector([type])), section(3, vector([[0]])), START, section(10, vector([body(code, locals)])));
  const cases: Array<[string, Uint8Array, string]> = [
    ['a v128 parameter', fn([0x60, 1, 0x7b, 0]), 'simd'],
    ['a v128 local', fn(FUNC_TYPE_VOID, [], [[1, 0x7b]]), 'simd'],
    ['a v128 block type over unreachable', fn(FUNC_TYPE_VOID, [0x02, 0x7b, 0x00, 0x0b, 0x1a]), 'simd'],
    ['a v128 global', moduleOf(section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])),
      section(6, vector([[0x7b, 0, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b]])), START, section(10, vector([body([])]))), 'simd'],
    ['an externref parameter', fn([0x60, 1, 0x6f, 0]), 'reference-types'],
    ['two results', fn([0x60, 0, 2, 0x7f, 0x7f], [0x41, 0, 0x41, 0]), 'multi-value'],
  ];
  for (const [what, bytes, feature] of cases) {
    it(`refuses ${what} when ${feature} is off, admits it when on`, () => {
      assert.equal(WebAssembly.validate(bytes), true, 'V8 compiles it');
      assert.deepEqual(rules(bytes), []);
      assert.deepEqual(rules(bytes, { features: { [feature]: false } }), [`feature-not-allowed: uses ${feature}, which the policy does not allow`]);
    });
  }
});

describe('rewriting a table declared with an initialiser', () => {
  // (table 1 funcref (ref.func 0)) in the 0x40 0x00 form: every element starts as function 0.
  const init = [0xd2, 0x00, 0x0b];
  const bytes = moduleOf(
    section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])),
    section(4, vector([[0x40, 0x00, 0x70, 0x00, 0x01, ...init]])),
    START, section(10, vector([body([])])),
  );

  it('keeps the initialiser when the maximum is rewritten', () => {
    const module = decodeModule(bytes);
    assert.deepEqual([...bytes.subarray(module.tables[0]!.init!.start, module.tables[0]!.init!.end)], init);
    const rewritten = decodeModule(limitTables(module, 100));
    const table = rewritten.tables[0]!;
    assert.deepEqual(table.limits, { min: 1, max: 100, shared: false, is64: false });
    assert.ok(table.init, 'the initialiser survives');
    assert.deepEqual([...rewritten.bytes.subarray(table.init.start, table.init.end)], init);
    assert.deepEqual(table.init.value, { kind: 'ref.func', index: 0 });
  });

  it('is a proposal (gc: typed function references) the default policy refuses', () => {
    assert.deepEqual(rules(bytes).map((r) => r.split(':')[0]), ['feature-not-allowed']);
  });
});

describe('throw belongs to both exception proposals', () => {
  const withTag = (code: number[]) => moduleOf(section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])),
    section(13, vector([[0x00, 0x00]])), START, section(10, vector([body(code)])));

  it('is charged to exceptions when the code uses try_table, to exceptions-legacy otherwise', () => {
    const modern = withTag([0x1f, 0x40, 0x00, 0x08, 0x00, 0x0b]); // try_table (no catches) throw 0 end
    assert.deepEqual(rules(modern, { features: { exceptions: true } }), []);
    assert.deepEqual(rules(modern).map((r) => r.split(':')[0]), ['feature-not-allowed']);
    const legacy = withTag([0x08, 0x00]);
    assert.deepEqual(rules(legacy, { features: { 'exceptions-legacy': true } }), []);
    assert.deepEqual(rules(legacy, { features: { exceptions: true } }), ['feature-not-allowed: uses exceptions-legacy, which the policy does not allow']);
  });
});
