#!/usr/bin/env bash
# Regenerates test/fixtures/c/wasi/conformance/NAME.expected from Wasmtime 49
# (tools/wasmtime-oracle.py): each fixture runs in a fresh empty directory
# preopened as /sandbox; the file holds its stdout and a last line [exit N].
# Development only: the tests compare against the committed files.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${WASMTIME_PYTHON:-/work/venv/bin/python}"
only="${1:-}"
for wasm in test/fixtures/c/wasi/conformance/*.wasm; do
  name="$(basename "$wasm" .wasm)"
  [ -n "$only" ] && [ "$name" != "$only" ] && continue
  dir="$(mktemp -d)"
  set +e
  out="$("$python" tools/wasmtime-oracle.py "$wasm" --dir "$dir::/sandbox" </dev/null)"
  code=$?
  set -e
  rm -rf "$dir"
  printf '%s\n[exit %d]\n' "$out" "$code" > "${wasm%.wasm}.expected"
  echo "expected ${name}: exit ${code}"
done
