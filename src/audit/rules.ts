// The audit's rules: stable ids, default severities and one-line summaries.
// docs/rules.md documents each one; the SARIF renderer publishes this table.

import type { Severity } from './report.js';

export interface Rule {
  id: string;
  severity: Severity;
  summary: string;
}

const rule = (id: string, severity: Severity, summary: string): Rule => ({ id, severity, summary });

export const rules = {
  sharedMemory: rule('shared-memory', 'error', 'Declares or imports shared memory: a second thread on it is a nanosecond timer.'),
  importSignature: rule('import-signature-mismatch', 'error', 'Imports a WASI function with a signature that does not match preview1.'),
  importUnknownWasi: rule('import-unknown-wasi-function', 'error', 'Imports a function wasi_snapshot_preview1 does not have.'),
  atomics: rule('atomics', 'warning', 'Uses atomic instructions (wait/notify or atomic memory access).'),
  importUnknownModule: rule('import-unknown-module', 'warning', 'Imports from a module other than wasi_snapshot_preview1; the host must supply it.'),
  importNonFunction: rule('import-non-function', 'warning', 'Imports a memory, table, global or tag; the host must supply it.'),
  sockets: rule('capability-sockets', 'warning', 'Imports socket functions.'),
  memoryNoMaximum: rule('memory-no-maximum', 'warning', 'A memory declares no maximum, so it may grow to 4 GiB.'),
  memory64: rule('memory64', 'warning', 'Uses 64-bit memory (memory64), which Node 20 does not run by default.'),
  dataFirst: rule('stack-data-first', 'warning', 'Static data sits below the stack: a stack overflow silently corrupts it.'),
  constantDensity: rule('code-constant-density', 'warning', 'Unusually many large constants in code, the raw material of JIT spraying.'),
  noStackProtector: rule('stack-protector-missing', 'note', 'No stack protector (__stack_chk_fail): stack buffer overflows go undetected.'),
  indirectCalls: rule('indirect-call-exposure', 'note', 'Most functions are reachable through call_indirect: control-flow hijacks have many targets.'),
  startFunction: rule('start-function', 'note', 'Has a start function, which runs during instantiation.'),
  filesystem: rule('capability-filesystem', 'note', 'Imports filesystem functions.'),
  malformedCustomSection: rule('custom-section-malformed', 'note', 'A known custom section (name, producers, target_features) is malformed; engines ignore it.'),
} as const;

export const allRules: Rule[] = Object.values(rules);
