// Jobs cross into a worker without the part it already holds (the module and
// the grant's invariant fields). These tests hold the wire to the jobs it
// carries: every decoded job equals the one sent, whichever sandbox's job
// came before it, and a post that failed never leaves the worker's base
// behind the host's idea of it.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { grantFor, grantTemplate } from '../../src/policy/compile-grant.js';
import { JobDecoder, JobEncoder, type JobMessage } from '../../src/sandbox/job-wire.js';
import type { Job } from '../../src/sandbox/execute.js';
import { createSandbox, createSharedPool } from '../../src/sandbox/sandbox.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const cat = new Uint8Array(readFileSync(fixture('c', 'wasi', 'cat.wasm')));
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function jobOf(module: WebAssembly.Module, template: ReturnType<typeof grantTemplate>, env: Record<string, string>, args: string[]): Job {
  return { module, grant: grantFor(template!, { args, env, stdin: new Uint8Array([7]) }), fuel: 100, watchdog: false, guards: [], entry: { kind: 'start' }, plan: { stubs: [], hosted: [] } };
}

/** Comparable: a module by identity is lost in a clone, so compare its exports instead. */
function comparable(message: JobMessage): unknown {
  const { module, ...rest } = message.job;
  return { ...message, job: { ...rest, exports: WebAssembly.Module.exports(module) } };
}

describe('the job wire', () => {
  it('rebuilds every job exactly, across sandboxes sharing one worker', (t) => {
    const module = new WebAssembly.Module(cat);
    const a = grantTemplate(parsePolicy({ mount: [{ host: tempDir(t), guest: '/', mode: 'rw' }], env: { POLICY: 'a' } }));
    const b = grantTemplate(parsePolicy({ mount: [{ host: tempDir(t), guest: '/', mode: 'ro' }], clock: 'frozen' }));
    const encoder = new JobEncoder();
    const decoder = new JobDecoder();
    const sequence = [a, a, b, a, b, b, a];
    let bases = 0;
    sequence.forEach((template, i) => {
      const env = { REQUEST_METHOD: 'GET', PATH_INFO: `/${i}`, EMPTY: '', 'WITH=EQUALS': 'x=y' };
      const message: JobMessage = { id: i + 1, job: jobOf(module, template, env, [`/r${i}`]), sentAt: 1000 + i };
      const wire = encoder.encode(message);
      encoder.sent(wire);
      if ((wire as { base?: unknown }).base) bases++;
      // What the worker gets is a structured clone, as postMessage makes it.
      const decoded = decoder.decode(structuredClone(wire));
      assert.deepEqual(comparable(decoded), comparable(message), `job ${i}`);
    });
    // A base crosses only when the sandbox differs from the one before: a, b, a, b, a.
    assert.equal(bases, 5);
  });

  it('carries a plain _start run as its per-run values alone, and any other job whole', (t) => {
    const module = new WebAssembly.Module(cat);
    const a = grantTemplate(parsePolicy({ mount: [{ host: tempDir(t), guest: '/', mode: 'rw' }] }));
    const encoder = new JobEncoder();
    const decoder = new JobDecoder();
    const plain = jobOf(module, a, { A: '1' }, ['x']);
    const others: Job[] = [
      { ...plain, watchdog: true },
      { ...plain, guards: [[12, 'stack-guard']] },
      { ...plain, entry: { kind: 'invoke', name: 'add', args: [1, 2n], results: ['i32'] } },
      { ...plain, plan: { stubs: [{ module: 'env', name: 'f', params: [], results: [], mode: 'trap' }], hosted: [] } },
      { ...plain, kernel: { input: new Uint8Array([1]), config: {}, vars: [], limits: { memoryBytes: 1, varBytes: 1, logLines: 1 } } as unknown as Job['kernel'] },
      { ...plain, grant: { ...plain.grant, stdin: { kind: 'none' } } },
      { ...plain, grant: { ...plain.grant, stdin: { kind: 'fd', fd: 0 } } },
      { ...plain, grant: { ...plain.grant, stdin: { kind: 'file', path: '/x' } } },
      { ...plain, fuel: null },
    ];
    [plain, ...others].forEach((job, i) => {
      const message: JobMessage = { id: i + 1, job };
      const wire = encoder.encode(message) as { rest?: unknown };
      encoder.sent(wire);
      // Only a job that is not a plain `_start` run needs its other fields sent.
      const plainStart = i === 0 || i >= 6;
      assert.equal(wire.rest === undefined, plainStart, `job ${i}: rest ${wire.rest === undefined ? 'absent' : 'present'}`);
      assert.deepEqual(comparable(decoder.decode(structuredClone(wire))), comparable(message), `job ${i}`);
    });
  });

  it('sends the base again when the post that carried it failed', (t) => {
    const module = new WebAssembly.Module(cat);
    const a = grantTemplate(parsePolicy({ mount: [{ host: tempDir(t), guest: '/', mode: 'rw' }] }));
    const b = grantTemplate(parsePolicy({ mount: [{ host: tempDir(t), guest: '/', mode: 'rw' }] }));
    const encoder = new JobEncoder();
    const decoder = new JobDecoder();
    const first = encoder.encode({ id: 1, job: jobOf(module, a, {}, ['x']) });
    encoder.sent(first);
    decoder.decode(structuredClone(first));
    // b's job is encoded but never posted (sent() not called): the worker still holds a's base.
    encoder.encode({ id: 2, job: jobOf(module, b, {}, ['x']) });
    const retry = encoder.encode({ id: 3, job: jobOf(module, b, {}, ['x']) });
    assert.ok((retry as { base?: unknown }).base, 'b\'s base goes with the retried job');
    encoder.sent(retry);
    assert.equal(decoder.decode(structuredClone(retry)).job.grant.mounts[0]!.host, b!.base.mounts[0]!.host);
  });

  it('carries an environment holding NUL bytes as pairs, unsplit', (t) => {
    const module = new WebAssembly.Module(cat);
    const a = grantTemplate(parsePolicy({ mount: [{ host: tempDir(t), guest: '/', mode: 'rw' }] }));
    const encoder = new JobEncoder();
    const message: JobMessage = { id: 1, job: jobOf(module, a, { A: 'x\0B=y', C: '' }, ['x']) };
    const wire = encoder.encode(message);
    assert.deepEqual(new JobDecoder().decode(structuredClone(wire)).job.grant.env, [['A', 'x\0B=y'], ['C', '']]);
  });

  it('gives each sandbox its own root when several share the guest path and one worker', async (t) => {
    const pool = createSharedPool({ size: 1, queue: 64 });
    t.after(() => pool.close());
    const roots = ['alpha', 'bravo', 'charlie'].map((secret) => {
      const dir = tempDir(t);
      writeFileSync(join(dir, 'secret.txt'), `${secret}\n`);
      return { secret, dir };
    });
    const sandboxes = await Promise.all(roots.map(({ dir }) => createSandbox({ isolation: 'thread', mount: [{ host: dir, guest: '/', mode: 'ro' }] }, { pool })));
    // Interleaved so that most runs follow a run of another sandbox, some of the same one.
    const order = [0, 1, 2, 2, 0, 1, 1, 0, 2, 0, 0, 1];
    const results = await Promise.all(order.map((i) => sandboxes[i]!.run(cat, { args: ['cat', '/secret.txt'] })));
    results.forEach((result, k) => assert.ok(text(result.stdout).startsWith(`${roots[order[k]!]!.secret}\n`), `run ${k}: ${text(result.stdout)}`));
    await Promise.all(sandboxes.map((s) => s.close()));
  });
});
