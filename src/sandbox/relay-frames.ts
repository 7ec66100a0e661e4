// The frames a child process's closure relay and the parent's exchange over
// their socket: a 20-byte header (type, three numbers, payload length; u32
// little-endian) and at most one channel region of payload.
//
// The child is guest-adjacent (a guest that broke out of V8 would own it), so
// the parent decodes its bytes as hostile: the decoder never throws, never
// buffers more than one frame, and reports the first malformed header as an
// error that ends the conversation (the run traps; the parent goes on).

import { CHUNK_BYTES } from '../wasi/stdio.js';

export const FRAME = {
  /** child → parent, first: the token the parent gave it. */
  HELLO: 1,
  /** child → parent: a = call id, b = function index, c = the run's tag, payload = arguments. */
  CALL: 2,
  /** parent → child: a = call id, b = reply status, payload = results or error text. */
  REPLY: 3,
  /** parent → child: a = memory op, b = pointer, c = length, payload = bytes to write. */
  MEM: 4,
  /** child → parent: a = status, b = memory size (op SIZE), payload = bytes read. */
  MEM_DONE: 5,
} as const;

export const FRAME_HEADER_BYTES = 20;
/** The largest payload: one region of the channel, as a call or memory access carries. */
export const MAX_FRAME_PAYLOAD = CHUNK_BYTES;

export interface Frame {
  type: number;
  a: number;
  b: number;
  c: number;
  payload: Uint8Array;
}

export function encodeFrame(type: number, a: number, b: number, c: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`a frame carries at most ${MAX_FRAME_PAYLOAD} bytes`);
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, a >>> 0, true);
  view.setUint32(8, b >>> 0, true);
  view.setUint32(12, c >>> 0, true);
  view.setUint32(16, payload.length, true);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Cuts a byte stream into frames. After the first malformed header (an
 * unknown type, a payload past MAX_FRAME_PAYLOAD) it keeps `error` and
 * yields nothing more: a peer that sends garbage is not listened to again.
 */
export class FrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  error: string | null = null;

  push(chunk: Uint8Array): Frame[] {
    if (this.error !== null) return [];
    // At most one partial frame is kept (bounded above), plus the chunk the socket handed over.
    let bytes = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const frames: Frame[] = [];
    while (bytes.length >= FRAME_HEADER_BYTES) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
      const type = view.getUint32(0, true);
      const length = view.getUint32(16, true);
      // Checked before anything is kept for it: a hostile length costs the parent nothing.
      if (type < FRAME.HELLO || type > FRAME.MEM_DONE) return this.fail(`unknown frame type ${type}`);
      if (length > MAX_FRAME_PAYLOAD) return this.fail(`a frame of ${length} bytes (at most ${MAX_FRAME_PAYLOAD})`);
      if (bytes.length < FRAME_HEADER_BYTES + length) break;
      frames.push({
        type, a: view.getUint32(4, true), b: view.getUint32(8, true), c: view.getUint32(12, true),
        payload: bytes.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length),
      });
      bytes = bytes.subarray(FRAME_HEADER_BYTES + length);
    }
    this.pending = bytes.slice();
    return frames;
  }

  private fail(reason: string): Frame[] {
    this.error = reason;
    this.pending = new Uint8Array(0);
    return [];
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
