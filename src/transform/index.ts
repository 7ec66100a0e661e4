// Rewrites a verified, admitted, VALID module for the run: limits, metering,
// deadline checkpoints, and the start function moved into `_start`. Each pass
// is a pure function of the decoded module; the input is never modified.
//
// Nothing the rewriter adds is reachable by the guest's own code. The module
// was validated (by V8 and by the index check of the shared walk) against its ORIGINAL index spaces
// before this runs, so every index its code, segments, exports and
// initialisers name lies below the original end of its space. What is added
// lies at or beyond that end:
//   - globals (the fuel counter, the scratch globals) are appended after the
//     module's own, so no global.get/global.set of the guest names them;
//   - the checkpoint import is inserted after the module's own imports, and
//     every function index at or above it is renumbered by one, everywhere
//     an index can appear (code, exports, start, element segments in both
//     encodings, global and element initialisers, the name section): the
//     renumbering maps the original space one-to-one onto the new space
//     minus the import, so no call, ref.func or table slot can reach it;
//   - the start wrapper is appended after every function, beyond any index
//     the guest names; only the `_start` export (for the host) points at it;
//   - with `hostMemory`, the memory's definition becomes an import from the
//     reserved `warden:host` at the same index 0 (host-memory.ts): the guest's
//     own memory, the same size and maximum, lent by the host;
//   - the exports the rewriter adds are under the reserved `__warden_` prefix,
//     which admission refuses in a guest, and the guest may not import from
//     `warden:host` (also refused), so it cannot alias the checkpoint.

import type { CodeFacts, SiteRecording } from '../binary/body-walk.js';
import type { MemoryType, TableType, WasmModule } from '../binary/types.js';
import { encodeFuncType, encodeLimits, encodeTableType } from '../binary/encode.js';
import { ByteWriter, sized } from '../binary/writer.js';
import { codePayload, sitesFor, type BodyPlan } from './bodies.js';
import { counterGlobal, EXTERNREF_SCRATCH_GLOBAL, FUEL_EXPORT, FUNCREF_SCRATCH_GLOBAL, growMaxima, SCRATCH_GLOBAL } from './fuel.js';
import { memoryLimitEdits, tableLimitEdits } from './limits.js';
import {
  planAssembly, layOut, type AssemblyPlan, elementsPayload, exportsPayload, extendVector, globalsPayload, namesPayload, remapConstExpr, sectionOf, type FunctionRemap,
} from './sections.js';
import { START_EXPORT, startWrapper, type StartWrapper } from './start.js';
import { HOST_MEMORY_SECTION, hostMemoryImport, hostMemoryRecord, movableMemory } from './host-memory.js';

export { START_EXPORT } from './start.js';
export { originalFunctionIndex, type InjectedFunctions } from './injected.js';
import type { InjectedFunctions } from './injected.js';

export { BULK_BYTES_SHIFT, FUEL_EXPORT, GROW_PAGE_COST, MAX_FUEL, RESERVED_EXPORT_PREFIX, TABLE_ELEMENT_COST } from './fuel.js';

import { CHECKPOINT_MODULE, CHECKPOINT_NAME } from './checkpoint.js';

export { CHECKPOINT_MIN_BYTES, CHECKPOINT_MIN_ELEMENTS, CHECKPOINT_MODULE, CHECKPOINT_NAME, RESERVED_IMPORT_MODULES } from './checkpoint.js';

const PAGE = 65536;

export interface TransformOptions {
  memoryBytes: number;
  tableElements: number;
  /** Inject fuel metering. */
  fuel: boolean;
  /**
   * The counter's starting value when metering: give the run's budget. Without
   * it the counter starts at 0 and the host must set it before `_start`.
   */
  fuelBudget?: number | bigint;
  /**
   * Call the imported `warden:host.checkpoint` before every memory.grow and
   * bulk memory/table operation, so the host can end a run at its deadline
   * where V8 would delay termination. The instance then needs that import.
   */
  checkpoint?: boolean;
  /**
   * The shared walk's facts for this module (binary/body-walk.ts), with the
   * sites this rewrite patches recorded (`rewriteSites`): the rewrite then
   * decodes no instruction. Without them, or for other bytes, it walks itself.
   */
  facts?: CodeFacts;
  /**
   * Import the module's memory from the host (host-memory.ts) instead of
   * defining it, so a host running many instances can lend each a zeroed
   * memory it keeps. Only a module's single defined 32-bit unshared memory
   * moves; the rewritten module then needs `warden:host.memory`.
   */
  hostMemory?: boolean;
}

