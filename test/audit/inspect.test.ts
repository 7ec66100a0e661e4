import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { hasErrors, inspect } from '../../src/audit/inspect.js';
import { renderText } from '../../src/audit/render-text.js';
import { renderSarif } from '../../src/audit/render-sarif.js';
import { allRules } from '../../src/audit/rules.js';
import { fixture } from '../helpers/paths.js';
import { wat, watFixture } from '../helpers/wat.js';
import { largeModulePaths } from '../binary/corpus.js';

const rulesOf = (bytes: Uint8Array) => inspect(bytes).findings.map((f) => f.rule);
const cModule = (name: string) => new Uint8Array(readFileSync(fixture('c', `${name}.wasm`)));

describe('inspect', () => {
  it('maps WASI imports to capabilities', () => {
    const report = inspect(cModule('hello'));
    assert.deepEqual(Object.keys(report.capabilities).sort(), ['args-env', 'process', 'stdio']);
    assert.ok(report.capabilities.stdio!.includes('fd_write'));
    assert.ok(report.imports.every((i) => i.known));
    assert.equal(hasErrors(report), false);
  });

  it('flags unknown modules, sockets, wrong signatures and unknown WASI functions', async () => {
    const report = inspect(await watFixture('audit-imports'));
    const rules = report.findings.map((f) => f.rule);
    assert.ok(rules.includes('import-unknown-module'));
    assert.ok(rules.includes('capability-sockets'));
    assert.ok(rules.includes('import-signature-mismatch'));
    assert.ok(rules.includes('import-unknown-wasi-function'));
    assert.equal(hasErrors(report), true);
    const mismatch = report.findings.find((f) => f.rule === 'import-signature-mismatch')!;
    assert.match(mismatch.message, /fd_write/);
    assert.ok(typeof mismatch.offset === 'number' && mismatch.offset > 8);
  });

  it('reports a clean module without errors or warnings', async () => {
    const report = inspect(await watFixture('audit-clean'));
    assert.deepEqual(report.findings.filter((f) => f.severity !== 'note'), []);
    assert.deepEqual(report.memories[0], { index: 0, initialPages: 1, maximumPages: 4, shared: false, is64: false, imported: false, exported: true });
  });

  it('reports a module V8 refuses as shipped as an error, with V8\'s reason', async () => {
    // Decodes and walks cleanly, but does not type-check: an i32 left where nothing is returned.
    const report = inspect(await wat('(module (func (export "_start") i32.const 0))'));
    const invalid = report.findings.filter((f) => f.rule === 'module-invalid');
    assert.equal(invalid.length, 1);
    assert.match(invalid[0]!.message, /^V8 refuses it: Compiling function #0 failed: .*found 1/);
    assert.equal(hasErrors(report), true);
    assert.ok(!rulesOf(cModule('hello')).includes('module-invalid'));
  });

  it('treats shared memory as an error and counts atomic waits', async () => {
    const report = inspect(await watFixture('audit-threads'));
    assert.ok(report.sideChannels.sharedMemory);
    assert.equal(report.sideChannels.atomicWaits, 1);
    assert.ok(report.features.includes('threads'));
    assert.ok(rulesOf(await watFixture('audit-threads')).includes('shared-memory'));
    assert.equal(hasErrors(report), true);
  });

  it('tells stack-first from data-first layouts of the same C program', () => {
    const stackFirst = inspect(cModule('layout_stack_first'));
    const dataFirst = inspect(cModule('layout_data_first'));
    assert.equal(stackFirst.memorySafety.layout, 'stack-first');
    assert.equal(dataFirst.memorySafety.layout, 'data-first');
    assert.equal(stackFirst.memorySafety.stackPointer?.foundBy, 'name');
    assert.ok(dataFirst.findings.some((f) => f.rule === 'stack-data-first'));
    assert.ok(!stackFirst.findings.some((f) => f.rule === 'stack-data-first'));
    assert.ok(stackFirst.memorySafety.stackBytes! >= 64 * 1024);
  });

  it('finds the stack pointer by heuristic when names are stripped', async () => {
    const bytes = await watFixture('audit-clean');
    const withGlobal = inspect(new Uint8Array(readFileSync(fixture('c', 'hello.wasm'))));
    assert.equal(withGlobal.memorySafety.stackPointer?.name, '__stack_pointer');
    const report = inspect(bytes);
    assert.equal(report.memorySafety.stackPointer, null);
  });

  it('detects a stack protector', () => {
    assert.equal(inspect(cModule('stack_protector')).memorySafety.stackProtector, true);
    assert.equal(inspect(cModule('layout_data_first')).memorySafety.stackProtector, false);
  });

  it('flags a dense run of large constants', async () => {
    const report = inspect(await watFixture('audit-spray'));
    assert.ok(report.findings.some((f) => f.rule === 'code-constant-density'), JSON.stringify(report.sideChannels));
    assert.ok(!rulesOf(cModule('hello')).includes('code-constant-density'));
  });

  it('renders text and SARIF 2.1.0 with every required field', () => {
    const report = inspect(cModule('layout_data_first'), { file: 'layout_data_first.wasm' });
    const text = renderText(report);
    assert.match(text, /Capabilities/);
    assert.match(text, /stack-data-first/);
    const sarif = renderSarif(report) as any;
    assert.equal(sarif.version, '2.1.0');
    assert.equal(sarif.runs.length, 1);
    const run = sarif.runs[0];
    assert.equal(run.tool.driver.name, 'wasm-warden');
    assert.deepEqual(run.tool.driver.rules.map((r: any) => r.id), allRules.map((r) => r.id));
    for (const r of run.tool.driver.rules) assert.ok(['error', 'warning', 'note'].includes(r.defaultConfiguration.level));
    assert.equal(run.results.length, report.findings.length);
    for (const result of run.results) {
      assert.equal(typeof result.message.text, 'string');
      assert.ok(result.ruleIndex >= 0);
      assert.equal(run.tool.driver.rules[result.ruleIndex].id, result.ruleId);
      assert.equal(result.locations[0].physicalLocation.artifactLocation.uri, 'layout_data_first.wasm');
    }
  });

  it('the JSON report survives a round trip through JSON', () => {
    const report = inspect(cModule('hello'));
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });

  for (const path of largeModulePaths) {
    it(`inspects ${path.split('/').pop()}`, () => {
      const report = inspect(new Uint8Array(readFileSync(path)));
      assert.ok(report.counts.definedFunctions > 1000);
      assert.ok(report.counts.instructions > report.counts.definedFunctions);
      assert.ok(report.counts.codeBytes < report.size);
    });
  }
});
