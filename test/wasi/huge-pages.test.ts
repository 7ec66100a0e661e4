// Memory on huge pages (native/huge-pages.c through src/wasi/huge-pages.ts):
// large files are read into it, byte for byte, with a small fraction of the
// page faults an ordinary buffer takes; the helper refuses lengths it cannot
// map rather than mapping something else, and its memory goes back when the
// buffer is collected. A guest's linear memory is advised the same way once the
// host sees it at 2 MiB or more, and a guest filling 64 MiB of it takes a small
// fraction of the faults.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bufferForRead, LARGE_READ_BYTES } from '../../src/wasi/huge-pages.js';
import { readOpenedFile } from '../../src/policy/read-text.js';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

const helperPath = fileURLToPath(new URL('../../native/huge-pages.node', import.meta.url));
const readText = pathToFileURL(fileURLToPath(new URL('../../src/policy/read-text.js', import.meta.url))).href;
const hugePagesAdvised = (() => {
  try {
    return !readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[never]');
  } catch {
    return false;
  }
})();

function loadHelper(): { allocate(length: unknown): ArrayBuffer | null } {
  const module = { exports: {} as { allocate(length: unknown): ArrayBuffer | null } };
  process.dlopen(module, helperPath);
  return module.exports;
}

/** A file of `bytes` pseudo-random bytes (a repeating 251-byte pattern: no page equals the next). */
function largeFile(dir: string, bytes: number): string {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + (i >> 12)) % 251;
  const file = join(dir, 'large.bin');
  writeFileSync(file, data);
  return file;
}

describe('large reads on huge pages', () => {
  it('the build made the native helper', () => {
    // Without a C compiler the build skips it (tools/build-native.js); this machine has one.
    assert.ok(existsSync(helperPath), `${helperPath} was not built`);
  });

  it('reads a large file byte for byte, into a buffer with the room asked for after it', (t) => {
    const file = largeFile(tempDir(t), 3 * 1024 * 1024 + 12345);
    const fd = openSync(file, 'r');
    try {
      const bytes = readOpenedFile(fd, 3 * 1024 * 1024 + 12345, 65536);
      assert.deepEqual(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), readFileSync(file));
      assert.equal(bytes.buffer.byteLength, bytes.length + 65536, 'the room follows the bytes');
    } finally {
      closeSync(fd);
    }
  });

  it('refuses lengths it cannot map (answering null) and gives exactly the length asked otherwise', () => {
    const helper = loadHelper();
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 40, '4096', undefined]) assert.equal(helper.allocate(bad), null, String(bad));
    const buffer = helper.allocate(LARGE_READ_BYTES + 1)!;
    assert.equal(buffer.byteLength, LARGE_READ_BYTES + 1);
    const view = new Uint8Array(buffer);
    assert.ok(view.every((b) => b === 0), 'fresh anonymous memory is zeroed');
    view.fill(0xab);
    assert.equal(view[LARGE_READ_BYTES], 0xab);
    // Below the threshold, an ordinary buffer.
    assert.equal(bufferForRead(100).byteLength, 100);
  });

  it('a 32 MiB read takes far fewer page faults than into an ordinary buffer', { skip: !hugePagesAdvised && 'transparent huge pages are off' }, (t) => {
    const dir = tempDir(t);
    const size = 32 * 1024 * 1024;
    const file = largeFile(dir, size);
    // Each in a fresh process, so that no memory an earlier read freed is reused already touched.
    const faults = (ordinary: boolean): number => {
      const script = join(dir, `read-${ordinary}.mjs`);
      writeFileSync(script, `import { openSync, readSync } from 'node:fs';
        import { readOpenedFile } from ${JSON.stringify(readText)};
        const fd = openSync(${JSON.stringify(file)}, 'r');
        const before = process.resourceUsage().minorPageFault;
        let sum = 0;
        if (${ordinary}) {
          const buffer = Buffer.allocUnsafeSlow(${size});
          for (let at = 0; at < ${size};) at += readSync(fd, buffer, at, ${size} - at, at);
          sum = buffer[${size - 1}];
        } else sum = readOpenedFile(fd, ${size})[${size - 1}];
        process.stdout.write(JSON.stringify({ faults: process.resourceUsage().minorPageFault - before, sum }));`);
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { faults: number }).faults;
    };
    const ordinary = faults(true);
    const huge = faults(false);
    // 8,192 small pages against 16 huge ones (and a few for the process around them).
    assert.ok(ordinary > 4000, `an ordinary 32 MiB read took ${ordinary} faults`);
    assert.ok(huge < ordinary / 4, `on huge pages ${huge} faults against ${ordinary}`);
  });

  it('gives its memory back when the buffer is collected', (t) => {
    // 48 buffers of 64 MiB, each filled and dropped: 3 GiB touched, which the process must not hold at once
    // (V8 is told of the mapped memory, so it collects as it would for buffers of its own).
    const script = join(tempDir(t), 'churn.mjs');
    writeFileSync(script, `import { bufferForRead } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../../src/wasi/huge-pages.js', import.meta.url))).href)};
      import { setImmediate as turn } from 'node:timers/promises';
      // A turn of the event loop between reads, as between a server's requests: Node runs an addon's
      // finalizers there, not inside the collection that found the buffer unreachable.
      for (let i = 0; i < 48; i++) {
        new Uint8Array(bufferForRead(64 * 1024 * 1024)).fill(i);
        await turn();
      }
      process.stdout.write(String(process.resourceUsage().maxRSS));`);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const maxRssKiB = Number(r.stdout);
    assert.ok(maxRssKiB < 1024 * 1024, `the process peaked at ${Math.round(maxRssKiB / 1024)} MiB`);
  });

  it('a guest filling 64 MiB of memory it grew takes a small fraction of the page faults', { skip: !hugePagesAdvised && 'transparent huge pages are off' }, async (t) => {
    const dir = tempDir(t);
    const module = join(dir, 'fill.wasm');
    // Grows its memory by 64 MiB, makes a host call (where the host sees the new size), and fills
    // it: 16,384 small pages, 32 huge ones.
    writeFileSync(module, await wat(`(module (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (drop (memory.grow (i32.const 1024))) (drop (call $yield))
        (memory.fill (i32.const 65536) (i32.const 7) (i32.const 67108864))))`));
    // The CLI as installed, and the same without the helper.
    const without = join(dir, 'without');
    cpSync(join(repoRoot, 'bin'), join(without, 'bin'), { recursive: true });
    mkdirSync(join(without, 'dist'));
    cpSync(join(repoRoot, 'dist', 'cli'), join(without, 'dist', 'cli'), { recursive: true });
    cpSync(join(repoRoot, 'dist', 'native'), join(without, 'dist', 'native'), { recursive: true });
    rmSync(join(without, 'dist', 'native', 'huge-pages.node'));
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, `process.on('exit', () => require('node:fs').writeSync(2, '\\nfaults ' + process.resourceUsage().minorPageFault + '\\n'));`);
    const faults = (root: string): number => {
      const r = spawnSync(process.execPath, ['--require', probe, join(root, 'bin', 'warden.cjs'), 'run', '--no-cache', module], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return Number(/faults (\d+)/.exec(r.stderr)![1]);
    };
    const ordinary = faults(without);
    const huge = faults(repoRoot);
    assert.ok(ordinary - huge > 12000, `filling 64 MiB took ${huge} faults with huge pages against ${ordinary} without`);
  });
});
