#!/usr/bin/env bash
# `spamgate review` speed: summary, summary --json, and summary with a filter over a generated
# 1M-line decision log (review_log.py, fixed seed); the median of 3 runs of each, in seconds
# and lines/s. See README.md.
#
#   tests/bench/run_review_bench.sh [LOG]
#
# Environment: SPAMGATE_BIN (default: a Release build in build/bench-review), LINES (default
# 1000000), RUNS (default 3).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
LOG=${1:-/var/tmp/spamgate-review-bench-$LINES.jsonl}
if [ -z "${SPAMGATE_BIN:-}" ]; then
  BUILD=$ROOT/build/bench-review
  [ -f "$BUILD/build.ninja" ] ||
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$BUILD" --target spamgate -j2 >/dev/null
  SPAMGATE_BIN=$BUILD/spamgate
fi
[ -s "$LOG" ] || { echo "writing $LOG ($LINES lines)"; python3 "$HERE/review_log.py" "$LOG" "$LINES"; }
echo "log: $LOG, $(wc -l <"$LOG") lines, $(du -m "$LOG" | cut -f1) MiB; machine: $(nproc) CPUs," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"

# median SECONDS of RUNS runs of the command (stdout discarded)
median() {
  for _ in $(seq "$RUNS"); do
    /usr/bin/env time -f "%e" -o /tmp/review-bench.$$ "$@" >/dev/null 2>&1 || true
    cat /tmp/review-bench.$$
  done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
  rm -f /tmp/review-bench.$$
}

printf '%-28s %9s %12s\n' case seconds lines/s
for case in summary json filter; do
  case $case in
    summary) args=() ;;
    json) args=(--json) ;;
    filter) args=(--action reject --ip 198.51.0.0/16 --since 2026-12-03) ;;
  esac
  s=$(median "$SPAMGATE_BIN" review "${args[@]}" "$LOG")
  printf '%-28s %9s %12.0f\n' "$case" "$s" "$(echo "$LINES / $s" | bc -l)"
done
