// Assembles .wat text into binary modules at test time with the npm `wabt` package.

import { readFileSync } from 'node:fs';
import createWabt from 'wabt';
import { fixture } from './paths.js';

type Wabt = Awaited<ReturnType<typeof createWabt>>;
let wabtPromise: Promise<Wabt> | undefined;

const allFeatures = {
  exceptions: true, mutable_globals: true, sat_float_to_int: true, sign_extension: true,
  simd: true, threads: true, multi_value: true, tail_call: true, bulk_memory: true,
  reference_types: true, annotations: true, gc: false, memory64: true, multi_memory: true,
  extended_const: true, relaxed_simd: true, function_references: true,
};

/**
 * Assembles WAT source. `names` keeps the name section (debug names). No
 * validation here (wabt.js refuses shared memories it should accept, and
 * hostile fixtures are invalid on purpose): callers use WebAssembly.validate.
 */
export async function wat(source: string, options: { names?: boolean } = {}): Promise<Uint8Array> {
  wabtPromise ??= createWabt();
  const wabt = await wabtPromise;
  const parsed = wabt.parseWat('inline.wat', source, allFeatures);
  try {
    parsed.resolveNames();
    const { buffer } = parsed.toBinary({ log: false, write_debug_names: options.names ?? false });
    return new Uint8Array(buffer);
  } finally {
    parsed.destroy();
  }
}

/** Assembles test/fixtures/wat/NAME.wat. */
export async function watFixture(name: string, options: { names?: boolean } = {}): Promise<Uint8Array> {
  return wat(readFileSync(fixture('wat', `${name}.wat`), 'utf8'), options);
}
