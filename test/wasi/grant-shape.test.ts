// defineGrant refuses a grant of the wrong shape where it is made, with one
// TypeError naming the field and what it takes; before, `stdout: 'capture'` ran
// until the first write and failed there with "Cannot read properties of
// undefined". Every default and every valid kind still passes, and a run with
// them works.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defineGrant } from '../../src/wasi/grant.js';
import { createSandbox } from '../../src/sandbox/sandbox.js';
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

  it('a run\'s own inputs of the wrong type are refused alike whether its policy has a grant template or not', async () => {
    const hello = readFileSync(fixture('c', 'hello.wasm'));
    // A policy of host mounts only is served from a template; a scratch mount compiles a grant per run.
    for (const policy of [{}, { mount: [{ kind: 'tmpfs' as const, guest: '/t' }] }]) {
      const sandbox = await createSandbox(policy, { cache: false });
      try {
        for (const [inputs, message] of [
          [{ args: ['hello', 1] }, /^run: args must be an array of strings$/],
          [{ env: { A: 1 } }, /^run: env must be an object whose values are strings$/],
          [{ stdin: 5 }, /^run: stdin must be a string or a Uint8Array$/],
        ] as const) {
          await assert.rejects(sandbox.run(new Uint8Array(hello), inputs as never), (error: Error) => error instanceof TypeError && message.test(error.message), JSON.stringify(policy));
        }
        assert.equal((await sandbox.run(new Uint8Array(hello), { args: ['hello'], env: { A: '1' }, stdin: 'x' })).exitCode, 0);
      } finally {
        await sandbox.close();
      }
    }
  });
});
