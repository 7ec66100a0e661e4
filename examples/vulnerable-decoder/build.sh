#!/usr/bin/env bash
# Rebuilds the example decoder (the built .wasm files are committed):
#   wimg.wasm       plain wasm32-wasi, a 16 KiB stack (wasm-ld's layout: .rodata at 1024, data, then the stack)
#   wimg-bulk.wasm  the same with bulk memory, so memcpy is memory.copy (for the bulk guard)
#   wimg-wagi.wasm  a `warden serve` tenant: the image is the request body
# `overlay` is exported (its address) so craft.mjs can aim the tile bug.
set -euo pipefail
cd "$(dirname "$0")"
flags=(--target=wasm32-wasi -O2 -Wl,--strip-debug -Wl,-z,stack-size=16384 -Wl,--export=overlay)
clang "${flags[@]}" wimg.c -o wimg.wasm
clang "${flags[@]}" -mbulk-memory wimg.c -o wimg-bulk.wasm
clang "${flags[@]}" -DWIMG_WAGI wimg.c -o wimg-wagi.wasm
