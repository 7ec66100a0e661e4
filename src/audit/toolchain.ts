// Which toolchain built a module, from its producers section (language,
// processed-by) and, failing that, from the imports and exports each
// toolchain's runtime leaves behind; and the advice that fits it. A C compiler
// flag is no help to someone who wrote Rust or Go.

import type { WasmModule } from '../binary/types.js';

export type Toolchain = 'c' | 'rust' | 'go' | 'tinygo' | 'zig' | 'assemblyscript' | 'unknown';

export function detectToolchain(module: Pick<WasmModule, 'producers' | 'imports' | 'exports'>): Toolchain {
  const names = (field: string) => (module.producers?.[field] ?? []).map((v) => v.name.toLowerCase());
  const languages = names('language');
  const tools = names('processed-by');
  if (tools.some((t) => t.includes('tinygo'))) return 'tinygo';
  if (languages.includes('rust') || tools.includes('rustc')) return 'rust';
  if (languages.includes('go') || tools.some((t) => t === 'go' || t.startsWith('go '))) return 'go';
  if (tools.some((t) => t.includes('zig'))) return 'zig';
  if (tools.some((t) => t.includes('assemblyscript'))) return 'assemblyscript';
  if (languages.some((l) => /^c(\d\d)?$|^c\+\+|^c_plus_plus/.test(l)) || tools.some((t) => t.includes('clang'))) return 'c';
  // No producers section: the runtimes' own fingerprints.
  if (module.imports.some((i) => i.module === 'gojs' || i.module === 'go')) return 'go';
  if (module.exports.some((e) => e.name === 'asyncify_start_unwind') && module.imports.some((i) => i.module === 'gojs')) return 'go';
  if (module.imports.some((i) => i.module === 'env' && i.name === 'abort') && module.exports.some((e) => e.name === '__new' || e.name === '__pin')) return 'assemblyscript';
  return 'unknown';
}

export type AdviceTopic = 'stack-first' | 'stack-protector' | 'wasi-target';

/** How to fix `topic` with `toolchain`, as one clause. */
export function advice(topic: AdviceTopic, toolchain: Toolchain): string {
  if (topic === 'wasi-target') {
    switch (toolchain) {
      case 'c': return 'build for WASI preview1 (clang --target=wasm32-wasi, or wasi-sdk) without host-specific imports';
      case 'rust': return 'build for WASI preview1 (cargo build --target wasm32-wasip1), not wasm32-unknown-unknown with wasm-bindgen';
      case 'go': return 'build for WASI preview1 (GOOS=wasip1 GOARCH=wasm go build), not GOOS=js';
      case 'tinygo': return 'build for WASI preview1 (tinygo build -target=wasip1)';
      case 'zig': return 'build for WASI preview1 (zig build-exe -target wasm32-wasi)';
      case 'assemblyscript': return 'build with a WASI shim (e.g. the wasi-shim transform) so that imports are wasi_snapshot_preview1';
      default: return 'build for WASI preview1 (wasm32-wasip1) without host-specific imports';
    }
  }
  if (topic === 'stack-first') {
    switch (toolchain) {
      case 'c': return 'link with -Wl,--stack-first';
      case 'rust': return 'link with RUSTFLAGS="-C link-arg=--stack-first"';
      case 'zig': return 'pass --stack-first to the linker (zig build-exe … -fstack-first is not available; use an explicit link step)';
      case 'go': case 'tinygo': return 'the Go toolchains lay out memory themselves and take no flag for it; prefer running with a tight memory limit';
      case 'assemblyscript': return 'AssemblyScript keeps no shadow stack in linear memory by default; check custom runtime options';
      default: return 'link with --stack-first (clang: -Wl,--stack-first; Rust: -C link-arg=--stack-first)';
    }
  }
  switch (toolchain) {
    case 'c': return 'compile with -fstack-protector-strong';
    case 'rust': return 'safe Rust needs none; for C code built into it, pass -fstack-protector-strong through CFLAGS';
    case 'go': case 'tinygo': return 'the Go toolchains have no stack protector; bounds checks cover Go code';
    case 'zig': return 'Zig checks bounds in safe build modes (-O ReleaseSafe); for C code, -fstack-protector-strong';
    case 'assemblyscript': return 'AssemblyScript checks bounds itself; nothing to add';
    default: return 'for C and C++, compile with -fstack-protector-strong';
  }
}
