#!/usr/bin/env bash
# `warden inspect` end to end on the 31 MB yosys module (needs hyperfine: apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
hyperfine -N --warmup 2 --runs 20 'node bin/warden.cjs inspect node_modules/@yowasp/yosys/gen/yosys.core.wasm'
