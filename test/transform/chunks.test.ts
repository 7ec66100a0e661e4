// Large fills and copies (of memory and of tables) run in chunks with a
// deadline checkpoint between them, and mean exactly what they meant: same
// bytes or elements (overlapping copies in both directions included), and
// out-of-bounds operations still trap before writing anything.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeModule } from '../../src/binary/decode.js';
import { CHUNK_ELEMENTS } from '../../src/transform/chunks.js';
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

// Tables: one table.fill of 10 million funcref elements took 3-4 s and one table.copy 6-9 s here,
// a single native call: under `none` isolation a guest looping on them outran a 300 ms deadline by 8-11 s.
const ELEMENTS = 3 * CHUNK_ELEMENTS + 100;
const tables = `(module
  (table $x (export "x") ${ELEMENTS} externref)
  (table $y (export "y") ${ELEMENTS} externref)
  (table $f (export "f") ${ELEMENTS} funcref)
  (func $g) (elem declare func $g)
  (func (export "xfill") (param i32 externref i32) (table.fill $x (local.get 0) (local.get 1) (local.get 2)))
  (func (export "xcopy") (param i32 i32 i32) (table.copy $x $x (local.get 0) (local.get 1) (local.get 2)))
  (func (export "ycopy") (param i32 i32 i32) (table.copy $y $x (local.get 0) (local.get 1) (local.get 2)))
  (func (export "ffill") (param i32 i32) (table.fill $f (local.get 0) (ref.func $g) (local.get 1)))
  (func (export "fcopy") (param i32 i32 i32) (table.copy $f $f (local.get 0) (local.get 1) (local.get 2))))`;

type TableOps = {
  xfill: (d: number, v: unknown, n: number) => void; xcopy: (d: number, s: number, n: number) => void; ycopy: (d: number, s: number, n: number) => void;
  ffill: (d: number, n: number) => void; fcopy: (d: number, s: number, n: number) => void;
  x: WebAssembly.Table; y: WebAssembly.Table; f: WebAssembly.Table;
};

async function tablePair(): Promise<{ plain: TableOps; chunked: TableOps; checkpoints: () => number }> {
  const bytes = await wat(tables);
  const rewritten = prepareModule(decodeModule(bytes), { memoryBytes: 65536, tableElements: 4 * ELEMENTS, checkpoint: true, fuel: false });
  let calls = 0;
  const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource)).exports as unknown as TableOps;
  const chunked = new WebAssembly.Instance(new WebAssembly.Module(rewritten as BufferSource), { [CHECKPOINT_MODULE]: { [CHECKPOINT_NAME]: () => { calls++; } } }).exports as unknown as TableOps;
  for (const ops of [plain, chunked]) for (let i = 0; i < ELEMENTS; i++) ops.x.set(i, i);
  return { plain, chunked, checkpoints: () => calls };
}

const contents = (t: WebAssembly.Table) => Array.from({ length: t.length }, (_, i) => t.get(i));
const sameTable = (a: WebAssembly.Table, b: WebAssembly.Table) => assert.deepEqual(contents(a).map((v) => typeof v === 'function' ? 'f' : v), contents(b).map((v) => typeof v === 'function' ? 'f' : v));

describe('chunked table fills and copies', () => {
  it('a table.fill of an externref and a funcref table sets the same elements, with a checkpoint between chunks', async () => {
    const { plain, chunked, checkpoints } = await tablePair();
    for (const ops of [plain, chunked]) { ops.xfill(5, 'v', ELEMENTS - 5); ops.ffill(1, ELEMENTS - 1); }
    sameTable(plain.x, chunked.x);
    sameTable(plain.f, chunked.f);
    assert.equal(chunked.f.get(0), null);
    assert.equal(typeof chunked.f.get(ELEMENTS - 1), 'function');
    assert.equal(checkpoints(), 2 * 4, 'each: one before the fill, one after each of three full chunks');
  });

  for (const [label, d, s] of [['forward (destination below source)', 3, 1000], ['backward (destination above source)', 1000, 3], ['in place', 40, 40]] as const) {
    it(`an overlapping table.copy, ${label}, moves the same elements as one table.copy`, async () => {
      const { plain, chunked, checkpoints } = await tablePair();
      for (const ops of [plain, chunked]) { ops.xcopy(d, s, ELEMENTS - 1000); ops.ffill(0, 10); ops.fcopy(d, s, ELEMENTS - 1000); }
      sameTable(plain.x, chunked.x);
      sameTable(plain.f, chunked.f);
      assert.equal(checkpoints(), 2 * 3, 'they went in chunks');
    });
  }

  it('a copy between two tables moves the same elements', async () => {
    const { plain, chunked } = await tablePair();
    for (const ops of [plain, chunked]) ops.ycopy(7, 0, ELEMENTS - 7);
    sameTable(plain.y, chunked.y);
  });

  it('an out-of-bounds table.fill or table.copy still traps before setting an element', async () => {
    const { chunked } = await tablePair();
    const before = contents(chunked.x);
    assert.throws(() => chunked.xfill(1, 'v', ELEMENTS), WebAssembly.RuntimeError);
    assert.throws(() => chunked.xcopy(0, 1, ELEMENTS), WebAssembly.RuntimeError);
    assert.throws(() => chunked.xcopy(1, 0, ELEMENTS), WebAssembly.RuntimeError);
    assert.throws(() => chunked.xfill(0xffffff00, 'v', ELEMENTS - 1), WebAssembly.RuntimeError);
    assert.deepEqual(contents(chunked.x), before);
    assert.ok(contents(chunked.f).every((v) => v === null));
    assert.throws(() => chunked.ffill(1, ELEMENTS), WebAssembly.RuntimeError);
    assert.ok(contents(chunked.f).every((v) => v === null));
  });
});
