#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of spamgate from Debian 12 packages.
# Non-interactive and idempotent: packages already present are left alone.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  # libraries
  libevent-dev libssl-dev libtomlplusplus-dev libcli11-dev
  libldns-dev libspf2-dev libopendkim-dev libpcre2-dev
  libpsl-dev publicsuffix  # DMARC organizational domains from Debian's Public Suffix List
  libgmime-3.0-dev  # MIME parsing for content rules: decoding, charsets, RFC 2047
  libsimdjson-dev zlib1g-dev  # spamgate review: fast decision-log parsing; gzip-rotated logs
  liblmdb-dev  # the embedded state store (greylist, reputation, rates) survives restarts
  libhiredis-dev  # the Redis state store shared by several gateways (async, libevent adapter)
  # tests
  googletest libgtest-dev libgmock-dev python3 swaks libnet-ssleay-perl openssl procps iproute2
  nsd  # a real nameserver on loopback for the resolver tests (they start their own)
  redis-server lmdb-utils  # store tests start their own redis-server; mdb_dump for operators
  time util-linux
  opendkim-tools libyaml-cpp-dev  # DKIM signing in end-to-end tests; the SPF suite's YAML
  chromium  # renders spamgate review's HTML page headless in its integration test (offline)
  spamassassin  # its stock rules (loaded by the rules tests) and the reference scorer of the bench
  # Postfix only for smtp-sink and smtp-source (see below)
  postfix
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration" leaves no main.cf and starts no master daemon: we only want the tools.
  echo "postfix postfix/main_mailer_type select No configuration" | "${sudo_cmd[@]}" debconf-set-selections
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Never leave a Postfix or nsd daemon running: spamgate's tests start their own smtp-sink and
# nsd on free loopback ports.
if pgrep -x master >/dev/null 2>&1; then
  postfix stop >/dev/null 2>&1 || pkill -x master || true
fi
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now nsd.service >/dev/null 2>&1 || true
fi
pgrep -x nsd >/dev/null 2>&1 && pkill -x nsd || true
# Nor a system Redis: the store tests start their own redis-server on a free port.
command -v systemctl >/dev/null 2>&1 && systemctl disable --now redis-server.service >/dev/null 2>&1 || true
command -v service >/dev/null 2>&1 && service redis-server stop >/dev/null 2>&1 || true
command -v smtp-sink >/dev/null || test -x /usr/sbin/smtp-sink
echo "install-deps: all ${#packages[@]} packages present"
