#!/usr/bin/env bash
# run_checks_bench.sh - what the connection-stage checks cost in relay throughput, with the DNS
# answers cached (issue 3, "Benchmark": checks on vs off, same run, goal: under 10 %).
#
# One run, interleaved, inside a private network namespace that has nothing but lo:
#
#   direct  smtp-source -> smtp-sink 127.0.0.1:2600                             (reference)
#   off     smtp-source -> spamgate 127.0.0.1:2531, every check off -> smtp-sink
#   on      smtp-source -> spamgate 127.0.0.1:2532, checks on        -> smtp-sink
#             [dns] asks an nsd that this script starts on 127.0.0.1:5353, serving:
#               dnsbl.test          (../shared/testdata/dnsbl/dnsbl.test.zone; 127.0.0.1 not listed)
#               dnsbl2.test         (a second DNSBL zone written here; 127.0.0.1 not listed)
#               127.in-addr.arpa    (PTR 127.0.0.1 -> client.bench.test)
#               bench.test          (client.bench.test A 127.0.0.1: FCrDNS confirms)
#             [dnsbl] both zones, [fcrdns], [helo], [lists] (allow + deny files that do not
#             match 127.0.0.1), [pregreet] (wait 0), [rate_limits] (limits far above the load),
#             [connection_limits] (per-IP limit far above the load)
#
# Every connection of "on" does 4 lookups (2 DNSBL A, PTR, forward A); each worker's resolver
# cache answers them after its first misses (and again after each TTL expiry: 60 s for
# dnsbl.test). The script checks that before measuring (a control connection from 127.0.0.2,
# which is listed and has no PTR, must get DNSBL_LISTED x2 + RDNS_NONE from "on" and nothing
# from "off"), counts nsd's queries (nsd-control stats), and summarizes both decision logs.
#
# For every session count and repetition the three targets run back to back: direct, off, on
# in odd repetitions, direct, on, off in even ones (so neither spamgate always runs first).
# Each step is one call of the shared harness's smtp_relay_bench.sh (REPS=1), which starts the
# sink, counts the messages at the sink, and measures CPU; rows go to runs.csv.
#
# Usage:  tests/bench/run_checks_bench.sh [OUTDIR]     (default build/bench-results/checks-<UTC time>)
# Needs root (unshare -n, smtp-sink -u nobody), postfix (smtp-source/smtp-sink), nsd (nsd,
# nsd-control), iproute2, python3.
#
# Environment (defaults in brackets):
#   SPAMGATE_SHARED_BENCH [<repo>/../shared/bench]   where smtp_relay_bench.sh lives
#   SPAMGATE_BIN          [build it: <repo>/build/bench, Release]  the spamgate binary to measure
#   CONCS ["20 100"]  SIZE [5000]  REPS [6]  COUNT [5000] messages per run, every target
#                     (an even REPS puts off and on equally often right after direct)
#   DUMP [1]          1 = also a correctness pass (sink keeps every message: count, distinct
#                     Message-Ids, same body size): DUMP_CONC [20] DUMP_COUNT [1000]
#   QUIET_MAX [40] QUIET_WAIT [10] QUIET_BUDGET [240]   wait for a quiet machine (see harness)
#   WORKERS [0]       spamgate [server] workers (0 = one per core), both instances
#   PORT_OFF [2531] PORT_ON [2532] DNS_PORT [5353]   (the sink is on 2600)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/bench"
SHARED=${SPAMGATE_SHARED_BENCH:-$ROOT/../shared/bench}
[ -x "$SHARED/smtp_relay_bench.sh" ] ||
  { echo "run_checks_bench: shared harness not found in $SHARED (set SPAMGATE_SHARED_BENCH)" >&2; exit 2; }
SHARED=$(cd "$SHARED" && pwd)
ZONE_DNSBL=${SPAMGATE_DNSBL_ZONE:-$ROOT/../shared/testdata/dnsbl/dnsbl.test.zone}

