// A path of one name takes a shortcut (walk.ts `isSingleName`, and a followed
// open that tries O_NOFOLLOW before looking at the name). The shortcut must
// answer exactly as the general walk does: each case here is run twice on
// identical fresh trees, once as `NAME` and once as `./NAME` (which walks),
// and the outcomes (errno, what was opened, what the host tree holds after)
// must match, for every kind of entry and every way of opening it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, WasiError } from '../../../src/wasi/errno.js';
import { hostDirectory } from '../../../src/wasi/fs/host-directory.js';
import { createQuota } from '../../../src/wasi/fs/quota.js';
import { isSingleName } from '../../../src/wasi/fs/walk.js';
import type { Directory, File, OpenOptions } from '../../../src/wasi/fs/types.js';
import { tempDir } from '../../helpers/tmp.js';
import { entryTrees, plantEntries } from '../../helpers/entry-tree.js';

const base: OpenOptions = { create: false, exclusive: false, truncate: false, directory: false, read: true, write: false, append: false, followSymlinks: true };
const modes: Record<string, OpenOptions> = {
  read: base,
  'read, no follow': { ...base, followSymlinks: false },
  create: { ...base, create: true, write: true },
  'create exclusive': { ...base, create: true, exclusive: true, write: true },
  'create exclusive, no follow': { ...base, create: true, exclusive: true, write: true, followSymlinks: false },
  truncate: { ...base, truncate: true, write: true },
  directory: { ...base, directory: true },
  'directory, no follow': { ...base, directory: true, followSymlinks: false },
};

/** Every kind of entry a single name can be, links inside, outside, dangling and looping. */
const entries = ['file', 'dir', 'missing', 'link-file', 'link-dir', 'link-dangling', 'link-out', 'link-loop', 'link-chain'];

function plant(t: Parameters<typeof tempDir>[0], filesAllowed = 1000) {
  const { root, outside } = plantEntries(t);
  const quota = createQuota({ maxWriteBytes: 1 << 20, maxFilesCreated: filesAllowed });
  const dir = hostDirectory(root, { quota, now: () => 0n });
  t.after(() => dir.close());
  return { root, outside, dir, quota };
}

/** What a call did, in comparable form: errno, what it opened or stat-ed (or 'done'), and the host trees after it. */
function outcome(root: string, outside: string, call: () => unknown): string {
  let result: string;
  try {
    const opened = call() as (File | Directory | { size: bigint; filetype: number; ino: bigint } | undefined);
    if (opened === undefined) {
      result = 'done';
    } else if ('close' in opened) {
      result = opened.kind === 'dir' ? 'dir' : `file ${opened.stat().size}`;
      opened.close();
    } else {
      result = `stat type ${opened.filetype} size ${opened.size}`;
    }
  } catch (error) {
    if (!(error instanceof WasiError)) throw error;
    result = `errno ${error.errno}`;
  }
  return `${result} | ${entryTrees(root, outside)}`;
}

describe('paths of one name answer as the walk does', () => {
  it('takes the shortcut only for plain names', () => {
    for (const name of ['a', 'file-1', 'é', 'x'.repeat(85)]) assert.ok(isSingleName(name), name);
    for (const name of ['', '.', '..', 'a/b', 'a/', '/a', './a', 'a\0b', 'x'.repeat(86)]) assert.ok(!isSingleName(name), name);
  });

  for (const [mode, options] of Object.entries(modes)) {
    it(`open (${mode}) of every kind of entry`, (t) => {
      for (const entry of entries) {
        const name = entry === 'missing' ? 'not-there' : entry;
        const short = plant(t);
        const walked = plant(t);
        const a = outcome(short.root, short.outside, () => short.dir.open(name, options));
        const b = outcome(walked.root, walked.outside, () => walked.dir.open(`./${name}`, options));
        assert.equal(a, b, `${entry}, ${mode}`);
        assert.equal(short.quota.filesCreated, walked.quota.filesCreated, `${entry}, ${mode}: files charged`);
      }
    });
  }

  it('open with creation refused by the quota', (t) => {
    for (const entry of entries) {
      for (const options of [modes.create!, modes['create exclusive']!]) {
        const short = plant(t, 0);
        const walked = plant(t, 0);
        const a = outcome(short.root, short.outside, () => short.dir.open(entry, options));
        const b = outcome(walked.root, walked.outside, () => walked.dir.open(`./${entry}`, options));
        assert.equal(a, b, entry);
        assert.deepEqual([...short.quota.hits], [...walked.quota.hits], `${entry}: limits recorded`);
      }
    }
  });

  it('stat, following links and not, of every kind of entry', (t) => {
    const { root, outside, dir } = plant(t);
    for (const entry of entries) {
      for (const follow of [true, false]) {
        const a = outcome(root, outside, () => dir.statAt(entry, follow));
        const b = outcome(root, outside, () => dir.statAt(`./${entry}`, follow));
        assert.equal(a, b, `${entry}, follow ${follow}`);
      }
    }
    // The shortcut still refuses what leaves the root and what loops.
    assert.throws(() => dir.statAt('link-out', true), (e: unknown) => e instanceof WasiError && e.errno === Errno.PERM);
    assert.throws(() => dir.statAt('link-loop', true), (e: unknown) => e instanceof WasiError && e.errno === Errno.LOOP);
  });

  it('unlink of every kind of entry', (t) => {
    for (const entry of [...entries, 'target-dir']) {
      const name = entry === 'missing' ? 'not-there' : entry;
      const short = plant(t);
      const walked = plant(t);
      const a = outcome(short.root, short.outside, () => short.dir.unlinkFile(name));
      const b = outcome(walked.root, walked.outside, () => walked.dir.unlinkFile(`./${name}`));
      assert.equal(a, b, entry);
    }
    // A link is removed, never what it names (the file outside stays).
    const { root, outside, dir } = plant(t);
    dir.unlinkFile('link-out');
    assert.match(outcome(root, outside, () => undefined), /outside secret:SECRET$/);
  });
});
