import type { Feature } from './types.js';

/** A module that could not be decoded: where, and why. */
export class WasmDecodeError extends Error {
  override name = 'WasmDecodeError';
  /** Absolute byte offset at which decoding stopped. */
  readonly offset: number;
  readonly reason: string;
  /**
   * Set when decoding stopped at a construct of a proposal the decoder
   * recognises but does not decode (e.g. 'gc'), so callers can report the
   * feature instead of a malformed module.
   */
  readonly feature: Feature | undefined;
  constructor(reason: string, offset: number, feature?: Feature) {
    super(`${reason} at byte offset ${offset}`);
    this.offset = offset;
    this.reason = reason;
    this.feature = feature;
  }
}
