// A child process entry that plays a compromised child: it reaches the
// parent's closure relay as the real one would (the token it was given), then
// sends bytes that are no frame, when a run starts or when told to while idle.

import { connect, type Socket } from 'node:net';
import { encodeFrame, FRAME } from '../../src/sandbox/relay-frames.js';

let socket: Socket | null = null;
const garbage = Buffer.from('\u00ff\u00ff\u00ff\u00ff this is not a frame');

process.on('message', (message: { relay?: { socket: string; token: Uint8Array }; id?: number; garbage?: boolean }) => {
  if (message.relay) {
    socket = connect(message.relay.socket, () => {
      socket!.write(encodeFrame(FRAME.HELLO, 0, 0, 0, new Uint8Array(message.relay!.token)));
      process.send!({ ready: true });
    });
    socket.on('error', () => {});
  } else if (message.id !== undefined || message.garbage) {
    socket?.write(garbage);
  }
});
