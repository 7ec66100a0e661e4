#!/usr/bin/env node
// Builds the optional native helpers with the system C compiler and Node's own
// headers: native/timestamps.c -> dist/native/timestamps.node (file times to
// the nanosecond), native/fs-at.c -> dist/native/fs-at.node (one-name
// opens, stats and unlinks beneath a held descriptor) and native/digest.c ->
// dist/native/digest.node (SHA-256 and HMAC through the OpenSSL Node exports,
// so a cached run never loads node:crypto) and native/huge-pages.c ->
// dist/native/huge-pages.node (a large file's bytes and a guest's memory on huge pages),
// native/random.c -> dist/native/random.node (OpenSSL's generator without loading Web Crypto) and
// native/watchdog.cc -> dist/native/watchdog.node (a kept deadline watchdog for guest code on the
// caller's thread; C++, built with the system's c++). Optional: without a
// compiler or headers it says so and exits 0, and wasm-warden goes through
// Node instead: times to the microsecond, names through /proc/self/fd
// (docs/RATIONALE.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const helpers = [
  { source: 'native/timestamps.c', output: 'dist/native/timestamps.node', without: 'file times will be set to the microsecond' },
  { source: 'native/fs-at.c', output: 'dist/native/fs-at.node', without: 'names will be reached through /proc/self/fd by Node' },
  { source: 'native/digest.c', output: 'dist/native/digest.node', without: 'the prepared-module cache will hash through node:crypto' },
  { source: 'native/random.c', output: 'dist/native/random.node', without: 'random bytes will come from Web Crypto' },
  { source: 'native/huge-pages.c', output: 'dist/native/huge-pages.node', without: 'large files and guest memories will use ordinary pages' },
  // C++: V8's own API (TerminateExecution), which Node-API does not offer.
  { source: 'native/watchdog.cc', output: 'dist/native/watchdog.node', without: 'deadlines on the caller\'s thread will be kept by node:vm (about 80 µs a guarded call)' },
];
const headers = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((dir) => existsSync(join(dir, 'node_api.h')));
const compilers = { c: process.env.CC ?? 'cc', cc: process.env.CXX ?? 'c++' };
if (!headers) {
  console.log(`build-native: no Node headers (node_api.h) found; ${helpers.map((h) => h.without).join('; ')}`);
  process.exit(0);
}
mkdirSync('dist/native', { recursive: true });
for (const { source, output, without } of helpers) {
  const cxx = source.endsWith('.cc');
  const compiler = cxx ? compilers.cc : compilers.c;
  const args = ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', ...(cxx ? ['-std=c++17', '-pthread'] : []), `-I${headers}`, '-o', output, source];
  const result = spawnSync(compiler, args, { stdio: 'inherit' });
  if (result.error || result.status !== 0) console.log(`build-native: ${compiler} could not build ${source}; ${without}`);
}
