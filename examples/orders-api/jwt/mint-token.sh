#!/usr/bin/env bash
# Mints an RS256 token that the example gateway deployment accepts:
#   examples/orders-api/jwt/mint-token.sh [SECONDS_VALID]   (default: one hour)
# The signing key is an example key; a real deployment trusts its identity provider's keys.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
valid=${1:-3600}
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT","kid":"orders-test-1"}' | b64)
claims=$(printf '{"iss":"https://idp.orders.example","aud":"orders-api","sub":"%s","iat":%d,"exp":%d}' \
  "${USER:-operator}" "$now" "$((now + valid))" | b64)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$here/test-signing-key.pem" | b64)
printf '%s.%s.%s\n' "$header" "$claims" "$signature"
