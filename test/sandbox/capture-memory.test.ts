// Captured output costs the host at most about two bytes per captured byte
// (one while gathering, one for the final contiguous copy) plus a constant,
// however small the guest's writes: measured as RSS growth in a child
// process, loosely bounded.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const probe = fileURLToPath(new URL('../helpers/capture-rss.js', import.meta.url));
const CAPTURED = 4 * 1024 * 1024;
/** Allocator slack, heap growth and worker start: anything per-byte would exceed it by far. */
const CONSTANT = 48 * 1024 * 1024;

describe('captured output memory', () => {
  for (const isolation of ['none', 'thread'] as const) {
    it(`1-byte iovecs cost at most 2 bytes per captured byte, ${isolation} isolation`, () => {
      const r = spawnSync(process.execPath, ['--expose-gc', probe, isolation], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const { exitCode, captured, growth } = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.equal(exitCode, 0);
      assert.equal(captured, CAPTURED);
      assert.ok(growth <= 2 * CAPTURED + CONSTANT, `RSS grew by ${growth} bytes for ${captured} captured`);
    });
  }
});
