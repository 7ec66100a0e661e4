// Guest strings (paths above all) are read as a fatal UTF-8 decoder reads
// them, whatever the bytes: ASCII takes a shortcut that reads memory
// directly, everything else the decoder, and the two must never differ.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, WasiError } from '../../src/wasi/errno.js';
import { GuestMemory } from '../../src/wasi/guest-memory.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** What the decoder makes of `bytes`, or EILSEQ when it refuses them. */
function expected(bytes: Uint8Array): string | Errno {
  try {
    return decoder.decode(bytes);
  } catch {
    return Errno.ILSEQ;
  }
}

function read(guest: GuestMemory, at: number, bytes: Uint8Array): string | Errno {
  guest.bytes().set(bytes, at);
  try {
    return guest.string(at, bytes.length);
  } catch (error) {
    if (!(error instanceof WasiError)) throw error;
    return error.errno;
  }
}

describe('guest strings', () => {
  it('read as a fatal UTF-8 decoder reads them', () => {
    const guest = new GuestMemory();
    guest.attach(new WebAssembly.Memory({ initial: 1 }));
    const every = Uint8Array.from({ length: 128 }, (_, i) => i);
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode('file-1234'),
      every, // every ASCII byte, NUL and DEL included
      new TextEncoder().encode('é/ü/日本/😀'),
      new TextEncoder().encode('\ufeffbom-first'), // the decoder drops a leading BOM
      Uint8Array.of(0x61, 0x80, 0x62), // a stray continuation byte
      Uint8Array.of(0x61, 0xc3), // cut short
      Uint8Array.of(0xed, 0xa0, 0x80), // a surrogate
      Uint8Array.of(0xff),
      Uint8Array.of(0x7f, 0x80),
    ];
    for (const bytes of cases) {
      for (const at of [0, 1, 65536 - bytes.length]) {
        assert.deepEqual(read(guest, at, bytes), expected(bytes), `${[...bytes].slice(0, 8)} at ${at}`);
      }
    }
  });

  it('past the end of memory are EFAULT, ASCII or not', () => {
    const guest = new GuestMemory();
    guest.attach(new WebAssembly.Memory({ initial: 1 }));
    for (const [at, length] of [[65536 - 3, 4], [65536, 1], [-1, 2], [0, 65537]]) {
      assert.throws(() => guest.string(at!, length!), (e: unknown) => e instanceof WasiError && e.errno === Errno.FAULT);
    }
  });
});
