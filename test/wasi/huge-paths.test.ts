// Path arguments are bounded on their raw byte length before anything is
// decoded or copied: a 500 MB "path" is refused by a comparison.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Errno } from '../../src/wasi/errno.js';
import { tempDir } from '../helpers/tmp.js';
import { withProbe, type Probe } from './probe.js';

/** The largest input any TextDecoder was asked to decode while the tests ran. */
let largestDecode = 0;
const decode = TextDecoder.prototype.decode;

const HUGE = 500_000_000;

/** Grows the probe's memory to hold HUGE bytes (left zero: untouched pages cost the host nothing). */
function grow(p: Probe, memory: WebAssembly.Memory): void {
  memory.grow(Math.ceil((HUGE + 65536) / 65536) - memory.buffer.byteLength / 65536);
  p.view = new DataView(memory.buffer);
  p.bytes = new Uint8Array(memory.buffer);
}

describe('huge path arguments', () => {
  before(() => {
    TextDecoder.prototype.decode = function (this: InstanceType<typeof TextDecoder>, ...args: Parameters<typeof decode>) {
      largestDecode = Math.max(largestDecode, (args[0] as ArrayBufferView | undefined)?.byteLength ?? 0);
      return decode.apply(this, args);
    };
  });
  after(() => {
    TextDecoder.prototype.decode = decode;
  });

  it('a 500 MB path is ENAMETOOLONG in every path call, and the host never decodes it', async (t) => {
    const dir = tempDir(t);
    largestDecode = 0;
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      const exports = p as unknown as { memory: WebAssembly.Memory };
      grow(p, exports.memory);
      const at = 65536;
      const calls: Array<[string, () => number]> = [
        ['path_open', () => p.path_open!(3, 0, at, HUGE, 1, 64n, 0n, 0, 0)],
        ['path_create_directory', () => p.path_create_directory!(3, at, HUGE)],
        ['path_filestat_get', () => p.path_filestat_get!(3, 0, at, HUGE, 0)],
        ['path_unlink_file', () => p.path_unlink_file!(3, at, HUGE)],
        ['path_remove_directory', () => p.path_remove_directory!(3, at, HUGE)],
        ['path_readlink', () => p.path_readlink!(3, at, HUGE, 0, 16, 32)],
        ['path_filestat_set_times', () => p.path_filestat_set_times!(3, 0, at, HUGE, 0n, 0n, 2)],
        ['path_symlink target', () => p.path_symlink!(at, HUGE, 3, 0, p.put(0, 'l'))],
        ['path_symlink link', () => p.path_symlink!(0, 1, 3, at, HUGE)],
        ['path_rename', () => p.path_rename!(3, at, HUGE, 3, 0, 1)],
        ['path_link', () => p.path_link!(3, 0, at, HUGE, 3, 0, 1)],
      ];
      for (const [name, call] of calls) assert.equal(call(), Errno.NAMETOOLONG, name);
    });
    assert.ok(largestDecode <= 4096, `the host decoded ${largestDecode} bytes of one argument`);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('the length is checked before the bytes: 4,097 bytes ending in invalid UTF-8 are ENAMETOOLONG, not EILSEQ', async (t) => {
    const dir = tempDir(t);
    await withProbe({ mounts: [{ host: dir, guest: '/d', readOnly: false }] }, (p) => {
      p.bytes.fill(0x61, 1000, 1000 + 4096);
      p.bytes[1000 + 4096] = 0xff;
      assert.equal(p.path_open!(3, 0, 1000, 4097, 0, 2n, 0n, 0, 0), Errno.NAMETOOLONG);
      // At the limit, the bytes are read: the same invalid byte is EILSEQ.
      p.bytes[1000 + 4095] = 0xff;
      largestDecode = 0;
      assert.equal(p.path_open!(3, 0, 1000, 4096, 0, 2n, 0n, 0, 0), Errno.ILSEQ);
      assert.equal(largestDecode, 4096, 'the decoder is observed');
      // A length running past memory is EFAULT, whatever its size.
      assert.equal(p.path_open!(3, 0, 60_000, 2 ** 31, 0, 2n, 0n, 0, 0), Errno.FAULT);
    });
  });
});
