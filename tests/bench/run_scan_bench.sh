#!/usr/bin/env bash
# Content scanning throughput and verdicts: `spamgate scan` with (a) the shipped rules and (b)
# SpamAssassin's stock rules plus the shipped ones, against SpamAssassin 4 (local tests only, no
# Bayes), over the development parts of the SpamAssassin public corpus. See README.md.
#
#   tests/bench/run_scan_bench.sh [RESULT_DIR]
#
# Environment: SPAMGATE_BIN (default: a Release build in build/bench-scan), REPS (spamgate
# repetitions, default 5), SA_REPS (SpamAssassin passes over all messages, default 1),
# SA_CORPUS (cache of the npm package and the .eml files, default /var/tmp/spamgate-sa-corpus),
# PER_RULE (messages for the per-rule timing, default 200; 0 skips it), PER_PART (at most so
# many messages of each part, for a quick trial; default all), NO_UNSHARE=1 to run
# without a private network namespace.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/build/bench-results/scan-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)  # absolute: the driver is linked from the build dir
REPS=${REPS:-5}
SA_REPS=${SA_REPS:-1}
PER_RULE=${PER_RULE:-200}
CORPUS=${SA_CORPUS:-/var/tmp/spamgate-sa-corpus}
STOCK=/usr/share/spamassassin
BUILD=$ROOT/build/bench-scan
mkdir -p "$OUT"

