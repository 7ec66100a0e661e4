// defineGrant refuses a grant of the wrong shape where it is made, with one
// TypeError naming the field and what it takes; before, `stdout: 'capture'` ran
// until the first write and failed there with "Cannot read properties of
// undefined". Every default and every valid kind still passes, and a run with
// them works.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defineGrant } from '../../src/wasi/grant.js';
import { runWasi } from '../../src/wasi/run.js';
import { fixture } from '../helpers/paths.js';

type Partial = Parameters<typeof defineGrant>[0];

describe('defineGrant checks the grant it makes', () => {
  it('refuses each malformed field with a TypeError naming it', () => {
    const cases: Array<[string, Partial]> = [
      ['stdout', { stdout: 'capture' as never }],
      ['stderr', { stderr: { kind: 'fd', fd: -1 } }],
      ['stdin', { stdin: { kind: 'buffer', data: 'text' as never } }],
      ['stdin', { stdin: { kind: 'pipe' } as never }],
      ['clock', { clock: { kind: 'coarse', resolutionNs: 1000 as never } }],
      ['clock', { clock: { kind: 'coarse', resolutionNs: 0n } }],
      ['random', { random: { kind: 'seeded', seed: 1.5 } }],
      ['args', { args: ['a', 1 as never] }],
      ['env', { env: [['A']] as never }],
      ['mounts', { mounts: 'dir' as never }],
      ['mounts[0]', { mounts: [{ host: '/tmp', guest: '/t' } as never] }],
      ['limits.maxFds', { limits: { maxFds: -1 } }],
      ['limits.maxOutputBytes', { limits: { maxOutputBytes: Number.NaN } }],
      ['limits.timeoutMs', { limits: { timeoutMs: Infinity } }],
    ];
    for (const [field, partial] of cases) {
      assert.throws(() => defineGrant(partial), (error: Error) => {
        assert.ok(error instanceof TypeError, `${field}: ${error}`);
        assert.ok(error.message.startsWith(`defineGrant: ${field} must be `), error.message);
        return true;
      }, field);
    }
  });

  it('takes every valid kind, and a run with the defaults works', async () => {
    for (const partial of [
      {}, { stdout: { kind: 'inherit' as const } }, { stdout: { kind: 'discard' as const } }, { stderr: { kind: 'fd' as const, fd: 2 } },
      { stdin: { kind: 'buffer' as const, data: new Uint8Array(1) } }, { stdin: { kind: 'file' as const, path: '/dev/null' } }, { stdin: { kind: 'fd' as const, fd: 0 } },
      { clock: { kind: 'real' as const } }, { clock: { kind: 'frozen' as const } }, { clock: { kind: 'virtual' as const, stepNs: 1n, startNs: 5n } },
      { random: { kind: 'seeded' as const, seed: 7 } }, { limits: { timeoutMs: 1500, maxFds: 3 } },
      { args: ['a'], env: [['K', 'V'] as const], mounts: [{ host: '/tmp', guest: '/t', readOnly: true }] },
    ]) assert.doesNotThrow(() => defineGrant(partial), JSON.stringify(partial, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
    const result = await runWasi(new WebAssembly.Module(readFileSync(fixture('c', 'hello.wasm'))), defineGrant());
    assert.equal(result.exitCode, 0);
    assert.equal(new TextDecoder().decode(result.stdout), 'hello from wasm-warden\n');
  });
});
