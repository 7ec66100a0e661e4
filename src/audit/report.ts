// The shape of an inspection report: what `warden inspect` prints and what
// `--json` emits. Plain data only (no Maps, no BigInts), so it serialises as is.

import type { WasiCapability } from '../binary/wasi-abi.js';
import type { Toolchain } from './toolchain.js';

export type Severity = 'error' | 'warning' | 'note';

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  /** Byte offset in the module the finding points at, where there is one. */
  offset?: number;
  /** Index (in the function index space, imports first) of the function it concerns. */
  function?: number;
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: 'func' | 'table' | 'memory' | 'global' | 'tag';
  /** For functions: `(i32, i64) -> (i32)`. */
  signature?: string;
  /** For wasi_snapshot_preview1 functions: the capability they need. */
  capability?: WasiCapability;
  known: boolean;
}

export interface MemoryEntry {
  index: number;
  initialPages: number;
  maximumPages: number | null;
  shared: boolean;
  is64: boolean;
  imported: boolean;
  exported: boolean;
}

export interface TableEntry {
  index: number;
  elementType: string;
  initial: number;
  maximum: number | null;
  growable: boolean;
  imported: boolean;
  exported: boolean;
}

export interface MemorySafety {
  /**
   * The shadow-stack pointer: found by its name in the name section, as an
   * imported global of that name, or as the first mutable i32 global that is
   * not exported. `initial` is null when it is imported or not a constant.
   */
  stackPointer: { global: number; name: string | null; foundBy: 'name' | 'import' | 'heuristic'; initial: number | null } | null;
  /**
   * stack-first: no static data below the stack, so an overflow runs off address 0 and traps;
   * data-first: static data lies below the stack, so an overflow silently overwrites it.
   */
  layout: 'stack-first' | 'data-first' | 'unknown';
  /** From the stack pointer's initial value down to the highest data end below it (or 0). */
  stackBytes: number | null;
  stackProtector: boolean;
  /** functionsInTable counts distinct defined functions placed in any table by element segments. */
  indirectCalls: { sites: number; distinctTypes: number; tableSize: number | null; functionsInTable: number; shareOfFunctionsInTable: number };
  everyMemoryHasMaximum: boolean;
  /**
   * Hardening passes (`warden harden`) the module carries, recognised from its
   * code (trap functions and a check in front of each site), not from any
   * marker: verified when every site is checked, partial otherwise.
   */
  hardening: Array<{ pass: 'stack' | 'null' | 'rodata' | 'bulk'; status: 'verified' | 'partial'; sites: number; guarded: number; detail: string }>;
  /** Passes that would apply to this module and that it does not carry yet. */
  hardeningApplicable: Array<'stack' | 'null' | 'rodata' | 'bulk'>;
}

export interface SideChannels {
  sharedMemory: boolean;
  atomicInstructions: number;
  atomicWaits: number;
  atomicNotifies: number;
  /** i32/i64/f32/f64/v128 constants whose significant bits span more than 24 bits. */
  largeConstants: number;
  largeConstantsPerKiB: number;
  densestFunction: { index: number; perKiB: number } | null;
}

export interface SignatureStatus {
  signed: boolean;
  keyIds: string[];
  verifiedBy: string[];
  error?: string;
}

export interface RunPrediction {
  /** The policy predicted against. */
  policy: string;
  admitted: boolean;
  refusals: Array<{ rule: string; message: string; fix: string | null }>;
}

export interface InspectReport {
  file?: string;
  size: number;
  sections: Array<{ id: number; name: string; bytes: number }>;
  counts: {
    types: number;
    importedFunctions: number;
    definedFunctions: number;
    codeBytes: number;
    largestBodyBytes: number;
    maxLocals: number;
    maxNesting: number;
    instructions: number;
    globals: number;
    exports: number;
    dataSegments: number;
    dataBytes: number;
    elementSegments: number;
  };
  imports: ImportEntry[];
  capabilities: Partial<Record<WasiCapability, string[]>>;
  exports: Array<{ name: string; kind: string; index: number }>;
  start: number | null;
  memories: MemoryEntry[];
  tables: TableEntry[];
  globals: Array<{ index: number; type: string; mutable: boolean; imported: boolean; exported: boolean; name: string | null }>;
  features: string[];
  memorySafety: MemorySafety;
  sideChannels: SideChannels;
  /** `detected`: the toolchain the producers section (or the runtime's imports) points to; advice follows it. */
  toolchain: { detected: Toolchain; producers: Record<string, string[]>; targetFeatures: string[] };
  /** What `warden run` (its default policy) would refuse, with each fix; set by the CLI. */
  run?: RunPrediction;
  /** Present when the caller checked signatures (the CLI always does); renderers print it. */
  signatures?: SignatureStatus;
  findings: Finding[];
}
