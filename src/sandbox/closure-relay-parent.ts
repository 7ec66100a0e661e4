// In the embedder's process, one per child process whose sandbox grants
// closures: the thread that talks to the child's relay over a socket, so
// that the embedder's thread never reads from the child. Toward the
// embedder's thread it is the isolate side of the channel (RelayedCalls): a
// call from the child is posted in shared memory as a worker posts one, and
// the closure's guest-memory requests, which the embedder's thread makes
// synchronously and waits for with Atomics.wait (never past the deadline),
// are forwarded to the child and answered here when the child replies.
//
// The child is guest-adjacent: its bytes are decoded as hostile
// (relay-frames.ts). A malformed or unexpected frame ends the conversation
// and is reported as 'broken': the run traps, the child is replaced, and
// nothing is thrown on the embedder's thread.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { workerData, parentPort } from 'node:worker_threads';
import { MEMORY_OP, REPLY, RelayedCalls } from './channel.js';
import { encodeFrame, FrameDecoder, FRAME, type Frame } from './relay-frames.js';

/**
 * How long the child may take to answer a memory access. Its guest's thread serves one at
 * once (microseconds) while it waits for the call, and gives up at its deadline, which the
 * child's relay answers as a failure; so only a broken child is slower. The bound matters
 * for runs without a deadline, where the embedder's thread would otherwise wait as long as
 * the child pleased.
 */
const MEMORY_ANSWER_MS = 5000;

interface RelayParentData {
  sab: SharedArrayBuffer;
  /** Tests shorten MEMORY_ANSWER_MS. */
  memoryAnswerMs?: number;
  /** The run the embedder's thread serves calls for, by tag. */
  run: Int32Array;
  socket: string;
  token: Uint8Array;
}

const data = workerData as RelayParentData;
const calls = new RelayedCalls(data.sab);
let child: Socket | null = null;
let broken = false;
/** The call being served (a newer one supersedes it), and the memory request it waits on. */
let current = 0;
let memoryWaiter: ((frame: Frame | null) => void) | null = null;

function fail(reason: string): void {
  if (broken) return;
  broken = true;
  child?.destroy();
  // The embedder's thread may be waiting on a memory request: it fails rather than waiting out the deadline.
  releaseMemory();
  parentPort!.postMessage({ t: 'broken', reason });
}

function releaseMemory(): void {
  const waiter = memoryWaiter;
  memoryWaiter = null;
  waiter?.(null);
}

async function serve(id: number, fn: number, args: Uint8Array): Promise<void> {
  const mine = ++current;
  // A newer call means the guest gave up on the older one (its deadline): its memory request is dropped.
  releaseMemory();
  const seq = calls.post(fn, args);
  for (;;) {
    if (mine !== current || broken) return;
    const bell = calls.bell;
    const state = calls.poll(seq);
    if (state?.kind === 'reply') {
      child!.write(encodeFrame(FRAME.REPLY, id, state.status, 0, state.bytes));
      return;
    }
    if (state?.kind === 'memory') {
      let timer: NodeJS.Timeout | undefined;
      const answer = await new Promise<Frame | null>((resolve) => {
        memoryWaiter = resolve;
        timer = setTimeout(() => fail('no answer to a memory access'), data.memoryAnswerMs ?? MEMORY_ANSWER_MS);
        child!.write(encodeFrame(FRAME.MEM, state.op, state.ptr, state.len, state.bytes));
      });
      clearTimeout(timer);
      if (mine !== current) return;
      const expected = state.op === MEMORY_OP.READ ? state.len : 0;
      if (answer && answer.a === 0 && answer.payload.length !== expected) {
        fail(`a memory answer of ${answer.payload.length} bytes for ${expected}`);
        calls.memoryDone(1, null, 0);
        return;
      }
      calls.memoryDone(answer && answer.a === 0 ? 0 : 1, answer?.payload ?? null, answer?.b ?? 0);
      continue;
    }
    await calls.rung(bell);
  }
}

function onFrame(frame: Frame): void {
  if (frame.type === FRAME.CALL) {
    // A call the child sent as an earlier run met its deadline may arrive after that run's
    // result (another channel): it is refused, never taken for the next run's.
    // The tag crosses as u32 and is kept in an Int32Array: compared as the cell holds it.
    if ((frame.c | 0) !== Atomics.load(data.run, 0)) child!.write(encodeFrame(FRAME.REPLY, frame.a, REPLY.ERROR, 0, new TextEncoder().encode('a call from an earlier run')));
    else void serve(frame.a, frame.b, frame.payload);
  } else if (frame.type === FRAME.MEM_DONE && memoryWaiter) {
    const waiter = memoryWaiter;
    memoryWaiter = null;
    waiter(frame);
  } else {
    // A reply nobody asked for, a second hello, a frame only the parent sends.
    fail(`an unexpected frame of type ${frame.type}`);
  }
}

const server = createServer((socket) => {
  // The first connection that presents the token is the child's; anything else is closed.
  const decoder = new FrameDecoder();
  let trusted = false;
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (broken) return;
      if (!trusted) {
        const token = frame.payload;
        if (frame.type !== FRAME.HELLO || child !== null || token.length !== data.token.length || !timingSafeEqual(token, data.token)) {
          socket.destroy();
          return;
        }
        trusted = true;
        child = socket;
        server.close();
        parentPort!.postMessage({ t: 'connected' });
        continue;
      }
      onFrame(frame);
    }
    if (decoder.error) {
      if (trusted) fail(decoder.error);
      else socket.destroy();
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => { if (trusted) releaseMemory(); });
});
server.listen(data.socket, () => parentPort!.postMessage({ t: 'listening' }));
