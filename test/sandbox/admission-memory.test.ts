// Admission's cost on a large hostile module: memory bounded by the module's
// size, and the caller's event loop free while it runs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parsePolicy, EMPTY_POLICY } from '../../src/policy/load.js';
import { AdmissionError, PREPARE_OFF_THREAD_BYTES, prepare, prepareAsync } from '../../src/sandbox/prepare.js';
import { localRunsBomb, passiveElementBomb, tableGrowBomb } from '../helpers/module-builder.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

describe('admission memory', () => {
  it('prepares 64 MiB of passive element segments in at most 2x the module beyond its bytes (child process RSS)', (t) => {
    const path = join(tempDir(t), 'elements.wasm');
    writeFileSync(path, passiveElementBomb(64 * MiB));
    const child = fileURLToPath(new URL('./admission-memory-child.js', import.meta.url));
    const result = spawnSync(process.execPath, [child, path], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, result.stderr.slice(-400));
    const report = JSON.parse(result.stdout.trim());
    assert.ok(report.moduleBytes > 60 * MiB);
    const extra = report.peakRss - report.rssBefore;
    assert.ok(extra <= 2 * report.moduleBytes, `admission took ${(extra / MiB).toFixed(0)} MiB beyond the ${(report.moduleBytes / MiB).toFixed(0)} MiB module`);
  });

  it('prepares 8 MiB of one-local declaration runs in at most 2x the module beyond its bytes (child process RSS)', (t) => {
    // Each run (`01 7f`) was an object in the decoded module: 25x the module beyond its bytes, 13x V8's validation time.
    const path = join(tempDir(t), 'locals.wasm');
    writeFileSync(path, localRunsBomb(8 * MiB));
    const child = fileURLToPath(new URL('./admission-memory-child.js', import.meta.url));
    const result = spawnSync(process.execPath, [child, path], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, result.stderr.slice(-400));
    const report = JSON.parse(result.stdout.trim());
    assert.ok(report.moduleBytes > 7 * MiB);
    const extra = report.peakRss - report.rssBefore;
    assert.ok(extra <= 2 * report.moduleBytes, `admission took ${(extra / MiB).toFixed(0)} MiB beyond the ${(report.moduleBytes / MiB).toFixed(0)} MiB module`);
  });
});

describe('prepareAsync', () => {
  const large = passiveElementBomb(24 * MiB);

  it('prepares a large module on a worker while the caller\'s event loop keeps running', async () => {
    assert.ok(large.length >= PREPARE_OFF_THREAD_BYTES);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const pending = prepareAsync(large, EMPTY_POLICY);
      const ticksWhenCalled = ticks;
      const prepared = await pending;
      // Inline, the loop could not run a single timer between the call and its result.
      assert.ok(ticks > ticksWhenCalled, 'no timer ran while the module was prepared');
      const inline = prepare(large, EMPTY_POLICY);
      assert.equal(Buffer.compare(prepared.bytes, inline.bytes), 0);
      assert.equal(prepared.digest, inline.digest);
      assert.equal(prepared.metered, inline.metered);
      assert.equal(large.byteLength, large.buffer.byteLength, 'the caller\'s bytes are not detached');
    } finally {
      clearInterval(timer);
    }
  });

  it('refuses on the worker as prepare does, with the same violations', async () => {
    await assert.rejects(prepareAsync(large, parsePolicy({ limits: { tables: 0 } })), (error: unknown) => {
      assert.ok(error instanceof AdmissionError);
      assert.deepEqual(error.violations.map((v) => v.rule), ['too-many-tables']);
      return true;
    });
  });

  it('carries the policy\'s trusted keys to the worker: unsigned refused, signed admitted', async () => {
    const { encodePublicKey, generateSecretKey } = await import('../../src/signing/keys.js');
    const { signModule } = await import('../../src/signing/sign.js');
    const key = generateSecretKey();
    const policy = parsePolicy({ trust: { keys: [`base64:${Buffer.from(encodePublicKey(key.publicKey)).toString('base64')}`] } });
    const module = passiveElementBomb(MiB);
    await assert.rejects(prepareAsync(module, policy), (error: unknown) => error instanceof AdmissionError && error.violations[0]!.rule === 'unsigned');
    const signed = signModule(module, key).module;
    assert.equal((await prepareAsync(signed, policy)).digest, prepare(signed, policy).digest);
  });

  it('prepares small modules inline', async () => {
    const small = tableGrowBomb(1, 1);
    const prepared = await prepareAsync(small, EMPTY_POLICY);
    assert.equal(Buffer.compare(prepared.bytes, prepare(small, EMPTY_POLICY).bytes), 0);
  });
});
