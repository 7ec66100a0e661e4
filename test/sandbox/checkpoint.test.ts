// The deadline checkpoint the rewriter calls before every memory.grow and
// bulk operation: V8 delays termination in such loops (measured: a 300 ms
// deadline ended after 6 s to minutes), so the host's own checkpoint is what
// ends them, in every isolation mode. These modules call it by hand, as
// rewritten code does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { inlineExecutor, poolExecutor, type Executor } from '../../src/sandbox/executors.js';
import { defineGrant } from '../../src/wasi/grant.js';
import { CHECKPOINT_MODULE, CHECKPOINT_NAME } from '../../src/transform/index.js';
import { createWasiHost } from '../../src/wasi/run.js';
import { watFixture } from '../helpers/wat.js';

const sandboxDir = new URL('../../src/sandbox/', import.meta.url);

function executorFor(isolation: 'none' | 'thread' | 'process'): Executor {
  if (isolation === 'none') return inlineExecutor();
  return poolExecutor(parsePolicy({ isolation }), {
    size: 1, spares: 0, maxQueued: 0, stackSizeMb: 4,
    workerEntry: new URL('worker-entry.js', sandboxDir),
    processEntry: new URL('process-entry.js', sandboxDir),
    codeDir: new URL('../..', sandboxDir).pathname,
  });
}

describe('warden:host checkpoint', () => {
  it('is provided under the names the rewriter imports it by', () => {
    const imports = createWasiHost().imports as Record<string, Record<string, unknown>>;
    assert.equal(typeof imports[CHECKPOINT_MODULE]?.[CHECKPOINT_NAME], 'function');
  });

  for (const isolation of ['none', 'thread', 'process'] as const) {
    for (const name of ['hostile-grow-checkpoint', 'hostile-fill-checkpoint']) {
      it(`${name} ends at its deadline, ${isolation} isolation, and the isolate exits`, async () => {
        // No memory maximum: the engine's own 4 GiB bound, where V8's delay is longest.
        const bytes = await watFixture(name);
        const compiled = await WebAssembly.compile(bytes);
        const executor = executorFor(isolation);
        try {
          const grant = defineGrant({ args: [name], limits: { timeoutMs: 300 } });
          const result = await executor.run({ digest: name, bytes, compiled, metered: false }, grant, null);
          assert.equal(result.trap?.kind, 'deadline', JSON.stringify(result.trap));
          assert.equal(result.exitCode, null);
          // Nothing left running: a stopped isolate exits rather than lingering past the wedge window.
          while (executor.stats.stopping > 0 && executor.stats.wedged === 0) await new Promise((r) => setTimeout(r, 20));
          assert.equal(executor.stats.wedged, 0);
        } finally {
          await executor.close();
        }
      });
    }
  }
});
