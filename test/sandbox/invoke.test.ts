// sandbox.invoke: exported functions called through the same orchestrator as
// run, in every isolation mode, with the same admission and record.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { AdmissionError } from '../../src/sandbox/prepare.js';
import { RunRefused } from '../../src/wasi/run.js';
import { watFixture } from '../helpers/wat.js';

const refusedWith = async (promise: Promise<unknown>, rule: string) => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AdmissionError, String(error));
    assert.deepEqual(error.violations.map((v) => v.rule), [rule]);
    return true;
  });
};

for (const isolation of ['none', 'thread', 'process'] as const) {
  describe(`sandbox.invoke, ${isolation} isolation`, () => {
    let sandbox: Sandbox;
    let module: Uint8Array;
    before(async () => {
      module = await watFixture('invoke-exports');
      sandbox = await createSandbox({ isolation, limits: { timeout: '2s', fuel: 1_000_000 } });
    });
    after(() => sandbox.close());

    it('calls an export with typed arguments and returns typed results', async () => {
      const r = await sandbox.invoke(module, 'add', 2, '40');
      assert.equal(r.exitCode, 0);
      assert.deepEqual(r.results, [42]);
      assert.deepEqual(r.resultTypes, ['i32']);
      assert.equal(r.isolation, isolation);
      assert.ok(r.fuelUsed! > 0, 'the same limits as run: fuel is metered');
    });

    it('runs a reactor\'s _initialize before the export', async () => {
      assert.deepEqual((await sandbox.invoke(module, 'from_base', 5)).results, [105]);
    });

    it('passes i64 exactly, f32 rounded to single precision, and several results', async () => {
      assert.deepEqual((await sandbox.invoke(module, 'neg64', '-9223372036854775808')).results, [-9223372036854775808n]);
      assert.deepEqual((await sandbox.invoke(module, 'half32', 0.2)).results, [Math.fround(Math.fround(0.2) / 2)]);
      assert.deepEqual((await sandbox.invoke(module, 'pair', -7)).results, [-7, -7n]);
      assert.deepEqual((await sandbox.invoke(module, 'nothing')).results, []);
    });

    it('reports a trap in the record, not as an exception', async () => {
      const r = await sandbox.invoke(module, 'boom');
      assert.equal(r.exitCode, null);
      assert.equal(r.trap?.kind, 'unreachable');
      assert.equal(r.results, undefined);
    });

    it('refuses a missing export, naming the ones there are, before any code runs', async () => {
      await assert.rejects(sandbox.invoke(module, 'missing'), (error: unknown) => {
        assert.ok(error instanceof AdmissionError);
        assert.equal(error.violations[0]!.rule, 'export-missing');
        assert.match(error.violations[0]!.message, /"add", "from_base"/);
        return true;
      });
      await refusedWith(sandbox.invoke(module, 'refs', 1), 'export-signature-unsupported');
      await refusedWith(sandbox.run(module), 'not-a-command');
    });

    it('refuses wrong argument counts and values that do not fit the parameter', async () => {
      await assert.rejects(sandbox.invoke(module, 'add', 1), RunRefused);
      await assert.rejects(sandbox.invoke(module, 'add', 'x', 1), /is not an integer/);
      await assert.rejects(sandbox.invoke(module, 'add', 2 ** 32, 1), /does not fit in 32 bits/);
      await assert.rejects(sandbox.invoke(module, 'add', 1.5, 1), /not an integer/);
    });
  });
}
