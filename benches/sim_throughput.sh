#!/usr/bin/env bash
# Requests/s and latency percentiles of the OCI simulator on loopback, driven by drctl's
# production client (examples/sim_load.rs): authenticated GETs, then creates.
# Usage: benches/sim_throughput.sh [CONCURRENCY...]   (default: 1 8 32)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" cargo build --release --example sim_load
for c in "${@:-1 8 32}"; do
  for n in $c; do
    target/release/examples/sim_load "$n" "${REQUESTS:-4000}"
  done
done
