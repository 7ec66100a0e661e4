// The shape of an inspection report: what `warden inspect` prints and what
// `--json` emits. Plain data only (no Maps, no BigInts), so it serialises as is.

import type { WasiCapability } from '../binary/wasi-abi.js';

export type Severity = 'error' | 'warning' | 'note';

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  /** Byte offset in the module the finding points at, where there is one. */
  offset?: number;
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
  stackPointer: { global: number; name: string | null; foundBy: 'name' | 'heuristic'; initial: number | null } | null;
  /** stack-first: the stack sits below static data, so an overflow runs off address 0 and traps. */
  layout: 'stack-first' | 'data-first' | 'unknown';
  stackBytes: number | null;
  stackProtector: boolean;
  indirectCalls: { sites: number; distinctTypes: number; tableSize: number | null; functionsInTable: number; shareOfFunctionsInTable: number };
  everyMemoryHasMaximum: boolean;
}

export interface SideChannels {
  sharedMemory: boolean;
  atomicInstructions: number;
  atomicWaits: number;
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
  toolchain: { producers: Record<string, string[]>; targetFeatures: string[] };
  signatures?: SignatureStatus;
  findings: Finding[];
}
