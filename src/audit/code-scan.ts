// One walk over every function body, collecting what the audit needs:
// features used, indirect-call sites, atomics, large constants, nesting.

import { forEachInstruction, newInstruction } from '../binary/instructions.js';
import type { Instruction, WasmModule } from '../binary/types.js';

export interface CodeScan {
  features: Set<string>;
  instructions: number;
  indirectCallSites: number;
  indirectCallTypes: Set<number>;
  atomicInstructions: number;
  atomicWaits: number;
  firstAtomicOffset: number | null;
  largeConstants: number;
  densestFunction: { index: number; perKiB: number } | null;
  maxNesting: number;
}

/** A constant is "large" when it needs more than three bytes: few real programs have many. */
function isLargeI32(value: number): boolean {
  return (value >>> 0) >= 0x1000000 && value > -0x10000;
}

function isLargeI64(value: bigint): boolean {
  return (value < 0n ? -value : value) >= 0x1000000n;
}

/** Functions smaller than this are not judged on their own density. */
const minBodyBytesForDensity = 1024;

export function scanCode(module: WasmModule): CodeScan {
  const scan: CodeScan = {
    features: new Set(), instructions: 0, indirectCallSites: 0, indirectCallTypes: new Set(),
    atomicInstructions: 0, atomicWaits: 0, firstAtomicOffset: null, largeConstants: 0, densestFunction: null, maxNesting: 0,
  };
  const ins = newInstruction();
  let depth = 0;
  let large = 0;
  const visit = (i: Instruction): void => {
    scan.instructions++;
    if (i.feature !== 'mvp') scan.features.add(i.feature);
    if (i.prefix === 0) {
      switch (i.code) {
        case 0x02: case 0x03: case 0x04: case 0x06: case 0x1f:
          if (++depth > scan.maxNesting) scan.maxNesting = depth;
          break;
        case 0x0b: case 0x18: depth--; break;
        case 0x11: case 0x13:
          scan.indirectCallSites++;
          scan.indirectCallTypes.add(i.index);
          break;
        case 0x41: if (isLargeI32(i.value)) large++; break;
        case 0x42: if (isLargeI64(i.value64)) large++; break;
      }
      if (i.blockType?.kind === 'type') scan.features.add('multi-value');
    } else if (i.prefix === 0xfe) {
      scan.atomicInstructions++;
      if (i.code === 1 || i.code === 2) scan.atomicWaits++;
      scan.firstAtomicOffset ??= i.offset;
    }
  };
  for (let f = 0; f < module.code.length; f++) {
    depth = 0;
    large = 0;
    forEachInstruction(module, f, visit, ins);
    scan.largeConstants += large;
    const body = module.code[f]!;
    const bytes = body.end - body.start;
    if (bytes >= minBodyBytesForDensity) {
      const perKiB = (large * 1024) / bytes;
      if (!scan.densestFunction || perKiB > scan.densestFunction.perKiB) scan.densestFunction = { index: module.importedFunctionCount + f, perKiB };
    }
  }
  return scan;
}
