// Child process for stale-closure-listener.test.ts. Two sandboxes share a
// pool of one worker and each grants its own `env.ping`. Sandbox A's run
// writes 512 KiB to an inherited stdout the parent does not read yet, so A's
// host side is still writing it out when the worker takes sandbox B's run,
// which calls `env.ping` once. Prints, on stderr as one JSON line, which
// closures that one call reached and what B's guest got; then waits for the
// parent to drain stdout and lets A finish.

import { createSandbox, createSharedPool } from '../../src/sandbox/sandbox.js';
import { wat } from '../helpers/wat.js';

const module = await wat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "ping" (func $ping (result i32)))
  (memory (export "memory") 9)
  (func (export "spew") (result i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 524288))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "ping") (result i32) (call $ping)))`);

const pool = createSharedPool({ size: 1, queue: 8 });
await pool.ready();
const calls = { a: 0, b: 0 };
const policy = { isolation: 'thread', stdio: { stdout: 'inherit' }, limits: { timeout: '20s' } } as const;
const a = await createSandbox(policy, { pool, hostFunctions: [{ module: 'env', name: 'ping', params: [], results: ['i32'], fn: () => { calls.a++; return 1; } }] });
const b = await createSandbox(policy, { pool, hostFunctions: [{ module: 'env', name: 'ping', params: [], results: ['i32'], fn: () => { calls.b++; return 2; } }] });
try {
  // Each module prepared first, so that the two runs below reach the pool in the order they are made.
  await a.invoke(module, 'ping');
  await b.invoke(module, 'ping');
  calls.a = 0;
  calls.b = 0;
  const spew = a.invoke(module, 'spew');
  const ping = await b.invoke(module, 'ping');
  process.stderr.write(`${JSON.stringify({ calls, results: ping.results, hostCalls: ping.hostCalls, trap: ping.trap })}\n`);
  const spewed = await spew;
  process.stderr.write(`${JSON.stringify({ spewed: spewed.exitCode })}\n`);
} finally {
  await a.close();
  await b.close();
  await pool.close();
}
