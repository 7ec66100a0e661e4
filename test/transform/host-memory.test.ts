// The rewrite that moves a module's memory to the host (transform/host-memory.ts):
// the same memory at the same index with the same limits, described by a record
// only the rewrite writes; and no guest can name the import.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { ByteWriter } from '../../src/binary/writer.js';
import { parsePolicy } from '../../src/policy/load.js';
import { AdmissionError, prepare } from '../../src/sandbox/prepare.js';
import { HOST_MEMORY_SECTION, hostMemoryShape, newMemory, withHostMemory } from '../../src/transform/host-memory.js';
import { rewriteForRun } from '../../src/transform/index.js';
import { wat } from '../helpers/wat.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { RunRefused, runWasi } from '../../src/wasi/run.js';

const options = { memoryBytes: 3 * 65536, tableElements: 100, fuel: true, fuelBudget: 1000, checkpoint: true, hostMemory: true };
const compile = (bytes: Uint8Array) => new WebAssembly.Module(bytes as BufferSource);

/** A custom section `name` holding `payload`, appended to `bytes`. */
function withCustom(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array {
  const body = new ByteWriter(64).name(name).bytes(payload).finish();
  return Uint8Array.from([...bytes, 0, ...new ByteWriter(8).u32(body.length).finish(), ...body]);
}

describe('memory lent by the host', () => {
  it('becomes an import at index 0 with the limits the policy leaves, and loads, stores and data segments use it', async () => {
    const bytes = await wat(`(module (memory (export "memory") 1 10) (data (i32.const 8) "\\2a")
      (func (export "peek") (result i32) (i32.store (i32.const 16) (i32.const 7)) (i32.add (i32.load8_u (i32.const 8)) (i32.load (i32.const 16)))))`);
    const module = compile(rewriteForRun(decodeModule(bytes), options).bytes);
    assert.deepEqual(WebAssembly.Module.imports(module).filter((i) => i.kind === 'memory'), [{ module: 'warden:host', name: 'memory', kind: 'memory' }]);
    // The module's maximum of 10 pages is capped at the policy's 3.
    assert.deepEqual(hostMemoryShape(module), { initial: 1, maximum: 3 });
    const memory = newMemory(hostMemoryShape(module)!);
    const exports = new WebAssembly.Instance(module, withHostMemory({ 'warden:host': { checkpoint: () => {} } }, memory)).exports;
    assert.equal(exports.memory, memory, 'the export is the lent memory');
    assert.equal((exports.peek as () => number)(), 42 + 7);
    assert.equal(new Uint8Array(memory.buffer)[16], 7);
  });

  it('a record the module shipped under the same name is dropped: the host reads the rewrite\'s', async () => {
    const shipped = withCustom(await wat('(module (memory 1 2))'), HOST_MEMORY_SECTION, Uint8Array.of(0x80, 0x08, 0));
    // Run as shipped (runWasi on raw bytes), the forged record asks for nothing: the module imports no memory.
    assert.equal(hostMemoryShape(compile(shipped)), null);
    const rewritten = compile(rewriteForRun(decodeModule(shipped), options).bytes);
    assert.equal(WebAssembly.Module.customSections(rewritten, HOST_MEMORY_SECTION).length, 1);
    assert.deepEqual(hostMemoryShape(rewritten), { initial: 1, maximum: 2 });
    // Without the option, nothing moves, and the forged record is dropped all the same.
    const kept = compile(rewriteForRun(decodeModule(shipped), { ...options, hostMemory: false }).bytes);
    assert.equal(hostMemoryShape(kept), null);
  });

  it('leaves alone a memory the module imports, and a shared one', async () => {
    for (const source of ['(module (import "env" "memory" (memory 1 2)))', '(module (memory 1 2 shared))']) {
      const module = compile(rewriteForRun(decodeModule(await wat(source)), options).bytes);
      assert.equal(hostMemoryShape(module), null, source);
      assert.ok(!WebAssembly.Module.imports(module).some((i) => i.module === 'warden:host' && i.name === 'memory'), source);
    }
  });

  it('raw bytes that import the host\'s memory with a forged record get no memory: a refused link, never a host error', async () => {
    const importing = await wat(`(module (import "warden:host" "memory" (memory 1))
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (func (export "_start")))`);
    const forged = [
      Uint8Array.of(0x01), // cut short
      Uint8Array.of(0x01, 0x00, 0x07), // trailing bytes
      Uint8Array.of(0x81, 0x80, 0x04, 0x00), // 65,537 pages
      Uint8Array.of(0x04, 0x01, 0x02), // a maximum below the minimum
    ];
    for (const record of forged) {
      const module = compile(withCustom(importing, HOST_MEMORY_SECTION, record));
      assert.equal(hostMemoryShape(module), null, `[${record}]`);
      assert.throws(() => runWasi(module, defineGrant({})), (error: unknown) => error instanceof RunRefused && /cannot link/.test(error.message), `[${record}]`);
    }
  });

  it('a guest that imports the host\'s memory itself is refused', async () => {
    const bytes = await wat(`(module (import "warden:host" "memory" (memory 1))
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (func (export "_start")))`);
    assert.throws(() => prepare(bytes, parsePolicy({})), (error: unknown) => error instanceof AdmissionError && /warden:host/.test(error.message));
  });
});
