// The write quota counts storage, through the CLI as a user runs it: on a
// --tmpfs scratch and on a --dir mount, a guest trying to make the host keep
// more than --max-write is stopped with EDQUOT near the quota.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../../helpers/cli.js';
import { fixture } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/tmp.js';
import { hostTreeBlocks } from './host-tree.js';

const flood = fixture('c', 'wasi', 'storage_flood.wasm');
const QUOTA = 64 * 1024;

describe('storage quota through warden run', () => {
  it('--tmpfs scratch: a byte per page, sparse files, mkdir and symlink floods all stop at --max-write', async () => {
    const run = async (mode: string) => {
      const r = await runWarden(['run', '--tmpfs', '/scratch', '--max-write', '64KiB', flood, '--', '/scratch', mode]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const pages = /^pages (\d+) EDQUOT$/.exec(await run('pages'));
    assert.ok(pages && Number(pages[1]) <= QUOTA / 4096 + 1, 'one byte per page was not stopped near the quota');
    assert.equal(await run('sparse'), 'sparse pwrite EDQUOT write EDQUOT size 0');
    const dirs = /^mkdir (\d+) EDQUOT$/.exec(await run('mkdir'));
    assert.ok(dirs && Number(dirs[1]) <= QUOTA / 4096, 'the mkdir flood was not stopped by the write quota');
    const links = /^symlink (\d+) EDQUOT$/.exec(await run('symlink'));
    assert.ok(links && Number(links[1]) <= QUOTA / 2000, 'the symlink flood was not stopped by the write quota');
  });

  it('--dir mount: what the host keeps afterwards is within the quota plus a page for the file', async (t) => {
    const dir = tempDir(t);
    const before = hostTreeBlocks(dir);
    const r = await runWarden(['run', '--dir', `${dir}::/data`, '--max-write', '64KiB', flood, '--', '/data', 'pages']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pages \d+ EDQUOT\n$/);
    const kept = (hostTreeBlocks(dir) - before) * 512;
    assert.ok(kept <= QUOTA + 4096, `${kept} bytes allocated`);
    assert.ok(statSync(join(dir, 'pages')).size <= QUOTA + 1);
  });
});
