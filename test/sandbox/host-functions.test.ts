// Host functions granted as capabilities: admission against the grants, the
// checked guest-memory view, call counts, and failures that trap the guest
// (never the host), for closures and for functions an isolate loads itself.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { AdmissionError } from '../../src/sandbox/prepare.js';
import type { HostFunctionGrant } from '../../src/sandbox/host-functions.js';
import { fixture } from '../helpers/paths.js';

const plugin = new Uint8Array(readFileSync(fixture('c', 'plugins', 'host-log.wasm')));
const loaded = fixture('js', 'host-log.mjs');

function closures(logs: string[]): HostFunctionGrant[] {
  return [
    { module: 'env', name: 'log', params: ['i32', 'i32'], results: [], fn: (memory, ptr, len) => { logs.push(memory.readString(Number(ptr), Number(len))); } },
    { module: 'env', name: 'add', params: ['i32', 'i32'], results: ['i32'], fn: (_memory, a, b) => Number(a) + Number(b) },
  ];
}

for (const isolation of ['none', 'thread', 'process'] as const) {
  describe(`host functions, ${isolation} isolation`, () => {
    it('closures on the embedder\'s thread read guest memory through the checked view, and are counted', async () => {
      const logs: string[] = [];
      const sandbox = await createSandbox({ isolation, limits: { timeout: '2s' } }, { hostFunctions: closures(logs) });
      try {
        const greet = await sandbox.invoke(plugin, 'greet', 3);
        assert.equal(greet.exitCode, 0, JSON.stringify(greet.trap));
        assert.deepEqual(logs, ['hello from the guest', 'hello from the guest', 'hello from the guest']);
        assert.deepEqual(greet.hostCalls, { 'env.log': 3, 'env.add': 0 });
        assert.deepEqual((await sandbox.invoke(plugin, 'sum', 40, 2)).results, [42]);
      } finally {
        await sandbox.close();
      }
    });

    it('a pointer outside guest memory traps the guest with kind host-function', async () => {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '2s' } }, { hostFunctions: closures([]) });
      try {
        const r = await sandbox.invoke(plugin, 'bad_pointer');
        assert.equal(r.exitCode, null);
        assert.equal(r.trap?.kind, 'host-function');
        assert.match(r.trap!.message, /outside guest memory/);
        // The sandbox still serves.
        assert.deepEqual((await sandbox.invoke(plugin, 'noop', 7)).results, [7]);
      } finally {
        await sandbox.close();
      }
    });

    it('functions loaded by the isolate from a module file run there; one that throws traps the guest', async () => {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '2s' } }, {
        hostFunctions: [
          { module: 'env', name: 'log', params: ['i32', 'i32'], results: [], from: { path: loaded, export: 'log' } },
          { module: 'env', name: 'add', params: ['i32', 'i32'], results: ['i32'], from: { path: loaded, export: 'fails' } },
        ],
      });
      try {
        const greet = await sandbox.invoke(plugin, 'greet', 2);
        assert.equal(greet.exitCode, 0, JSON.stringify(greet.trap));
        assert.deepEqual(greet.hostCalls, { 'env.log': 2, 'env.add': 0 });
        const failed = await sandbox.invoke(plugin, 'sum', 1, 2);
        assert.equal(failed.trap?.kind, 'host-function');
        assert.match(failed.trap!.message, /env\.add threw: the host function failed on purpose/);
        const bad = await sandbox.invoke(plugin, 'bad_pointer');
        assert.equal(bad.trap?.kind, 'host-function');
      } finally {
        await sandbox.close();
      }
    });

    it('a closure returning the wrong type traps the guest, and a throwing closure too', async () => {
      const sandbox = await createSandbox({ isolation, limits: { timeout: '2s' } }, {
        hostFunctions: [
          { module: 'env', name: 'log', params: ['i32', 'i32'], results: [], fn: () => { throw new Error('no logging today'); } },
          { module: 'env', name: 'add', params: ['i32', 'i32'], results: ['i32'], fn: () => 'forty-two' as unknown as number },
        ],
      });
      try {
        const wrong = await sandbox.invoke(plugin, 'sum', 1, 2);
        assert.equal(wrong.trap?.kind, 'host-function');
        assert.match(wrong.trap!.message, /returned string for a i32 result/);
        const threw = await sandbox.invoke(plugin, 'greet', 1);
        assert.equal(threw.trap?.kind, 'host-function');
        assert.match(threw.trap!.message, /no logging today/);
      } finally {
        await sandbox.close();
      }
    });
  });
}

