#!/usr/bin/env bash
# Quickstart on a fresh Debian 12 machine: installs the dependencies, builds spamgate and runs it
# in the foreground on config/spamgate.toml (127.0.0.1:2525, STARTTLS with a self-signed
# certificate, accepted mail into var/maildir, decisions in var/decisions.jsonl). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --target spamgate
bash contrib/make-test-cert.sh var/tls "$(hostname)"
echo "spamgate: listening on 127.0.0.1:2525 (SMTP, STARTTLS) and 127.0.0.1:2465 (TLS)"
exec build/dev/spamgate serve -c config/spamgate.toml
