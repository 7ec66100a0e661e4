// The human rendering of an inspection report: short sections, aligned
// columns, findings last so they are what the reader sees at the end.

import type { InspectReport } from './report.js';

const kib = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const pages = (n: number | null): string => (n === null ? 'none' : `${n} pages (${kib(n * 65536)})`);

export function renderText(report: InspectReport): string {
  const lines: string[] = [];
  const heading = (title: string) => lines.push('', title);
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(22)} ${value}`);

  lines.push(`${report.file ?? 'module'}: ${kib(report.size)}, ${report.counts.definedFunctions} functions, ${report.counts.importedFunctions} imported`);
  const producers = Object.entries(report.toolchain.producers).map(([k, v]) => `${k}: ${v.join(', ')}`);
  if (producers.length) row('toolchain', producers.join('; '));

  heading('Capabilities');
  const caps = Object.entries(report.capabilities);
  if (caps.length === 0 && report.imports.length === 0) lines.push('  none: the module imports nothing');
  for (const [capability, names] of caps) row(capability, names!.join(' '));
  const foreign = report.imports.filter((i) => !i.known);
  for (const i of foreign) row('unknown', `${i.module}.${i.name} (${i.kind}${i.signature ? ' ' + i.signature : ''})`);

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
    row(`table ${t.index}`, `${t.elementType} × ${t.initial}, maximum ${t.maximum ?? 'none'}${t.exported ? ' [exported]' : ''}`);
  }
  row('data', `${report.counts.dataSegments} segments, ${kib(report.counts.dataBytes)}`);
  row('globals', `${report.counts.globals} (${report.globals.filter((g) => g.mutable).length} mutable)`);

  heading('Memory safety');
  const s = report.memorySafety;
  row('stack pointer', s.stackPointer ? `global ${s.stackPointer.global}${s.stackPointer.name ? ` (${s.stackPointer.name})` : ''}, starts at ${s.stackPointer.initial ?? '?'}, found by ${s.stackPointer.foundBy}` : 'not found');
  row('layout', s.layout + (s.stackBytes !== null ? `, stack ${kib(s.stackBytes)}` : ''));
  row('stack protector', s.stackProtector ? 'yes' : 'no');
  const ic = s.indirectCalls;
  row('indirect calls', `${ic.sites} sites, ${ic.distinctTypes} types, table ${ic.tableSize ?? 'none'}, ${ic.functionsInTable} functions in table (${Math.round(ic.shareOfFunctionsInTable * 100)}%)`);

  heading('Side channels');
  const sc = report.sideChannels;
  row('shared memory', sc.sharedMemory ? 'YES' : 'no');
  row('atomics', `${sc.atomicInstructions} instructions, ${sc.atomicWaits} waits`);
  row('large constants', `${sc.largeConstants} (${sc.largeConstantsPerKiB.toFixed(1)} per KiB of code)`);

  heading('Features');
  lines.push(`  ${report.features.length ? report.features.join(', ') : 'core 1.0 only'}`);

  heading('Size');
  const c = report.counts;
  row('code', `${kib(c.codeBytes)} in ${c.definedFunctions} bodies, largest ${kib(c.largestBodyBytes)}`);
  row('instructions', `${c.instructions}, nesting up to ${c.maxNesting}, up to ${c.maxLocals} locals`);

  if (report.signatures) {
    heading('Signatures');
    const sig = report.signatures;
    row('signed', sig.signed ? `yes, key ids ${sig.keyIds.join(', ') || '(none)'}` : 'no');
    if (sig.signed) row('verified by', sig.verifiedBy.length ? sig.verifiedBy.join(', ') : 'no trusted key');
    if (sig.error) row('problem', sig.error);
  }

  heading(`Findings (${report.findings.length})`);
  if (report.findings.length === 0) lines.push('  none');
  for (const f of report.findings) lines.push(`  ${f.severity.padEnd(7)} ${f.rule}: ${f.message}`);
  return lines.join('\n').replace(/^\n/, '') + '\n';
}
