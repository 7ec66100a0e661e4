// A sandbox admits a large module off the caller's event loop: the same
// prepareAsync the library offers, through the one orchestrator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSandbox } from '../../src/sandbox/sandbox.js';
import { PREPARE_OFF_THREAD_BYTES } from '../../src/sandbox/prepare.js';
import { passiveElementBomb } from '../helpers/module-builder.js';

const MiB = 1024 * 1024;

describe('sandbox admission and the event loop', () => {
  it('run of an 8 MiB module lets the caller\'s timers fire between the call and compilation', async (t) => {
    const large = passiveElementBomb(8 * MiB);
    assert.ok(large.length >= 8 * PREPARE_OFF_THREAD_BYTES);
    const sandbox = await createSandbox({ isolation: 'none' });
    t.after(() => sandbox.close());
    let ticks = 0;
    // Admission ends where compilation starts: the tick count then says whether the loop ran meanwhile.
    let ticksAtCompile: number | null = null;
    const compile = WebAssembly.compile;
    t.mock.method(WebAssembly, 'compile', (bytes: BufferSource) => {
      ticksAtCompile ??= ticks;
      return compile(bytes);
    });
    const timer = setInterval(() => ticks++, 1);
    try {
      const pending = sandbox.run(large);
      const ticksWhenCalled = ticks;
      const result = await pending;
      assert.equal(result.exitCode, 0);
      assert.notEqual(ticksAtCompile, null, 'the module was compiled');
      // Inline, admission and the call to compile happen in the same turn of the loop as run().
      assert.ok(ticksAtCompile! > ticksWhenCalled, 'no timer ran while the module was admitted');
    } finally {
      clearInterval(timer);
    }
  });
});
