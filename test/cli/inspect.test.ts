import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWarden } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { watFixture } from '../helpers/wat.js';
import { body, FUNC_TYPE_VOID, moduleOf, name, section, u32, vector } from '../helpers/module-builder.js';
import { sarifProblems } from '../audit/sarif-check.js';

describe('warden inspect', () => {
  it('exits 0 and prints the report for a clean module', async () => {
    const r = await runWarden(['inspect', fixture('c', 'hello.wasm')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Capabilities/);
    assert.match(r.stdout, /fd_write/);
    assert.equal(r.stderr, '');
  });

  it('exits 1 when there is an error-level finding', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'threads.wasm');
    writeFileSync(path, await watFixture('audit-threads'));
    const r = await runWarden(['inspect', path]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /shared-memory/);
  });

  it('--json emits the report', async () => {
    const r = await runWarden(['inspect', '--json', fixture('c', 'hello.wasm')]);
    assert.equal(r.code, 0);
    const report = JSON.parse(r.stdout);
    assert.equal(report.counts.importedFunctions, 7);
  });

  it('--sarif emits SARIF 2.1.0', async () => {
    const r = await runWarden(['inspect', '--sarif', fixture('c', 'layout_data_first.wasm')]);
    const sarif = JSON.parse(r.stdout);
    assert.equal(sarif.version, '2.1.0');
    assert.ok(sarif.runs[0].results.some((x: any) => x.ruleId === 'stack-data-first'));
  });

  it('gives each kind of bad input its own one-line message and exit 2', async (t) => {
    const dir = tempDir(t);
    const write = (name: string, data: string | Uint8Array) => { const p = join(dir, name); writeFileSync(p, data); return p; };
    const hello = readFileSync(fixture('c', 'hello.wasm'));
    mkdirSync(join(dir, 'adir'));
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'missing.wasm'), /no such file/],
      [join(dir, 'adir'), /is a directory/],
      [write('empty.wasm', ''), /is empty/],
      [write('text.wasm', 'hello, this is text\n'), /is a text file/],
      [write('module.wat', '(module (func))\n'), /WebAssembly text/],
      [write('elf.wasm', Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0])), /no \\0asm magic/],
      [write('component.wasm', Uint8Array.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0])), /component-model binary/],
      [write('truncated.wasm', hello.subarray(0, 2000)), /is truncated .*at byte offset \d+/],
      [write('short.wasm', Uint8Array.from([0, 0x61, 0x73, 0x6d, 1])), /truncated/],
    ];
    for (const [path, message] of cases) {
      const r = await runWarden(['inspect', path]);
      assert.equal(r.code, 2, `${path}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });

  it('refuses bad usage with exit 2', async () => {
    assert.equal((await runWarden(['inspect'])).code, 2);
    assert.equal((await runWarden(['inspect', '--bogus', 'x.wasm'])).code, 2);
    assert.equal((await runWarden(['inspect', '--json', '--sarif', fixture('c', 'hello.wasm')])).code, 2);
    const r = await runWarden(['nonsense']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command/);
  });

  it('shows a stack trace only with --debug', async () => {
    const plain = await runWarden(['inspect', '/nonexistent.wasm']);
    assert.ok(!plain.stderr.includes('    at '));
    const debug = await runWarden(['inspect', '/nonexistent.wasm', '--debug']);
    assert.ok(debug.stderr.includes('    at '));
  });
});

describe('warden inspect on hostile modules', () => {
  // Characters a terminal acts on, or that reorder what is read: escapes, a CSI (C1),
  // bidi overrides, isolates and marks, line breaks that would forge a line of the report.
  const evil = 'A\x1b[2J\x1b]0;title\x07\u009b31m\u202eevil\u2066x\u061cy\u200f\u2028z\r\nforged line\x7f\x00end';
  const TERMINAL_ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
  const hostile = () => moduleOf(
    section(1, vector([FUNC_TYPE_VOID])),
    section(2, vector([[...name(evil), ...name(evil), 0x00, 0x00]])),
    section(3, vector([[0]])),
    section(7, vector([[...name(evil), 0x00, 0x01], [...name('_start'), 0x00, 0x01]])),
    section(10, vector([body([])])),
    // A producers field name is printed as a label of the text report.
    section(0, [...name('producers'), ...u32(1), ...name(evil), ...u32(1), ...name(evil), ...name(evil)]),
    section(0, [...name('target_features'), ...u32(1), 0x2b, ...name(evil)]),
  );

  it('writes none of their characters that act on a terminal, in text, JSON or SARIF', async (t) => {
    const path = join(tempDir(t), 'hostile.wasm');
    writeFileSync(path, hostile());
    const text = await runWarden(['inspect', path]);
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stdout, TERMINAL_ACTIVE);
    assert.ok(!text.stdout.split('\n').some((line) => line.startsWith('forged')), text.stdout);
    assert.match(text.stdout, /\\u\{1b\}\[2J/);

    const json = await runWarden(['inspect', '--json', path]);
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, TERMINAL_ACTIVE);
    const report = JSON.parse(json.stdout);
    assert.equal(report.exports[0].name, evil, 'the names parse back unchanged');
    assert.deepEqual(Object.keys(report.toolchain.producers), [evil]);

    const sarif = await runWarden(['inspect', '--sarif', path]);
    assert.equal(sarif.code, 0, sarif.stderr);
    assert.doesNotMatch(sarif.stdout, TERMINAL_ACTIVE);
    const log = JSON.parse(sarif.stdout);
    assert.deepEqual(sarifProblems(log), []);
    assert.ok(log.runs[0].results.some((r: { message: { text: string } }) => r.message.text.includes(evil)));
  });

  it('reports a module V8 refuses as refused, with an error, exit 1 and valid SARIF', async (t) => {
    // Decodes and walks cleanly, but does not type-check: an i32 left on a function returning nothing.
    const path = join(tempDir(t), 'invalid.wasm');
    writeFileSync(path, moduleOf(section(1, vector([FUNC_TYPE_VOID])), section(3, vector([[0]])), section(7, vector([[...name('_start'), 0x00, 0x00]])), section(10, vector([body([0x41, 0x00])]))));
    const text = await runWarden(['inspect', path]);
    assert.equal(text.code, 1, text.stdout);
    assert.match(text.stdout, /refused invalid: not a valid module: Compiling function #0 failed/);
    assert.match(text.stdout, /error +module-invalid: V8 refuses it/);
    const report = JSON.parse((await runWarden(['inspect', '--json', path])).stdout);
    assert.equal(report.run.admitted, false);
    assert.deepEqual(report.run.refusals.map((r: { rule: string }) => r.rule), ['invalid']);
    const sarif = await runWarden(['inspect', '--sarif', path]);
    assert.equal(sarif.code, 1);
    const log = JSON.parse(sarif.stdout);
    assert.deepEqual(sarifProblems(log), []);
    assert.deepEqual(log.runs[0].results.map((r: { ruleId: string; level: string }) => [r.ruleId, r.level]), [['module-invalid', 'error']]);
    // warden run refuses it for the same reason.
    const run = await runWarden(['run', path]);
    assert.equal(run.code, 125);
    assert.match(run.stderr, /invalid: not a valid module: Compiling function #0 failed/);
  });
});
