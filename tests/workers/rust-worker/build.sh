#!/bin/sh
# Placeholder for `worker-build --release`: crates.io is unreachable where changegate's tests run,
# so no Rust is compiled. Writes the already-built JS shim (same endpoints as tests/workers/ts-worker)
# where worker-build would put its output.
set -eu
cd "$(dirname "$0")"
mkdir -p build/worker
cp prebuilt/shim.mjs build/worker/shim.mjs
