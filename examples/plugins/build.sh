#!/usr/bin/env bash
# Rebuilds the example plugins (the .wasm files are committed beside their sources).
set -euo pipefail
cd "$(dirname "$0")"
# math: a reactor with no imports (no libc start-up, no WASI).
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--strip-debug math.c -o math.wasm
# vowels: an Extism kernel ABI plugin, no WASI.
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--strip-debug vowels.c -o vowels.wasm
echo "built math.wasm vowels.wasm"
