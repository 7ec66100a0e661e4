// Child-process probe for captured output's host memory: runs a guest that
// writes 4 MiB as 1-byte iovecs (1,024 per call) with stdout captured, and
// prints how much the process's RSS grew. Run as: node capture-rss.js MODE

import { createSandbox } from '../../src/sandbox/sandbox.js';
import { watFixture } from './wat.js';

const isolation = process.argv[2] as 'none' | 'thread' | 'process';
const sandbox = await createSandbox({ isolation });
const flood = await watFixture('wasi-byte-flood');
const hello = await watFixture('wasi-probe');
await sandbox.run(hello).catch(() => undefined);
(globalThis as { gc?: () => void }).gc?.();
const before = process.memoryUsage().rss;
const result = await sandbox.run(flood);
const after = process.memoryUsage().rss;
console.log(JSON.stringify({ exitCode: result.exitCode, captured: result.stdout.length, growth: after - before }));
await sandbox.close();
process.exit(0);