export interface RewrittenModule {
  bytes: Uint8Array;
  injected: InjectedFunctions;
}

/** The module's bytes with maxima capped and, as asked, fuel metering and checkpoints injected. */
export function prepareModule(module: WasmModule, options: TransformOptions): Uint8Array {
  return rewriteForRun(module, options).bytes;
}

/** As prepareModule, also saying which functions the rewriter added. */
export function rewriteForRun(module: WasmModule, options: TransformOptions): RewrittenModule {
  const { plan, injected } = planRewriteForRun(module, options);
  return { bytes: plan ? layOut(module, plan, false) : module.bytes, injected };
}

/**
 * As rewriteForRun, the new bytes planned but not laid out: a caller that
 * owns the module's bytes may lay them over those (layOut), after reading
 * what it needs of the old ones.
 */
export function planRewriteForRun(module: WasmModule, options: TransformOptions): PlannedRewrite {
  const memories = memoryLimitEdits(module, options.memoryBytes);
  const tables = tableLimitEdits(module, options.tableElements);
  return planRewrite(module, {
    memories, tables, fuel: options.fuel ? options.fuelBudget ?? 0n : null, checkpoint: options.checkpoint ?? false,
    hostMemory: options.hostMemory ?? false, ...(options.facts ? { facts: options.facts } : {}),
  });
}

export { layOut, type AssemblyPlan, type PlannedSection } from './sections.js';
export { RewriteTooLarge } from './bodies.js';

/**
 * The sites `rewriteForRun` with these options patches in `module`'s bodies:
 * what to ask the shared walk to record so the rewrite need not walk again.
 */
export function rewriteSites(module: WasmModule, options: Pick<TransformOptions, 'fuel' | 'checkpoint'>): SiteRecording {
  const checkpoint = options.checkpoint ?? false;
  return sitesFor({ fuel: options.fuel ? { counter: 0, memoryMax: [], tableMax: [] } : null, scratch: null, checkpoint: checkpoint ? 0 : null, remap: checkpoint ? (f) => f : null }, module.importedFunctionCount);
}

/**
 * Every memory the module defines gets a maximum of at most `maxPages` (64 KiB
 * each), so `memory.grow` returns -1 beyond it. Imported memories are the
 * host's to size; an initial size over the limit is admission's to refuse
 * (the maximum is then kept at the initial size, the smallest valid value).
 */
export function limitMemory(module: WasmModule, maxPages: number): Uint8Array {
  if (!Number.isSafeInteger(maxPages) || maxPages < 0) throw new RangeError(`maxPages must be a whole number, got ${maxPages}`);
  return rewrite(module, { memories: memoryLimitEdits(module, maxPages * PAGE), tables: new Map(), fuel: null, checkpoint: false, keepStart: true }).bytes;
}

/** Every table the module defines gets a maximum of at most `maxElements`, so `table.grow` returns -1 beyond it. */
export function limitTables(module: WasmModule, maxElements: number): Uint8Array {
  if (!Number.isSafeInteger(maxElements) || maxElements < 0) throw new RangeError(`maxElements must be a whole number, got ${maxElements}`);
  return rewrite(module, { memories: new Map(), tables: tableLimitEdits(module, maxElements), fuel: null, checkpoint: false, keepStart: true }).bytes;
}

/**
 * Injects fuel metering: an exported i64 global `__warden_fuel` (FUEL_EXPORT)
 * holds the fuel left, starting at `budget` (default 0: set it before calling
 * into the instance). Running out traps with `unreachable` and leaves the
 * counter negative, which is how a host tells a fuel trap from the guest's own.
 * A start function is moved into `_start` (see start.ts), so it runs metered.
 */
