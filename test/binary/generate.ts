// Random modules for differential testing: every section, every segment
// form, every import kind, value types of several proposals, and function
// bodies of nested blocks, legacy try/catch/delegate, branches and
// instructions with every shape of immediate. Bodies start each block with
// `unreachable`, so most of them type-check and V8 accepts a good share of
// what is generated: the interesting half of a differential test.

import { ByteWriter } from '../../src/binary/writer.js';

/** mulberry32: small, fast, seedable. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALTYPES = [0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f];

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
}

function vec(items: Uint8Array[]): Uint8Array {
  const w = new ByteWriter().u32(items.length);
  for (const i of items) w.bytes(i);
  return w.finish();
}

function section(w: ByteWriter, id: number, payload: Uint8Array): void {
  w.u8(id).u32(payload.length).bytes(payload);
}

function limits(g: Gen, memory: boolean): Uint8Array {
  const w = new ByteWriter();
  const min = g.int(memory ? 3 : 20);
  const hasMax = g.chance(0.5);
  const shared = memory && hasMax && g.chance(0.15);
  const is64 = memory && g.chance(0.1); // memory64
  w.u8((hasMax ? 1 : 0) | (shared ? 2 : 0) | (is64 ? 4 : 0));
  if (is64) w.u64(min); else w.u32(min);
  if (hasMax) { if (is64) w.u64(min + g.int(3)); else w.u32(min + g.int(memory ? 3 : 50)); }
  return w.finish();
}

/** A constant expression producing `type`. */
function constExpr(g: Gen, type: number, importedGlobals: number[]): Uint8Array {
  const w = new ByteWriter();
  const fromGlobal = importedGlobals.indexOf(type);
  if (fromGlobal >= 0 && g.chance(0.2)) return w.u8(0x23).u32(fromGlobal).u8(0x0b).finish();
  switch (type) {
    case 0x7f:
      w.u8(0x41).s32(g.int(1 << 30) - (1 << 29));
      if (g.chance(0.2)) w.u8(0x41).s32(g.int(1000)).u8(g.pick([0x6a, 0x6b, 0x6c])); // extended-const: add, sub, mul
      break;
    case 0x7e: w.u8(0x42).s64(BigInt(g.int(1 << 30)) << BigInt(g.int(34))); break;
    case 0x7d: w.u8(0x43).f32(g.next() * 1000); break;
    case 0x7c: w.u8(0x44).f64(g.next() * 1e9); break;
    case 0x7b: w.u8(0xfd).u32(12); for (let i = 0; i < 16; i++) w.u8(g.int(256)); break;
    default: w.u8(0xd0).u8(type);
  }
  return w.u8(0x0b).finish();
}

interface Context {
  types: number;
  functions: number;
  tables: number;
  memories: number;
  globals: number;
  tags: number;
  locals: number;
  dataSegments: number;
  elementSegments: number;
}

