#!/usr/bin/env bash
# Prints a new webhook signing key on one line: RSA 2048, PKCS#8, DER, base64 — the form Webhooks:SigningKeys:N:PrivateKey
# takes. (genpkey alone writes PKCS#1 when asked for DER on OpenSSL 3.0, which the service refuses; pkcs8 -topk8 makes it PKCS#8.)
set -euo pipefail
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -outform DER | base64 -w0
echo
