// An entry's rewritten module built over the original's own bytes (given
// over by their owner, `warden run`) is byte for byte the one built in a
// copy, whatever the entry's pieces: sections grown, shrunk, dropped, added
// at the end. Where building in place would overwrite bytes still to be
// read (a range of the original moved towards the start), or the buffer
// lacks the room, it is built in a copy and the original is left alone.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeEntry, encodeEntry, type EntryKey } from '../../src/sandbox/prepared-entry.js';
import type { Prepared } from '../../src/sandbox/prepare.js';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A custom section named `name` holding `size` bytes of `fill`. */
function custom(name: string, size: number, fill: number): number[] {
  const payload = [name.length, ...Buffer.from(name), ...new Array<number>(size).fill(fill)];
  return [0x00, ...leb(payload.length), ...payload];
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    const byte = value & 0x7f;
    value >>>= 7;
    out.push(value ? byte | 0x80 : byte);
  } while (value);
  return out;
}

const a = custom('a', 300, 1);
const b = custom('b', 50, 2);
const c = custom('c', 400, 3);
const original = Uint8Array.from([...HEADER, ...a, ...b, ...c]);
const key: EntryKey = { digest: 'sha256:test', config: 'config', version: 'version' };
const macKey = randomBytes(32);

function entryFor(rewritten: Uint8Array): Uint8Array {
  const prepared: Prepared = {
    digest: key.digest, bytes: rewritten, metered: false, injected: { checkpoint: null, startWrapper: null },
    exports: new Map(), stubs: [], imported: new Set(), usesKernel: false, guards: [], writeGuarded: [],
  };
  return encodeEntry(key, original, { verdict: 'admitted', prepared }, macKey);
}

/** A copy of the original in a buffer `room` bytes longer. */
function given(room: number): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(original.length + room), 0, original.length);
  bytes.set(original);
  return bytes;
}

function decodeInPlace(rewritten: Uint8Array, room: number): { bytes: Uint8Array; into: Uint8Array } {
  const into = given(room);
  const decoded = decodeEntry(entryFor(rewritten), key, into, macKey, true);
  assert.ok(decoded.ok && decoded.stored.verdict === 'admitted');
  return { bytes: decoded.stored.prepared.bytes, into };
}

describe('an entry built over the original bytes', () => {
  const cases: Array<[string, number[], boolean]> = [
    ['a section grown', [...HEADER, ...a, ...custom('b', 70, 9), ...c], true],
    ['a section added at the end', [...HEADER, ...a, ...b, ...c, ...custom('d', 500, 4)], true],
    ['the first section replaced by a longer one', [...HEADER, ...custom('a', 310, 5), ...b, ...c], true],
    ['unchanged', [...original], true],
    ['a section shrunk, moving the rest back', [...HEADER, ...a, ...custom('b', 20, 9), ...c], false],
    ['a section dropped', [...HEADER, ...a, ...c], false],
    ['sections swapped', [...HEADER, ...a, ...c, ...b], false],
    ['the last section dropped', [...HEADER, ...a, ...b], true],
  ];
  for (const [what, sections, inPlace] of cases) {
    it(`${what}: the same bytes as a copy, ${inPlace ? 'in the given buffer' : 'in a copy, the original untouched'}`, () => {
      const rewritten = Uint8Array.from(sections);
      const { bytes, into } = decodeInPlace(rewritten, 4096);
      assert.equal(Buffer.compare(bytes, rewritten), 0);
      assert.equal(bytes.buffer === into.buffer, inPlace);
      if (!inPlace) assert.equal(Buffer.compare(into, original), 0);
    });
  }

  it('without room for a longer module, it is built in a copy', () => {
    const rewritten = Uint8Array.from([...HEADER, ...a, ...custom('b', 70, 9), ...c]);
    const { bytes, into } = decodeInPlace(rewritten, 19);
    assert.equal(Buffer.compare(bytes, rewritten), 0);
    assert.notEqual(bytes.buffer, into.buffer);
    assert.equal(Buffer.compare(into, original), 0);
    assert.equal(decodeInPlace(rewritten, 20).bytes.buffer.byteLength, original.length + 20, 'exactly the room needed');
  });

  it('a tampered entry is refused before any byte of the original is written', () => {
    const entry = entryFor(Uint8Array.from([...HEADER, ...a, ...custom('b', 70, 9), ...c]));
    entry[entry.length - 40] ^= 1;
    const into = given(4096);
    const decoded = decodeEntry(entry, key, into, macKey, true);
    assert.deepEqual(decoded, { ok: false, reason: 'its MAC does not match' });
    assert.equal(Buffer.compare(into, original), 0);
  });
});
