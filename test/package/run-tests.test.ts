// tools/run-tests.js runs the compiled tests whose sources exist, and names any
// it leaves out: tsc keeps the outputs of deleted or renamed sources in dist/,
// where they would run in a working copy and never in a clean clone.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('tools/run-tests.js', () => {
  it('runs a compiled test whose source exists and leaves out, by name, one whose source is gone', (t) => {
    const root = tempDir(t);
    mkdirSync(join(root, 'dist', 'test'), { recursive: true });
    mkdirSync(join(root, 'test'));
    writeFileSync(join(root, 'test', 'kept.test.ts'), '// source\n');
    writeFileSync(join(root, 'dist', 'test', 'kept.test.js'), "import { test } from 'node:test'; test('kept runs', () => {});\n");
    // Its source was renamed away: were it run, it would fail.
    writeFileSync(join(root, 'dist', 'test', 'stale.test.js'), "import { test } from 'node:test'; test('stale runs', () => { throw new Error('stale output ran'); });\n");
    // Without NODE_TEST_CONTEXT, which this test's own runner sets and which would make the inner
    // runner report to it rather than print.
    const { NODE_TEST_CONTEXT: _runner, ...env } = process.env;
    const r = spawnSync(process.execPath, [join(repoRoot, 'tools', 'run-tests.js')], { cwd: root, encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /kept runs/);
    assert.doesNotMatch(r.stdout, /stale runs/);
    assert.match(r.stderr, /dist\/test\/stale\.test\.js not run: its source test\/stale\.test\.ts is gone/);
  });
});
