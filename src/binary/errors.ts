/** A module that could not be decoded: where, and why. */
export class WasmDecodeError extends Error {
  override name = 'WasmDecodeError';
  /** Absolute byte offset at which decoding stopped. */
  readonly offset: number;
  readonly reason: string;
  constructor(reason: string, offset: number) {
    super(`${reason} at byte offset ${offset}`);
    this.offset = offset;
    this.reason = reason;
  }
}
