// The Extism kernel ABI (import module "extism:host/env") as documented by
// Extism: the functions a plugin may import, with their signatures. Offsets
// are 64-bit addresses in the host's plugin memory, 0 meaning none.

export const EXTISM_MODULE = 'extism:host/env';

type T = 'i32' | 'i64';
const f = (params: T[], results: T[]) => ({ params, results });

export const EXTISM_KERNEL: Readonly<Record<string, { params: T[]; results: T[] }>> = Object.freeze({
  input_length: f([], ['i64']),
  input_load_u8: f(['i64'], ['i32']),
  input_load_u64: f(['i64'], ['i64']),
  length: f(['i64'], ['i64']),
  length_unsafe: f(['i64'], ['i64']),
  alloc: f(['i64'], ['i64']),
  free: f(['i64'], []),
  output_set: f(['i64', 'i64'], []),
  error_set: f(['i64'], []),
  store_u8: f(['i64', 'i32'], []),
  load_u8: f(['i64'], ['i32']),
  store_u64: f(['i64', 'i64'], []),
  load_u64: f(['i64'], ['i64']),
  config_get: f(['i64'], ['i64']),
  var_get: f(['i64'], ['i64']),
  var_set: f(['i64', 'i64'], []),
  log_info: f(['i64'], []),
  log_debug: f(['i64'], []),
  log_warn: f(['i64'], []),
  log_error: f(['i64'], []),
  log_trace: f(['i64'], []),
  get_log_level: f([], ['i32']),
  http_request: f(['i64', 'i64'], ['i64']),
  http_status_code: f([], ['i32']),
  http_headers: f([], ['i64']),
});

/** Kernel functions that reach the network: linked only when the policy grants hosts (never, today). */
export const EXTISM_NETWORK = new Set(['http_request', 'http_status_code', 'http_headers']);
