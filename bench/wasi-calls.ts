// Per-call cost of the hot preview1 functions: wasm-warden's WASI host against
// node:wasi (uvwasi, C++) in this process, on the same module, which calls one
// function N times straight through the ABI (test/fixtures/c/bench/calls.c).
// Each figure is (median time of a run with N calls - median of a run with
// none) / N, with runs of both hosts interleaved to spread machine noise.
//
//   npm run build && node dist/bench/wasi-calls.js [--calls 20000 --runs 9]

import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI as NodeWasi } from 'node:wasi';
import { defineGrant } from '../src/wasi/grant.js';
import type { ClockPolicy } from '../src/wasi/clocks.js';
import { createWasiHost, runWasi } from '../src/wasi/run.js';
import { argValue, median, table } from './stats.js';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const calls = argValue('calls', 20_000);
const runs = argValue('runs', 9);
const module = new WebAssembly.Module(readFileSync(join(root, 'test', 'fixtures', 'c', 'bench', 'calls.wasm')));
const dir = mkdtempSync(join(tmpdir(), 'warden-calls-'));
const devNull = openSync('/dev/null', 'w');
const modes = ['write-stdout', 'write-file', 'open-close', 'stat', 'clock', 'random'];

/** wasm-warden, one host reused across runs as an isolate does; stdout to /dev/null. */
const host = createWasiHost();
function warden(mode: string, n: number, clock: ClockPolicy): void {
  const grant = defineGrant({
    args: ['calls', mode, String(n)], mounts: [{ host: dir, guest: '/sandbox', readOnly: false }],
    stdout: { kind: 'fd', fd: devNull }, clock,
  });
  const result = runWasi(module, grant, { host });
  if (result.exitCode !== 0) throw new Error(`wasm-warden ${mode}: exit ${result.exitCode} ${result.trap?.message ?? ''}`);
}

function nodeWasi(mode: string, n: number): void {
  const wasi = new NodeWasi({ version: 'preview1', args: ['calls', mode, String(n)], env: {}, preopens: { '/sandbox': dir }, stdout: devNull, returnOnExit: true });
  const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
  const code = wasi.start(instance);
  if (code !== 0) throw new Error(`node:wasi ${mode}: exit ${code}`);
}

const time = (fn: () => void): number => {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
};

const hosts: Array<[string, (mode: string, n: number) => void]> = [
  ['node:wasi', nodeWasi],
  ['wasm-warden (clock real)', (mode, n) => warden(mode, n, { kind: 'real' })],
  ['wasm-warden (clock coarse:1ms)', (mode, n) => warden(mode, n, { kind: 'coarse', resolutionNs: 1_000_000n })],
];

const rows: Array<Array<string | number>> = [];
try {
  for (const mode of modes) {
    const perCall = new Map<string, { full: number[]; empty: number[] }>();
    for (const [name] of hosts) perCall.set(name, { full: [], empty: [] });
    for (let run = 0; run <= runs; run++) {
      for (const [name, fn] of hosts) {
        if (name.includes('coarse') && mode !== 'clock') continue;
        const count = mode === 'clock' || mode === 'random' ? calls * 10 : calls;
        const full = time(() => fn(mode, count));
        const empty = time(() => fn(mode, 0));
        if (run === 0) continue; // warm-up: JIT, page cache
        perCall.get(name)!.full.push(full / count);
        perCall.get(name)!.empty.push(empty / count);
      }
    }
    const base = perCall.get('node:wasi')!;
    const baseNs = median(base.full) - median(base.empty);
    for (const [name, samples] of perCall) {
      if (samples.full.length === 0) continue;
      const ns = median(samples.full) - median(samples.empty);
      rows.push([mode, name, ns.toFixed(0), (ns / baseNs).toFixed(2)]);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`ns per call, in-process, ${calls} calls per run (clock and random ten times as many), median of ${runs} runs less an empty run\n`);
console.log(table(['call', 'host', 'ns/call', 'x node:wasi'], rows));
