// A run queued behind an isolate killed at its deadline completes, in a
// process that has nothing else to keep it alive: the killed isolate holds
// its slot (it counts against concurrency until it has exited) and keeps the
// host alive meanwhile, so the queued run is not dropped by an empty event
// loop. The guest is a memory.grow loop given to the executor without the
// deadline rewrite (no checkpoint): V8 delays the child's own watchdog, so
// the parent SIGKILLs it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const sandboxDir = new URL('../../src/sandbox/', import.meta.url);
const executorsModule = new URL('executors.js', sandboxDir).href;
const loadModule = new URL('../policy/load.js', sandboxDir).href;
const grantModule = new URL('../wasi/grant.js', sandboxDir).href;
// (module (memory (export "memory") 1) (func (export "_start") (loop (drop (memory.grow (i32.const 1))) (br 0))))
const grow = '0061736d01000000010401600000030201000503010001071302066d656d6f72790200065f737461727400000a0e010c000340410140001a0c000b0b';

describe('a run queued behind a deadline', () => {
  for (const isolation of ['process'] as const) {
    it(`completes in a process with nothing else to do, ${isolation} isolation`, (t) => {
      const script = `
        import { readFileSync } from 'node:fs';
        const { poolExecutor } = await import(${JSON.stringify(executorsModule)});
        const { parsePolicy } = await import(${JSON.stringify(loadModule)});
        const { defineGrant } = await import(${JSON.stringify(grantModule)});
        const dir = new URL(${JSON.stringify(sandboxDir.href)});
        const executor = poolExecutor(parsePolicy({ isolation: '${isolation}' }), {
          size: 1, spares: 1, maxQueued: 4, stackSizeMb: 4,
          workerEntry: new URL('worker-entry.js', dir), processEntry: new URL('process-entry.js', dir),
          codeDir: new URL('../..', dir).pathname,
        });
        const ready = async (bytes, digest) => ({ digest, bytes, compiled: await WebAssembly.compile(bytes), metered: false });
        const growing = await ready(new Uint8Array(Buffer.from('${grow}', 'hex')), 'grow');
        const hello = await ready(new Uint8Array(readFileSync(${JSON.stringify(fixture('c', 'hello.wasm'))})), 'hello');
        const [a, b] = await Promise.all([
          executor.run(growing, defineGrant({ limits: { timeoutMs: 100 } }), null),
          executor.run(hello, defineGrant({ args: ['hello', 'queued'] }), null),
        ]);
        console.log(a.trap.kind, new TextDecoder().decode(b.stdout).trim());
        await executor.close();`;
      const file = join(tempDir(t), 'queued.mjs');
      writeFileSync(file, script);
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'deadline hello from wasm-warden, queued');
    });
  }
});
