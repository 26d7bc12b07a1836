#!/usr/bin/env bash
# Oracle's Python SDK and CLI, used by tests/sim/sdk_smoke.py (tests/sim_sdk.rs) to check
# that the simulator accepts Oracle's own clients. oci-cli 3.95.1 pins oci==2.189.0.
# Idempotent.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if "$PYTHON" -c 'import oci, oci_cli, requests, cryptography, sys; sys.exit(0 if oci.__version__ == "2.189.0" else 1)' 2>/dev/null \
  && command -v oci >/dev/null; then
  exit 0
fi
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
fi
# Debian 12 marks the system Python as externally managed; the CI image is disposable.
"$PYTHON" -m pip install --quiet --break-system-packages oci==2.189.0 oci-cli==3.95.1 2>/dev/null \
  || "$PYTHON" -m pip install --quiet oci==2.189.0 oci-cli==3.95.1
