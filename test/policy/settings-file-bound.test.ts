// A policy or serve config path that names something endless (/dev/zero) or
// huge is refused with a one-line error and the usual exit code once it passes
// the bound, instead of the host reading until its memory runs out.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPolicy } from '../../src/policy/read-file.js';
import { PolicyError } from '../../src/policy/load.js';
import { MAX_SETTINGS_FILE } from '../../src/policy/read-text.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

describe('policy and config files are read within a bound', () => {
  it('a file one byte past the bound is refused; one at it is read', (t) => {
    const dir = tempDir(t);
    const over = join(dir, 'over.toml');
    writeFileSync(over, '#'.repeat(MAX_SETTINGS_FILE) + '\n');
    assert.throws(() => loadPolicy(over), (e: Error) => e instanceof PolicyError && /larger than 4 MiB/.test(e.message));
    const at = join(dir, 'at.toml');
    writeFileSync(at, '#'.repeat(MAX_SETTINGS_FILE - 1) + '\n');
    assert.doesNotThrow(() => loadPolicy(at));
  });

  it('warden run --policy /dev/zero and warden serve --config /dev/zero end with one line and their exit codes', async (t) => {
    const run = await runWarden(['run', '--policy', '/dev/zero', fixture('..', '..', 'examples', 'hello.wasm')], { timeoutMs: 30_000 });
    assert.equal(run.code, 125, run.stderr);
    assert.match(run.stderr, /^warden run: \/dev\/zero: larger than 4 MiB, not a settings file\n$/);
    const serve = await runWarden(['serve', '--config', '/dev/zero', '--data-dir', tempDir(t)], { timeoutMs: 30_000 });
    assert.equal(serve.code, 2, serve.stderr);
    assert.match(serve.stderr, /^warden serve: \/dev\/zero: larger than 4 MiB, not a settings file\n$/);
  });
});
