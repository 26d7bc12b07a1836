#!/usr/bin/env bash
# System packages for the registry tests and the image copy benchmark:
#   docker-registry  the reference Distribution registry (tests start two of them on loopback)
#   skopeo           the peer tool the benchmark compares against
#   time             GNU /usr/bin/time for peak RSS in the benchmark
#   openssl          makes the private CA and certificates of the custom-CA registry test
# Idempotent: installs only what is missing; runs apt-get update at most once.
set -euo pipefail

need=()
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
[ -x /usr/bin/time ] || need+=(time)
command -v openssl >/dev/null 2>&1 || need+=(openssl)

if [ "${#need[@]}" -eq 0 ]; then
    echo "registry deps: already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
# The Debian package starts a registry service on :5000 where an init system runs; the tests
# start their own registries on free ports and do not need it.