export function meterFuel(module: WasmModule, options: { budget?: number | bigint } = {}): Uint8Array {
  return rewrite(module, { memories: new Map(), tables: new Map(), fuel: options.budget ?? 0n, checkpoint: false }).bytes;
}

interface Rewrite {
  memories: Map<number, MemoryType>;
  tables: Map<number, TableType>;
  /** The fuel budget, or null for no metering. */
  fuel: number | bigint | null;
  checkpoint: boolean;
  /** Leave a start function where it is (limit-only rewrites). */
  keepStart?: boolean;
  facts?: CodeFacts;
  hostMemory?: boolean;
}

function declarations<T>(items: readonly T[], replaced: ReadonlyMap<number, T>, encode: (w: ByteWriter, item: T) => void): Uint8Array {
  const writer = new ByteWriter(16 + items.length * 8).u32(items.length);
  items.forEach((item, i) => encode(writer, replaced.get(i) ?? item));
  return writer.finish();
}

/** The largest page count memory 0 can reach after the rewrite (what a grow is charged up to). */
/** A table declaration, its initialiser (if it has one) kept, with `ref.func` in it renumbered. */
function encodeTable(writer: ByteWriter, table: TableType, bytes: Uint8Array, remap: FunctionRemap | null): void {
  if (!table.init || !remap) return encodeTableType(writer, table, bytes);
  writer.u8(0x40).u8(0x00).valType(table.elemType);
  encodeLimits(writer, table.limits);
  writer.bytes(remapConstExpr(bytes, table.init.start, table.init.end, remap));
}

/** A rewrite planned (null: nothing changed), not yet laid out. */
export interface PlannedRewrite {
  plan: AssemblyPlan | null;
  injected: InjectedFunctions;
}

function rewrite(module: WasmModule, r: Rewrite): RewrittenModule {
  const { plan, injected } = planRewrite(module, r);
  return { bytes: plan ? layOut(module, plan, false) : module.bytes, injected };
}

