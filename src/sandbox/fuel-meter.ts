// A run's fuel, read the same way by every executor: the budget is written
// into the instance's fuel global before the guest starts, what is left is
// read back when the run ends however it ended, and a trap that came from an
// exhausted budget is named `fuel` (the metered code traps with `unreachable`
// once the counter goes below zero, which alone would read as a guest bug).

import { FUEL_EXPORT } from '../transform/reserved-names.js';
import type { RunResult } from '../wasi/run.js';

export class FuelMeter {
  /** Fuel the run used; null when the run had no budget or never got an instance. */
  used: number | null = null;
  private exhausted = false;

  constructor(private readonly budget: number | null) {}

  /** Fills the instance's fuel global with the budget. */
  fill(exports: WebAssembly.Exports): void {
    if (this.budget !== null) (exports[FUEL_EXPORT] as WebAssembly.Global).value = BigInt(this.budget);
  }

  /** Reads what is left, once the run has ended. */
  read(exports: WebAssembly.Exports | undefined): void {
    if (this.budget === null || !exports) return;
    const left = (exports[FUEL_EXPORT] as WebAssembly.Global).value as bigint;
    this.exhausted = left < 0n;
    this.used = this.budget - Number(left < 0n ? 0n : left);
  }

  /** Names a trap that came from an exhausted budget `fuel`, and counts the limit hit. */
  classify(result: RunResult): void {
    if (this.exhausted && result.trap) {
      result.trap = { kind: 'fuel', message: `the run used its fuel budget of ${this.budget}` };
      result.limitsHit.push('fuel');
    }
  }
}
