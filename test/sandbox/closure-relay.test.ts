// The parent's side of closures under process isolation, attacked as a
// compromised child would: the frame decoder on arbitrary bytes, and the
// parent's relay thread on a real socket against a hostile peer (no token,
// the wrong token, garbage, a frame announcing 2 GiB, a call from an earlier
// run, a memory answer of the wrong size, garbage or silence while the
// embedder's thread waits for it). None of it may throw on the embedder's
// thread or leave it waiting.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { createChannelMemory, HostChannel } from '../../src/sandbox/channel.js';
import { encodeFrame, FrameDecoder, FRAME, FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD, type Frame } from '../../src/sandbox/relay-frames.js';

const parentRelay = new URL('../../src/sandbox/closure-relay-parent.js', import.meta.url);
const framesModule = new URL('../../src/sandbox/relay-frames.js', import.meta.url).href;

describe('relay frames', () => {
  it('decodes any sequence of frames however the stream is cut', () => {
    const frame = fc.record({
      type: fc.integer({ min: FRAME.HELLO, max: FRAME.MEM_DONE }),
      a: fc.nat(0xffffffff), b: fc.nat(0xffffffff), c: fc.nat(0xffffffff),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat(400), { maxLength: 10 }), (frames, cuts) => {
      const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.a, f.b, f.c, f.payload)));
      const decoder = new FrameDecoder();
      const got: Frame[] = [];
      let at = 0;
      for (const cut of [...cuts, stream.length]) {
        const to = Math.min(stream.length, at + cut);
        got.push(...decoder.push(stream.subarray(at, to)));
        at = to;
      }
      got.push(...decoder.push(stream.subarray(at)));
      assert.equal(decoder.error, null);
      assert.deepEqual(got.map((f) => ({ ...f, payload: [...f.payload] })), frames.map((f) => ({ ...f, payload: [...f.payload] })));
    }));
  });

  it('never throws on arbitrary bytes, yields no payload past the bound, and stops at the first bad header', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 12 }), (chunks) => {
      const decoder = new FrameDecoder();
      for (const chunk of chunks) {
        const frames = decoder.push(chunk);
        for (const f of frames) assert.ok(f.payload.length <= MAX_FRAME_PAYLOAD);
        if (decoder.error) assert.deepEqual(decoder.push(encodeFrame(FRAME.CALL, 1, 0, 0)), [], 'nothing is heard after an error');
      }
    }));
    // A header announcing 2 GiB is refused on its 20 bytes, before any payload is awaited or kept.
    const huge = new Uint8Array(FRAME_HEADER_BYTES);
    new DataView(huge.buffer).setUint32(0, FRAME.CALL, true);
    new DataView(huge.buffer).setUint32(16, 0x80000000, true);
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(huge), []);
    assert.match(decoder.error!, /2147483648 bytes/);
  });
});

/** The parent's relay thread on fresh channel memory, listening on a fresh abstract socket. */
async function startRelay(memoryAnswerMs?: number): Promise<{ sab: SharedArrayBuffer; run: Int32Array; socket: string; token: Uint8Array; worker: Worker; messages: Array<{ t: string; reason?: string }> }> {
  const sab = createChannelMemory();
  const run = new Int32Array(new SharedArrayBuffer(4));
  const socket = `\0wasm-warden-test-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const token = crypto.getRandomValues(new Uint8Array(32));
  const worker = new Worker(parentRelay, { workerData: { sab, run, socket, token, ...(memoryAnswerMs ? { memoryAnswerMs } : {}) } });
  const messages: Array<{ t: string; reason?: string }> = [];
  worker.on('message', (m) => messages.push(m));
  worker.on('error', (error) => messages.push({ t: 'error', reason: error.message }));
  while (!messages.some((m) => m.t === 'listening')) await once(worker, 'message');
  return { sab, run, socket, token, worker, messages };
}

/** Waits until the relay has posted a message of kind `t`. */
async function heard(relay: { worker: Worker; messages: Array<{ t: string }> }, t: string): Promise<void> {
  while (!relay.messages.some((m) => m.t === t)) await once(relay.worker, 'message');
}

/**
 * A hostile child in its own thread (the embedder's thread will be waiting
 * in Atomics.wait): presents the token, sends CALL, and answers the memory
 * request with `answer` (a frame's bytes, as numbers).
 */
function hostileChild(socket: string, token: Uint8Array, answer: 'short' | 'garbage' | 'silence'): Worker {
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { connect } = require('node:net');
    import(workerData.framesModule).then(({ encodeFrame, FrameDecoder, FRAME }) => {
      const s = connect(workerData.socket, () => {
        s.write(encodeFrame(FRAME.HELLO, 0, 0, 0, workerData.token));
        s.write(encodeFrame(FRAME.CALL, 1, 0, 0, new Uint8Array(8)));
      });
      const decoder = new FrameDecoder();
      s.on('data', (chunk) => {
        for (const f of decoder.push(chunk)) {
          if (f.type !== FRAME.MEM) continue;
          parentPort.postMessage({ asked: [f.a, f.b, f.c] });
          // Asked for f.c bytes: a success carrying fewer, bytes that are no frame at all, or nothing.
          if (workerData.answer !== 'silence') s.write(workerData.answer === 'short' ? encodeFrame(FRAME.MEM_DONE, 0, 0, 0, new Uint8Array(1)) : Buffer.from('not a frame at all, just noise'));
        }
      });
      s.on('close', () => parentPort.postMessage({ closed: true }));
    });`;
  return new Worker(source, { eval: true, workerData: { socket, token, answer, framesModule } });
}

