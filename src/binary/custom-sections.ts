// The custom sections the audit and later passes read: `name` (all
// subsections), `producers` and `target_features`.

import { ByteReader } from './reader.js';
import type { DecodeLimits, NameSection, Producers, TargetFeature } from './types.js';

/**
 * What one `name` section may hold, in entries of all its maps together, a
 * map of local or label names costing INNER_MAP_COST more. Engines ignore the
 * section, but it is decoded with the module (admission, inspect, pulls): each
 * entry was an object in a Map, and each entry of local names a Map of its
 * own, so 28 MB of empty local-name maps cost 1.9 GB and 27 s, and a module of
 * local and label maps past the heap ended the process. Two million is a name
 * for each of V8's million functions and as many more; past it the section is
 * malformed (the module stays valid, its names unread), refused on the
 * declared counts before anything is kept.
 */
export const MAX_NAME_ENTRIES = 2_000_000;
/** An indirect map's entry (a Map of its own) against a plain entry: about their sizes on V8's heap. */
const INNER_MAP_COST = 5;

interface NameBudget { left: number }

/** Takes `cost` from the section's budget, or fails at `reader`. */
function spend(reader: ByteReader, budget: NameBudget, cost: number): void {
  if (cost > budget.left) reader.fail(`name section names more than ${MAX_NAME_ENTRIES} entries`);
  budget.left -= cost;
}

function readNameMap(reader: ByteReader, limits: DecodeLimits, into: Map<number, string>, budget: NameBudget): void {
  const n = reader.count('name map entry', 10_000_000, 2);
  spend(reader, budget, n);
  for (let i = 0; i < n; i++) {
    const index = reader.u32();
    into.set(index, reader.name(limits.maxStringBytes));
  }
}

function readIndirectNameMap(reader: ByteReader, limits: DecodeLimits, into: Map<number, Map<number, string>>, budget: NameBudget): void {
  const n = reader.count('indirect name map entry', 10_000_000, 2);
  spend(reader, budget, n * INNER_MAP_COST);
  for (let i = 0; i < n; i++) {
    const index = reader.u32();
    const inner = new Map<number, string>();
    readNameMap(reader, limits, inner, budget);
    into.set(index, inner);
  }
}

export function emptyNameSection(): NameSection {
  return {
    functions: new Map(), locals: new Map(), labels: new Map(), types: new Map(), tables: new Map(),
    memories: new Map(), globals: new Map(), elements: new Map(), data: new Map(), tags: new Map(),
  };
}

/** Decodes the `name` section payload in [start, end). Unknown subsections are skipped. */
export function readNameSection(bytes: Uint8Array, start: number, end: number, limits: DecodeLimits): NameSection {
  const names = emptyNameSection();
  const budget: NameBudget = { left: MAX_NAME_ENTRIES };
  const reader = new ByteReader(bytes, start, end);
  while (!reader.atEnd()) {
    const id = reader.u8();
    const sizeAt = reader.pos;
    const size = reader.u32();
    if (size > reader.remaining) reader.fail(`name subsection ${id} runs past its section`, sizeAt);
    const sub = new ByteReader(bytes, reader.pos, reader.pos + size);
    switch (id) {
      case 0: names.module = sub.name(limits.maxStringBytes); break;
      case 1: readNameMap(sub, limits, names.functions, budget); break;
      case 2: readIndirectNameMap(sub, limits, names.locals, budget); break;
      case 3: readIndirectNameMap(sub, limits, names.labels, budget); break;
      case 4: readNameMap(sub, limits, names.types, budget); break;
      case 5: readNameMap(sub, limits, names.tables, budget); break;
      case 6: readNameMap(sub, limits, names.memories, budget); break;
      case 7: readNameMap(sub, limits, names.globals, budget); break;
      case 8: readNameMap(sub, limits, names.elements, budget); break;
      case 9: readNameMap(sub, limits, names.data, budget); break;
      case 11: readNameMap(sub, limits, names.tags, budget); break;
      default: sub.pos = sub.end; // field names (10) and future subsections
    }
    if (id <= 11 && id !== 10 && !sub.atEnd()) sub.fail(`name subsection ${id} has trailing bytes`);
    reader.pos += size;
  }
  return names;
}

/** Name/version pairs one producers section may list, in all its fields together. */
export const MAX_PRODUCERS_VALUES = 10_000;

export function readProducers(bytes: Uint8Array, start: number, end: number, limits: DecodeLimits): Producers {
  const reader = new ByteReader(bytes, start, end);
  const producers: Producers = Object.create(null);
  const fields = reader.count('producers field', 1000, 2);
  // Values in all fields together, not in each: 10,000 in each of 1,000 fields (20 MB) held an
  // object each, 483 MB and 12.7 s to decode. Toolchains write a few.
  let listed = 0;
  for (let i = 0; i < fields; i++) {
    const field = reader.name(limits.maxStringBytes);
    const n = reader.count('producers value', 10_000, 2);
    listed += n;
    if (listed > MAX_PRODUCERS_VALUES) reader.fail(`more than ${MAX_PRODUCERS_VALUES} producers values`);
    const values: Producers[string] = [];
    for (let j = 0; j < n; j++) values.push({ name: reader.name(limits.maxStringBytes), version: reader.name(limits.maxStringBytes) });
    producers[field] = values;
  }
  if (!reader.atEnd()) reader.fail('producers section has trailing bytes');
  return producers;
}

export function readTargetFeatures(bytes: Uint8Array, start: number, end: number, limits: DecodeLimits): TargetFeature[] {
  const reader = new ByteReader(bytes, start, end);
  const n = reader.count('target feature', 10_000, 2);
  const features: TargetFeature[] = [];
  for (let i = 0; i < n; i++) {
    const at = reader.pos;
    const prefix = String.fromCharCode(reader.u8());
    if (prefix !== '+' && prefix !== '-' && prefix !== '=') reader.fail(`unknown target feature prefix '${prefix}'`, at);
    features.push({ prefix: prefix as TargetFeature['prefix'], name: reader.name(limits.maxStringBytes) });
  }
  if (!reader.atEnd()) reader.fail('target_features section has trailing bytes');
  return features;
}
