// A plugin's way out (http_request), wired for the isolate it runs in: over
// the channel to the embedder's thread, which makes the request (thread
// isolation); absent anywhere else (admission refuses the import there).

import { Errno } from '../wasi/errno.js';
import type { WasiContext } from '../wasi/context.js';
import { CHUNK_BYTES } from '../wasi/stdio.js';
import type { KernelNetwork, KernelSpec } from '../plugin/extism-kernel.js';
import { channelNetwork } from '../plugin/http-isolate.js';
import { httpHandlers } from '../plugin/http-host.js';
import type { HostChannel, IsolateChannel } from './channel.js';

/** The isolate's side: requests go over `channel`; a refused origin is noted as a denial (`deny`, default the run's WASI context). */
export function kernelNetwork(spec: KernelSpec, channel: IsolateChannel | undefined, ctx: WasiContext, deny?: (url: string) => void): KernelNetwork | undefined {
  if (!spec.http || !channel) return undefined;
  return channelNetwork((fn, data) => channel.callWith(fn, data, ctx.memory), spec.http, CHUNK_BYTES,
    deny ?? ((url) => ctx.noteErrno('http_request', Errno.NOTCAPABLE, url)));
}

/** The embedder's side: the handlers that make the requests, for one run with this deadline (performance.now() scale). */
export function serveNetwork(host: HostChannel, spec: KernelSpec | Omit<KernelSpec, 'input' | 'vars'> | undefined, deadlineAt: number | null): void {
  if (!spec?.http) return;
  for (const [op, fn] of httpHandlers(spec.http, deadlineAt, CHUNK_BYTES)) host.handle(op, fn);
}
