// The rewriter's output, byte for byte, against digests computed before the
// rewrite moved onto the shared walk's sites (golden-rewrites.json): every
// fixture under every kind of rewrite, and the large npm modules metered and
// checkpointed.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { computeDigests, goldenPath } from './golden-rewrites.js';

describe('rewritten bytes', () => {
  it('are identical to the recorded digests for every fixture and large module', async () => {
    const want = JSON.parse(readFileSync(goldenPath, 'utf8')) as Record<string, Record<string, string>>;
    const got = await computeDigests();
    // Every recorded module is still in the corpus, and nothing differs.
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    const differing: string[] = [];
    for (const [name, row] of Object.entries(want)) {
      for (const [variant, digest] of Object.entries(row)) if (got[name]![variant] !== digest) differing.push(`${name} (${variant})`);
    }
    // A fixture rebuilt on purpose changes its rows too: after checking that only
    // that fixture differs, record again with
    // `node dist/test/transform/golden-rewrites.js --write`.
    assert.deepEqual(differing, [], 'rewritten bytes differ; if only a rebuilt fixture differs, re-record with dist/test/transform/golden-rewrites.js --write');
    assert.ok(Object.keys(want).length > 50);
  });
});