function planRewrite(module: WasmModule, r: Rewrite): PlannedRewrite {
  const sections = new Map<number, Uint8Array | null>();
  const customs = new Map<string, Uint8Array | null>();
  const importedFunctions = module.importedFunctionCount;
  const functionCount = importedFunctions + module.functions.length;
  const addedTypes: Uint8Array[] = [];
  const addedImports: Uint8Array[] = [];

  // The checkpoint import goes after the module's own imports: imported
  // functions keep their indices, every defined function moves up by one.
  let checkpoint: number | null = null;
  let remap: FunctionRemap | null = null;
  if (r.checkpoint) {
    checkpoint = importedFunctions;
    remap = (f) => (f < importedFunctions ? f : f + 1);
    let type = module.types.findIndex((t) => t.params.length === 0 && t.results.length === 0);
    if (type < 0) {
      type = module.types.length + addedTypes.length;
      const w = new ByteWriter(8);
      encodeFuncType(w, { params: [], results: [] });
      addedTypes.push(w.finish());
    }
    addedImports.push(new ByteWriter(32).name(CHECKPOINT_MODULE).name(CHECKPOINT_NAME).u8(0).u32(type).finish());
  }
  // The memory's definition becomes an import at the same index 0 (memories
  // count imports first, and the module imports none), with the same limits.
  const lent = r.hostMemory ? movableMemory(module, r.memories.get(0)?.limits) : null;
  if (lent) addedImports.push(hostMemoryImport(lent));
  if (addedImports.length) sections.set(2, extendVector(module, 2, addedImports));
  const newIndex: FunctionRemap = remap ?? ((f) => f);

  // The fuel counter and the scratch global are appended after the module's globals.
  const globalCount = module.importedGlobalCount + module.globals.length;
  const fuel = r.fuel === null ? null : { counter: globalCount, ...growMaxima(module, r.memories, r.tables) };
  // Scratch globals: one to park a size in (fuel charges, checkpoint tests), three with checkpoints (chunking),
  // and with checkpoints in a module with tables, a funcref and an externref one (a chunked table.fill's value).
  const scratchCount = checkpoint !== null ? 3 : fuel ? 1 : 0;
  const scratch = scratchCount === 0 ? null : globalCount + (fuel ? 1 : 0);
  const hasTables = module.importedTableCount + module.tables.length > 0;
  const refScratch = checkpoint !== null && hasTables ? { funcref: scratch! + 3, externref: scratch! + 4 } : null;
  const addedGlobals = [
    ...(fuel ? [counterGlobal(r.fuel!)] : []),
    ...Array.from({ length: scratchCount }, () => SCRATCH_GLOBAL),
    ...(refScratch ? [FUNCREF_SCRATCH_GLOBAL, EXTERNREF_SCRATCH_GLOBAL] : []),
  ];

  const plan: BodyPlan = { fuel, scratch, checkpoint, remap, refScratch };

  // The start function runs inside `_start` (start.ts), so it runs after the host has set up the run, under fuel.
  const wrapper: StartWrapper | null = r.keepStart ? null : startWrapper(module, newIndex, functionCount + (checkpoint === null ? 0 : 1));
  // Without a `_start` to wrap (a library called by another export, a plugin), the start function is
  // still moved out of instantiation, exported alone as START_EXPORT for the host to call before the
  // entry: left in the start section it ran before the host held the instance, so a fuel trap there
  // was labelled `unreachable`, and the budget the host writes before the entry refilled what it spent.
  const movedStart = r.keepStart || module.start === null ? null : wrapper ? wrapper.start : newIndex(module.start);
  if (movedStart !== null) sections.set(8, null);
  else if (module.start !== null && remap) sections.set(8, new ByteWriter(5).u32(remap(module.start)).finish());

  if (addedTypes.length) sections.set(1, extendVector(module, 1, addedTypes));
  if (wrapper) sections.set(3, extendVector(module, 3, [new ByteWriter(5).u32(wrapper.typeIndex).finish()]));
  if (r.tables.size || (remap && module.tables.some((t) => t.init))) {
    sections.set(4, declarations(module.tables, r.tables, (w, t) => encodeTable(w, t, module.bytes, remap)));
  }
  if (lent) sections.set(5, null);
  else if (r.memories.size) sections.set(5, declarations(module.memories, r.memories, (w, m) => encodeLimits(w, m.limits)));
  if (addedGlobals.length || remap) sections.set(6, globalsPayload(module, remap, addedGlobals));
  if (fuel || remap || movedStart !== null) {
    const retarget = new Map<string, number>(wrapper ? [['_start', wrapper.index]] : []);
    const added = [
      ...(fuel ? [{ name: FUEL_EXPORT, kind: 'global' as const, index: fuel.counter }] : []),
      // The start function alone, for a run whose entry is not `_start` (start.ts).
      ...(movedStart !== null ? [{ name: START_EXPORT, kind: 'func' as const, index: movedStart }] : []),
    ];
    sections.set(7, exportsPayload(module, remap, retarget, added));
  }
  if (remap && sectionOf(module, 9)) sections.set(9, elementsPayload(module, remap));
  const code = codePayload(module, plan, wrapper ? [sized(wrapper.body)] : [], r.facts);
  if (code) sections.set(10, code);
  if (remap) {
    const names = module.customs.find((c) => c.name === 'name');
    if (names) {
      try {
        customs.set('name', namesPayload(module.bytes, names.start, names.end, remap));
      } catch {
        customs.set('name', null); // malformed: engines ignore it, so dropping it changes nothing
      }
    }
  }
  if (code) {
    // Branch hints locate instructions by byte offset within bodies that are now rewritten.
    for (const c of module.customs) if (c.name.startsWith('metadata.code.')) customs.set(c.name, null);
  }
  // A record of the same name shipped with the module would tell the host a size the guest chose: dropped.
  if (module.customs.some((c) => c.name === HOST_MEMORY_SECTION)) customs.set(HOST_MEMORY_SECTION, null);
  const addedCustoms = lent ? [[HOST_MEMORY_SECTION, hostMemoryRecord(lent)] as const] : [];
  const injected = { checkpoint, startWrapper: wrapper?.index ?? null };
  if (sections.size === 0 && customs.size === 0) return { plan: null, injected };
  return { plan: planAssembly(module, { sections, customs, addedCustoms }), injected };
}

