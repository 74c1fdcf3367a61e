#!/usr/bin/env python3
"""relay_summary.py OUTDIR - the tables of tests/bench/README.md from a run_relay_bench.sh run.

Reads OUTDIR/runs.csv (and runs_dump.csv, runs_latency.csv, run_relay_bench.txt,
spamgate_decisions.txt when present). Failed runs are never in the medians; they are counted.
"""
import csv
import os
import statistics
import sys

TARGETS = ["direct", "haraka", "haraka_filter", "spamgate"]


def load(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def f(x, nd=0):
    return "-" if x is None else f"{x:.{nd}f}"


def main():
    out = sys.argv[1]
    rows = load(os.path.join(out, "runs.csv"))
    if not rows:
        sys.exit(f"no runs.csv in {out}")
    for name in ("run_relay_bench.txt", "machine.txt", "spamgate_decisions.txt"):
        p = os.path.join(out, name)
        if os.path.exists(p):
            print(f"```\n# {name}\n{open(p).read().rstrip()}\n```\n")
    labels = [t for t in TARGETS if any(r["label"] == t for r in rows)]
    labels += sorted({r["label"] for r in rows} - set(labels))
    cases = sorted({(int(r["size"]), int(r["conc"])) for r in rows})
    by = {}
    for r in rows:
        by.setdefault((r["label"], int(r["size"]), int(r["conc"])), []).append(r)

    def ok_rows(label, size, conc):
        return [r for r in by.get((label, size, conc), []) if r["status"] == "OK"]

    print("### Throughput, msgs/s: median [min-max] of the OK runs, n = OK/all\n")
    others = [l for l in labels if l != "direct"]
    print("| size | sessions | " + " | ".join(labels) + " | " + " | ".join(f"{l}/direct" for l in others) + " |")
    print("|---" * (2 + len(labels) + len(others)) + "|")
    meds = {}
    for size, conc in cases:
        cells = []
        for l in labels:
            allr = by.get((l, size, conc), [])
            v = [num(r["msgs_per_s"]) for r in ok_rows(l, size, conc)]
            if v:
                meds[(l, size, conc)] = statistics.median(v)
                cells.append(f"**{statistics.median(v):.0f}** [{min(v):.0f}-{max(v):.0f}] n={len(v)}/{len(allr)}")
            else:
                cells.append(f"FAIL n=0/{len(allr)}" if allr else "-")
        ratios = []
        for l in others:
            a, b = meds.get((l, size, conc)), meds.get(("direct", size, conc))
            ratios.append(f"{a / b:.3f}" if a and b else "-")
        print(f"| {size // 1000} KB | {conc} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")

    print("\n### Per message: latency (Little's law, sessions / throughput) and CPU, medians of the OK runs\n")
    print("CPU = utime+stime of the target process (all threads; Haraka: master + workers) over the run; "
          "ms of CPU per message = CPU seconds per 1000 messages. Machine CPU in % of one core (2 cores = 200 %).\n")
    print("| size | sessions | target | msgs/s | mean latency ms | CPU s / 1000 msgs | target CPU % | "
          "source CPU % | sink CPU % | machine CPU % | bg before % | target RSS max MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, conc in cases:
        for l in labels:
            ok = ok_rows(l, size, conc)
            if not ok:
                continue
            col = lambda c: med([num(r[c]) for r in ok])  # noqa: E731
            rss = [num(r["rss_target_max_mb"]) for r in ok]
            rss = [x for x in rss if x is not None]
            print(f"| {size // 1000} KB | {conc} | {l} | {f(col('msgs_per_s'))} | {f(col('lat_mean_ms_littles'), 2)} | "
                  f"{f(col('cpu_target_ms_per_msg'), 2)} | {f(col('cpu_target_pct'))} | {f(col('cpu_source_pct'))} | "
                  f"{f(col('cpu_sink_pct'))} | {f(col('cpu_all_pct'))} | {f(col('bg_before_pct'))} | "
                  f"{f(max(rss), 1) if rss else '-'} |")

    print("\n### Messages lost (sink counter: every run must deliver exactly the messages sent)\n")
    print("| target | runs | failed runs | messages sent | messages counted at the sink |")
    print("|---|---|---|---|---|")
    for l in labels:
        rs = [r for r in rows if r["label"] == l]
        sent = sum(int(r["msgs"]) for r in rs)
        got = sum(int(r["sink_delta"]) for r in rs)
        print(f"| {l} | {len(rs)} | {sum(r['status'] != 'OK' for r in rs)} | {sent} | {got} |")
    for r in rows:
        if r["status"] != "OK":
            print(f"\nFAIL {r['label']} s={r['conc']} size={r['size']} rep={r['rep']} msgs={r['msgs']} "
                  f"sink_delta={r['sink_delta']} src_rc={r['src_rc']}")

    dump = load(os.path.join(out, "runs_dump.csv"))
    if dump:
        print("\n### Correctness pass (sink keeps every message: count, distinct Message-Ids, body sizes)\n")
        print("| size | sessions | target | sent | at the sink | check | status |")
        print("|---|---|---|---|---|---|---|")
        for r in dump:
            print(f"| {int(r['size']) // 1000} KB | {r['conc']} | {r['label']} | {r['msgs']} | {r['sink_delta']} | "
                  f"{r.get('verify', '')} | {r['status']} |")

    lat = load(os.path.join(out, "runs_latency.csv"))
    if lat:
        print("\n### Latency under load (probe: one paced extra session, connect() to the 250 after '.')\n")
        print("| size | sessions | target | load msgs/s | probe msgs | p50 ms | p90 ms | p99 ms | max ms | status |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in lat:
            p = dict(kv.split("=", 1) for kv in r["probe"].split() if "=" in kv)
            print(f"| {int(r['size']) // 1000} KB | {r['conc']} | {r['label']} | {r['msgs_per_s']} | "
                  f"{p.get('probe_ok', '-')} | {p.get('lat_p50_ms', '-')} | {p.get('lat_p90_ms', '-')} | "
                  f"{p.get('lat_p99_ms', '-')} | {p.get('lat_max_ms', '-')} | {r['status']} |")

    # goals (context, from the project brief)
    print("\n### Goals\n")
    s100 = [(size, c) for size, c in cases if c == 100]
    for size, c in s100:
        a, b = meds.get(("spamgate", size, c)), meds.get(("direct", size, c))
        if a and b:
            print(f"- {size // 1000} KB, 100 sessions: spamgate/direct = {a / b:.3f} (goal >= 0.55): "
                  f"{'met' if a / b >= 0.55 else 'NOT met'}")
    for size, c in [(s, c) for s, c in cases if c == 1]:
        ok = ok_rows("spamgate", size, c)
        lm = med([num(r["lat_mean_ms_littles"]) for r in ok])
        if lm is not None:
            print(f"- {size // 1000} KB, 1 session: spamgate mean latency {lm:.2f} ms (goal < 2 ms): "
                  f"{'met' if lm < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
