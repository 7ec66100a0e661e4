// What admitting a module costs, against V8's own work on the same bytes, one
// run: `prepare` (decode, the one walk of the bodies, admission, rewriting)
// beside `WebAssembly.validate` and `new WebAssembly.Module` (compile, lazy as
// Node does it). Each operation runs in its own child process, so its peak
// RSS (VmHWM) beyond the module's bytes is its alone. Prints medians of wall
// and CPU time (the CPU time is steadier on a shared machine) and same-run
// ratios to V8's validate and compile.
//
//   npm run bench:admission [-- --runs 5] [-- --baseline DIR]
//
// `--baseline DIR`: a second build of wasm-warden (its dist/ compiled, e.g. an
// older commit unpacked with `git archive`) whose `prepare` runs beside this
// one's, on the same bytes in the same run: before and after.
//
// Workloads: three real modules from npm packages (yosys 31 MB, esbuild 13 MB,
// resvg) and generated ones shaped to cost a decoder per item: passive element
// segments (64 MiB), a million globals, a million empty functions. The real
// modules are prepared twice: under the empty policy (they import beyond WASI
// and are refused after the walk: decode and admission only) and under one
// that admits them with a deadline and fuel (the whole rewrite).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { largeModulePaths } from '../test/binary/corpus.js';
import { body, FUNC_TYPE_VOID, moduleOf, name, passiveElementBomb, section, u32 } from '../test/helpers/module-builder.js';
import { peakRssBytes } from '../test/helpers/peak-rss.js';
import { argValue, median, table } from './stats.js';

type PrepareModule = typeof import('../src/sandbox/prepare.js');

/** The operations, with `prepare` from this build or from the baseline's. */
async function operations(build: string | null): Promise<Record<string, (bytes: Uint8Array) => void | Promise<void>>> {
  const at = (path: string) => (build ? pathToFileURL(join(build, 'dist', 'src', path)).href : new URL(`../src/${path}`, import.meta.url).href);
  // An older build (the baseline) may lack prepareOverlapped and prepare-config.js.
  const { AdmissionError, prepare, prepareOverlapped } = (await import(at('sandbox/prepare.js'))) as Partial<PrepareModule> & Pick<PrepareModule, 'AdmissionError' | 'prepare'>;
  const { EMPTY_POLICY, parsePolicy } = (await import(at('policy/load.js'))) as typeof import('../src/policy/load.js');
  const { wasiPreview1Functions } = (await import(at('binary/wasi-abi.js'))) as typeof import('../src/binary/wasi-abi.js');
  // Every WASI function granted and any other import stubbed: the real modules are admitted and rewritten.
  const admitting = parsePolicy({ imports: { allow: Object.keys(wasiPreview1Functions), unknown: 'trap' }, limits: { 'module-size': '256MiB', timeout: '10s', fuel: 10 ** 12 } });
  const { prepareConfig } = prepareOverlapped ? (await import(at('sandbox/prepare-config.js'))) as typeof import('../src/sandbox/prepare-config.js') : { prepareConfig: null as never };
  const refusedOk = (run: () => void) => { try { run(); } catch (error) { if (!(error instanceof AdmissionError)) throw error; } };
  return {
    admit: (bytes) => refusedOk(() => prepare(bytes, EMPTY_POLICY)),
    rewrite: (bytes) => refusedOk(() => prepare(bytes, admitting, [], null)),
    // What the preparing worker runs: V8's check on its background threads during the walk (absent from older builds).
    'rewrite, V8 overlapped': prepareOverlapped ? (bytes) => prepareOverlapped(bytes, prepareConfig(admitting, [], null)).then(() => undefined) : () => {},
  };
}

const v8 = {
  'V8 validate': (bytes: Uint8Array) => { WebAssembly.validate(bytes); },
  'V8 compile': (bytes: Uint8Array) => { new WebAssembly.Module(bytes); },
};

/**
 * V8 keeps compiled modules in a process-wide cache keyed by their bytes: a
 * second compile of the same bytes costs almost nothing. Each compile gets
 * bytes of its own (a one-byte custom section appended, made before timing).
 */
function distinct(bytes: Uint8Array, run: number): Uint8Array {
  const out = new Uint8Array(bytes.length + 4);
  out.set(bytes);
  out.set([0, 2, 1, run & 0x7f], bytes.length); // custom section: name of one byte, no payload
  return out;
}

