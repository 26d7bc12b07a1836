#!/usr/bin/env bash
# Image copy benchmark: drctl vs skopeo between two local docker-registry instances.
# Usage: benches/image_copy.sh [RUNS]   (default 5; needs .ci/deps/registry.sh installed)
# DRCTL_COPY overrides the command under test (default: the release build of the
# image_copy example, the same code `drctl image copy` runs).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DRCTL_COPY:-}" ]; then
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" cargo build --release --example image_copy >&2
    export DRCTL_COPY="$PWD/target/release/examples/image_copy"
fi
exec python3 "$(dirname "$0")/image_copy.py" "${1:-5}"
