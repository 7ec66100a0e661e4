// The host's views of a guest's memory. A lent memory's views are kept for
// its next attach (the pool lends the same memory run after run); what the
// host reads and writes must still always be the memory attached now, at
// its size now, and nothing at all while none is attached.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuestMemory } from '../../src/wasi/guest-memory.js';
import { WasiError } from '../../src/wasi/errno.js';

const PAGE = 65536;

describe('guest memory views', () => {
  it('reach nothing while detached, whatever was attached before', () => {
    const guest = new GuestMemory();
    const lent = new WebAssembly.Memory({ initial: 1 });
    guest.attach(lent, true);
    guest.setU32(16, 0xdeadbeef);
    guest.detach();
    assert.throws(() => guest.bytes(), WasiError);
    assert.throws(() => guest.setU32(16, 1), WasiError);
    assert.throws(() => guest.u32(16), WasiError);
    assert.equal(guest.data().byteLength, 0);
  });

  it('reach the memory attached now, lent again or another', () => {
    const guest = new GuestMemory();
    const first = new WebAssembly.Memory({ initial: 1 });
    const second = new WebAssembly.Memory({ initial: 1 });
    guest.attach(first, true);
    guest.setU32(0, 1);
    guest.detach();
    guest.attach(second, true);
    guest.setU32(0, 2);
    assert.equal(guest.u32(0), 2);
    assert.equal(new DataView(first.buffer).getUint32(0, true), 1, 'the memory attached before is not written');
    guest.detach();
    guest.attach(first, true);
    assert.equal(guest.u32(0), 1, 'the first memory again, through views kept or not');
    guest.setU32(4, 3);
    assert.equal(new DataView(first.buffer).getUint32(4, true), 3);
  });

  it('follow a lent memory that grew, in the run and at its next attach', () => {
    const guest = new GuestMemory();
    const lent = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    guest.attach(lent, true);
    lent.grow(1);
    guest.sync();
    assert.equal(guest.bytes().length, 2 * PAGE);
    guest.setU32(PAGE + 8, 7);
    guest.detach();
    guest.attach(lent, true);
    assert.equal(guest.bytes().length, 2 * PAGE, 'views of the buffer before it grew are not used again');
    assert.equal(guest.u32(PAGE + 8), 7);
  });
});