/** Instructions with every shape of immediate, each valid in unreachable code. */
function simple(g: Gen, w: ByteWriter, c: Context): void {
  const idx = (n: number) => (n > 0 ? g.int(n) : 0);
  switch (g.int(26)) {
    case 0: w.u8(0x01); break; // nop
    case 1: w.u8(0x1a); break; // drop
    case 2: w.u8(0x41).s32(g.int(2 ** 31) * (g.chance(0.5) ? -1 : 1)); break;
    case 3: w.u8(0x42).s64(BigInt(g.int(2 ** 31)) * BigInt(g.int(2 ** 31)) * (g.chance(0.5) ? -1n : 1n)); break;
    case 4: w.u8(0x43).f32(g.next()); break;
    case 5: w.u8(0x44).f64(g.next()); break;
    case 6: w.u8(0xfd).u32(12); for (let i = 0; i < 16; i++) w.u8(g.int(256)); break; // v128.const
    case 7: if (c.locals) w.u8(0x20).u32(idx(c.locals)); break;
    case 8: if (c.globals) w.u8(0x23).u32(idx(c.globals)); break;
    case 9: if (c.functions) w.u8(0x10).u32(idx(c.functions)); break;
    case 10: w.u8(0xd0).u8(g.pick([0x70, 0x6f])); break; // ref.null
    case 11: if (c.memories) w.u8(0x3f).u8(0); break; // memory.size
    case 12: if (c.tables) w.u8(0xfc).u32(16).u32(idx(c.tables)); break; // table.size
    case 13: w.u8(g.pick([0x6a, 0x7c, 0x92, 0xa0, 0x45, 0xc0, 0xa7])); break; // numeric
    case 14: w.u8(0x1b); break; // select
    case 15: w.u8(0x1c).u32(1).u8(g.pick(VALTYPES)); break; // select t
    case 16: if (c.memories) w.u8(g.pick([0x28, 0x29, 0x36, 0x2d])).u32(g.int(3)).u32(g.int(70000)); break; // load/store
    case 17: if (c.types && c.tables) w.u8(0x11).u32(idx(c.types)).u32(idx(c.tables)); break; // call_indirect
    case 18: w.u8(0xfc).u32(g.int(8)); break; // trunc_sat
    case 19: if (c.memories) { if (g.chance(0.5)) w.u8(0xfc).u32(10).u8(0).u8(0); else w.u8(0xfc).u32(11).u8(0); } break; // memory.copy / fill
    case 20: if (c.memories && c.dataSegments) w.u8(0xfc).u32(8).u32(idx(c.dataSegments)).u8(0); break; // memory.init
    case 21: if (c.tables && c.elementSegments) w.u8(0xfc).u32(12).u32(idx(c.elementSegments)).u32(idx(c.tables)); break; // table.init
    case 22: if (c.tags) w.u8(0x08).u32(idx(c.tags)); break; // throw
    case 23: w.u8(0xfd).u32(g.pick([14, 15, 77, 78, 174, 186, 253, 0x100, 0x105, 0x109, 0x111])); break; // simd (and relaxed) without immediates
    case 24: if (c.functions) w.u8(0x12).u32(idx(c.functions)); break; // return_call
    case 25: if (c.memories) w.u8(0xfd).u32(g.pick([0, 11])).u32(g.int(5)).u32(g.int(100)); break; // v128.load/store
  }
}

function blockType(g: Gen, c: Context): Uint8Array {
  const r = g.int(4);
  if (r === 0 || r === 1) return Uint8Array.of(0x40);
  if (r === 2) return Uint8Array.of(g.pick(VALTYPES));
  return new ByteWriter().s32(c.types ? g.int(c.types) : 0).finish();
}

/** A sequence of instructions at nesting `depth` (labels 0..depth-1 in scope), balanced. */
function code(g: Gen, w: ByteWriter, c: Context, depth: number, tryDepths: number[], budget: { n: number }): void {
  w.u8(0x00); // unreachable: the rest type-checks against a polymorphic stack
  const count = g.int(6);
  for (let i = 0; i < count && budget.n > 0; i++) {
    budget.n--;
    const r = g.int(14);
    if (r < 6) simple(g, w, c);
    else if (r === 6 || r === 7) { // block / loop / if … else
      const op = g.pick([0x02, 0x03, 0x04]);
      w.u8(op).bytes(blockType(g, c));
      code(g, w, c, depth + 1, tryDepths, budget);
      if (op === 0x04 && g.chance(0.5)) { w.u8(0x05); code(g, w, c, depth + 1, tryDepths, budget); }
      w.u8(0x0b);
    } else if (r === 8) { // legacy try … catch / catch_all … end, or try … delegate N
      w.u8(0x06).bytes(blockType(g, c));
      code(g, w, c, depth + 1, [...tryDepths, depth + 1], budget);
      if (g.chance(0.35)) w.u8(0x18).u32(g.int(depth + 1)); // delegate to any enclosing label
      else {
        const catches = g.int(3);
        for (let k = 0; k < catches && c.tags; k++) { w.u8(0x07).u32(g.int(c.tags)); code(g, w, c, depth + 1, tryDepths, budget); }
        if (g.chance(0.5)) { w.u8(0x19); code(g, w, c, depth + 1, tryDepths, budget); }
        if (g.chance(0.2)) w.u8(0x09).u32(g.int(depth + 1)); // rethrow (valid only inside a catch: V8 decides)
        w.u8(0x0b);
      }
    } else if (r === 9) w.u8(0x0c).u32(g.int(depth + 1)); // br
    else if (r === 10) w.u8(0x0d).u32(g.int(depth + 1)); // br_if
    else if (r === 11) { // br_table
      const n = g.int(4);
      w.u8(0x0e).u32(n);
      for (let k = 0; k <= n; k++) w.u32(g.int(depth + 1));
    } else if (r === 12) w.u8(0x0f); // return
    else simple(g, w, c);
  }
  w.u8(0x00); // and polymorphic at the end, whatever the sequence left on it
}

