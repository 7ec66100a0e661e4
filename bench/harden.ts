// The cost of each hardening pass on CPU-bound programs built here, in one
// process, one run: every variant compiled once and run interleaved through
// runWasi with output discarded. Prints medians, p90, and each variant's
// ratio to the unhardened module's median in the same run.
//
// Workloads (named, not chosen to flatter): the example decoder
// (examples/vulnerable-decoder/wimg.wasm) on a large generated image, and the
// bench's SHA-256 program (test/fixtures/c/bench/sha256.wasm).
//
//   npm run bench:harden [-- --runs 9 --size 2048 --mib 16]

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModule } from '../src/binary/decode.js';
import { hardenModule, type HardenPassName } from '../src/transform/harden.js';
import { defineGrant } from '../src/wasi/grant.js';
import { runWasi } from '../src/wasi/run.js';
import { fixture, repoRoot } from '../test/helpers/paths.js';
import { argValue, median, ms, percentile, table } from './stats.js';

const runs = Math.max(argValue('runs', 9), 1);
const side = argValue('size', 2048);
const mib = argValue('mib', 16);

/** A WIMG image of side × side pixels: rows cycling through the five filters (as examples/vulnerable-decoder/craft.mjs writes them). */
function image(w: number, h: number): Uint8Array {
  const header = [...Buffer.from('WIMG'), w & 0xff, w >> 8, h & 0xff, h >> 8, 'D'.charCodeAt(0), 0, 0];
  const out = new Uint8Array(header.length + h * (w + 1));
  out.set(header);
  let p = header.length;
  for (let y = 0; y < h; y++) {
    out[p++] = y % 5;
    for (let x = 0; x < w; x++) out[p++] = (x * 7 + y * 3 + ((x * y) >> 4)) & 0xff;
  }
  return out;
}

const variants: Array<[string, HardenPassName[]]> = [
  ['plain', []], ['stack', ['stack']], ['null', ['null']], ['rodata', ['rodata']], ['null+rodata', ['null', 'rodata']],
  ['bulk', ['bulk']], ['all four', ['stack', 'null', 'rodata', 'bulk']],
];

const dir = mkdtempSync(join(tmpdir(), 'warden-bench-harden-'));
try {
  writeFileSync(join(dir, 'large.wimg'), image(side, side));
  const workloads = [
    { label: `wimg decoder, ${side}x${side} image`, path: join(repoRoot, 'examples', 'vulnerable-decoder', 'wimg.wasm'), args: ['wimg', '/in/large.wimg'] },
    { label: `SHA-256 of ${mib} MiB`, path: fixture('c', 'bench', 'sha256.wasm'), args: ['sha256', String(mib)] },
  ];
  const rows: Array<Array<string | number>> = [];
  for (const w of workloads) {
    const bytes = new Uint8Array(readFileSync(w.path));
    const compiled = variants.map(([name, passes]) => {
      const hardened = passes.length ? hardenModule(decodeModule(bytes), { passes, lenient: true }) : null;
      const sites = hardened ? hardened.passes.map((p) => `${p.pass} ${p.status === 'not-applicable' ? 'n/a' : p.sites}`).join(', ') : '';
      return { name, sites, module: new WebAssembly.Module((hardened?.bytes ?? bytes) as BufferSource) };
    });
    const grant = defineGrant({ args: w.args, mounts: [{ host: dir, guest: '/in', readOnly: true }], stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
    const time = (module: WebAssembly.Module): number => {
      const start = process.hrtime.bigint();
      const result = runWasi(module, grant);
      if (result.exitCode !== 0) throw new Error(`${w.label}: exit ${result.exitCode}, trap ${JSON.stringify(result.trap)}`);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    for (const v of compiled) time(v.module); // warm up: V8 compiles lazily and tiers up
    const times = compiled.map(() => [] as number[]);
    // Interleaved so that drift in the machine's load hits every variant alike.
    for (let i = 0; i < runs; i++) compiled.forEach((v, k) => times[k]!.push(time(v.module)));
    const base = median(times[0]!);
    compiled.forEach((v, k) => rows.push([k === 0 ? w.label : '', v.name, ms(median(times[k]!)), ms(percentile(times[k]!, 90)), (median(times[k]!) / base).toFixed(3), v.sites]));
  }
  console.log(`hardening passes, ${runs} interleaved runs each (ms), Node ${process.version}\n`);
  console.log(table(['workload', 'variant', 'median', 'p90', 'ratio to plain', 'sites guarded'], rows));
  console.log('\ntargets: stack <= 1.10; null+rodata <= 1.25');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
