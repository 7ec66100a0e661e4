// A WASI host serves run after run on one thread: nothing of one run may be
// visible to the next (descriptors, environment, memory, denied attempts).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Errno } from '../../src/wasi/errno.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { createWasiHost, runWasi } from '../../src/wasi/run.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

describe('a reused WASI host', () => {
  it('carries nothing from one run to the next', async (t) => {
    const module = new WebAssembly.Module(await watFixture('wasi-probe'));
    const host = createWasiHost();
    const secretDir = tempDir(t);
    writeFileSync(join(secretDir, 'secret'), 'first run only');
    let leftOpen = -1;
    const first = runWasi(module, defineGrant({ env: [['SECRET', 'x']], mounts: [{ host: secretDir, guest: '/s', readOnly: true }] }), {
      host,
      beforeStart(instance) {
        const call = instance.exports as Record<string, (...a: Array<number | bigint>) => number>;
        const bytes = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
        bytes.set(new TextEncoder().encode('secret'), 200);
        assert.equal(call.path_open!(3, 0, 200, 6, 0, 2n, 0n, 0, 0), Errno.SUCCESS);
        leftOpen = new DataView(bytes.buffer).getUint32(0, true);
        assert.equal(call.path_create_directory!(3, 200, 6), Errno.ROFS);
      },
    });
    assert.equal(first.deniedCount, 1);
    assert.ok(leftOpen >= 4);
    const second = runWasi(module, defineGrant({}), {
      host,
      beforeStart(instance) {
        const call = instance.exports as Record<string, (...a: Array<number | bigint>) => number>;
        assert.equal(call.environ_sizes_get!(0, 4), Errno.SUCCESS);
        assert.equal(new DataView((instance.exports.memory as WebAssembly.Memory).buffer).getUint32(0, true), 0);
        assert.equal(call.fd_prestat_get!(3, 0), Errno.BADF);
        assert.equal(call.fd_read!(leftOpen, 0, 0, 8), Errno.BADF);
      },
    });
    assert.equal(second.exitCode, 0);
    assert.equal(second.deniedCount, 0);
    assert.deepEqual(second.denied, []);
    assert.deepEqual(second.limitsHit, []);
  });
});