CONCS=${CONCS:-20 100} SIZE=${SIZE:-5000} REPS=${REPS:-6} COUNT=${COUNT:-5000}
DUMP=${DUMP:-1} DUMP_CONC=${DUMP_CONC:-20} DUMP_COUNT=${DUMP_COUNT:-1000}
QUIET_MAX=${QUIET_MAX:-40} QUIET_WAIT=${QUIET_WAIT:-10} QUIET_BUDGET=${QUIET_BUDGET:-240}
WORKERS=${WORKERS:-0}
PORT_OFF=${PORT_OFF:-2531} PORT_ON=${PORT_ON:-2532} DNS_PORT=${DNS_PORT:-5353}
SINK_PORT=2600
export CONCS SIZE REPS COUNT DUMP DUMP_CONC DUMP_COUNT QUIET_MAX QUIET_WAIT QUIET_BUDGET WORKERS
export PORT_OFF PORT_ON DNS_PORT SINK_PORT ROOT HERE SHARED ZONE_DNSBL

# ------------------------------------------------------------------ outside the namespace
if [ "${IN_CHECKS_NETNS:-}" != 1 ]; then
  OUTDIR=${1:-$ROOT/build/bench-results/checks-$(date -u +%Y%m%dT%H%M%SZ)}
  mkdir -p "$OUTDIR"; OUTDIR=$(cd "$OUTDIR" && pwd)
  for b in smtp-source smtp-sink ss ip python3 nsd nsd-control unshare; do
    command -v "$b" >/dev/null ||
      { echo "run_checks_bench: $b not found (apt-get install postfix nsd iproute2 util-linux python3)" >&2; exit 2; }
  done
  [ -r "$ZONE_DNSBL" ] || { echo "run_checks_bench: $ZONE_DNSBL not found (SPAMGATE_DNSBL_ZONE)" >&2; exit 2; }
  [ "$(id -u)" = 0 ] || { echo "run_checks_bench: needs root (unshare -n, smtp-sink -u nobody)" >&2; exit 2; }
  unshare -n true 2>/dev/null ||
    { echo "run_checks_bench: unshare -n failed; this benchmark only runs in a private network namespace" >&2; exit 2; }

  BIN_GIVEN=${SPAMGATE_BIN:-}
  if [ -z "${SPAMGATE_BIN:-}" ]; then
    if [ ! -f "$ROOT/build/bench/CMakeCache.txt" ]; then
      cmake -S "$ROOT" -B "$ROOT/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    fi
    cmake --build "$ROOT/build/bench" --target spamgate >/dev/null
    SPAMGATE_BIN=$ROOT/build/bench/spamgate
  fi
  [ -x "$SPAMGATE_BIN" ] || { echo "run_checks_bench: $SPAMGATE_BIN is not executable" >&2; exit 2; }
  SPAMGATE_BIN=$(cd "$(dirname "$SPAMGATE_BIN")" && pwd)/$(basename "$SPAMGATE_BIN")
  BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$SPAMGATE_BIN")/CMakeCache.txt" 2>/dev/null || true)
  {
    echo "# run_checks_bench $(date -u +%FT%TZ)"
    echo "spamgate_bin=$SPAMGATE_BIN build_type=${BUILD_TYPE:-unknown} version=\"$("$SPAMGATE_BIN" --version 2>&1 | head -1)\""
    echo "repo_git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty-src')$( [ -n "$BIN_GIVEN" ] && echo ' (binary from SPAMGATE_BIN: not necessarily built from this tree)')"
    echo "shared_bench=$SHARED network=\"private network namespace (unshare -n, lo only)\""
    echo "CONCS='$CONCS' SIZE=$SIZE REPS=$REPS COUNT=$COUNT DUMP=$DUMP workers=$WORKERS"
  } | tee "$OUTDIR/run_checks_bench.txt"
  WORK=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp)/spamgate-checks.XXXXXX")
  chmod 755 "$WORK"
  trap 'rm -rf "$WORK"' EXIT
  set +e
  IN_CHECKS_NETNS=1 OUTDIR=$OUTDIR WORK=$WORK SPAMGATE_BIN=$SPAMGATE_BIN unshare -n -- "$0"
  rc=$?
  set -e
  if [ -f "$OUTDIR/runs.csv" ]; then
    python3 "$HERE/checks_summary.py" "$OUTDIR" | tee "$OUTDIR/summary.md"
  fi
  echo "results: $OUTDIR (summary.md, runs*.csv, bench*.log, decisions_*.json, nsd_*.txt, *.toml)"
  exit "$rc"
fi