for (const isolation of ['thread', 'process'] as const) describe(`closures on the embedder's thread, ${isolation} isolation`, () => {
  it('a closure that never answers ends the run at the deadline; the sandbox serves the next call', async () => {
    const sandbox = await createSandbox({ isolation, limits: { timeout: '300ms' } }, {
      hostFunctions: [
        { module: 'env', name: 'log', params: ['i32', 'i32'], results: [], fn: () => new Promise<void>(() => {}) },
        { module: 'env', name: 'add', params: ['i32', 'i32'], results: ['i32'], fn: async (_m, a, b) => Number(a) + Number(b) },
      ],
    });
    try {
      const stuck = await sandbox.invoke(plugin, 'greet', 1);
      assert.equal(stuck.exitCode, null);
      assert.equal(stuck.trap?.kind, 'deadline');
      // A child stops its own guest at the deadline and reports the record itself (one the parent had to kill carries no counts).
      if (isolation === 'process') assert.deepEqual(stuck.hostCalls, { 'env.log': 1, 'env.add': 0 });
      assert.deepEqual((await sandbox.invoke(plugin, 'sum', 2, 3)).results, [5], 'an async closure answers too');
    } finally {
      await sandbox.close();
    }
  });

  it('a guest-chosen length past guest memory fails before the host allocates for it', async () => {
    // sum(a, b) calls add(a, b): the closure reads b bytes at a, as a careless embedder might.
    let message = '';
    let grew = Infinity;
    const sandbox = await createSandbox({ isolation, limits: { timeout: '5s' } }, {
      hostFunctions: [
        { module: 'env', name: 'log', params: ['i32', 'i32'], results: [], fn: () => {} },
        { module: 'env', name: 'add', params: ['i32', 'i32'], results: ['i32'], fn: (memory, ptr, len) => {
          const before = process.memoryUsage().arrayBuffers;
          try {
            memory.read(Number(ptr), Number(len));
          } catch (error) {
            message = (error as Error).message;
          }
          grew = process.memoryUsage().arrayBuffers - before;
          return 0;
        } },
      ],
    });
    try {
      const r = await sandbox.invoke(plugin, 'sum', 0, 0x7ff00000);
      assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
      assert.match(message, /outside guest memory/);
      assert.ok(grew < 16 * 1024 * 1024, `the host allocated ${grew} bytes for a read it refused`);
    } finally {
      await sandbox.close();
    }
  });

  it('a closure writes into guest memory through the view, and the guest reads what it wrote', async () => {
    // log(ptr, len) overwrites the message with upper case; a second log sees the change.
    const seen: string[] = [];
    const sandbox = await createSandbox({ isolation, limits: { timeout: '2s' } }, {
      hostFunctions: [
        { module: 'env', name: 'log', params: ['i32', 'i32'], results: [], fn: (memory, ptr, len) => {
          const text = memory.readString(Number(ptr), Number(len));
          seen.push(text);
          memory.write(Number(ptr), new TextEncoder().encode(text.toUpperCase()));
        } },
        { module: 'env', name: 'add', params: ['i32', 'i32'], results: ['i32'], fn: () => 0 },
      ],
    });
    try {
      const r = await sandbox.invoke(plugin, 'greet', 2);
      assert.equal(r.exitCode, 0, JSON.stringify(r.trap));
      // The message is a string constant in the guest's data: the second call reads the first call's write.
      assert.deepEqual(seen, ['hello from the guest', 'HELLO FROM THE GUEST']);
    } finally {
      await sandbox.close();
    }
  });
});

describe('host functions, process isolation', () => {
  it('a child loads functions from a module file (which only it may read) and calls them', async () => {
    const sandbox = await createSandbox({ isolation: 'process', limits: { timeout: '5s' } }, {
      hostFunctions: [
        { module: 'env', name: 'log', params: ['i32', 'i32'], results: [], from: { path: loaded, export: 'log' } },
        { module: 'env', name: 'add', params: ['i32', 'i32'], results: ['i32'], from: { path: loaded, export: 'add' } },
      ],
    });
    try {
      const greet = await sandbox.invoke(plugin, 'greet', 2);
      assert.equal(greet.exitCode, 0, JSON.stringify(greet.trap));
      assert.deepEqual(greet.hostCalls, { 'env.log': 2, 'env.add': 0 });
      assert.deepEqual((await sandbox.invoke(plugin, 'sum', 40, 2)).results, [42]);
      assert.equal((await sandbox.invoke(plugin, 'bad_pointer')).trap?.kind, 'host-function');
    } finally {
      await sandbox.close();
    }
  });
});

describe('host function admission', () => {
  it('refuses an import that no grant names, and one granted with another signature, each with its fix', async () => {
    const sandbox = await createSandbox({ isolation: 'none' }, {
      hostFunctions: [{ module: 'env', name: 'log', params: ['i32'], results: [], fn: () => {} }],
    });
    try {
      await assert.rejects(sandbox.invoke(plugin, 'noop', 1), (error: unknown) => {
        assert.ok(error instanceof AdmissionError);
        assert.deepEqual(error.violations.map((v) => v.rule).sort(), ['import-signature-mismatch', 'import-unknown-module']);
        assert.match(error.message, /env\.log is granted as \(i32\) -> \(\) but imported as \(i32, i32\) -> \(\)/);
        return true;
      });
    } finally {
      await sandbox.close();
    }
  });

  it('refuses malformed grants when the sandbox is made', async () => {
    await assert.rejects(createSandbox({}, { hostFunctions: [{ module: 'env', name: 'x', params: ['i33' as 'i32'], results: [], fn: () => {} }] }), /params/);
    await assert.rejects(createSandbox({}, { hostFunctions: [{ module: 'wasi_snapshot_preview1', name: 'fd_write', params: [], results: [], fn: () => {} }] }), /wasm-warden's own/);
    await assert.rejects(createSandbox({}, { hostFunctions: [{ module: 'env', name: 'x', params: [], results: [], from: { path: 'relative.mjs', export: 'x' } }] }), /absolute/);
  });
});
