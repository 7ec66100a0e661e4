// A compromised child process against the parent, end to end through
// processIsolate: a child that sends garbage to the closure relay fails the
// run in progress (an error the pool hears), and one that does so while idle
// is killed; neither throws on the embedder's thread.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { processIsolate, type Isolate } from '../../src/sandbox/isolates.js';

const hostileChild = fileURLToPath(new URL('./hostile-relay-child.js', import.meta.url));
const parentRelay = new URL('../../src/sandbox/closure-relay-parent.js', import.meta.url);
const distRoot = fileURLToPath(new URL('../../', import.meta.url));

function start(): Isolate {
  const isolate = processIsolate(hostileChild, {
    readPaths: [], writePaths: [], writable: false, codeDir: distRoot,
    closures: { parentRelay, childRelay: '/nonexistent', functions: 1 },
  });
  // Isolates never keep the host alive on their own; a pool holds them while it waits.
  isolate.hold(true);
  return isolate;
}

describe('a compromised child against the closure relay', () => {
  it('garbage during a run is an error of that run, heard by whoever runs it', async () => {
    const isolate = start();
    try {
      await isolate.ready;
      const failed = once(isolate, 'error');
      isolate.send({ id: 1, job: {} });
      const [error] = await failed as [Error];
      assert.match(error.message, /closure relay sent a malformed frame \(unknown frame type/);
    } finally {
      isolate.kill();
      await isolate.exited;
    }
  });

  it('garbage while idle kills the child instead of throwing an unheard error here', async () => {
    const isolate = start();
    try {
      await isolate.ready;
      assert.equal(isolate.listenerCount('error'), 0);
      // Not events.once, which would listen for 'error' too.
      const exit = new Promise((resolve) => isolate.on('exit', resolve));
      isolate.send({ garbage: true });
      await exit;
    } finally {
      isolate.kill();
      await isolate.exited;
    }
  });
});
