// Element segments, kept as offsets into the module's bytes. A segment is
// materialised (header only) when it is asked for, and its items are read from
// the bytes each time they are walked: the decoder keeps 4 bytes per segment
// (where it ends), whatever the segments hold. A module of passive segments
// listing hundreds of millions of functions costs its bytes and nothing more.

import { readConstExpr } from './const-expr.js';
import { ByteReader } from './reader.js';
import { OffsetList } from './offset-list.js';
import { readRefType } from './valtypes.js';
import type { ElementSegment, SegmentMode, ValType } from './types.js';

/** The most items one segment may list (V8's kV8MaxWasmTableInitEntries). */
export const MAX_SEGMENT_ITEMS = 10_000_000;

const passive: SegmentMode = Object.freeze({ kind: 'passive' });
const declarative: SegmentMode = Object.freeze({ kind: 'declarative' });

export interface SegmentHeader {
  mode: SegmentMode;
  elemType: ValType;
  usesExpressions: boolean;
  count: number;
}

/** Reads a segment's flags, mode, element type and item count; the reader is left at the first item. */
export function readElementHeader(reader: ByteReader): SegmentHeader {
  const at = reader.pos;
  const flags = reader.u32();
  if (flags > 7) reader.fail(`invalid element segment flags ${flags}`, at);
  const passiveOrDeclarative = (flags & 1) !== 0;
  const explicitIndex = (flags & 2) !== 0;
  const usesExpressions = (flags & 4) !== 0;
  let mode: SegmentMode;
  if (!passiveOrDeclarative) {
    const index = explicitIndex ? reader.u32() : 0;
    mode = { kind: 'active', index, offset: readConstExpr(reader) };
  } else mode = explicitIndex ? declarative : passive;
  let elemType: ValType = 'funcref';
  if (passiveOrDeclarative || explicitIndex) {
    if (usesExpressions) elemType = readRefType(reader);
    else {
      const kindAt = reader.pos;
      if (reader.u8() !== 0) reader.fail('unknown element kind', kindAt);
    }
  }
  const count = reader.count('element', MAX_SEGMENT_ITEMS);
  return { mode, elemType, usesExpressions, count };
}

/**
 * Reads one item expression and returns the function index it names
 * (`ref.func N`), or -1 for any other expression. `ref.func N; end` and
 * `ref.null T; end`, nearly every item there is, are read without the walker.
 */
export function readElementExpr(reader: ByteReader): number {
  const bytes = reader.bytes;
  const start = reader.pos;
  if (bytes[start] === 0xd2 && start < reader.end) {
    reader.pos++;
    const index = reader.u32();
    if (reader.pos < reader.end && bytes[reader.pos] === 0x0b) { reader.pos++; return index; }
    reader.pos = start;
  } else if (bytes[start] === 0xd0 && start + 2 < reader.end && bytes[start + 2] === 0x0b && (bytes[start + 1] === 0x70 || bytes[start + 1] === 0x6f)) {
    reader.pos += 3;
    return -1;
  }
  const expr = readConstExpr(reader);
  return expr.value.kind === 'ref.func' ? expr.value.index : -1;
}

/** Reads past a segment's items, proving them well formed. */
export function skipElementItems(reader: ByteReader, header: SegmentHeader): void {
  for (let i = 0; i < header.count; i++) {
    if (header.usesExpressions) readElementExpr(reader);
    else reader.u32();
  }
}

class FunctionIndices implements Iterable<number> {
  constructor(private readonly bytes: Uint8Array, private readonly start: number, private readonly end: number,
    private readonly count: number, private readonly expressions: boolean) {}

  *[Symbol.iterator](): Iterator<number> {
    const reader = new ByteReader(this.bytes, this.start, this.end);
    for (let i = 0; i < this.count; i++) {
      const index = this.expressions ? readElementExpr(reader) : reader.u32();
      if (index >= 0) yield index;
    }
  }
}

/** A module's element segments, read on demand from its (already validated) bytes. */
export class ElementSegmentList extends OffsetList<ElementSegment> {
  static empty(bytes: Uint8Array): ElementSegmentList {
    return new ElementSegmentList(bytes, 0, new Uint32Array(0));
  }

  protected read(reader: ByteReader): ElementSegment {
    const header = readElementHeader(reader);
    return {
      ...header,
      itemsStart: reader.pos,
      itemsEnd: reader.end,
      functionIndices: new FunctionIndices(this.bytes, reader.pos, reader.end, header.count, header.usesExpressions),
    };
  }
}
