// prepareOverlapped (the preparing worker's path) lets V8 check the bytes as
// shipped on its background threads while the walk runs: it must refuse
// exactly what `prepare` refuses, under the same rule, and produce the same
// bytes for what it admits.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { AdmissionError, prepare, prepareOverlapped } from '../../src/sandbox/prepare.js';
import { prepareConfig } from '../../src/sandbox/prepare-config.js';
import { fixture } from '../helpers/paths.js';
import { wat } from '../helpers/wat.js';

async function outcomes(bytes: Uint8Array, policy: Record<string, unknown>) {
  const parsed = parsePolicy(policy);
  const settle = async (run: () => unknown) => {
    try {
      const prepared = (await run()) as { bytes: Uint8Array; metered: boolean; injected: unknown };
      return { bytes: Buffer.from(prepared.bytes).toString('base64'), metered: prepared.metered, injected: prepared.injected };
    } catch (error) {
      assert.ok(error instanceof AdmissionError, String(error));
      return { refused: error.violations };
    }
  };
  return [await settle(() => prepare(bytes, parsed)), await settle(() => prepareOverlapped(bytes, prepareConfig(parsed)))];
}

const rules = (outcome: unknown) => (outcome as { refused: ReadonlyArray<{ rule: string }> }).refused.map((v) => v.rule);

describe('prepareOverlapped', () => {
  it('admits and rewrites a command exactly as prepare does', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('c/hello.wasm')));
    for (const limits of [{}, { fuel: 100_000 }, { timeout: '5s' }, { fuel: 100_000, timeout: '5s' }]) {
      const [sync, overlapped] = await outcomes(bytes, { limits });
      assert.ok(!('refused' in sync!), JSON.stringify(sync));
      assert.deepEqual(overlapped, sync, JSON.stringify(limits));
    }
  });

  it('refuses a module V8 finds invalid under rule invalid, with V8\'s reason', async () => {
    // global.set of a global the module lacks: well formed, so only validation refuses it.
    const bytes = await wat('(module (func (export "_start") (global.set 0 (i64.const 1))))');
    const [sync, overlapped] = await outcomes(bytes, { limits: { fuel: 1000 } });
    assert.deepEqual(overlapped, sync);
    const refused = (overlapped as { refused: ReadonlyArray<{ rule: string; message: string }> }).refused;
    assert.deepEqual(rules(overlapped), ['invalid']);
    assert.match(refused[0]!.message, /^not a valid module: .*global/);
    assert.doesNotMatch(refused[0]!.message, /WebAssembly\./);
  });

  it('reports admission\'s refusals first, as prepare does, for a module that is also invalid', async () => {
    const bytes = await wat('(module (import "env" "f" (func)) (func (export "_start") (global.set 0 (i64.const 1))))');
    const [sync, overlapped] = await outcomes(bytes, {});
    assert.deepEqual(overlapped, sync);
    assert.deepEqual(rules(overlapped), ['import-unknown-module']);
  });

  it('refuses malformed bytes as malformed', async () => {
    const malformed = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 4, 1, 2, 0, 0xff);
    const [sync, overlapped] = await outcomes(malformed, {});
    assert.deepEqual(overlapped, sync);
    assert.deepEqual(rules(overlapped), ['malformed']);
  });
});
