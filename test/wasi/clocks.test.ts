// The coarse clocks as a guest reads them: on their resolution, never
// backwards, and still stepping after many reads (the clock that decides when
// to step changes source after the first 10,000 reads: src/wasi/clocks.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOCK, createClocks } from '../../src/wasi/clocks.js';

describe('coarse clocks', () => {
  for (const id of [CLOCK.REALTIME, CLOCK.MONOTONIC]) {
    it(`clock ${id} keeps stepping on its resolution, never backwards, across 30,000 reads and more`, () => {
      const resolution = 1_000_000n;
      const clocks = createClocks({ kind: 'coarse', resolutionNs: resolution });
      const started = process.hrtime.bigint();
      const first = clocks.now(id)!;
      let last = first;
      let lastReadAt = started;
      let reads = 1;
      // At least 60 ms of reads: the host's monotonic clock moves that much, and the coarse one must follow.
      while (reads < 30_000 || lastReadAt - started < 60_000_000n) {
        // The host's time just before the read: a pause of this thread after it moves neither.
        lastReadAt = process.hrtime.bigint();
        const now = clocks.now(id)!;
        reads++;
        assert.equal(now % resolution, 0n, `read ${reads}: ${now} is not on the resolution`);
        assert.ok(now >= last, `read ${reads}: ${now} after ${last}`);
        last = now;
      }
      const hostElapsed = lastReadAt - started;
      // The first value is floored (up to one resolution behind), the last step comes up to two
      // resolutions after its edge (one, plus a jitter of up to one more), and the realtime clock
      // joins Date.now's milliseconds to the monotonic clock's rest: four resolutions of slack.
      assert.ok(last - first >= hostElapsed - 4n * resolution, `moved ${last - first} ns while the host moved ${hostElapsed} ns`);
    });
  }
});
