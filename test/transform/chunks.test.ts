// Large fills and copies run in chunks with a deadline checkpoint between
// them, and mean exactly what they meant: same bytes (overlapping copies in
// both directions included), and out-of-bounds operations still trap before
// writing anything.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { CHECKPOINT_MODULE, CHECKPOINT_NAME, prepareModule } from '../../src/transform/index.js';
import { wat } from '../helpers/wat.js';

const MiB = 1024 * 1024;
const PAGES = 800; // 50 MiB
const source = `(module (memory (export "memory") ${PAGES})
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2))))`;

type Ops = { fill: (d: number, v: number, n: number) => void; copy: (d: number, s: number, n: number) => void; memory: WebAssembly.Memory };

async function pair(options: { fuel: boolean }): Promise<{ plain: Ops; chunked: Ops; checkpoints: () => number }> {
  const bytes = await wat(source);
  const rewritten = prepareModule(decodeModule(bytes), { memoryBytes: PAGES * 65536, tableElements: 10, checkpoint: true, ...(options.fuel ? { fuel: true, fuelBudget: 10n ** 12n } : { fuel: false }) });
  let calls = 0;
  const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource)).exports as unknown as Ops;
  const chunked = new WebAssembly.Instance(new WebAssembly.Module(rewritten as BufferSource), { [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: () => { calls++; } } }).exports as unknown as Ops;
  return { plain, chunked, checkpoints: () => calls };
}

/** The same pseudo-random contents in both memories. */
function seed(...memories: WebAssembly.Memory[]): void {
  let x = 0x12345678;
  const first = new Uint32Array(memories[0]!.buffer);
  for (let i = 0; i < first.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; first[i] = x >>> 0; }
  for (const m of memories.slice(1)) new Uint8Array(m.buffer).set(new Uint8Array(memories[0]!.buffer));
}

const same = (a: WebAssembly.Memory, b: WebAssembly.Memory) => Buffer.compare(new Uint8Array(a.buffer), new Uint8Array(b.buffer)) === 0;

describe('chunked fills and copies', () => {
  it('a 40 MiB fill writes the same bytes, with a checkpoint between chunks', async () => {
    const { plain, chunked, checkpoints } = await pair({ fuel: false });
    seed(plain.memory, chunked.memory);
    plain.fill(3, 0xab, 40 * MiB + 5);
    chunked.fill(3, 0xab, 40 * MiB + 5);
    assert.ok(same(plain.memory, chunked.memory));
    assert.equal(checkpoints(), 3, 'one before the fill, one after each of two full chunks; the rest runs as the original instruction');
  });

  for (const [label, d, s] of [['forward (destination below source)', 1 * MiB + 7, 5 * MiB], ['backward (destination above source)', 5 * MiB, 1 * MiB + 7], ['in place', 2 * MiB, 2 * MiB]] as const) {
    it(`an overlapping 40 MiB copy, ${label}, moves the same bytes as one memory.copy`, async () => {
      const { plain, chunked, checkpoints } = await pair({ fuel: true });
      seed(plain.memory, chunked.memory);
      plain.copy(d, s, 40 * MiB + 13);
      chunked.copy(d, s, 40 * MiB + 13);
      assert.ok(same(plain.memory, chunked.memory));
      assert.equal(checkpoints(), 3, 'it went in chunks');
    });
  }

  it('an exact multiple of the chunk size copies and fills completely', async () => {
    const { plain, chunked } = await pair({ fuel: false });
    seed(plain.memory, chunked.memory);
    for (const ops of [plain, chunked]) { ops.copy(0, 16 * MiB, 32 * MiB); ops.fill(1, 9, 16 * MiB); }
    assert.ok(same(plain.memory, chunked.memory));
  });

  it('an out-of-bounds fill or copy still traps before writing a byte', async () => {
    const { chunked } = await pair({ fuel: true });
    const end = PAGES * 65536;
    const before = Buffer.from(new Uint8Array(chunked.memory.buffer));
    assert.throws(() => chunked.fill(end - 20 * MiB, 1, 20 * MiB + 1), WebAssembly.RuntimeError);
    assert.throws(() => chunked.copy(0, end - 20 * MiB, 20 * MiB + 1), WebAssembly.RuntimeError);
    assert.throws(() => chunked.copy(end - 20 * MiB, 0, 20 * MiB + 1), WebAssembly.RuntimeError);
    assert.throws(() => chunked.fill(0xffffff00, 1, 20 * MiB), WebAssembly.RuntimeError);
    assert.equal(Buffer.compare(before, new Uint8Array(chunked.memory.buffer)), 0);
  });
});
