#!/usr/bin/env bash
# Writes a self-signed certificate and key for trials and tests: make-test-cert.sh DIR [NAME]
set -euo pipefail
dir=${1:?usage: make-test-cert.sh DIR [NAME]}
name=${2:-localhost}
mkdir -p "$dir"
[ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$name" \
  -addext "subjectAltName=DNS:$name,IP:127.0.0.1" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
chmod 600 "$dir/key.pem"
