// The audit's rules: stable ids, default severities, a one-line summary and a
// short reason. docs/rules.md documents each one under a heading equal to its
// id; the SARIF renderer publishes this table with links to those headings.

import type { Severity } from './report.js';

export interface Rule {
  id: string;
  severity: Severity;
  /** What the rule detects, in one line. */
  summary: string;
  /** Why it matters, in a sentence or two. */
  description: string;
}

const rule = (id: string, severity: Severity, summary: string, description: string): Rule => ({ id, severity, summary, description });

export const rules = {
  sharedMemory: rule('shared-memory', 'error', 'Declares or imports shared memory.',
    'A second thread incrementing a counter in shared memory is a nanosecond timer, the instrument of Spectre-class attacks; wasm-warden refuses shared memory.'),
  atomicsWait: rule('atomics-wait', 'error', 'Uses memory.atomic.wait or memory.atomic.notify.',
    'Wait and notify exist only to coordinate threads on shared memory: they block an agent and, with a second thread, make a timer.'),
  importSignature: rule('import-signature-mismatch', 'error', 'Imports a WASI function with a signature that does not match preview1.',
    'A conforming linker refuses the module; a lenient host would call the function with the wrong arguments.'),
  importUnknownWasi: rule('import-unknown-wasi-function', 'error', 'Imports a function wasi_snapshot_preview1 does not have.',
    'The module cannot be linked against any conforming preview1 host.'),
  atomics: rule('atomics', 'warning', 'Uses atomic memory instructions.',
    'Harmless on unshared memory, but they mark a threads build, and with shared memory they form a timer.'),
  importUnknownModule: rule('import-unknown-module', 'warning', 'Imports from a module other than wasi_snapshot_preview1.',
    'wasm-warden provides WASI only; anything else is a capability the host must choose to grant, and is where host bugs are reached.'),
  importNonFunction: rule('import-non-function', 'warning', 'Imports a memory, table, global or tag.',
    'The host must construct it, so its limits are the host\'s, not the module\'s.'),
  sockets: rule('capability-sockets', 'warning', 'Imports socket functions.',
    'wasm-warden grants no network; the module expects some.'),
  memoryNoMaximum: rule('memory-no-maximum', 'warning', 'A memory declares no maximum.',
    'It may grow to 4 GiB; a host that does not cap it can be exhausted by a grow loop.'),
  memory64: rule('memory64', 'warning', 'Uses 64-bit memory (memory64).',
    'Node 20 does not run memory64 without flags; the default policy refuses it.'),
  dataFirst: rule('stack-data-first', 'warning', 'Static data lies below the shadow stack.',
    'The stack grows down into static data, so a stack overflow silently corrupts globals instead of trapping (Lehmann, Kinder and Pradel, USENIX Security 2020).'),
  hardeningPartial: rule('hardening-partial', 'warning', 'A hardening pass checks some of its sites but not all, or checks them against too narrow a range.',
    'Its checks are there, but a load, store, stack-pointer write or bulk write goes unchecked, or every check compares against less than the pass protects (a null guard of 1 byte): the module looks hardened and is not (tampered with, or hardened by another tool).'),
  constantDensity: rule('code-constant-density', 'warning', 'Unusually many large constants in code.',
    'Attacker-chosen immediates copied into compiled code are the raw material of JIT spraying.'),
  noStackProtector: rule('stack-protector-missing', 'note', 'No stack protector (__stack_chk_fail / __stack_chk_guard).',
    'Stack buffer overflows corrupt locals and saved data undetected.'),
  indirectCalls: rule('indirect-call-exposure', 'note', 'Most defined functions are reachable through call_indirect.',
    'A corrupted function pointer can reach any table entry of a matching type: the more entries, the more targets for control-flow hijacking.'),
  startFunction: rule('start-function', 'note', 'Has a start function.',
    'Its code runs during instantiation, before the host calls any export.'),
  filesystem: rule('capability-filesystem', 'note', 'Imports filesystem functions.',
    'Informational: the policy decides which directories, if any, are granted.'),
  malformedCustomSection: rule('custom-section-malformed', 'note', 'A name, producers or target_features section is malformed.',
    'Engines ignore custom sections, so the module stays valid, but names and toolchain details from it are missing from the report.'),
  moduleInvalid: rule('module-invalid', 'error', 'V8 refuses the module as shipped.',
    'It is not valid WebAssembly for the engine that would run it (a type error, an index out of range, a proposal this Node.js does not run), so warden run refuses it; the rest of the report reads its sections as they are.'),
} as const;

export const allRules: Rule[] = Object.values(rules);
