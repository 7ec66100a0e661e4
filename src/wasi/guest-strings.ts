// A run's arguments or environment as the guest reads them: NUL-terminated
// UTF-8 strings laid end to end, and where each starts. Encoded when the
// guest first asks (args_sizes_get, environ_get, ...), once for the run: a
// handler that never reads its environment (a WAGI hello) costs no encoding
// of the fifteen-odd CGI variables it was given, and one that does costs one
// native encode of all of them rather than one per string.

const utf8 = new TextEncoder();

export class GuestStrings {
  private packed: Uint8Array | null = null;
  private starts: number[] = [];

  /** `text(i)` is the i-th string, `length(i)` its length in UTF-16 code units. */
  private constructor(
    readonly count: number,
    private readonly text: (i: number) => string,
    private readonly length: (i: number) => number,
  ) {}

  static of(strings: readonly string[]): GuestStrings {
    return new GuestStrings(strings.length, (i) => strings[i]!, (i) => strings[i]!.length);
  }

  /** `name=value` for each pair. */
  static ofEnv(pairs: readonly (readonly [string, string])[]): GuestStrings {
    return new GuestStrings(pairs.length, (i) => `${pairs[i]![0]}=${pairs[i]![1]}`, (i) => pairs[i]![0].length + 1 + pairs[i]![1].length);
  }

  /** Every string with its NUL, end to end. */
  bytes(): Uint8Array {
    return this.packed ?? this.encode();
  }

  /** Where string `i` starts in bytes(). */
  start(i: number): number {
    this.bytes();
    return this.starts[i]!;
  }

  private encode(): Uint8Array {
    let joined = '';
    for (let i = 0; i < this.count; i++) joined += `${this.text(i)}\0`;
    const packed = utf8.encode(joined);
    const starts = new Array<number>(this.count);
    if (packed.length === joined.length) {
      // One byte per code unit (ASCII): each string starts where its text does.
      for (let i = 0, at = 0; i < this.count; i++) {
        starts[i] = at;
        at += this.length(i) + 1;
      }
    } else {
      // Anything else: each string's encoded length, as encoding it alone gives (a lone surrogate included).
      for (let i = 0, at = 0; i < this.count; i++) {
        starts[i] = at;
        at += utf8.encode(this.text(i)).length + 1;
      }
    }
    this.starts = starts;
    this.packed = packed;
    return packed;
  }
}

export const NO_STRINGS = GuestStrings.of([]);
