// A function body's local declarations, kept in the bytes: the decoder checks
// them and keeps only their total, and they are read again when asked for.
// As objects they cost the host about 40 bytes per two-byte run (`01 7f`):
// a 20 MB module of 50,000 runs per function held 10 million of them, about
// 460 MB beyond its bytes, and took 18 s to decode (V8 validated it in 0.3 s).

import { ByteReader } from './reader.js';
import { readValType } from './valtypes.js';
import type { FunctionBody, LocalDecl, ValType } from './types.js';

/** Calls `visit` with each run's count and type, in order; allocates nothing for numeric types. */
export function forEachLocalDecl(bytes: Uint8Array, start: number, codeStart: number, visit: (count: number, type: ValType) => void): void {
  const reader = new ByteReader(bytes, start, codeStart);
  const groups = reader.u32();
  for (let g = 0; g < groups; g++) {
    const count = reader.u32();
    visit(count, readValType(reader));
  }
}

/** A decoded body: its ranges and local count, with its declarations read from `bytes` on access. */
export class DecodedBody implements FunctionBody {
  constructor(private readonly bytes: Uint8Array, readonly start: number, readonly end: number, readonly localCount: number, readonly codeStart: number) {}

  /** A new array each time (the declarations as shipped): callers must not rely on identity. */
  get locals(): LocalDecl[] {
    const locals: LocalDecl[] = [];
    forEachLocalDecl(this.bytes, this.start, this.codeStart, (count, type) => locals.push({ count, type }));
    return locals;
  }
}
