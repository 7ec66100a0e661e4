// wasm-warden's public library API.

// binary: decode, walk and re-encode modules; safe on hostile bytes.
export { decodeModule } from './binary/decode.js';
export { rewriteModule, encodeModule, encodeFunctionBody, type ModuleEdits, type NewCustomSection, type NewFunction, type NewGlobal } from './binary/encode.js';
export { encodeInstruction, encodeInstructions } from './binary/encode-instructions.js';
export { bodyFunctionIndex, exportedName, functionName, functionType, functionTypeIndex } from './binary/lookup.js';
export { ByteWriter, encodeS32, encodeS64, encodeU32 } from './binary/writer.js';
export { WasmDecodeError } from './binary/errors.js';
export { decodeInstructions, forEachInstruction, newInstruction } from './binary/instructions.js';
export { defaultDecodeLimits } from './binary/limits.js';
export { ElementSegmentList } from './binary/element-segments.js';
export { DataSegmentList } from './binary/data-segments.js';
export { GlobalList } from './binary/globals.js';
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
export { RunRefused, runWasi, type RunEntry, type RunOptions, type RunResult, type RunUsage } from './wasi/run.js';
export type { OutputSpec, StdinSpec } from './wasi/stdio.js';
export { formatGuestStack, guestStack, REPORT_VERSION, TRAP_KINDS, type GuestFrame, type Trap, type TrapKind } from './wasi/trap.js';

// policy: one document of grants and limits, validated once.
export { compileGrant, type RunInputs } from './policy/compile-grant.js';
export { EMPTY_POLICY, parsePolicy, PolicyError } from './policy/load.js';
export { parsePolicyInput, type ClockInput, type Duration, type DurationUnit, type LimitsInput, type MountInput, type PolicyInput, type Size, type SizeUnit } from './policy/input.js';
export { checkMountSources, mountSourceProblems } from './policy/mount-sources.js';
export { applyOverrides, type Overrides } from './policy/overrides.js';
export { DEFAULT_FEATURES, DEFAULT_LIMITS, FEATURES, type FeatureName, type LimitsPolicy, type MountPolicy, type Policy } from './policy/policy.js';
export { loadPolicy } from './policy/read-file.js';
export { policySchema } from './policy/schema.js';

// transform: limits and metering rewritten into the module.
export {
  CHECKPOINT_MODULE, CHECKPOINT_NAME, FUEL_EXPORT, limitMemory, limitTables, MAX_FUEL, meterFuel, originalFunctionIndex, prepareModule,
  rewriteForRun, type InjectedFunctions, type TransformOptions,
} from './transform/index.js';
export {
  DEFAULT_NULL_GUARD_BYTES, hardenModule, HardenError, HARDEN_PASSES, type HardenOptions, type HardenPassName, type HardenResult, type PassReport,
} from './transform/harden.js';
export { recogniseHardening, type Coverage, type Hardening } from './transform/harden-recognise.js';
export { checkIndices } from './binary/indices.js';

// sandbox: admission, isolation, runs.
export { ADMISSION_RULES, admit, impliedImports, type Verdict, type Violation } from './sandbox/admission.js';
export { fixFor, formatViolation } from './sandbox/admission-fixes.js';
export { AdmissionError, createSandbox, createSharedPool, SandboxBusyError, SandboxClosedError, type PluginOutcome, type PluginSession, type PluginCallResult, type InstancePolicy, type Sandbox, type SandboxOptions, type SandboxResult, type SharedPool, type SharedPoolOptions } from './sandbox/sandbox.js';
export { SessionClosedError } from './sandbox/plugin-session.js';
export { PreparedCache, type PreparedCacheOptions } from './sandbox/prepared-cache.js';
export type { GuestMemoryView, HostFunctionBody, HostFunctionGrant, HostFunctionSignature, UnknownImports } from './sandbox/host-functions.js';

// plugins: the Extism kernel ABI, and numeric values at the edges.
export { EXTISM_KERNEL, EXTISM_MODULE } from './plugin/extism-abi.js';
export type { LogLevel } from './plugin/extism-kernel.js';
export { formatWasmValue, toWasmValue, ValueError, type NumType, type WasmValue } from './wasi/values.js';

// signing: wasmsign2-compatible signatures.
export { encodePublicKey, encodeSecretKey, generateSecretKey, KeyError, parsePublicKey, parseSecretKey, type PublicKey, type SecretKey } from './signing/keys.js';
export { signModule, SigningError, type SignOptions } from './signing/sign.js';
export { signatureStatus, verifyModule, type Verification, type VerifyOptions } from './signing/verify.js';
export { SignatureFormatError } from './signing/format.js';

// store: the content-addressed store and OCI distribution.
export { openStore, sha256, StoreError, type BlobIngest, type ResolvedModule, type Store, type StoreEntry, type StoreOptions } from './store/local.js';
export { RegistryError, type ClientOptions, type Credentials, type RegistryFailure } from './store/http.js';
export { DEFAULT_MAX_MODULE_BYTES, pullModule, pullModuleInto, pushModule, pushModuleManifest, type PullOptions, type Pulled } from './store/oci.js';
export { classifyModuleRef, formatOciReference, isStoreDigest, parseOciReference, ReferenceError, type ModuleSource, type OciReference } from './store/reference.js';
export { attachSignature, fetchSignatures } from './store/referrers.js';

// server: `warden serve` for embedders.
export { startServer, type StartedServer, type StartServerOptions } from './server/start.js';
export { ConfigError, type ServeConfig, type ServeSettings, type TenantLimits, type TenantSpec } from './server/config.js';
export { TokenError } from './server/admin-token.js';
export type { ListenAddress } from './server/address.js';
export type { PendingChange, ReloadResult } from './server/reload-settings.js';
export { DeployRefused, UnknownTenant, type WardenServer } from './server/server.js';
export type { Tenant, TenantStats } from './server/tenant.js';
