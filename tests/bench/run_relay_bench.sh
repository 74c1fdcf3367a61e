#!/usr/bin/env bash
# run_relay_bench.sh - relay throughput of spamgate, side by side with the direct limit and Haraka.
#
# One run, interleaved (for every case and repetition: direct, haraka, spamgate), inside a private
# network namespace that has nothing but lo:
#
#   direct    smtp-source -> smtp-sink 127.0.0.1:2600
#   haraka    smtp-source -> Haraka 3.3.4 (smtp_forward) 127.0.0.1:2526 -> smtp-sink
#   spamgate  smtp-source -> spamgate 127.0.0.1:2530 (backend 127.0.0.1:2600) -> smtp-sink
#
# It drives the shared harness (run_comparison.sh + smtp_relay_bench.sh + haraka_setup.sh in
# $SPAMGATE_SHARED_BENCH), which starts the sink, Haraka and spamgate in the namespace, counts
# the messages at the sink and stops everything by PID. This script only writes spamgate's
# configuration, picks the cases, and summarizes (relay_summary.py).
#
# Usage:  tests/bench/run_relay_bench.sh [OUTDIR]      (default build/bench-results/<UTC time>)
# Needs root (unshare -n, smtp-sink -u nobody), postfix (smtp-source/smtp-sink), iproute2, python3,
# and for Haraka node >= 20 + npm (or an existing /opt/haraka-bench).
#
# Environment (defaults in brackets):
#   SPAMGATE_SHARED_BENCH [<repo>/../shared/bench]   where the shared harness lives
#   SPAMGATE_BIN          [build it: <repo>/build/bench, Release]  the spamgate binary to measure
#   CONCS ["1 20 100"]  SIZES [5000]  REPS [3]
#   COUNT_DIRECT [5000]  COUNT_SPAMGATE [5000]  COUNT_HARAKA [1000]   messages per run
#   HARAKA [1]           0 = without Haraka (also automatic if it cannot be installed)
#   HARAKA_FILTER [0]    1 = also Haraka with its filtering plugins
#   DUMP [1]             1 = also a correctness pass (sink keeps every message; count, unique
#                        Message-Ids, same body size): DUMP_CONCS [20] DUMP_COUNT [1000]
#   PASS_LATENCY [0]     1 = also the harness's latency-probe pass (p50/p90/p99 under load)
#   QUIET_MAX [40] QUIET_WAIT [10] QUIET_BUDGET [180]   wait for a quiet machine (see harness)
#   SPAMGATE_PORT [2530]
#   SPAMGATE_BENCH_EXTRA_TOML   TOML appended to spamgate's generated configuration
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/bench"
SHARED=${SPAMGATE_SHARED_BENCH:-$ROOT/../shared/bench}
[ -x "$SHARED/run_comparison.sh" ] && [ -x "$SHARED/smtp_relay_bench.sh" ] ||
  { echo "run_relay_bench: shared harness not found in $SHARED (set SPAMGATE_SHARED_BENCH)" >&2; exit 2; }
SHARED=$(cd "$SHARED" && pwd)

OUTDIR=${1:-$ROOT/build/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUTDIR"; OUTDIR=$(cd "$OUTDIR" && pwd)

export CONCS=${CONCS:-1 20 100} SIZES=${SIZES:-5000} REPS=${REPS:-3}
export COUNT_DIRECT=${COUNT_DIRECT:-5000} COUNT_HARAKA=${COUNT_HARAKA:-1000}
export COUNT_EXTRA=${COUNT_SPAMGATE:-5000}
export HARAKA=${HARAKA:-1} HARAKA_FILTER=${HARAKA_FILTER:-0}
export PASS_DUMP=${DUMP:-1} DUMP_CONCS=${DUMP_CONCS:-20} DUMP_SIZES=${DUMP_SIZES:-5000} DUMP_COUNT=${DUMP_COUNT:-1000}
export PASS_LATENCY=${PASS_LATENCY:-0} LAT_CONCS=${LAT_CONCS:-1 100} LAT_SIZES=${LAT_SIZES:-5000}
export QUIET_MAX=${QUIET_MAX:-40} QUIET_WAIT=${QUIET_WAIT:-10} QUIET_BUDGET=${QUIET_BUDGET:-180}
PORT=${SPAMGATE_PORT:-2530}
SINK_PORT=2600   # fixed by run_comparison.sh

for b in smtp-source smtp-sink ss python3; do
  command -v "$b" >/dev/null || { echo "run_relay_bench: $b not found (apt-get install postfix iproute2 python3)" >&2; exit 2; }
done

# ---- the binary: a Release build of this tree unless SPAMGATE_BIN is given
BIN_GIVEN=${SPAMGATE_BIN:-}
if [ -z "${SPAMGATE_BIN:-}" ]; then
  if [ ! -f "$ROOT/build/bench/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$ROOT/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  fi
  cmake --build "$ROOT/build/bench" --target spamgate >/dev/null
  SPAMGATE_BIN=$ROOT/build/bench/spamgate
fi
[ -x "$SPAMGATE_BIN" ] || { echo "run_relay_bench: $SPAMGATE_BIN is not executable" >&2; exit 2; }
SPAMGATE_BIN=$(cd "$(dirname "$SPAMGATE_BIN")" && pwd)/$(basename "$SPAMGATE_BIN")
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$SPAMGATE_BIN")/CMakeCache.txt" 2>/dev/null || true)

# ---- Haraka: install into /opt/haraka-bench if absent; without it if that fails
NOTES=()
if [ "$HARAKA" = 1 ]; then
  if ! "$SHARED/haraka_setup.sh" install >"$OUTDIR/haraka_install.log" 2>&1; then
    HARAKA=0
    NOTES+=("Haraka could not be installed (npm install failed, see haraka_install.log): this run has no Haraka figures")
  fi
fi
export HARAKA

# ---- network namespace: run_comparison.sh does 'unshare -n' itself; fall back to the host's loopback
if ! unshare -n true 2>/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "run_relay_bench: needs root (unshare -n, smtp-sink -u nobody)" >&2; exit 2; }
  for p in $SINK_PORT 2526 2527 "$PORT"; do
    ss -Hltn "sport = :$p" | grep -q . && { echo "run_relay_bench: port $p busy on the host loopback" >&2; exit 2; }
  done
  export IN_BENCH_NETNS=1   # tells run_comparison.sh not to unshare
  NOTES+=("unshare -n failed: this run used the HOST loopback, not a private network namespace (other traffic on lo may disturb it)")
  NETWORK="host loopback (unshare -n unavailable)"
