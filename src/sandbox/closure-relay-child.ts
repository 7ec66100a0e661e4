// In a child process whose sandbox grants closures: the thread that carries
// the guest's host-function calls to the parent and the parent's
// guest-memory requests back. Toward the guest's thread it is the host side
// of the channel (HostChannel, as the embedder's thread is to a worker): the
// guest posts a call in shared memory and waits with Atomics.wait, never past
// its deadline, serving memory requests while it waits. Toward the parent it
// is a socket, read and written on this thread's event loop, so no thread
// that runs guest code ever sits in a system call.
//
// One call is outstanding at a time (the guest waits for it). A call the
// guest gave up on at its deadline is superseded by the next one; a reply
// for it is dropped.

import { connect } from 'node:net';
import { workerData, parentPort } from 'node:worker_threads';
import { HostChannel, MEMORY_OP, REPLY, type RemoteMemory } from './channel.js';
import { encodeFrame, FrameDecoder, FRAME } from './relay-frames.js';

interface RelayChildData {
  sab: SharedArrayBuffer;
  /** The run's deadline (performance.timeOrigin + now() time; Infinity for none), written by the guest's thread before each run. */
  deadline: Float64Array;
  /** The run in progress, by the parent's tag (written by the guest's thread before each run). */
  run: Int32Array;
  socket: string;
  token: Uint8Array;
  /** How many host functions the sandbox grants: call indices run below it. */
  functions: number;
}

const data = workerData as RelayChildData;
const host = new HostChannel(data.sab, { stdin: { kind: 'none' }, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
const socket = connect(data.socket);
const decoder = new FrameDecoder();
let nextId = 0;
let pending: { id: number; resolve: (bytes: Uint8Array | null) => void; reject: (error: Error) => void } | null = null;

for (let index = 0; index < data.functions; index++) {
  host.handle(`host:${index}`, (_arg, args) => new Promise((resolve, reject) => {
    // Ids cross as u32 (relay-frames.ts): wrapped so that a reply's id always equals its call's.
    pending = { id: (nextId = (nextId + 1) >>> 0), resolve, reject };
    socket.write(encodeFrame(FRAME.CALL, pending.id, index, Atomics.load(data.run, 0), args ?? new Uint8Array(0)));
  }));
}

/** Guest memory through the guest's waiting thread, bounded by the run's deadline (a guest that gave up serves nothing). */
function guestMemory(): RemoteMemory {
  const deadline = data.deadline[0]!;
  // A little past the guest's own deadline: the guest ends the run first, and its thread never waits longer.
  return host.remoteMemory(Number.isFinite(deadline) ? deadline - performance.timeOrigin + 20 : null);
}

function serveMemory(op: number, ptr: number, len: number, bytes: Uint8Array): Uint8Array {
  // Only while a call is outstanding is the guest's thread there to serve it.
  if (!pending) return encodeFrame(FRAME.MEM_DONE, 1, 0, 0);
  try {
    const memory = guestMemory();
    if (op === MEMORY_OP.SIZE) return encodeFrame(FRAME.MEM_DONE, 0, memory.size(), 0);
    if (op === MEMORY_OP.READ) return encodeFrame(FRAME.MEM_DONE, 0, 0, 0, memory.read(ptr, len));
    if (op === MEMORY_OP.WRITE && bytes.length === len) {
      memory.write(ptr, bytes);
      return encodeFrame(FRAME.MEM_DONE, 0, 0, 0);
    }
  } catch {
    // Outside guest memory, or the guest is gone: the host function's access fails.
  }
  return encodeFrame(FRAME.MEM_DONE, 1, 0, 0);
}

socket.on('connect', () => {
  socket.write(encodeFrame(FRAME.HELLO, 0, 0, 0, data.token));
  parentPort!.postMessage('up');
});
socket.on('data', (chunk: Buffer) => {
  for (const frame of decoder.push(chunk)) {
    if (frame.type === FRAME.MEM) {
      socket.write(serveMemory(frame.a, frame.b, frame.c, frame.payload));
    } else if (frame.type === FRAME.REPLY && pending?.id === frame.a) {
      const call = pending;
      pending = null;
      if (frame.b === REPLY.OK) call.resolve(frame.payload);
      else if (frame.b === REPLY.END) call.resolve(null);
      else call.reject(new Error(new TextDecoder().decode(frame.payload)));
    }
  }
  if (decoder.error) socket.destroy();
});
// Without the parent's relay the child has nobody to call: it exits (process-entry.ts), and the pool replaces it.
socket.on('error', () => parentPort!.postMessage('down'));
socket.on('close', () => parentPort!.postMessage('down'));
