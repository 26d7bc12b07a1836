#!/usr/bin/env bash
# ninja-build: the peer the DAG benchmark (benches/dag.sh) compares drctl with. The tests do not
# need it; it is installed so the benchmark runs on a fresh machine. Idempotent.
set -euo pipefail
if command -v ninja >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ninja-build >/dev/null
fi
