// The package entry, used as an embedder would: decode once, run many times
// with different grants.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as warden from '../src/index.js';
import { fixture } from './helpers/paths.js';
import { tempDir } from './helpers/tmp.js';

describe('the library API', () => {
  it('decodes, inspects and runs one compiled module under different grants', (t) => {
    const bytes = new Uint8Array(readFileSync(fixture('c', 'wasi', 'exhaust.wasm')));
    assert.equal(warden.decodeModule(bytes).exports.some((e) => e.name === '_start'), true);
    assert.equal(warden.hasErrors(warden.inspect(bytes)), false);
    const module = new WebAssembly.Module(bytes);
    const a = tempDir(t);
    const b = tempDir(t);
    const first = warden.runWasi(module, warden.defineGrant({ args: ['x', 'files'], mounts: [{ host: a, guest: '/scratch', readOnly: false }], limits: { maxFilesCreated: 2 } }));
    const second = warden.runWasi(module, warden.defineGrant({ args: ['x', 'files'], mounts: [{ host: b, guest: '/scratch', readOnly: false }], limits: { maxFilesCreated: 5 } }));
    assert.equal(new TextDecoder().decode(first.stdout), 'files 2 EDQUOT\n');
    assert.equal(new TextDecoder().decode(second.stdout), 'files 5 EDQUOT\n');
    assert.equal(readdirSync(a).length, 2);
    assert.equal(readdirSync(b).length, 5);
  });

  it('library defaults are strict: no stdin, output captured, nothing granted', () => {
    const grant = warden.defineGrant();
    assert.deepEqual(grant.stdin, { kind: 'none' });
    assert.deepEqual(grant.stdout, { kind: 'capture' });
    assert.deepEqual(grant.mounts, []);
    assert.deepEqual(grant.env, []);
    assert.ok(Object.isFrozen(grant));
    const result = warden.runWasi(new WebAssembly.Module(readFileSync(fixture('c', 'hello.wasm'))), grant);
    assert.equal(result.exitCode, 0);
    assert.equal(new TextDecoder().decode(result.stdout), 'hello from wasm-warden\n');
  });

  it('a closed sandbox refuses every call with SandboxClosedError, in every isolation', async () => {
    const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
    const plugin = new Uint8Array(readFileSync(fixture('c', 'plugins', 'kernel-plugin.wasm')));
    for (const isolation of ['none', 'thread'] as const) {
      const sandbox = await warden.createSandbox({ isolation });
      await sandbox.close();
      // A closed sandbox runs nothing, even a module it would admit, and says why before any admission.
      await assert.rejects(sandbox.run(hello), warden.SandboxClosedError, isolation);
      await assert.rejects(sandbox.invoke(plugin, 'echo'), warden.SandboxClosedError, isolation);
      await assert.rejects(sandbox.callPlugin(plugin, 'echo'), warden.SandboxClosedError, isolation);
      await assert.rejects(sandbox.plugin(plugin), warden.SandboxClosedError, isolation);
    }
  });

  it('the errors its calls throw are classes the package exports', async () => {
    const sandbox = await warden.createSandbox({ isolation: 'none' });
    const session = await sandbox.plugin(new Uint8Array(readFileSync(fixture('c', 'plugins', 'kernel-plugin.wasm'))));
    await session.close();
    await assert.rejects(session.call('echo', 'x'), warden.SessionClosedError);
    await sandbox.close();
    // A module whose signature section is malformed cannot be signed again.
    const hello = new Uint8Array(readFileSync(fixture('c', 'hello.wasm')));
    const malformed = new Uint8Array([...hello.subarray(0, 8), 0, 11, 9, ...new TextEncoder().encode('signature'), 9, ...hello.subarray(8)]);
    assert.throws(() => warden.signModule(malformed, warden.generateSecretKey()), warden.SignatureFormatError);
  });

  it('lists the fixed trap kinds', () => {
    assert.ok(warden.TRAP_KINDS.includes('deadline'));
    assert.ok(warden.TRAP_KINDS.includes('output-limit'));
  });
});
