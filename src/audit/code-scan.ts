// One walk over every function body, collecting what the audit needs:
// features used, indirect-call sites, atomics, large constants, nesting.
// The visitor reuses one Instruction and allocates nothing per instruction.

import { forEachInstruction, newInstruction } from '../binary/instructions.js';
import type { Instruction, WasmModule } from '../binary/types.js';
import { isLarge64At, isLargeF32At, isLargeI32, isLargeI64 } from './constants.js';

/** Where something was first seen: byte offset and function index (imports included). */
export interface Site {
  offset: number;
  function: number;
}

export interface CodeScan {
  features: Set<string>;
  instructions: number;
  indirectCallSites: number;
  indirectCallTypes: Set<number>;
  atomicInstructions: number;
  atomicWaits: number;
  atomicNotifies: number;
  firstAtomic: Site | null;
  firstWaitOrNotify: Site | null;
  largeConstants: number;
  densestFunction: { index: number; perKiB: number; offset: number } | null;
  maxNesting: number;
}

/** Functions smaller than this are not judged on their own density. */
export const minBodyBytesForDensity = 1024;

const ATOMIC_NOTIFY = 0x00;
const ATOMIC_WAIT32 = 0x01;
const ATOMIC_WAIT64 = 0x02;

export function scanCode(module: WasmModule): CodeScan {
  const scan: CodeScan = {
    features: new Set(), instructions: 0, indirectCallSites: 0, indirectCallTypes: new Set(),
    atomicInstructions: 0, atomicWaits: 0, atomicNotifies: 0, firstAtomic: null, firstWaitOrNotify: null,
    largeConstants: 0, densestFunction: null, maxNesting: 0,
  };
  const { bytes } = module;
  const ins = newInstruction();
  let functionIndex = 0;
  let depth = 0;
  let large = 0;
  const visit = (i: Instruction): void => {
    scan.instructions++;
    if (i.feature !== 'mvp') scan.features.add(i.feature);
    if (i.prefix === 0) {
      switch (i.code) {
        case 0x02: case 0x03: case 0x04: case 0x06: case 0x1f:
          if (++depth > scan.maxNesting) scan.maxNesting = depth;
          if (i.blockType?.kind === 'type') scan.features.add('multi-value');
          break;
        case 0x0b: case 0x18: depth--; break;
        case 0x11: case 0x13:
          scan.indirectCallSites++;
          scan.indirectCallTypes.add(i.index);
          break;
        case 0x41: if (isLargeI32(i.value)) large++; break;
        case 0x42: if (isLargeI64(i.value64)) large++; break;
        case 0x43: if (isLargeF32At(bytes, i.offset + 1)) large++; break;
        case 0x44: if (isLarge64At(bytes, i.offset + 1)) large++; break;
      }
    } else if (i.prefix === 0xfe) {
      scan.atomicInstructions++;
      scan.firstAtomic ??= { offset: i.offset, function: functionIndex };
      const wait = i.code === ATOMIC_WAIT32 || i.code === ATOMIC_WAIT64;
      if (wait) scan.atomicWaits++;
      else if (i.code === ATOMIC_NOTIFY) scan.atomicNotifies++;
      if (wait || i.code === ATOMIC_NOTIFY) scan.firstWaitOrNotify ??= { offset: i.offset, function: functionIndex };
    } else if (i.prefix === 0xfd && i.code === 0x0c) {
      // v128.const: 16 bytes, as two 64-bit halves; one constant however many halves are large.
      if (isLarge64At(bytes, i.bytesOffset) || isLarge64At(bytes, i.bytesOffset + 8)) large++;
    }
  };
  for (let f = 0; f < module.code.length; f++) {
    functionIndex = module.importedFunctionCount + f;
    depth = 0;
    large = 0;
    forEachInstruction(module, f, visit, ins);
    scan.largeConstants += large;
    const body = module.code[f]!;
    const size = body.end - body.start;
    if (size >= minBodyBytesForDensity) {
      const perKiB = (large * 1024) / size;
      if (!scan.densestFunction || perKiB > scan.densestFunction.perKiB) scan.densestFunction = { index: functionIndex, perKiB, offset: body.start };
    }
  }
  return scan;
}
