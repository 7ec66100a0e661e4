// Child process for closure-view-lifetime.test.ts: in a run without a
// deadline, a closure keeps its memory view and uses it from a timer while
// the guest runs on; prints what that use did and the next run's results as
// one JSON line. A separate process, because a use that waited for ever would
// hold the very thread a test's timeout runs on.

import { createSandbox } from '../../src/sandbox/sandbox.js';
import { keptViewGuest } from '../helpers/kept-view-guest.js';

const isolation = process.argv[2] as 'thread' | 'process';
const module = await keptViewGuest({ wait: false });

let later: Promise<{ error: string | null; message: string }> | null = null;
const sandbox = await createSandbox({ isolation }, {
  hostFunctions: [{ module: 'env', name: 'keep', params: ['i32'], results: ['i32'], fn: (memory, ptr) => {
    later ??= new Promise((resolve) => setTimeout(() => {
      try {
        resolve({ error: null, message: String(memory.readU32(ptr as number)) });
      } catch (error) {
        resolve({ error: (error as Error).constructor.name, message: (error as Error).message });
      }
    }, 0));
    return memory.readU32(ptr as number);
  } }],
});
try {
  const first = await sandbox.invoke(module, 'keep_then_spin', 30_000_000);
  const used = await later!;
  const next = await sandbox.invoke(module, 'keep_then_spin', 0);
  console.log(JSON.stringify({ exitCode: first.exitCode, ...used, next: next.results }));
} finally {
  await sandbox.close();
}