# ------------------------------------------------------------------ inside the namespace
ip link set lo up
PIDS=()          # stopped in reverse order on exit, by PID
NSD_PID='' OFF_PID='' ON_PID='' TL_PID=''
stop_pid() {     # TERM, up to 5 s, then KILL; the pid is ours (started here)
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -n "$TL_PID" ] && touch "$WORK/stop.timeline"
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

{
  echo "# machine $(date -u +%FT%TZ)"
  echo "nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')\" kernel=$(uname -r)"
  echo "mem_total_kb=$(awk '/MemTotal/{print $2}' /proc/meminfo) os=\"$(. /etc/os-release && echo "$PRETTY_NAME")\""
  echo "postfix=$(dpkg-query -W -f='${Version}' postfix 2>/dev/null) nsd=$(dpkg-query -W -f='${Version}' nsd 2>/dev/null)"
  echo "loadavg_at_start=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
} | tee "$OUTDIR/machine.txt"

# ---- nsd: four zones on 127.0.0.1:$DNS_PORT, statistics through a unix control socket
NSD_DIR=$WORK/nsd
mkdir -p "$NSD_DIR"
cp "$ZONE_DNSBL" "$NSD_DIR/dnsbl.test.zone"
cat >"$NSD_DIR/dnsbl2.test.zone" <<'ZONE'
; second DNSBL zone for tests/bench/run_checks_bench.sh (RFC 5782 test entries)
$ORIGIN dnsbl2.test.
$TTL 300
@          IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
@          IN NS  ns.bench.test.
2.0.0.127  IN A   127.0.0.2
2.0.0.127  IN TXT "Listed: RFC 5782 test entry"
; 127.0.0.1 is not listed (1.0.0.127 -> NXDOMAIN)
ZONE
cat >"$NSD_DIR/127.in-addr.arpa.zone" <<'ZONE'
; reverse zone for 127.0.0.0/8: the benchmark's client 127.0.0.1 has a confirmed PTR
$ORIGIN 127.in-addr.arpa.
$TTL 3600
@          IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 3600
@          IN NS  ns.bench.test.
1.0.0      IN PTR client.bench.test.
; 127.0.0.2 (the listed control client) has no PTR on purpose
ZONE
cat >"$NSD_DIR/bench.test.zone" <<'ZONE'
; forward zone: client.bench.test -> 127.0.0.1 confirms the PTR (FCrDNS passes)
$ORIGIN bench.test.
$TTL 3600
@          IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 3600
@          IN NS  ns
ns         IN A   127.0.0.1
client     IN A   127.0.0.1
ZONE
{
  cat <<CONF
server:
  zonesdir: "$NSD_DIR"
  ip-address: 127.0.0.1@$DNS_PORT
  do-ip4: yes
  do-ip6: no
  verbosity: 1
  server-count: 1
  hide-version: yes
  hide-identity: yes
  database: ""
  zonelistfile: "$NSD_DIR/zone.list"
  xfrdfile: "$NSD_DIR/xfrd.state"
  pidfile: "$NSD_DIR/nsd.pid"
  logfile: "$NSD_DIR/nsd.log"
  chroot: ""
  username: ""
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: yes
  control-interface: $NSD_DIR/nsd.ctl
CONF
  for z in dnsbl.test dnsbl2.test 127.in-addr.arpa bench.test; do
    printf 'zone:\n  name: "%s"\n  zonefile: "%s/%s.zone"\n' "$z" "$NSD_DIR" "$z"
  done
} >"$NSD_DIR/nsd.conf"
nsd-checkconf "$NSD_DIR/nsd.conf"
nsd -d -c "$NSD_DIR/nsd.conf" >"$NSD_DIR/nsd.out" 2>&1 &
NSD_PID=$!
PIDS+=("$NSD_PID")
nsd_stats() { nsd-control -c "$NSD_DIR/nsd.conf" stats_noreset 2>/dev/null | grep -E '^num\.(queries|udp|tcp|type\.(A|PTR)|rcode\.(NOERROR|NXDOMAIN|SERVFAIL|REFUSED))=' | tr '\n' ' '; }
for ((i = 0; i < 100; i++)); do
  nsd-control -c "$NSD_DIR/nsd.conf" status >/dev/null 2>&1 && grep -q 'nsd started' "$NSD_DIR/nsd.log" 2>/dev/null && break
  kill -0 "$NSD_PID" 2>/dev/null || break
  sleep 0.1
