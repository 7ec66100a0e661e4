// Denied attempts say where they pointed: the descriptor and the guest path,
// bounded, so an operator can see what a module tried.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Errno } from '../../src/wasi/errno.js';
import { runWarden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { fixture } from '../helpers/paths.js';
import { withProbe } from './probe.js';

describe('denied attempts', () => {
  it('carry the descriptor and the guest path of each refused call', async (t) => {
    const rw = tempDir(t);
    const ro = tempDir(t);
    writeFileSync(join(rw, 'file'), 'x');
    const result = await withProbe({ mounts: [{ host: rw, guest: '/rw', readOnly: false }, { host: ro, guest: '/ro', readOnly: true }] }, (p) => {
      const escape = p.put(200, '../etc/passwd');
      assert.equal(p.path_open!(3, 0, 200, escape, 0, 2n, 0n, 0, 0), Errno.PERM);
      const name = p.put(300, 'file');
      const copy = p.put(400, 'copy');
      assert.equal(p.path_link!(3, 0, 300, name, 4, 400, copy), Errno.ROFS);
      const target = p.put(500, '/etc');
      assert.equal(p.path_symlink!(500, target, 3, 400, copy), Errno.PERM);
      assert.equal(p.sock_accept!(1, 0, 0), Errno.NOTSOCK);
    });
    assert.deepEqual(result.denied, [
      { call: 'path_open', errno: 'PERM', fd: 3, path: '../etc/passwd' },
      { call: 'path_link', errno: 'ROFS', fd: 3, path: 'file', newFd: 4, newPath: 'copy' },
      { call: 'path_symlink', errno: 'PERM', fd: 3, path: 'copy', oldPath: '/etc' },
      { call: 'sock_accept', errno: 'NOTSOCK', fd: 1 },
    ]);
  });

  it('keep at most 256 bytes of a path, marked truncated, and nothing from outside memory', async (t) => {
    const dir = tempDir(t);
    const result = await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const long = '../' + 'x/'.repeat(500);
      const length = p.put(1000, long);
      assert.equal(p.path_open!(3, 0, 1000, length, 0, 2n, 0n, 0, 0), Errno.PERM);
      // A length past the end of memory: EFAULT is not a denial; an escape with a bad pointer is not recorded with a path.
      assert.equal(p.path_create_directory!(3, 0xffff_fff0, 64), Errno.FAULT);
      const invalid = p.put(3000, Uint8Array.of(0x2e, 0x2e, 0x2f, 0xff));
      assert.equal(p.path_open!(3, 0, 3000, invalid, 0, 2n, 0n, 0, 0), Errno.ILSEQ);
    });
    assert.equal(result.denied.length, 1);
    const [entry] = result.denied;
    assert.equal(entry!.path, ('../' + 'x/'.repeat(500)).slice(0, 256));
    assert.equal(entry!.truncated, true);
    assert.equal(entry!.fd, 3);
  });

  it('reach the --report file', async (t) => {
    const dir = tempDir(t);
    const sandbox = tempDir(t);
    const report = join(dir, 'report.json');
    const r = await runWarden(['run', '--report', report, '--dir', `${sandbox}::/sandbox`, fixture('c', 'wasi', 'fs_conformance.wasm')]);
    assert.equal(r.code, 0, r.stderr);
    const denied = JSON.parse(readFileSync(report, 'utf8')).denied as Array<Record<string, unknown>>;
    // fs_conformance opens /sandbox/.. and d/../../x: refused, and the record names them.
    assert.ok(denied.some((d) => d.call === 'path_open' && d.errno === 'PERM' && d.fd === 3 && d.path === '..'), JSON.stringify(denied));
    assert.ok(denied.some((d) => d.call === 'path_open' && d.path === 'd/../../x'), JSON.stringify(denied));
  });
});