else
  NETWORK="private network namespace (unshare -n, lo only)"
fi

# ---- spamgate's configuration and decision log live on tmpfs
WORK=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp)/spamgate-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/spamgate.toml" <<TOML
# generated by tests/bench/run_relay_bench.sh
[server]
hostname = "spamgate.bench.test"
listen = ["127.0.0.1:$PORT"]
listen_tls = []
workers = 0
max_connections = 10000
max_connections_per_ip = 10000
[server.timeouts]
shutdown = 2
[backend]
address = "127.0.0.1:$SINK_PORT"
forward_client = "none"
tls = "none"
[log]
decisions = "$WORK/decisions.jsonl"
[connection_limits]
enabled = false
TOML

# Checks that would refuse or stall the benchmark's load are turned off when this binary knows
# them (an unknown table stops spamgate at start-up, so each is probed first): [rate_limits]
# refuses a single client IP after 60 connections a minute, and [dnsbl]/[fcrdns] would query a
# resolver that the namespace cannot reach. SPAMGATE_BENCH_EXTRA_TOML is appended as it is.
accepts_toml() {   # $1 = a TOML snippet; true unless spamgate refuses it naming its table
  local table=${1#[}; table=${table%%]*}
  printf '[server]\nlisten = ["127.0.0.1:%s"]\nlisten_tls = []\n[backend]\naddress = "127.0.0.1:1"\n[log]\ndecisions = ""\n%b\n' \
    "$PORT" "$1" >"$WORK/probe.toml"
  local err
  if [ "$NETWORK" = "${NETWORK#host}" ]; then
    err=$(unshare -n timeout 2 "$SPAMGATE_BIN" serve -c "$WORK/probe.toml" 2>&1 >/dev/null)
  else
    err=$(timeout 2 "$SPAMGATE_BIN" serve -c "$WORK/probe.toml" 2>&1 >/dev/null)
  fi
  ! grep -q "$table" <<<"$err"
}
CHECKS_OFF=()
for section in '[rate_limits]\nenabled = false' '[dnsbl]\nenabled = false' '[fcrdns]\nenabled = false'; do
  if accepts_toml "$section"; then
    printf '%b\n' "$section" >>"$WORK/spamgate.toml"
    t=${section#[}; CHECKS_OFF+=("${t%%]*}")
  fi
done
[ -n "${SPAMGATE_BENCH_EXTRA_TOML:-}" ] && printf '%s\n' "$SPAMGATE_BENCH_EXTRA_TOML" >>"$WORK/spamgate.toml"
cp "$WORK/spamgate.toml" "$OUTDIR/spamgate.toml"

{
  echo "# run_relay_bench $(date -u +%FT%TZ)"
  echo "spamgate_bin=$SPAMGATE_BIN build_type=${BUILD_TYPE:-unknown} version=\"$("$SPAMGATE_BIN" --version 2>&1 | head -1)\""
  echo "repo_git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty-src')$( [ -n "$BIN_GIVEN" ] && echo ' (binary from SPAMGATE_BIN: not necessarily built from this tree)')"
  echo "shared_bench=$SHARED network=\"$NETWORK\""
  echo "checks_turned_off=\"${CHECKS_OFF[*]:-none (this binary has none of rate_limits, dnsbl, fcrdns)}\" extra_toml=\"${SPAMGATE_BENCH_EXTRA_TOML:-}\""
  for n in "${NOTES[@]}"; do echo "NOTE: $n"; done
} | tee "$OUTDIR/run_relay_bench.txt"

set +e
EXTRA_TARGET="spamgate=127.0.0.1:$PORT" EXTRA_START="$SPAMGATE_BIN serve -c $WORK/spamgate.toml" \
  "$SHARED/run_comparison.sh" "$OUTDIR"
rc=$?
set -e

# spamgate's own view: decisions by event/action, warnings and errors on stderr
if [ -f "$WORK/decisions.jsonl" ]; then
  python3 - "$WORK/decisions.jsonl" >"$OUTDIR/spamgate_decisions.txt" <<'PY'
import json, sys, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    d = json.loads(line)
    c[(d.get("event"), d.get("action"))] += 1
for (e, a), n in sorted(c.items(), key=lambda x: -x[1]):
    print(f"decisions event={e} action={a} count={n}")
PY
fi
grep -cE ': (warning|error): ' "$OUTDIR/extra_target.log" 2>/dev/null | sed 's/^/spamgate_stderr_warnings_errors=/' >>"$OUTDIR/spamgate_decisions.txt" || true

python3 "$HERE/relay_summary.py" "$OUTDIR" | tee "$OUTDIR/summary.md"
python3 "$SHARED/summarize.py" "$OUTDIR" >"$OUTDIR/summary_shared.md" 2>&1 || true
echo "results: $OUTDIR (summary.md, summary_shared.md, runs*.csv, bench*.log)"
exit "$rc"
