// Index-space lookups later passes need: function indices count imports
// first, then the functions the module defines.

import type { ExternKind, FuncType, ValType, WasmModule } from './types.js';

/** The type index of function `funcIndex` (imports first), or undefined when out of range. */
export function functionTypeIndex(module: WasmModule, funcIndex: number): number | undefined {
  if (funcIndex < module.importedFunctionCount) {
    let seen = 0;
    for (const imp of module.imports) {
      if (imp.desc.kind !== 'func') continue;
      if (seen++ === funcIndex) return imp.desc.typeIndex;
    }
    return undefined;
  }
  return module.functions[funcIndex - module.importedFunctionCount];
}

/** The signature of function `funcIndex` (imports first), or undefined when out of range. */
export function functionType(module: WasmModule, funcIndex: number): FuncType | undefined {
  const typeIndex = functionTypeIndex(module, funcIndex);
  return typeIndex === undefined ? undefined : module.types[typeIndex];
}

/** The element type of table `tableIndex` (imports first), or undefined when out of range. */
export function tableElemType(module: WasmModule, tableIndex: number): ValType | undefined {
  if (tableIndex < module.importedTableCount) {
    let seen = 0;
    for (const imp of module.imports) {
      if (imp.desc.kind !== 'table') continue;
      if (seen++ === tableIndex) return imp.desc.type.elemType;
    }
    return undefined;
  }
  return module.tables[tableIndex - module.importedTableCount]?.elemType;
}

/** The function index of defined-function body `bodyIndex` (module.code[bodyIndex]). */
export function bodyFunctionIndex(module: WasmModule, bodyIndex: number): number {
  return module.importedFunctionCount + bodyIndex;
}

/** The first name under which item `index` of `kind` is exported, if any. */
export function exportedName(module: WasmModule, kind: ExternKind, index: number): string | undefined {
  for (const e of module.exports) if (e.kind === kind && e.index === index) return e.name;
  return undefined;
}

/**
 * A readable name for function `funcIndex`: the name section's, else an
 * export's, else `module.name` for an import, else `func[N]`.
 */
export function functionName(module: WasmModule, funcIndex: number): string {
  const named = module.names?.functions.get(funcIndex);
  if (named !== undefined) return named;
  const exported = exportedName(module, 'func', funcIndex);
  if (exported !== undefined) return exported;
  if (funcIndex < module.importedFunctionCount) {
    let seen = 0;
    for (const imp of module.imports) {
      if (imp.desc.kind === 'func' && seen++ === funcIndex) return `${imp.module}.${imp.name}`;
    }
  }
  return `func[${funcIndex}]`;
}
