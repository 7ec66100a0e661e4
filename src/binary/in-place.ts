// Laying a module's new bytes over its old ones, in their own buffer, when
// their owner has given them over (`warden run`, which read them for one
// run). A new buffer the size of a large module costs its page faults on
// first touch: about 100 ms for 31 MB on a virtual machine, where moving the
// same bytes within pages already touched costs 3.

/** A piece of the new bytes: a range of the old bytes, or bytes from another buffer. */
export type LaidPiece = { start: number; end: number } | Uint8Array;

/**
 * The new bytes (`pieces` in order, `length` in all) laid over `old` from
 * its start, or null, with nothing written, when that cannot be done safely:
 * `old`'s buffer lacks the room, a piece of bytes lies in that buffer, or a
 * range of the old bytes comes before the end of an earlier one or would
 * move towards the start. Each range then lands at or after where it is
 * read from, after every range before it, so laid down last piece first, no
 * piece overwrites old bytes a piece still to be laid down reads (those lie
 * below where this one starts). The caller has checked each range lies
 * within `old` and the pieces add up to `length`.
 */
export function layInPlace(old: Uint8Array, pieces: readonly LaidPiece[], length: number): Uint8Array | null {
  const buffer = old.buffer;
  if (!(buffer instanceof ArrayBuffer) || old.byteOffset + length > buffer.byteLength) return null;
  const ends: number[] = [];
  let at = 0;
  let read = 0;
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) {
      if (piece.buffer === buffer) return null;
      at += piece.length;
    } else {
      if (piece.start < read || piece.start > at || piece.end < piece.start || piece.end > old.length) return null;
      read = piece.end;
      at += piece.end - piece.start;
    }
    ends.push(at);
  }
  if (at !== length) return null;
  // The old bytes and the new, both from the buffer's start: a range may be read from past a shorter result's end.
  const out = new Uint8Array(buffer, old.byteOffset, Math.max(length, old.length));
  for (let i = pieces.length - 1; i >= 0; i--) {
    const piece = pieces[i]!;
    if (piece instanceof Uint8Array) out.set(piece, ends[i]! - piece.length);
    else out.copyWithin(ends[i]! - (piece.end - piece.start), piece.start, piece.end);
  }
  return out.subarray(0, length);
}
