// The custom sections the audit and later passes read: `name` (all
// subsections), `producers` and `target_features`.

import { ByteReader } from './reader.js';
import type { DecodeLimits, NameSection, Producers, TargetFeature } from './types.js';

function readNameMap(reader: ByteReader, limits: DecodeLimits, into: Map<number, string>): void {
  const n = reader.count('name map entry', 10_000_000, 2);
  for (let i = 0; i < n; i++) {
    const index = reader.u32();
    into.set(index, reader.name(limits.maxStringBytes));
  }
}

function readIndirectNameMap(reader: ByteReader, limits: DecodeLimits, into: Map<number, Map<number, string>>): void {
  const n = reader.count('indirect name map entry', 10_000_000, 2);
  for (let i = 0; i < n; i++) {
    const index = reader.u32();
    const inner = new Map<number, string>();
    readNameMap(reader, limits, inner);
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
  const reader = new ByteReader(bytes, start, end);
  while (!reader.atEnd()) {
    const id = reader.u8();
    const sizeAt = reader.pos;
    const size = reader.u32();
    if (size > reader.remaining) reader.fail(`name subsection ${id} runs past its section`, sizeAt);
    const sub = new ByteReader(bytes, reader.pos, reader.pos + size);
    switch (id) {
      case 0: names.module = sub.name(limits.maxStringBytes); break;
      case 1: readNameMap(sub, limits, names.functions); break;
      case 2: readIndirectNameMap(sub, limits, names.locals); break;
      case 3: readIndirectNameMap(sub, limits, names.labels); break;
      case 4: readNameMap(sub, limits, names.types); break;
      case 5: readNameMap(sub, limits, names.tables); break;
      case 6: readNameMap(sub, limits, names.memories); break;
      case 7: readNameMap(sub, limits, names.globals); break;
      case 8: readNameMap(sub, limits, names.elements); break;
      case 9: readNameMap(sub, limits, names.data); break;
      case 11: readNameMap(sub, limits, names.tags); break;
      default: sub.pos = sub.end; // field names (10) and future subsections
    }
    if (id <= 11 && id !== 10 && !sub.atEnd()) sub.fail(`name subsection ${id} has trailing bytes`);
    reader.pos += size;
  }
  return names;
}

export function readProducers(bytes: Uint8Array, start: number, end: number, limits: DecodeLimits): Producers {
  const reader = new ByteReader(bytes, start, end);
  const producers: Producers = Object.create(null);
  const fields = reader.count('producers field', 1000, 2);
  for (let i = 0; i < fields; i++) {
    const field = reader.name(limits.maxStringBytes);
    const n = reader.count('producers value', 10_000, 2);
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
