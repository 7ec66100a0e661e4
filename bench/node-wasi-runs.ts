// node:wasi's side of bench:sandbox section 1, in a process of its own: asked
// for N runs of hello (one round), it answers their times (ms).
//
// Not in the bench's own process: with node:wasi, runWasi and a thread-mode
// sandbox all running hello in one process, Node 20 segfaulted in about one
// run of the bench in two. It is node:wasi itself: alone, a process running hello
// under node:wasi 2,000 times crashed 4 times in 4 (Node 20.20.2; 1,000 times: 2 in 4).

import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASI as NodeWasi } from 'node:wasi';
import { timeRuns } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const hello = new WebAssembly.Module(readFileSync(join(root, 'test', 'fixtures', 'c', 'hello.wasm')));
const devNull = openSync('/dev/null', 'w');

process.on('message', (runs: number) => {
  const times = timeRuns(runs, () => {
    const wasi = new NodeWasi({ version: 'preview1', args: ['hello'], returnOnExit: true, stdout: devNull });
    wasi.start(new WebAssembly.Instance(hello, wasi.getImportObject() as WebAssembly.Imports) as never);
  }, 20);
  process.send!(times);
});
process.send!('ready');