if (process.argv[2] === '--child') {
  const [, , , op, path, runs, build] = process.argv;
  const bytes = readFileSync(path!);
  const ops: Record<string, (bytes: Uint8Array) => void | Promise<void>> = { ...v8, ...(await operations(build === '-' ? null : build!)) };
  const run = ops[op!]!;
  const before = process.memoryUsage().rss;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < Number(runs); i++) {
    const input = op === 'V8 compile' ? distinct(bytes, i) : bytes;
    const start = process.hrtime.bigint();
    const startCpu = process.cpuUsage();
    await run(input);
    const used = process.cpuUsage(startCpu);
    wall.push(Number(process.hrtime.bigint() - start) / 1e6);
    cpu.push((used.user + used.system) / 1e3);
    if (i === 0) process.stdout.write(JSON.stringify({ extra: peakRssBytes() - before }) + '\n');
  }
  console.log(JSON.stringify({ ms: median(wall), cpu: median(cpu) }));
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
const real = (label: string, path: string): [string, () => Uint8Array, boolean] => [label, () => new Uint8Array(readFileSync(path)), true];
const workloads: Array<[string, () => Uint8Array, boolean]> = [
  real('yosys (real)', largeModulePaths[2]!),
  real('esbuild (real)', largeModulePaths[1]!),
  real('resvg (real)', largeModulePaths[0]!),
  ['64 MiB of element segments', () => passiveElementBomb(64 * 1024 * 1024), false],
  ['1M globals', () => moduleOf(section(1, Uint8Array.from([1, ...FUNC_TYPE_VOID])), section(3, Uint8Array.of(1, 0)),
    section(6, repeated([0x7f, 0, 0x41, 0, 0x0b], 1_000_000)), START, section(10, Uint8Array.from([1, ...body([])]))), false],
  ['1M functions', () => moduleOf(section(1, Uint8Array.from([1, ...FUNC_TYPE_VOID])), section(3, repeated([0], 1_000_000)), START,
    section(10, repeated([2, 0, 0x0b], 1_000_000))), false],
];

const runs = Math.max(argValue('runs', 5), 1);
const baselineArg = process.argv.indexOf('--baseline');
const baseline = baselineArg > 0 ? resolve(process.argv[baselineArg + 1]!) : null;
if (baseline && !existsSync(join(baseline, 'dist', 'src', 'sandbox', 'prepare.js'))) throw new Error(`--baseline ${baseline}: no dist/src/sandbox/prepare.js (build it first)`);
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
const self = fileURLToPath(import.meta.url);
const rows: Array<Array<string | number>> = [];
const child = (label: string, op: string, path: string, build: string | null) => {
  const out = spawnSync(process.execPath, [self, '--child', op, path, String(runs), build ?? '-'], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${label} ${op}: ${out.stderr.slice(-300)}`);
  const [first, last] = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { ms: last.ms as number, cpu: last.cpu as number, extra: first.extra as number };
};
try {
  for (const [label, make, isReal] of workloads) {
    const bytes = make();
    const path = join(dir, 'module.wasm');
    writeFileSync(path, bytes);
    const validate = child(label, 'V8 validate', path, null);
    const compile = child(label, 'V8 compile', path, null);
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    const row = (what: string, r: { ms: number; cpu: number; extra: number }) => rows.push([label, what, (bytes.length / 2 ** 20).toFixed(1),
      r.ms.toFixed(1), r.cpu.toFixed(1), (r.ms / validate.ms).toFixed(2), (r.cpu / validate.cpu).toFixed(2), (r.cpu / compile.cpu).toFixed(2), mib(r.extra)]);
    row('V8 validate', validate);
    row('V8 compile', compile);
    for (const op of isReal ? ['admit', 'rewrite'] : ['admit']) {
      if (baseline) row(`prepare: ${op} (baseline)`, child(label, op, path, baseline));
      row(`prepare: ${op}`, child(label, op, path, null));
    }
    if (isReal) row('prepare: rewrite, V8 overlapped', child(label, 'rewrite, V8 overlapped', path, null));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`admission against V8 on the same bytes (median of ${runs} runs in one child each; peak RSS beyond the bytes, first run)`);
console.log('admit: the empty policy (decode, the walk, admission; real modules are then refused). rewrite: admitted with a deadline and fuel, rewritten.');
console.log('V8 overlapped: prepareOverlapped, as the preparing worker runs it (V8 validates on its own threads during the walk: compare wall times).\n');
console.log(table(['module', 'operation', 'MiB', 'wall ms', 'CPU ms', 'wall/validate', 'CPU/validate', 'CPU/compile', 'peak MiB'], rows));
