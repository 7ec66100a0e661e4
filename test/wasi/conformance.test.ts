// preview1 conformance against Wasmtime 49. Each fixture in
// test/fixtures/c/wasi/conformance/ calls preview1 functions directly and
// prints every errno; NAME.expected is Wasmtime's output for it
// (tools/conformance-expect.sh) with its exit status. Each runs under
// `warden run` with default flags and one writable --dir, and must match
// line for line. Eight of them reproduce the wasi-testsuite cases that failed
// (docs/wasi.md, "Conformance").

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { timestampPrecisionNs } from '../../src/wasi/fs/timestamps.js';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const dir = fixture('c', 'wasi', 'conformance');
const names = readdirSync(dir).filter((f) => f.endsWith('.wasm')).map((f) => f.slice(0, -5)).sort();
/** Fixtures that set timestamps to the nanosecond: exact only with the native helper. */
const exactTimes = new Set(['fd_filestat_set', 'path_filestat', 'symlink_filestat']);

describe('preview1 conformance with Wasmtime 49', () => {
  it('has the eight reproduced wasi-testsuite cases', () => {
    for (const name of ['fd_fdstat_set_rights', 'truncation_rights', 'path_open_preopen', 'fd_filestat_set', 'path_filestat', 'symlink_filestat', 'path_link', 'path_symlink_trailing_slashes']) {
      assert.ok(names.includes(name), name);
    }
  });

  it('fd_filestat_set under process isolation: the same errnos (times to the microsecond there)', async (t) => {
    // Node's permission model refuses native addons and futimes in the isolate process; times
    // are set through the /proc/self/fd path of the open file instead, so no call fails.
    const sandbox = tempDir(t);
    const r = await runWarden(['run', '--isolation', 'process', '--dir', `${sandbox}::/sandbox`, join(dir, 'fd_filestat_set.wasm')]);
    // Each step's errno name and the exit line; the numbers and yes/no lines are about exactness.
    const errnos = (text: string) => text.split('\n').filter((line) => /\s[A-Z][A-Z0-9]*$|^\[exit/.test(line));
    const expected = readFileSync(join(dir, 'fd_filestat_set.expected'), 'utf8');
    assert.deepEqual(errnos(`${r.stdout}[exit ${r.code}]\n`), errnos(expected), r.stderr);
  });

  for (const name of names) {
    it(`${name}: same output, errnos and exit status`, async (t) => {
      if (exactTimes.has(name) && timestampPrecisionNs() !== 1) {
        t.skip('the native timestamp helper is not built (tools/build-native.js): times are kept to the microsecond');
        return;
      }
      const sandbox = tempDir(t);
      const r = await runWarden(['run', '--dir', `${sandbox}::/sandbox`, join(dir, `${name}.wasm`)]);
      assert.equal(`${r.stdout}[exit ${r.code}]\n`, readFileSync(join(dir, `${name}.expected`), 'utf8'), r.stderr);
    });
  }
});