describe('the parent\'s closure relay against a hostile child', () => {
  it('hears nobody without the token, then only the child that has it', async () => {
    const relay = await startRelay();
    try {
      for (const hello of [encodeFrame(FRAME.HELLO, 0, 0, 0, new Uint8Array(32)), encodeFrame(FRAME.CALL, 1, 0, 0), new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'.repeat(4))]) {
        const impostor = connect(relay.socket);
        impostor.on('error', () => {});
        impostor.write(hello);
        await once(impostor, 'close');
      }
      assert.ok(!relay.messages.some((m) => m.t === 'connected'), 'an impostor was heard');
      const child = connect(relay.socket);
      child.write(encodeFrame(FRAME.HELLO, 0, 0, 0, relay.token));
      await heard(relay, 'connected');
      child.destroy();
    } finally {
      await relay.worker.terminate();
    }
  });

  it('refuses a call tagged with an earlier run; the embedder\'s closures never see it', async () => {
    const relay = await startRelay();
    const host = new HostChannel(relay.sab, { stdin: { kind: 'none' }, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
    const called: number[] = [];
    host.handle('host:0', (_arg, data) => { called.push(data![0]!); return new Uint8Array([42]); });
    Atomics.store(relay.run, 0, 5);
    const child = connect(relay.socket);
    const decoder = new FrameDecoder();
    const replies: Frame[] = [];
    child.on('data', (chunk) => replies.push(...decoder.push(chunk)));
    try {
      child.write(encodeFrame(FRAME.HELLO, 0, 0, 0, relay.token));
      // Sent as run 4 met its deadline, arriving once run 5 is being served; then run 5's own call.
      child.write(encodeFrame(FRAME.CALL, 1, 0, 4, new Uint8Array([4])));
      child.write(encodeFrame(FRAME.CALL, 2, 0, 5, new Uint8Array([5])));
      while (replies.length < 2) await once(child, 'data');
      assert.deepEqual(replies.map((f) => [f.type, f.a, f.b, new TextDecoder().decode(f.payload)]), [
        [FRAME.REPLY, 1, 2, 'a call from an earlier run'],
        [FRAME.REPLY, 2, 0, '*'],
      ]);
      assert.deepEqual(called, [5]);
    } finally {
      child.destroy();
      host.end();
      await relay.worker.terminate();
    }
  });

  for (const answer of ['short', 'garbage', 'silence'] as const) {
    const told = { short: 'a memory answer of the wrong size', garbage: 'garbage for a memory answer', silence: 'no memory answer at all' }[answer];
    it(`${told} fails the closure's access and breaks the relay; nothing throws here`, async () => {
      // Silence is bounded by the relay (shortened here from 5 s), not by a deadline this run does not have.
      const relay = await startRelay(answer === 'silence' ? 300 : undefined);
      const host = new HostChannel(relay.sab, { stdin: { kind: 'none' }, stdout: { kind: 'discard' }, stderr: { kind: 'discard' } });
      // No deadline: if the relay did not release the waiting access, this test would hang, not pass.
      const memory = host.remoteMemory(null);
      const outcome = new Promise<string>((resolve) => {
        host.handle('host:0', () => {
          try {
            memory.read(0, 8);
            resolve('read');
          } catch (error) {
            resolve(`failed: ${(error as Error).message}`);
          }
          return new Uint8Array(0);
        });
      });
      const child = hostileChild(relay.socket, relay.token, answer);
      // Listened for from the start: a message posted while nobody listens is lost.
      const closed = new Promise<void>((resolve) => child.on('message', (m: { closed?: boolean }) => { if (m.closed) resolve(); }));
      try {
        assert.match(await outcome, /failed: .*outside guest memory/);
        await heard(relay, 'broken');
        const broken = relay.messages.find((m) => m.t === 'broken')!;
        assert.match(broken.reason!, { short: /a memory answer of 1 bytes for 8/, garbage: /unknown frame type/, silence: /no answer to a memory access/ }[answer]);
        assert.ok(!relay.messages.some((m) => m.t === 'error'), 'the relay thread threw');
        // And the relay hung up on the child.
        await closed;
      } finally {
        host.end();
        await child.terminate();
        await relay.worker.terminate();
      }
    });
  }
});
