// What admitting a module costs, against V8's own work on the same bytes, one
// run: `prepare` (decode, admission, rewriting) beside `WebAssembly.validate`
// and `new WebAssembly.Module` (compile, lazy as Node does it). Each
// operation runs in its own child process, so its peak RSS (VmHWM) beyond the
// module's bytes is its alone. Prints medians and same-run ratios to V8's validate.
//
//   npm run bench:admission [-- --runs 5]
//
// Workloads: two real modules from npm packages, and generated ones shaped to
// cost a decoder per item: passive element segments (64 MiB), a million
// globals, a million empty functions.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMPTY_POLICY } from '../src/policy/load.js';
import { AdmissionError, prepare } from '../src/sandbox/prepare.js';
import { largeModulePaths } from '../test/binary/corpus.js';
import { body, FUNC_TYPE_VOID, moduleOf, name, passiveElementBomb, section, u32 } from '../test/helpers/module-builder.js';
import { peakRssBytes } from '../test/helpers/peak-rss.js';
import { argValue, median, table } from './stats.js';

const operations = {
  // The real modules import from outside WASI and are refused: the cost is then decoding and admission, without the rewrite.
  prepare: (bytes: Uint8Array) => { try { prepare(bytes, EMPTY_POLICY); } catch (error) { if (!(error instanceof AdmissionError)) throw error; } },
  'V8 validate': (bytes: Uint8Array) => { WebAssembly.validate(bytes); },
  'V8 compile': (bytes: Uint8Array) => { new WebAssembly.Module(bytes); },
};
type Operation = keyof typeof operations;

if (process.argv[2] === '--child') {
  const [, , , op, path, runs] = process.argv;
  const bytes = readFileSync(path!);
  const run = operations[op as Operation];
  const before = process.memoryUsage().rss;
  const times: number[] = [];
  for (let i = 0; i < Number(runs); i++) {
    const start = process.hrtime.bigint();
    run(bytes);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (i === 0) process.stdout.write(JSON.stringify({ extra: peakRssBytes() - before }) + '\n');
  }
  console.log(JSON.stringify({ ms: median(times) }));
  process.exit(0);
}

/** `count` copies of `item` as a vector. */
function repeated(item: number[], count: number): Uint8Array {
  const head = u32(count);
  const out = new Uint8Array(head.length + item.length * count);
  out.set(head);
  for (let i = 0; i < count; i++) out.set(item, head.length + i * item.length);
  return out;
}

const START = section(7, Uint8Array.from([1, ...name('_start'), 0, 0]));
const workloads: Array<[string, () => Uint8Array]> = [
  ['resvg (real)', () => new Uint8Array(readFileSync(largeModulePaths[0]!))],
  ['esbuild (real)', () => new Uint8Array(readFileSync(largeModulePaths[1]!))],
  ['64 MiB of element segments', () => passiveElementBomb(64 * 1024 * 1024)],
  ['1M globals', () => moduleOf(section(1, Uint8Array.from([1, ...FUNC_TYPE_VOID])), section(3, Uint8Array.of(1, 0)),
    section(6, repeated([0x7f, 0, 0x41, 0, 0x0b], 1_000_000)), START, section(10, Uint8Array.from([1, ...body([])])))],
  ['1M functions', () => moduleOf(section(1, Uint8Array.from([1, ...FUNC_TYPE_VOID])), section(3, repeated([0], 1_000_000)), START,
    section(10, repeated([2, 0, 0x0b], 1_000_000)))],
];

const runs = Math.max(argValue('runs', 5), 1);
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
const self = fileURLToPath(import.meta.url);
const rows: Array<Array<string | number>> = [];
try {
  for (const [label, make] of workloads) {
    const bytes = make();
    const path = join(dir, 'module.wasm');
    writeFileSync(path, bytes);
    const results = {} as Record<Operation, { ms: number; extra: number }>;
    for (const op of Object.keys(operations) as Operation[]) {
      const child = spawnSync(process.execPath, [self, '--child', op, path, String(runs)], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`${label} ${op}: ${child.stderr.slice(-300)}`);
      const [first, last] = child.stdout.trim().split('\n').map((l) => JSON.parse(l));
      results[op] = { ms: last.ms, extra: first.extra };
    }
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    rows.push([label, (bytes.length / 2 ** 20).toFixed(1),
      results.prepare.ms.toFixed(1), results['V8 validate'].ms.toFixed(1), results['V8 compile'].ms.toFixed(1),
      (results.prepare.ms / results['V8 validate'].ms).toFixed(2),
      mib(results.prepare.extra), mib(results['V8 validate'].extra), mib(results['V8 compile'].extra),
      (results.prepare.extra / bytes.length).toFixed(2)]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`admission against V8 on the same bytes (median of ${runs} runs in one child each; peak RSS beyond the bytes, first run)\n`);
console.log(table(['module', 'MiB', 'prepare ms', 'validate ms', 'compile ms', 'prepare/validate', 'prepare MiB', 'validate MiB', 'compile MiB', 'prepare/module'], rows));