done
nsd-control -c "$NSD_DIR/nsd.conf" status >/dev/null 2>&1 ||
  { echo "run_checks_bench: nsd did not start" >&2; cat "$NSD_DIR/nsd.out" "$NSD_DIR/nsd.log" >&2; exit 1; }
grep -c 'read with success' "$NSD_DIR/nsd.log" | grep -qx 4 ||
  { echo "run_checks_bench: nsd did not load its 4 zones" >&2; cat "$NSD_DIR/nsd.log" >&2; exit 1; }

# ---- the two spamgate instances: identical but for the checks
printf '# allow list of the benchmark: does not match 127.0.0.1\n198.51.100.0/24\n2001:db8:1::/48\n' >"$WORK/allow.cidr"
printf '# deny list of the benchmark: does not match 127.0.0.1\n192.0.2.0/24\n203.0.113.0/24\n2001:db8:2::/48\n' >"$WORK/deny.cidr"
common_toml() {   # $1 = port, $2 = decision log
  cat <<TOML
[server]
hostname = "spamgate.bench.test"
listen = ["127.0.0.1:$1"]
listen_tls = []
workers = $WORKERS
max_connections = 10000
max_connections_per_ip = 10000    # all the load comes from 127.0.0.1
[server.timeouts]
shutdown = 2
[backend]
address = "127.0.0.1:$SINK_PORT"
forward_client = "none"
tls = "none"
[log]
decisions = "$2"
[dns]
nameservers = ["127.0.0.1:$DNS_PORT"]
timeout = 2
retries = 1
TOML
}
{
  echo "# generated by tests/bench/run_checks_bench.sh: checks OFF"
  common_toml "$PORT_OFF" "$WORK/decisions_off.jsonl"
  cat <<'TOML'
[connection_limits]
enabled = false
[lists]
enabled = false
[dnsbl]
enabled = false
[fcrdns]
enabled = false
[helo]
enabled = false
[pregreet]
enabled = false
[rate_limits]
enabled = false
TOML
} >"$WORK/spamgate_off.toml"
{
  echo "# generated by tests/bench/run_checks_bench.sh: checks ON (DNS from the nsd in the namespace)"
  common_toml "$PORT_ON" "$WORK/decisions_on.jsonl"
  cat <<TOML
[connection_limits]
enabled = true                    # max_connections_per_ip = 10000: counted, never refuses
[lists]
enabled = true
allow = ["$WORK/allow.cidr"]
deny = ["$WORK/deny.cidr"]
[dnsbl]
enabled = true
reject_weight = 10
reject_at = "rcpt"
[[dnsbl.zones]]
zone = "dnsbl.test"
weight = 10
codes = ["127.0.0.[2..11]"]
[[dnsbl.zones]]
zone = "dnsbl2.test"
weight = 5
[fcrdns]
enabled = true
[helo]
enabled = true
[pregreet]
enabled = true
wait = 0
[rate_limits]
enabled = true                    # far above the load: the buckets are taken, never empty
connections_per_minute = 1000000
messages_per_minute = 1000000
recipients_per_minute = 1000000
TOML
} >"$WORK/spamgate_on.toml"
cp "$WORK/spamgate_off.toml" "$WORK/spamgate_on.toml" "$OUTDIR/"
cp "$NSD_DIR"/*.zone "$NSD_DIR/nsd.conf" "$WORK/allow.cidr" "$WORK/deny.cidr" "$OUTDIR/" 2>/dev/null
start_spamgate() {   # $1 = off|on, $2 = port; echoes nothing, sets ${1^^}_PID
  "$SPAMGATE_BIN" serve -c "$WORK/spamgate_$1.toml" >"$OUTDIR/spamgate_$1.log" 2>&1 &
  local p=$! i
  PIDS+=("$p")
  for ((i = 0; i < 100; i++)); do
    ss -Hltn "sport = :$2" | grep -q . && break
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  ss -Hltn "sport = :$2" | grep -q . ||
    { echo "run_checks_bench: spamgate ($1) did not listen on :$2" >&2; tail "$OUTDIR/spamgate_$1.log" >&2; exit 1; }
  if [ "$1" = off ]; then OFF_PID=$p; else ON_PID=$p; fi
}
start_spamgate off "$PORT_OFF"
start_spamgate on "$PORT_ON"

# ---- control connections (EHLO + QUIT, no message): the checks must work before we measure
python3 - "$PORT_OFF" "$PORT_ON" >"$OUTDIR/preflight.txt" 2>&1 <<'PY' || { cat "$OUTDIR/preflight.txt" >&2; exit 1; }
import smtplib, sys
for port in sys.argv[1:]:
    for src in ("127.0.0.1", "127.0.0.2"):
        s = smtplib.SMTP("127.0.0.1", int(port), source_address=(src, 0), timeout=10)
        s.ehlo("client.bench.test")
        s.quit()
        print(f"control connection {src} -> :{port} ok")
PY
sleep 0.5
python3 - "$WORK" >>"$OUTDIR/preflight.txt" <<'PY' || { cat "$OUTDIR/preflight.txt" >&2; exit 1; }
import json, sys
work = sys.argv[1]
def symbols(which):
    out = {}
    for line in open(f"{work}/decisions_{which}.jsonl"):
        d = json.loads(line)
        out[d["client"]["ip"]] = sorted(f'{s["name"]}({s["detail"]})' for s in d["symbols"])
    return out
want = {
    ("off", "127.0.0.1"): lambda s: s == [],
    ("off", "127.0.0.2"): lambda s: s == [],
    ("on", "127.0.0.1"): lambda s: s == [],
    ("on", "127.0.0.2"): lambda s: sum(x.startswith("DNSBL_LISTED(zone=dnsbl.test ") for x in s) == 1
        and sum(x.startswith("DNSBL_LISTED(zone=dnsbl2.test ") for x in s) == 1
        and sum(x.startswith("RDNS_NONE(") for x in s) == 1 and len(s) == 3,
}
ok = True
for which in ("off", "on"):
    got = symbols(which)
    for ip in ("127.0.0.1", "127.0.0.2"):
        s = got.get(ip)
        good = s is not None and want[(which, ip)](s)
        ok &= good
        print(f"preflight {which} client={ip} symbols={s} {'as expected' if good else 'UNEXPECTED'}")
sys.exit(0 if ok else 1)
PY
cat "$OUTDIR/preflight.txt"
# the control connections are not part of the measurement
for w in off on; do cp "$WORK/decisions_$w.jsonl" "$OUTDIR/preflight_decisions_$w.jsonl"; : >"$WORK/decisions_$w.jsonl"; done
echo "after_preflight $(nsd_stats)" >"$OUTDIR/nsd_stats.txt"

# nsd's query counter every 5 s while the load runs (bounded, stopped by a file and by PID)
( end=$((SECONDS + 1800)); t0=$SECONDS
  while [ ! -e "$WORK/stop.timeline" ] && [ $SECONDS -lt $end ]; do
    echo "t=$((SECONDS - t0))s $(nsd-control -c "$NSD_DIR/nsd.conf" stats_noreset 2>/dev/null | grep -E '^num\.queries=')"
    sleep 5
  done ) >"$OUTDIR/nsd_timeline.txt" 2>&1 &
TL_PID=$!
PIDS+=("$TL_PID")

# ---- the measurement: one harness call per (sessions, repetition), order alternating
HARNESS_ENV=(QUIET_MAX="$QUIET_MAX" QUIET_WAIT="$QUIET_WAIT" CASE_TIMEOUT=300 SETTLE_TIMEOUT=15)
T_DIRECT="direct=127.0.0.1:$SINK_PORT/$COUNT"
T_OFF="off=127.0.0.1:$PORT_OFF@$OFF_PID/$COUNT"
T_ON="on=127.0.0.1:$PORT_ON@$ON_PID/$COUNT"
budget=$QUIET_BUDGET rc=0
: >"$OUTDIR/bench.log"
echo "label,conc,size,rep,msgs,secs,msgs_per_s,status,sink_delta,src_rc,lat_mean_ms_littles,cpu_target_pct,cpu_target_ms_per_msg,cpu_source_pct,cpu_sink_pct,cpu_all_pct,cpu_other_pct,bg_before_pct,rss_target_max_mb,probe,verify,order,cpu_nsd_ticks" >"$OUTDIR/runs.csv"
CLK=$(getconf CLK_TCK)
nsd_ticks() { local s=0 p f; for p in $NSD_PID $(pgrep -P "$NSD_PID"); do f=$(cat "/proc/$p/stat" 2>/dev/null) || continue; f=${f##*) }; set -- $f; s=$((s + ${12} + ${13})); done; echo $s; }
for conc in $CONCS; do
  for ((rep = 1; rep <= REPS; rep++)); do
    if ((rep % 2)); then order="direct,off,on" targets="$T_DIRECT,$T_OFF,$T_ON"
    else order="direct,on,off" targets="$T_DIRECT,$T_ON,$T_OFF"; fi
    rm -f "$WORK/step.csv"
    n0=$(nsd_ticks)
    set +e
    env "${HARNESS_ENV[@]}" QUIET_BUDGET="$budget" REPS=1 OUTCSV="$WORK/step.csv" \
      "$SHARED/smtp_relay_bench.sh" "$targets" "$SINK_PORT" "$conc" "$SIZE" "$COUNT" >"$WORK/step.log" 2>&1
    src=$?
    set -e
    n1=$(nsd_ticks)
    [ "$src" -eq 0 ] || rc=1
    sed "s/:r1 /:r$rep /" "$WORK/step.log" | tee -a "$OUTDIR/bench.log" | grep -E '^(case|#)' || true
    # rep numbers and the order of this step; nsd's CPU over the whole step
    tail -n +2 "$WORK/step.csv" | awk -F, -v OFS=, -v r="$rep" -v o="$order" -v n=$((n1 - n0)) \
      '{ $4 = r; print $0 ",\"" o "\"," n }' >>"$OUTDIR/runs.csv"
    w=$(sed -n 's/^# waited \([0-9]*\)s in total.*/\1/p' "$WORK/step.log"); budget=$((budget - ${w:-0}))
    [ "$budget" -lt 0 ] && budget=0
  done
