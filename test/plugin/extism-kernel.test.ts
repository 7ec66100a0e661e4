// The kernel against hostile plugins: reads past the input, wild offsets,
// log floods, allocation and variable bounds. Each ends in an errno-free trap
// or a refusal the host counts, never a host exception or unbounded memory.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { AdmissionError } from '../../src/sandbox/prepare.js';
import { createKernel } from '../../src/plugin/extism-kernel.js';
import { fixture } from '../helpers/paths.js';
import { wat } from '../helpers/wat.js';

const wasm = new Uint8Array(readFileSync(fixture('c', 'plugins', 'kernel-plugin.wasm')));
const limits = { memoryBytes: 1024, varBytes: 64, logLines: 3 };

describe('Extism kernel bounds', () => {
  it('a read past the input and a load from a wild offset trap the plugin (out-of-bounds)', async () => {
    const sandbox = await createSandbox({ isolation: 'none' });
    try {
      const over = await sandbox.callPlugin(wasm, 'overread', 'abc');
      assert.equal(over.trap?.kind, 'out-of-bounds');
      assert.equal(over.plugin.rc, null);
      const wild = await sandbox.callPlugin(wasm, 'wild');
      assert.equal(wild.trap?.kind, 'out-of-bounds');
    } finally {
      await sandbox.close();
    }
  });

  it('a log flood keeps plugin.logs lines and counts the rest', async () => {
    const sandbox = await createSandbox({ isolation: 'none', plugin: { logs: 5 } });
    try {
      const r = await sandbox.callPlugin(wasm, 'chatty');
      assert.equal(r.plugin.logs.length, 5);
      assert.equal(r.plugin.logsDropped, 9995);
      assert.equal(new TextDecoder().decode(r.plugin.output), 'done');
    } finally {
      await sandbox.close();
    }
  });

  it('allocation past plugin.memory returns 0; the host keeps no more', () => {
    const k = createKernel({ input: new Uint8Array(0), config: {}, vars: [], limits });
    const alloc = k.imports.alloc as unknown as (n: bigint) => bigint;
    assert.equal(alloc(1025n), 0n);
    assert.equal(alloc(2n ** 63n), 0n);
    assert.notEqual(alloc(1000n), 0n);
    assert.equal(alloc(100n), 0n);
    assert.ok(k.outcome().memoryBytes <= 1024);
  });

  it('variables past plugin.vars trap with host-limit and keep the old value', () => {
    const k = createKernel({ input: new Uint8Array(0), config: {}, vars: [['a', new Uint8Array([1])]], limits });
    const i = k.imports as unknown as Record<string, (...a: bigint[]) => bigint | void>;
    const key = i.alloc!(1n) as bigint;
    (i.store_u8 as unknown as (o: bigint, v: number) => void)(key, 0x61);
    const value = i.alloc!(100n) as bigint;
    assert.throws(() => i.var_set!(key, value), (e: Error & { kind?: string }) => e.kind === 'host-limit');
    assert.deepEqual(k.outcome().vars, [['a', new Uint8Array([1])]]);
  });

  it('many tiny variables are charged what the host keeps for each, not the bytes the plugin named', () => {
    // 1-byte keys and values cost the host a Map entry, a string and a Uint8Array (about 260 bytes
    // measured on Node 20), not 2 bytes: 64 KiB of plugin.vars must not hold 32 768 of them.
    const k = createKernel({ input: new Uint8Array(0), config: {}, vars: [], limits: { memoryBytes: 1024, varBytes: 64 * 1024, logLines: 3 } });
    const i = k.imports as unknown as Record<string, (...a: bigint[]) => bigint | void>;
    const store = i.store_u8 as unknown as (o: bigint, v: number) => void;
    const key = i.alloc!(2n) as bigint;
    const value = i.alloc!(1n) as bigint;
    let kept = 0;
    assert.throws(() => {
      for (; kept < 40_000; kept++) {
        store(key, 0x21 + (kept % 90));
        store(key + 1n, 0x21 + Math.floor(kept / 90));
        i.var_set!(key, value);
      }
    }, (e: Error & { kind?: string }) => e.kind === 'host-limit');
    assert.ok(kept <= 64 * 1024 / 256, `${kept} variables kept in 64 KiB`);
    assert.equal(k.outcome().vars.length, kept);
  });

  it('config keys named like Object.prototype members reach the plugin as written, and no others appear', async () => {
    // JSON.parse (as a TOML parser) makes `__proto__` an own key; copied into a plain object it set the prototype and vanished.
    const config = JSON.parse('{"__proto__": "p", "constructor": "c"}') as Record<string, string>;
    const sandbox = await createSandbox({ isolation: 'thread', plugin: { config } });
    try {
      const read = async (key: string) => new TextDecoder().decode((await sandbox.callPlugin(wasm, 'config', key)).plugin.output);
      assert.equal(await read('__proto__'), 'p');
      assert.equal(await read('constructor'), 'c');
      assert.equal(await read('toString'), '<unset>');
    } finally {
      await sandbox.close();
    }
  });

  it('offsets arrive as signed i64: negative ones and ones past 2^53 trap like any offset past the end', () => {
    const k = createKernel({ input: new Uint8Array(16), config: {}, vars: [], limits });
    const i = k.imports as unknown as Record<string, (...a: bigint[]) => bigint | number | void>;
    const block = i.alloc!(16n) as bigint;
    for (const wild of [-1n, -(2n ** 63n), 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, block - 2n ** 64n]) {
      assert.throws(() => i.input_load_u64!(wild), /past the end of its input/, `input_load_u64(${wild})`);
      assert.throws(() => i.input_load_u8!(wild), /past the end of its input/, `input_load_u8(${wild})`);
      assert.throws(() => i.load_u64!(wild), /outside/, `load_u64(${wild})`);
      assert.throws(() => i.store_u8!(wild, 1n), /outside/, `store_u8(${wild})`);
    }
    assert.throws(() => i.input_load_u64!(9n), /past the end/, 'an 8-byte read that starts inside and ends outside');
    assert.equal(i.input_load_u64!(8n), 0n);
    assert.equal(i.load_u64!(block + 8n), 0n);
  });

  it('a key that is not a block start, and offset 0, are refused', () => {
    const k = createKernel({ input: new Uint8Array(0), config: { x: 'y' }, vars: [], limits });
    const i = k.imports as unknown as Record<string, (...a: bigint[]) => bigint | void>;
    const block = i.alloc!(4n) as bigint;
    assert.throws(() => i.config_get!(block + 1n), /not a block/);
    assert.throws(() => i.load_u64!(0n), /outside/);
    assert.throws(() => i.load_u64!(block), /outside/, 'an 8-byte load past the last block');
  });
});

describe('Extism kernel admission', () => {
  it('refuses http_request without a policy granting origins, and a kernel import with the wrong signature', async () => {
    const module = await wat(`(module
      (import "extism:host/env" "http_request" (func (param i64 i64) (result i64)))
      (import "extism:host/env" "alloc" (func (param i32) (result i32)))
      (func (export "go") (result i32) (i32.const 0)))`);
    const sandbox = await createSandbox({ isolation: 'none' });
    try {
      await assert.rejects(sandbox.callPlugin(module, 'go'), (e: unknown) => {
        assert.ok(e instanceof AdmissionError);
        assert.deepEqual(e.violations.map((v) => v.rule).sort(), ['import-not-granted', 'import-signature-mismatch']);
        return true;
      });
    } finally {
      await sandbox.close();
    }
  });

  it('refuses a plugin function that takes parameters', async () => {
    const module = await wat(`(module (func (export "go") (param i32) (result i32) (i32.const 0)))`);
    const sandbox = await createSandbox({ isolation: 'none' });
    try {
      await assert.rejects(sandbox.callPlugin(module, 'go'), /not a plugin function/);
    } finally {
      await sandbox.close();
    }
  });
});