prepare() {
  need() { command -v "$1" >/dev/null || { echo "missing: $1 ($2)"; exit 1; }; }
  need spamassassin "apt-get install spamassassin (contrib/install-deps.sh)"
  # SpamAssassin at its fastest compiles its body rules (Rule2XSBody): sa-compile is not in
  # install-deps because compiling them takes minutes at install time.
  need sa-compile "apt-get install sa-compile (SpamAssassin's compiled body rules, for a fair comparison)"
  need npm "Debian package npm"
  need /usr/bin/time "Debian package time"
  [ -d "$STOCK" ] || { echo "missing $STOCK"; exit 1; }
  echo "== corpus"
  python3 "$HERE/sa_corpus.py" "$CORPUS"
  : >"$OUT/files.txt"
  for part in easy-ham-1 hard-ham-1 spam-1; do
    find "$CORPUS/eml/$part" -name '*.eml' | sort | sed -n "1,${PER_PART:-1000000}p" >>"$OUT/files.txt"
  done
  echo "$(wc -l <"$OUT/files.txt") messages, $(cat $(cat "$OUT/files.txt") | wc -c) bytes"
  echo "== build"
  if [ -z "${SPAMGATE_BIN:-}" ]; then
    [ -f "$BUILD/build.ninja" ] ||
      cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$BUILD" --target spamgate -j2 >/dev/null
    SPAMGATE_BIN=$BUILD/spamgate
  fi
  local bin_dir libs
  bin_dir=$(dirname "$SPAMGATE_BIN")
  # The driver links what the spamgate binary links, taken from its ninja link line.
  c++ -std=c++20 -O2 -g -DNDEBUG -DPCRE2_CODE_UNIT_WIDTH=8 -Wall -Wextra -Wconversion -Werror \
    -I "$ROOT/src" $(pkg-config --cflags gmime-3.0 libpcre2-8) -c "$HERE/scan_bench.cpp" \
    -o "$OUT/scan_bench.o"
  libs=$(ninja -C "$bin_dir" -t commands spamgate | tail -1 | sed -e 's/.* -o spamgate //' -e 's/&&.*//')
  (cd "$bin_dir" && c++ "$OUT/scan_bench.o" -o "$OUT/scan_bench" $libs)
  echo "spamgate: $SPAMGATE_BIN ($(git -C "$ROOT" rev-parse --short HEAD)," \
    "$(git -C "$ROOT" status --short | wc -l) files changed in the tree)"
  spamassassin -V | head -1
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

if [ -z "${SCAN_BENCH_INNER:-}" ]; then
  prepare 2>&1 | tee "$OUT/run_scan_bench.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  export SPAMGATE_BIN=${SPAMGATE_BIN:-$BUILD/spamgate} SCAN_BENCH_INNER=1
  if [ -z "${NO_UNSHARE:-}" ] && unshare -n true 2>/dev/null; then
    # No network at all: neither side can make a DNS query or a network test.
    echo "measuring in a private network namespace (unshare -n)" | tee -a "$OUT/run_scan_bench.txt"
    exec unshare -n "$0" "$OUT"
  fi
  echo "measuring WITH network access (no unshare -n)" | tee -a "$OUT/run_scan_bench.txt"
  exec "$0" "$OUT"
fi
exec > >(tee -a "$OUT/run_scan_bench.txt") 2>&1

cat >"$OUT/shipped.toml" <<EOF
[rules]
paths = ["$ROOT/rules"]
EOF
cat >"$OUT/stock.toml" <<EOF
[rules]
paths = ["$STOCK", "$ROOT/rules"]
skip_bad_regex = true
EOF
echo "== lint"
for c in shipped stock; do
  "$SPAMGATE_BIN" lint -c "$OUT/$c.toml" >"$OUT/lint_$c.txt" 2>&1 || echo "lint $c: errors (see lint_$c.txt)"
  grep -v '(warning)' "$OUT/lint_$c.txt" | sed "s/^/  $c: /"
done

busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
# measure NAME CMD...: /usr/bin/time's user, sys, wall, max RSS; the machine's busy CPU % meanwhile.
measure() {
  local name=$1
  shift
  local b0 b1
  b0=$(busy)
  /usr/bin/time -f "%U %S %e %M" -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  b1=$(busy)
  echo "$b0 $b1" | awk '{printf " %.0f\n", 100 * 2 * ($3 - $1) / ($4 - $2)}' >>"$OUT/$name.time"
  tr '\n' ' ' <"$OUT/$name.time" | sed "s/^/$name: user sys wall rss_kb busy% = /"
  echo
}

echo "== load only (one empty message), for subtraction"
printf 'Subject: x\n\nx\n' >"$OUT/empty.eml"
for c in shipped stock; do
  for r in 1 2 3; do measure "load_${c}_$r" "$SPAMGATE_BIN" scan -c "$OUT/$c.toml" "$OUT/empty.eml"; done
done

echo "== spamgate scan, interleaved, REPS=$REPS"
mapfile -t files <"$OUT/files.txt"
for r in $(seq 1 "$REPS"); do
  for c in shipped stock; do
    measure "scan_${c}_$r" "$SPAMGATE_BIN" scan -c "$OUT/$c.toml" --json "${files[@]}"
  done
done

echo "== driver: parse vs rules split (score set 1 as spamgate scan; set 0 as SpamAssassin -L)"
for c in shipped stock; do
  measure "split_$c" "$OUT/scan_bench" -c "$OUT/$c.toml" --reps 3 -- "${files[@]}"
done
measure split_stock_set0 "$OUT/scan_bench" -c "$OUT/stock.toml" --score-set 0 -- "${files[@]}"
if [ "$PER_RULE" -gt 0 ]; then
  # An even sample: every k-th message of the list.
  awk -v n="$(wc -l <"$OUT/files.txt")" -v m="$PER_RULE" 'NR % int(n / m) == 0' "$OUT/files.txt" |
    head -n "$PER_RULE" >"$OUT/per_rule_files.txt"
  measure per_rule "$OUT/scan_bench" -c "$OUT/stock.toml" --per-rule "$PER_RULE" -- \
    $(cat "$OUT/per_rule_files.txt")
fi

echo "== SpamAssassin (Mail::SpamAssassin API, local tests only), SA_REPS=$SA_REPS"
mkdir -p "$OUT/sa-state"
measure sa perl "$HERE/sa_check.pl" --reps "$SA_REPS" "$OUT/sa-state" "@$OUT/files.txt"
echo "== spamassassin -L command, 10 messages (one perl start each)"
head -n 10 "$OUT/per_rule_files.txt" 2>/dev/null >"$OUT/cli_files.txt" || head -n 10 "$OUT/files.txt" >"$OUT/cli_files.txt"
cli() {
  while read -r f; do
    spamassassin -L --cf='use_bayes 0' --cf='bayes_auto_learn 0' --cf='use_auto_whitelist 0' \
      --cf='dns_available no' -e <"$f" >/dev/null || true
  done <"$OUT/cli_files.txt"
}
export -f cli
export OUT
measure sa_cli bash -c cli

python3 "$HERE/scan_summary.py" "$OUT" | tee "$OUT/summary.md"