done
echo "after_main $(nsd_stats)" >>"$OUTDIR/nsd_stats.txt"
echo "quiet_budget_left=${budget}s of ${QUIET_BUDGET}s clk_tck=$CLK" >>"$OUTDIR/machine.txt"

if [ "$DUMP" = 1 ]; then
  echo "=== correctness pass (dump)" | tee "$OUTDIR/bench_dump.log"
  echo "label,conc,size,rep,msgs,secs,msgs_per_s,status,sink_delta,src_rc,lat_mean_ms_littles,cpu_target_pct,cpu_target_ms_per_msg,cpu_source_pct,cpu_sink_pct,cpu_all_pct,cpu_other_pct,bg_before_pct,rss_target_max_mb,probe,verify" >"$OUTDIR/runs_dump.csv"
  set +e
  env "${HARNESS_ENV[@]}" QUIET_MAX=0 REPS=1 VERIFY=dump OUTCSV="$OUTDIR/runs_dump.csv" \
    "$SHARED/smtp_relay_bench.sh" "${T_DIRECT%/*}/$DUMP_COUNT,${T_OFF%/*}/$DUMP_COUNT,${T_ON%/*}/$DUMP_COUNT" \
    "$SINK_PORT" "$DUMP_CONC" "$SIZE" "$DUMP_COUNT" | tee -a "$OUTDIR/bench_dump.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  set -e
  echo "after_dump $(nsd_stats)" >>"$OUTDIR/nsd_stats.txt"
fi
touch "$WORK/stop.timeline"
echo "loadavg_at_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >>"$OUTDIR/machine.txt"

# ---- stop spamgate (SIGTERM: decision logs flushed), then read the logs
stop_pid "$ON_PID"; stop_pid "$OFF_PID"
for w in off on; do
  python3 "$HERE/checks_summary.py" --decisions "$WORK/decisions_$w.jsonl" >"$OUTDIR/decisions_$w.json"
  grep -cE ': (warning|error): ' "$OUTDIR/spamgate_$w.log" | sed "s/^/spamgate_${w}_stderr_warnings_errors=/" >>"$OUTDIR/machine.txt" || true
done
stop_pid "$NSD_PID"
cp "$NSD_DIR/nsd.log" "$OUTDIR/nsd.log" 2>/dev/null || true
exit "$rc"
