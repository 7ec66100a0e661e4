// Runs one WASI command module under one peer host, in this process, so the
// benchmark can time each host in a fresh process as a user would start it.
//
//   node dist/bench/peers/run-peer.js PEER DIR MODULE [ARGS...]
//
// PEER: node-wasi | browser-wasi-shim | wasm-util | extism. DIR is granted as
// /sandbox (browser_wasi_shim has no host filesystem: it gets an empty
// in-memory directory instead, and the results say so).

import { readFileSync, writeSync } from 'node:fs';
import * as nodeFs from 'node:fs';

const [peer, dir, modulePath, ...args] = process.argv.slice(2);
if (!peer || !dir || !modulePath) {
  console.error('usage: run-peer PEER DIR MODULE [ARGS...]');
  process.exit(2);
}
const bytes = readFileSync(modulePath);
const argv = [modulePath, ...args];
const writeOut = (fd: number) => (data: Uint8Array) => { let done = 0; while (done < data.length) done += writeSync(fd, data, done); };

async function nodeWasi(): Promise<number> {
  const { WASI } = await import('node:wasi');
  const wasi = new WASI({ version: 'preview1', args: argv, env: {}, preopens: { '/sandbox': dir! }, returnOnExit: true });
  const { instance } = await WebAssembly.instantiate(bytes, wasi.getImportObject() as WebAssembly.Imports) as unknown as { instance: WebAssembly.Instance };
  return wasi.start(instance as never);
}

async function browserWasiShim(): Promise<number> {
  const shim = await import('@bjorn3/browser_wasi_shim');
  const fds = [
    new shim.OpenFile(new shim.File([])),
    new shim.ConsoleStdout(writeOut(1)),
    new shim.ConsoleStdout(writeOut(2)),
    new shim.PreopenDirectory('/sandbox', new Map()),
  ];
  const wasi = new shim.WASI(argv, [], fds, { debug: false });
  const { instance } = await WebAssembly.instantiate(bytes, { wasi_snapshot_preview1: wasi.wasiImport as never }) as unknown as { instance: WebAssembly.Instance };
  return wasi.start(instance as never);
}

async function wasmUtil(): Promise<number> {
  const { WASI } = await import('@tybys/wasm-util');
  const wasi = new WASI({ version: 'preview1', args: argv, env: {}, preopens: { '/sandbox': dir! }, fs: nodeFs as never, returnOnExit: true } as never);
  const { instance } = await WebAssembly.instantiate(bytes, { wasi_snapshot_preview1: (wasi as unknown as { wasiImport: never }).wasiImport }) as unknown as { instance: WebAssembly.Instance };
  return (wasi as unknown as { start(i: unknown): number }).start(instance);
}

async function extism(): Promise<number> {
  const { default: createPlugin } = await import('@extism/extism') as unknown as { default: (m: unknown, o: unknown) => Promise<{ call(name: string): Promise<unknown>; close(): Promise<void> }> };
  const plugin = await createPlugin({ wasm: [{ data: bytes }] }, { useWasi: true, runInWorker: false, allowedPaths: { '/sandbox': dir }, enableWasiOutput: true, config: {} });
  try {
    await plugin.call('_start');
  } catch (error) {
    // Extism runs WASI through node:wasi, whose proc_exit surfaces as a thrown symbol.
    if (typeof error !== 'symbol') throw error;
  } finally {
    await plugin.close();
  }
  return 0;
}

const hosts: Record<string, () => Promise<number>> = { 'node-wasi': nodeWasi, 'browser-wasi-shim': browserWasiShim, 'wasm-util': wasmUtil, extism };
const host = hosts[peer];
if (!host) {
  console.error(`unknown peer ${peer}`);
  process.exit(2);
}
process.exitCode = await host();
