#!/usr/bin/env bash
# Image copy benchmark: drctl vs skopeo between two local docker-registry instances.
# Usage: benches/image_copy.sh [RUNS]   (default 5; needs .ci/deps/registry.sh installed)
# DRCTL_COPY overrides the command under test (default: `drctl image copy` from the release
# build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DRCTL_COPY:-}" ]; then
    cargo build --release >&2
    export DRCTL_COPY="$PWD/target/release/drctl image copy"
fi
exec python3 "$(dirname "$0")/image_copy.py" "${1:-5}"
