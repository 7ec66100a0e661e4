// Builds module bytes section by section, for tests that need shapes no
// assembler writes (thousands of tables, hundreds of megabytes of segments,
// encodings a text format cannot express).

import { ByteWriter } from '../../src/binary/writer.js';

export const HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

/** `id ‖ size ‖ payload`. */
export function section(id: number, payload: Uint8Array | number[]): Uint8Array {
  const bytes = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  return new ByteWriter(bytes.length + 6).u8(id).u32(bytes.length).bytes(bytes).finish();
}

/** `count ‖ items…`. */
export function vector(items: ReadonlyArray<Uint8Array | number[]>): Uint8Array {
  const w = new ByteWriter().u32(items.length);
  for (const item of items) w.bytes(item instanceof Uint8Array ? item : Uint8Array.from(item));
  return w.finish();
}

export function moduleOf(...sections: Uint8Array[]): Uint8Array {
  const w = new ByteWriter(8 + sections.reduce((n, s) => n + s.length, 0)).bytes(HEADER);
  for (const s of sections) w.bytes(s);
  return w.finish();
}

/** A function body entry (size-prefixed): no locals unless given, then `code` and the final `end`. */
export function body(code: number[] | Uint8Array, locals: Array<[count: number, type: number]> = []): Uint8Array {
  const w = new ByteWriter().u32(locals.length);
  for (const [count, type] of locals) w.u32(count).u8(type);
  const inner = w.bytes(code instanceof Uint8Array ? code : Uint8Array.from(code)).u8(0x0b).finish();
  return new ByteWriter(inner.length + 5).u32(inner.length).bytes(inner).finish();
}

export function u32(value: number): number[] {
  return [...new ByteWriter(5).u32(value).finish()];
}

export function s32(value: number): number[] {
  return [...new ByteWriter(5).s32(value).finish()];
}

export function name(text: string): number[] {
  return [...new ByteWriter().name(text).finish()];
}

export const FUNC_TYPE_VOID = [0x60, 0x00, 0x00];
export const FUNC_TYPE_I32 = [0x60, 0x00, 0x01, 0x7f];

/** A module of one page of memory and one exported function, `_start`, whose body is `code`. */
export function startWithMemory(code: number[] | Uint8Array): Uint8Array {
  return moduleOf(
    section(1, vector([FUNC_TYPE_VOID])),
    section(3, vector([[0]])),
    section(5, vector([[0x00, 1]])),
    section(7, vector([[...name('_start'), 0, 0]])),
    section(10, vector([body(code)])),
  );
}

/**
 * `tables` funcref tables (initial 0, no maximum) and two exports: `_start`
 * (empty) and `grow`, which grows every table by `step` elements at a time
 * until table.grow fails, and returns how many elements it added in all.
 */
export function tableGrowBomb(tables: number, step: number): Uint8Array {
  const code: number[] = [];
  for (let t = 0; t < tables; t++) {
    // block; loop; (br_if 1 (i32.eq (table.grow t (ref.null func) (i32.const step)) (i32.const -1)));
    //   local.set 0 (i32.add (local.get 0) (i32.const step)); br 0; end; end
    code.push(0x02, 0x40, 0x03, 0x40, 0xd0, 0x70, 0x41, ...s32(step), 0xfc, 0x0f, ...u32(t), 0x41, 0x7f, 0x46, 0x0d, 0x01,
      0x20, 0x00, 0x41, ...s32(step), 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b);
  }
  code.push(0x20, 0x00);
  return moduleOf(
    section(1, vector([FUNC_TYPE_VOID, FUNC_TYPE_I32])),
    section(3, vector([[0], [1]])),
    section(4, vector(Array.from({ length: tables }, () => [0x70, 0x00, 0x00]))),
    section(7, vector([[...name('_start'), 0, 0], [...name('grow'), 0, 1]])),
    section(10, vector([body([]), body(code, [[1, 0x7f]])])),
  );
}

/**
 * About `size` bytes of local declarations: functions each declaring 50,000
 * locals (V8's limit) as 50,000 runs of one i32 (`01 7f`). Valid, and each
 * run was once an object of about 40 bytes in the decoded module.
 */
export function localRunsBomb(size: number): Uint8Array {
  const runs = 50_000;
  const code = body([], new Array(runs).fill([1, 0x7f]));
  const functions = Math.max(1, Math.floor(size / code.length));
  return moduleOf(
    section(1, vector([FUNC_TYPE_VOID])), section(3, vector(new Array(functions).fill([0]))),
    section(7, vector([[...name('_start'), 0, 0]])),
    section(10, vector(new Array(functions).fill(code))),
  );
}

/**
 * A command module of about `size` bytes, nearly all of it passive element
 * segments listing function 0 over and over (one byte per item), the shape
 * of a module that once cost admission 16 times its size. Has a table and a
 * memory without maxima, so preparing it rewrites both.
 */
export function passiveElementBomb(size: number): Uint8Array {
  const itemsPerSegment = 4_000_000;
  const segmentBytes = 1 + 1 + 4 + itemsPerSegment; // flags, elemkind, count (4-byte LEB), items
  const segments = Math.max(1, Math.floor(size / segmentBytes));
  const payload = new Uint8Array(5 + segments * segmentBytes);
  payload.set(new ByteWriter(5).u32Padded(segments).finish(), 0);
  const header = Uint8Array.from([0x01, 0x00, ...new ByteWriter(5).u32Padded(itemsPerSegment).finish().subarray(0, 4)]);
  // u32Padded writes 5 bytes; a count below 2^28 fits 4 (last byte without continuation).
  header[5] &= 0x7f;
  for (let s = 0; s < segments; s++) payload.set(header, 5 + s * segmentBytes); // items stay 0x00: function 0
  return moduleOf(
    section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])),
    section(4, vector([[0x70, 0x00, 0x01]])), section(5, vector([[0x00, 0x01]])),
    section(7, vector([[...name('_start'), 0, 0]])),
    section(9, payload),
    section(10, vector([body([])])),
  );
}
