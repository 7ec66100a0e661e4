// The WASI preview1 import ABI (`wasi_snapshot_preview1`): every function's
// core signature and the capability it needs. Admission checks imports against
// these signatures (as a linker would); the audit groups imports by capability.
// It lives in the bottom layer because both of those, and the WASI host, use it.

export const WASI_PREVIEW1 = 'wasi_snapshot_preview1';

export type WasiCapability = 'stdio' | 'filesystem' | 'clocks' | 'random' | 'args-env' | 'process' | 'sockets';

export interface WasiFunctionAbi {
  params: ReadonlyArray<'i32' | 'i64'>;
  results: ReadonlyArray<'i32'>;
  capability: WasiCapability;
}

const I = 'i32' as const;
const L = 'i64' as const;
const fn = (capability: WasiCapability, params: Array<'i32' | 'i64'>, results: Array<'i32'> = [I]): WasiFunctionAbi =>
  Object.freeze({ params: Object.freeze(params), results: Object.freeze(results), capability });

export const wasiPreview1Functions: Readonly<Record<string, WasiFunctionAbi>> = Object.freeze({
  args_get: fn('args-env', [I, I]),
  args_sizes_get: fn('args-env', [I, I]),
  environ_get: fn('args-env', [I, I]),
  environ_sizes_get: fn('args-env', [I, I]),
  clock_res_get: fn('clocks', [I, I]),
  clock_time_get: fn('clocks', [I, L, I]),
  fd_advise: fn('filesystem', [I, L, L, I]),
  fd_allocate: fn('filesystem', [I, L, L]),
  fd_close: fn('stdio', [I]),
  fd_datasync: fn('filesystem', [I]),
  fd_fdstat_get: fn('stdio', [I, I]),
  fd_fdstat_set_flags: fn('stdio', [I, I]),
  fd_fdstat_set_rights: fn('filesystem', [I, L, L]),
  fd_filestat_get: fn('filesystem', [I, I]),
  fd_filestat_set_size: fn('filesystem', [I, L]),
  fd_filestat_set_times: fn('filesystem', [I, L, L, I]),
  fd_pread: fn('filesystem', [I, I, I, L, I]),
  fd_prestat_get: fn('filesystem', [I, I]),
  fd_prestat_dir_name: fn('filesystem', [I, I, I]),
  fd_pwrite: fn('filesystem', [I, I, I, L, I]),
  fd_read: fn('stdio', [I, I, I, I]),
  fd_readdir: fn('filesystem', [I, I, I, L, I]),
  fd_renumber: fn('filesystem', [I, I]),
  fd_seek: fn('stdio', [I, L, I, I]),
  fd_sync: fn('filesystem', [I]),
  fd_tell: fn('stdio', [I, I]),
  fd_write: fn('stdio', [I, I, I, I]),
  path_create_directory: fn('filesystem', [I, I, I]),
  path_filestat_get: fn('filesystem', [I, I, I, I, I]),
  path_filestat_set_times: fn('filesystem', [I, I, I, I, L, L, I]),
  path_link: fn('filesystem', [I, I, I, I, I, I, I]),
  path_open: fn('filesystem', [I, I, I, I, I, L, L, I, I]),
  path_readlink: fn('filesystem', [I, I, I, I, I, I]),
  path_remove_directory: fn('filesystem', [I, I, I]),
  path_rename: fn('filesystem', [I, I, I, I, I, I]),
  path_symlink: fn('filesystem', [I, I, I, I, I]),
  path_unlink_file: fn('filesystem', [I, I, I]),
  poll_oneoff: fn('clocks', [I, I, I, I]),
  proc_exit: fn('process', [I], []),
  proc_raise: fn('process', [I]),
  sched_yield: fn('process', []),
  random_get: fn('random', [I, I]),
  sock_accept: fn('sockets', [I, I, I]),
  sock_recv: fn('sockets', [I, I, I, I, I, I]),
  sock_send: fn('sockets', [I, I, I, I, I]),
  sock_shutdown: fn('sockets', [I, I]),
});

export function wasiFunction(name: string): WasiFunctionAbi | undefined {
  return Object.hasOwn(wasiPreview1Functions, name) ? wasiPreview1Functions[name] : undefined;
}
