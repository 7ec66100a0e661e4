// warden inspect predicts what `warden run` would refuse under its default
// policy, each with its fix, and fits its advice to the toolchain that built the
// module: real modules built by clang (C), rustc with wasm-bindgen, and Go for
// GOOS=js, none of which a C compiler flag would help.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectToolchain } from '../../src/audit/toolchain.js';
import { decodeModule } from '../../src/binary/decode.js';
import { runWarden } from '../helpers/cli.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';

const rustModule = join(repoRoot, 'node_modules', '@resvg', 'resvg-wasm', 'index_bg.wasm');
const goModule = join(repoRoot, 'node_modules', 'esbuild-wasm', 'esbuild.wasm');

interface Report {
  toolchain: { detected: string };
  run: { admitted: boolean; refusals: Array<{ rule: string; fix: string | null }> };
  findings: Array<{ rule: string; message: string }>;
}

async function inspectJson(path: string): Promise<Report> {
  const r = await runWarden(['inspect', '--json', path]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

describe('inspect: run predictions and toolchain advice', () => {
  it('a C command: would run; C flags in the advice', async () => {
    const report = await inspectJson(fixture('c', 'hello.wasm'));
    assert.equal(report.toolchain.detected, 'c');
    assert.deepEqual(report.run, { policy: 'warden run defaults', admitted: true, refusals: [] });
    assert.match(report.findings.find((f) => f.rule === 'stack-data-first')!.message, /-Wl,--stack-first/);
  });

  it('a Rust wasm-bindgen library: refused for its imports and for having no _start, with cargo advice', async () => {
    const report = await inspectJson(rustModule);
    assert.equal(report.toolchain.detected, 'rust');
    assert.equal(report.run.admitted, false);
    const rules = new Set(report.run.refusals.map((r) => r.rule));
    assert.deepEqual([...rules].sort(), ['import-unknown-module', 'not-a-command']);
    assert.match(report.run.refusals.find((r) => r.rule === 'import-unknown-module')!.fix!, /cargo build --target wasm32-wasip1/);
    for (const f of report.findings) assert.doesNotMatch(f.message, /compile with -fstack-protector|-Wl,/, 'no C compiler flags for a Rust module');
    const text = await runWarden(['inspect', rustModule]);
    assert.match(text.stdout, /Would run \(warden run defaults\)\n {2}refused import-unknown-module: [\s\S]*?and\s+\d+\s+more/);
  });

  it('a Go js/wasm module: GOOS=wasip1 advice, no C flags', async () => {
    const report = await inspectJson(goModule);
    assert.equal(report.toolchain.detected, 'go');
    assert.match(report.run.refusals.find((r) => r.rule === 'import-unknown-module')!.fix!, /GOOS=wasip1 GOARCH=wasm/);
    for (const f of report.findings) assert.doesNotMatch(f.message, /-fstack-protector|-Wl,/, 'no C flags for a Go module');
  });

  it('shared memory and atomics are predicted as refusals', async (t) => {
    const path = join(tempDir(t), 'threads.wasm');
    writeFileSync(path, await watFixture('audit-threads'));
    const report = await inspectJson(path);
    const rules = report.run.refusals.map((r) => r.rule);
    assert.ok(rules.includes('shared-memory') && rules.includes('atomics'), rules.join());
    assert.match(report.run.refusals.find((r) => r.rule === 'shared-memory')!.fix!, /build without threads/);
  });

  it('detects the toolchain from producers first, else from runtime imports', () => {
    assert.equal(detectToolchain(decodeModule(new Uint8Array(readFileSync(fixture('c', 'hello.wasm'))), { validateBodies: false })), 'c');
    const bare = { producers: null, exports: [], imports: [{ module: 'gojs', name: 'runtime.wasmExit' }] } as unknown as Parameters<typeof detectToolchain>[0];
    assert.equal(detectToolchain(bare), 'go');
    assert.equal(detectToolchain({ producers: { 'processed-by': [{ name: 'TinyGo', version: '0.30' }] }, imports: [], exports: [] } as unknown as Parameters<typeof detectToolchain>[0]), 'tinygo');
  });
});
