#!/usr/bin/env bash
# Rebuilds the example tenants (the .wasm files are committed beside their sources).
set -euo pipefail
cd "$(dirname "$0")"
for src in *.c; do
  clang --target=wasm32-wasi -O2 -Wl,--strip-debug "$src" -o "${src%.c}.wasm"
  echo "built ${src%.c}.wasm"
done