/** One random module; `seed` reproduces it. */
export function generateModule(seed: number): Uint8Array {
  const g = new Gen(random(seed));
  const w = new ByteWriter(1024).bytes(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
  const ntypes = 1 + g.int(4);
  const types: Array<{ params: number[]; results: number[] }> = [];
  for (let i = 0; i < ntypes; i++) {
    types.push({
      params: Array.from({ length: g.int(4) }, () => g.pick(VALTYPES)),
      results: i === 0 ? [] : Array.from({ length: g.int(3) }, () => g.pick(VALTYPES)),
    });
  }
  const typeBytes = types.map((t) => new ByteWriter().u8(0x60).u32(t.params.length).bytes(Uint8Array.from(t.params)).u32(t.results.length).bytes(Uint8Array.from(t.results)).finish());
  section(w, 1, vec(typeBytes));
  const voidTypes = types.map((t, i) => (t.results.length === 0 ? i : -1)).filter((i) => i >= 0);

  const c: Context = { types: ntypes, functions: 0, tables: 0, memories: 0, globals: 0, tags: 0, locals: 0, dataSegments: 0, elementSegments: 0 };
  const importedGlobals: number[] = [];
  const imports: Uint8Array[] = [];
  for (let i = g.int(4); i > 0; i--) {
    const e = new ByteWriter().name(g.pick(['env', 'wasi_snapshot_preview1', 'm'])).name(`i${imports.length}`);
    switch (g.int(5)) {
      case 0: e.u8(0).u32(g.int(ntypes)); c.functions++; break;
      case 1: e.u8(1).u8(g.pick([0x70, 0x6f])).bytes(limits(g, false)); c.tables++; break;
      case 2: if (c.memories && g.chance(0.9)) { e.u8(0).u32(0); c.functions++; } else { e.u8(2).bytes(limits(g, true)); c.memories++; } break;
      case 3: {
        const t = g.pick(VALTYPES);
        const mutable = g.int(2);
        e.u8(3).u8(t).u8(mutable);
        importedGlobals.push(mutable ? -1 : t); // constant expressions may read immutable globals only
        c.globals++;
        break;
      }
      case 4: e.u8(4).u8(0).u32(g.pick(voidTypes)); c.tags++; break;
    }
    imports.push(e.finish());
  }
  if (imports.length) section(w, 2, vec(imports));
  const importedFunctions = c.functions;

  const nfuncs = g.int(4);
  const funcTypes = Array.from({ length: nfuncs }, () => g.int(ntypes));
  if (nfuncs) section(w, 3, vec(funcTypes.map((t) => new ByteWriter().u32(t).finish())));
  c.functions += nfuncs;

  const tables: Uint8Array[] = [];
  for (let i = g.int(3); i > 0; i--) {
    if (g.chance(0.03)) tables.push(new ByteWriter().u8(0x40).u8(0).u8(0x70).bytes(limits(g, false)).bytes(Uint8Array.of(0xd0, 0x70, 0x0b)).finish());
    else tables.push(new ByteWriter().u8(tables.length === 0 || g.chance(0.7) ? 0x70 : 0x6f).bytes(limits(g, false)).finish());
  }
  if (tables.length) section(w, 4, vec(tables));
  c.tables += tables.length;

  const memories: Uint8Array[] = [];
  // Mostly one memory in all (V8 here takes no more); sometimes two, which it refuses.
  const wanted = g.chance(0.05) ? 2 : g.chance(0.8) ? 1 : 0;
  for (let i = wanted - c.memories; i > 0; i--) memories.push(limits(g, true));
  if (memories.length) section(w, 5, vec(memories));
  c.memories += memories.length;

  const tags: Uint8Array[] = [];
  for (let i = g.int(3); i > 0; i--) tags.push(new ByteWriter().u8(0).u32(g.pick(voidTypes)).finish());
  if (tags.length) section(w, 13, vec(tags));
  c.tags += tags.length;

  const globals: Uint8Array[] = [];
  for (let i = g.int(4); i > 0; i--) {
    const t = g.pick(VALTYPES);
    globals.push(new ByteWriter().u8(t).u8(g.int(2)).bytes(constExpr(g, t, importedGlobals)).finish());
  }
  if (globals.length) section(w, 6, vec(globals));
  c.globals += globals.length;

  // Export everything, so V8's reflection shows every definition's type.
  const exports: Uint8Array[] = [];
  const spaces: Array<[number, number]> = [[0, c.functions], [1, c.tables], [2, c.memories], [3, c.globals], [4, c.tags]];
  for (const [kind, n] of spaces) for (let i = 0; i < n; i++) exports.push(new ByteWriter().name(`e${exports.length}`).u8(kind).u32(i).finish());
  if (exports.length) section(w, 7, vec(exports));

  const startCandidates = funcTypes.map((t, i) => (types[t]!.params.length === 0 && types[t]!.results.length === 0 ? importedFunctions + i : -1)).filter((i) => i >= 0);
  if (startCandidates.length && g.chance(0.3)) section(w, 8, new ByteWriter().u32(g.pick(startCandidates)).finish());

  const elements: Uint8Array[] = [];
  for (let i = g.int(4); i > 0; i--) {
    let flags = g.int(8);
    if (!c.tables && g.chance(0.9)) flags |= 1; // active segments need a table
    const e = new ByteWriter().u32(flags);
    if (!(flags & 1)) {
      if (flags & 2) e.u32(c.tables ? g.int(c.tables) : 0);
      e.bytes(Uint8Array.of(0x41, g.int(4), 0x0b));
    }
    if (flags & 3) e.u8(flags & 4 ? (g.chance(0.9) ? 0x70 : 0x6f) : 0);
    const items = c.functions || g.chance(0.1) ? g.int(4) : 0;
    e.u32(items);
    for (let k = 0; k < items; k++) {
      const f = c.functions ? g.int(c.functions) : 0;
      if (flags & 4) e.bytes(g.chance(0.7) ? new ByteWriter().u8(0xd2).u32(f).u8(0x0b).finish() : Uint8Array.of(0xd0, 0x70, 0x0b));
      else e.u32(f);
    }
    elements.push(e.finish());
  }
  if (elements.length) section(w, 9, vec(elements));
  c.elementSegments = elements.length;

  const data: Uint8Array[] = [];
  for (let i = c.memories || g.chance(0.1) ? g.int(3) : 0; i > 0; i--) {
    const flags = g.int(3);
    const d = new ByteWriter().u32(flags);
    if (flags === 2) d.u32(0);
    if (flags !== 1) d.bytes(Uint8Array.of(0x41, g.int(100), 0x0b));
    const n = g.int(8);
    d.u32(n);
    for (let k = 0; k < n; k++) d.u8(g.int(256));
    data.push(d.finish());
  }
  c.dataSegments = data.length;
  if (g.chance(0.4)) section(w, 12, new ByteWriter().u32(g.chance(0.95) ? data.length : g.int(4)).finish());

  if (nfuncs) {
    const bodies = funcTypes.map((t) => {
      const localGroups = Array.from({ length: g.int(3) }, () => [1 + g.int(3), g.pick(VALTYPES)] as const);
      c.locals = types[t]!.params.length + localGroups.reduce((n, [k]) => n + k, 0);
      const b = new ByteWriter().u32(localGroups.length);
      for (const [k, vt] of localGroups) b.u32(k).u8(vt);
      code(g, b, c, 0, [], { n: 40 });
      b.u8(0x0b);
      const body = b.finish();
      return new ByteWriter().u32(body.length).bytes(body).finish();
    });
    section(w, 10, vec(bodies));
  }
  if (data.length) section(w, 11, vec(data));
  for (let i = g.int(3); i > 0; i--) {
    const payload = Uint8Array.from({ length: g.int(12) }, () => g.int(256));
    section(w, 0, new ByteWriter().name(g.pick(['name', 'producers', 'target_features', 'x', ''])).bytes(payload).finish());
  }
  return w.finish();
}
