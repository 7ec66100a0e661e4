// The human rendering of an inspection report: short sections, aligned
// columns wrapped to 80 characters, findings last so they are what the reader
// sees at the end.

import type { Finding, InspectReport } from './report.js';
import { ACTIVE, matcher } from '../text/control-characters.js';

const ACTIVE_CHARACTERS = matcher(ACTIVE);

const WIDTH = 80;
const LABEL_WIDTH = 22;
const VALUE_INDENT = ' '.repeat(2 + LABEL_WIDTH + 1);

const size = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const pages = (n: number | null): string => (n === null ? 'none' : `${n} pages (${size(n * 65536)})`);

const MAX_WORD = 160;

/**
 * Names come from the module, so they may hold terminal escapes, newlines or
 * bidi controls: those are shown as \u{…} escapes, and overlong words cut.
 */
function printable(text: string): string {
  const escaped = text.replace(ACTIVE_CHARACTERS, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`);
  return escaped.split(' ').map((word) => (word.length > MAX_WORD ? `${word.slice(0, MAX_WORD)}…` : word)).join(' ');
}

/** Breaks `text` at spaces so that no line passes WIDTH; the first line starts after `first`, the rest after `indent`. */
function wrap(first: string, text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = first;
  let lineHasWord = false;
  for (const word of printable(text).split(' ')) {
    if (lineHasWord && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent + word;
    } else {
      line += (lineHasWord ? ' ' : '') + word;
    }
    lineHasWord = true;
  }
  lines.push(line);
  return lines;
}

function where(f: Finding): string {
  const parts: string[] = [];
  if (f.function !== undefined) parts.push(`function ${f.function}`);
  if (f.offset !== undefined) parts.push(`byte 0x${f.offset.toString(16)}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

export function renderText(report: InspectReport): string {
  const lines: string[] = [];
  const heading = (title: string) => lines.push('', title);
  // Labels too may come from the module (a producers field, an import's module name): escaped and cut like values.
  const row = (label: string, value: string) => lines.push(...wrap(`  ${printable(label).slice(0, LABEL_WIDTH).padEnd(LABEL_WIDTH)} `, value, VALUE_INDENT));

  const c = report.counts;
  lines.push(...wrap('', `${report.file ?? 'module'}: ${size(report.size)}, ${c.definedFunctions} functions (+${c.importedFunctions} imported)`, '  '));
  if (report.toolchain.detected !== 'unknown') row('toolchain', report.toolchain.detected);
  for (const [field, values] of Object.entries(report.toolchain.producers)) row(field, values.join(', '));
  if (report.toolchain.targetFeatures.length) row('target features', report.toolchain.targetFeatures.join(' '));

  heading('Capabilities');
  const caps = Object.entries(report.capabilities);
  if (report.imports.length === 0) lines.push('  none: the module imports nothing');
  for (const [capability, names] of caps) row(capability, names!.join(' '));
  const unknown = new Map<string, string[]>();
  for (const i of report.imports) {
    if (i.known) continue;
    const label = i.module === 'wasi_snapshot_preview1' ? 'unknown WASI' : `from ${i.module}`;
    const entry = i.kind === 'func' ? i.name : `${i.name} (${i.kind})`;
    const names = unknown.get(label);
    if (names) names.push(entry);
    else unknown.set(label, [entry]);
  }
  for (const [label, names] of unknown) row(label, names.join(' '));

  heading('Exports');
  if (report.exports.length === 0) lines.push('  none');
  const shown = report.exports.slice(0, 20);
  for (const e of shown) row(e.kind, e.name);
  if (report.exports.length > shown.length) lines.push(`  … and ${report.exports.length - shown.length} more`);
  if (report.start !== null) row('start function', String(report.start));

  heading('Memory and tables');
  for (const m of report.memories) {
    const flags = [m.imported && 'imported', m.exported && 'exported', m.shared && 'SHARED', m.is64 && '64-bit'].filter(Boolean).join(', ');
    row(`memory ${m.index}`, `initial ${pages(m.initialPages)}, maximum ${pages(m.maximumPages)}${flags ? ` [${flags}]` : ''}`);
  }
  for (const t of report.tables) {
    const flags = [t.imported && 'imported', t.exported && 'exported', t.growable && 'growable'].filter(Boolean).join(', ');
    row(`table ${t.index}`, `${t.elementType} × ${t.initial}, maximum ${t.maximum ?? 'none'}${flags ? ` [${flags}]` : ''}`);
  }
  row('data', `${c.dataSegments} segments, ${size(c.dataBytes)}`);
  row('elements', `${c.elementSegments} segments`);
  row('globals', `${c.globals} (${report.globals.filter((g) => g.mutable).length} mutable)`);

  heading('Memory safety');
  const s = report.memorySafety;
  const sp = s.stackPointer;
  row('stack pointer', sp ? `global ${sp.global}${sp.name ? ` (${sp.name})` : ''}, starts at ${sp.initial ?? '?'}, found by ${sp.foundBy}` : 'not found');
  row('layout', s.layout + (s.stackBytes !== null ? `, stack ${size(s.stackBytes)}` : ''));
  row('stack protector', s.stackProtector ? 'yes' : 'no');
  const ic = s.indirectCalls;
  row('indirect calls', `${ic.sites} sites, ${ic.distinctTypes} types, table ${ic.tableSize ?? 'none'}, ${ic.functionsInTable} functions in table (${Math.round(ic.shareOfFunctionsInTable * 100)}%)`);
  row('memory maximum', s.everyMemoryHasMaximum ? 'declared' : 'missing');
  const guardName = (p: string) => (p === 'rodata' ? 'rodata-guard' : `${p}-guard`);
  row('hardening', s.hardening.length
    ? s.hardening.map((h) => `${guardName(h.pass)} ${h.status === 'verified' ? 'verified' : h.guarded < h.sites ? `PARTIAL (${h.guarded} of ${h.sites} sites)` : 'PARTIAL (too narrow a range)'}: ${h.detail}`).join('; ')
    : 'none (recognised from the code)');
  if (s.hardeningApplicable.length) row('would apply', s.hardeningApplicable.map(guardName).join(', ') + ' (warden harden)');

  heading('Side channels');
  const sc = report.sideChannels;
  row('shared memory', sc.sharedMemory ? 'YES' : 'no');
  row('atomics', `${sc.atomicInstructions} instructions, ${sc.atomicWaits} waits, ${sc.atomicNotifies} notifies`);
  row('large constants', `${sc.largeConstants} (${sc.largeConstantsPerKiB.toFixed(1)} per KiB of code${sc.densestFunction ? `, densest function ${sc.densestFunction.index}: ${sc.densestFunction.perKiB.toFixed(1)}` : ''})`);

  heading('Features');
  lines.push(...wrap('  ', report.features.length ? report.features.join(', ') : 'core 1.0 only', '  '));

  heading('Size');
  row('code', `${size(c.codeBytes)} in ${c.definedFunctions} bodies, largest ${size(c.largestBodyBytes)}`);
  row('instructions', `${c.instructions}, nesting up to ${c.maxNesting}, up to ${c.maxLocals} locals`);
  row('imports, exports', `${report.imports.length}, ${c.exports}`);

  if (report.signatures) {
    heading('Signatures');
    const sig = report.signatures;
    row('signed', sig.signed ? `yes, key ids ${sig.keyIds.join(', ') || '(none)'}` : 'no');
    if (sig.signed) row('verified by', sig.verifiedBy.length ? sig.verifiedBy.join(', ') : 'no trusted key');
    if (sig.error) row('problem', sig.error);
  }

  if (report.run) {
    heading(`Would run (${report.run.policy})`);
    if (report.run.admitted) lines.push('  yes');
    // One line per rule: a module with 40 foreign imports gets the first few named, and a count.
    const byRule = new Map<string, { messages: string[]; fix: string | null }>();
    for (const r of report.run.refusals) {
      const entry = byRule.get(r.rule) ?? { messages: [], fix: r.fix };
      entry.messages.push(r.message);
      byRule.set(r.rule, entry);
    }
    for (const [rule, { messages, fix }] of byRule) {
      const shown = messages.length > 3 ? `${messages.slice(0, 3).join('; ')}; and ${messages.length - 3} more` : messages.join('; ');
      lines.push(...wrap('  refused ', `${rule}: ${shown}${fix ? `; fix: ${fix}` : ''}`, ' '.repeat(10)));
    }
  }

  heading(`Findings (${report.findings.length})`);
  if (report.findings.length === 0) lines.push('  none');
  for (const f of report.findings) lines.push(...wrap(`  ${f.severity.padEnd(7)} `, `${f.rule}: ${f.message}${where(f)}`, ' '.repeat(12)));
  return lines.join('\n') + '\n';
}
