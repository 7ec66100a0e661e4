// wasm-warden's public library API.

// binary: decode, walk and re-encode modules; safe on hostile bytes.
export { decodeModule } from './binary/decode.js';
export { rewriteModule, encodeModule, encodeFunctionBody, type ModuleEdits, type NewFunction, type NewGlobal } from './binary/encode.js';
export { WasmDecodeError } from './binary/errors.js';
export { decodeInstructions, forEachInstruction } from './binary/instructions.js';
export { defaultDecodeLimits } from './binary/limits.js';
export { readSections } from './binary/sections.js';
export { wasiPreview1Functions, type WasiCapability } from './binary/wasi-abi.js';
export type * from './binary/types.js';

// audit: static inspection.
export { hasErrors, inspect, type InspectOptions } from './audit/inspect.js';
export { renderSarif } from './audit/render-sarif.js';
export { renderText } from './audit/render-text.js';
export type { Finding, InspectReport, Severity } from './audit/report.js';
export { allRules, type Rule } from './audit/rules.js';

// wasi: capability-scoped WASI preview1.
export { parseClockPolicy, type ClockPolicy } from './wasi/clocks.js';
export { Errno, WasiError } from './wasi/errno.js';
export { hostDirectory, type HostDirectoryOptions } from './wasi/fs/host-directory.js';
export { createQuota } from './wasi/fs/quota.js';
export type { Directory, File, FileStat, OpenOptions, Quota } from './wasi/fs/types.js';
export { defaultLimits, defineGrant, type GrantLimits, type GrantSpec, type MountSpec } from './wasi/grant.js';
export type { RandomPolicy } from './wasi/random.js';
export { RunRefused, runWasi, type RunOptions, type RunResult, type RunUsage } from './wasi/run.js';
export type { OutputSpec, StdinSpec } from './wasi/stdio.js';
export { TRAP_KINDS, type Trap, type TrapKind } from './wasi/trap.js';
