// Drives WASI host functions directly: the probe module re-exports every
// preview1 import, and tests call them with pointers into its real memory.

import { defineGrant, type GrantSpec } from '../../src/wasi/grant.js';
import { runWasi, type RunResult } from '../../src/wasi/run.js';
import { ExitSignal } from '../../src/wasi/preview1-basic.js';
import { watFixture } from '../helpers/wat.js';

let compiled: Promise<WebAssembly.Module> | undefined;

export type Probe = Record<string, (...args: Array<number | bigint>) => number> & {
  view: DataView;
  bytes: Uint8Array;
  /** Writes UTF-8 `text` at `ptr`, returning its length. */
  put(ptr: number, text: string | Uint8Array): number;
  get(ptr: number, length: number): string;
};

/** Runs `body` with the probe's exports during a real run under `grant`; returns the run's result. */
export async function withProbe(grant: Partial<Parameters<typeof defineGrant>[0]>, body: (p: Probe) => void, options: { writeGuarded?: number[] } = {}): Promise<RunResult> {
  compiled ??= watFixture('wasi-probe').then((bytes) => new WebAssembly.Module(bytes));
  const module = await compiled;
  let failure: unknown;
  const result = runWasi(module, defineGrant(grant as GrantSpec), {
    ...options,
    beforeStart(instance) {
      const memory = instance.exports.memory as WebAssembly.Memory;
      const probe = Object.assign(Object.create(null), instance.exports) as Probe;
      probe.view = new DataView(memory.buffer);
      probe.bytes = new Uint8Array(memory.buffer);
      probe.put = (ptr, text) => {
        const data = typeof text === 'string' ? new TextEncoder().encode(text) : text;
        probe.bytes.set(data, ptr);
        return data.length;
      };
      probe.get = (ptr, length) => new TextDecoder().decode(probe.bytes.subarray(ptr, ptr + length));
      try {
        body(probe);
      } catch (error) {
        if (error instanceof ExitSignal) throw error;
        failure = error;
      }
    },
  });
  if (failure) throw failure;
  return result;
}
