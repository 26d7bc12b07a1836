#!/usr/bin/env bash
# Python's jsonschema and PyYAML: tests/diagnostics.rs checks runbooks against
# schemas/runbook.schema.json with them, as an editor would. Idempotent.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if "$PYTHON" -c 'import jsonschema, yaml' 2>/dev/null; then
  exit 0
fi
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
fi
# Debian 12 marks the system Python as externally managed; the CI image is disposable.
"$PYTHON" -m pip install --quiet --break-system-packages jsonschema pyyaml 2>/dev/null \
  || "$PYTHON" -m pip install --quiet jsonschema pyyaml
