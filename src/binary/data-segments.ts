// Data segments, kept as offsets into the module's bytes (segment-list.ts):
// a module of a hundred thousand small segments costs a typed array, not a
// hundred thousand objects.

import { readConstExpr } from './const-expr.js';
import type { ByteReader } from './reader.js';
import { OffsetList } from './offset-list.js';
import type { DataSegment, SegmentMode } from './types.js';

const passive: SegmentMode = Object.freeze({ kind: 'passive' });

/** Reads one data segment (flags, mode, size) and moves the reader past its bytes. */
export function readDataSegment(reader: ByteReader): DataSegment {
  const at = reader.pos;
  const flags = reader.u32();
  let mode: SegmentMode;
  if (flags === 0) mode = { kind: 'active', index: 0, offset: readConstExpr(reader) };
  else if (flags === 1) mode = passive;
  else if (flags === 2) {
    const index = reader.u32();
    mode = { kind: 'active', index, offset: readConstExpr(reader) };
  } else reader.fail(`invalid data segment flags ${flags}`, at);
  const sizeAt = reader.pos;
  const size = reader.u32();
  if (size > reader.remaining) reader.fail('data segment runs past its section', sizeAt);
  const start = reader.pos;
  reader.pos += size;
  return { mode, start, end: reader.pos };
}

/** A module's data segments, read on demand from its (already validated) bytes. */
export class DataSegmentList extends OffsetList<DataSegment> {
  static empty(bytes: Uint8Array): DataSegmentList {
    return new DataSegmentList(bytes, 0, new Uint32Array(0));
  }

  protected read(reader: ByteReader): DataSegment {
    return readDataSegment(reader);
  }
}
