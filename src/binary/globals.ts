// Globals, kept as offsets into the module's bytes (offset-list.ts): a
// million globals cost a typed array, not a million pairs of objects.

import { readConstExpr } from './const-expr.js';
import { OffsetList } from './offset-list.js';
import type { ByteReader } from './reader.js';
import { readValType } from './valtypes.js';
import type { Global, GlobalType } from './types.js';

/** Global types with an abstract value type, shared (frozen): there are only a few dozen. */
const sharedGlobalTypes = new Map<string, GlobalType>();

export function readGlobalType(reader: ByteReader): GlobalType {
  const valType = readValType(reader);
  const at = reader.pos;
  const mut = reader.u8();
  if (mut > 1) reader.fail('invalid global mutability', at);
  if (typeof valType !== 'string') return { valType, mutable: mut === 1 };
  const key = `${valType}:${mut}`;
  let type = sharedGlobalTypes.get(key);
  if (!type) sharedGlobalTypes.set(key, (type = Object.freeze({ valType, mutable: mut === 1 })));
  return type;
}

/** Reads one global: its type and initialiser. */
export function readGlobal(reader: ByteReader): Global {
  const type = readGlobalType(reader);
  return { type, init: readConstExpr(reader) };
}

/** A module's globals, read on demand from its (already validated) bytes. */
export class GlobalList extends OffsetList<Global> {
  static empty(bytes: Uint8Array): GlobalList {
    return new GlobalList(bytes, 0, new Uint32Array(0));
  }

  protected read(reader: ByteReader): Global {
    return readGlobal(reader);
  }
}
