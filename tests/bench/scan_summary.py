#!/usr/bin/env python3
"""The tables of run_scan_bench.sh, in Markdown, from its result folder.

usage: scan_summary.py RESULT_DIR
"""
import glob
import json
import os
import statistics
import sys

PARTS = ("easy-ham-1", "hard-ham-1", "spam-1")


def part_of(path):
    return next(p for p in PARTS if f"/{p}/" in path)


def read_time(path):
    with open(path) as f:
        lines = f.read().split()
    user, sys_, wall, rss = (float(x) for x in lines[-5:-1])
    # busy: the whole machine's busy CPU % (of 100 x CPUs) during the run, this process included;
    # other: the rest, i.e. what the other jobs on the machine used meanwhile.
    busy = float(lines[-1])
    own = 100 * (user + sys_) / wall if wall > 0 else 0
    return {"cpu": user + sys_, "user": user, "sys": sys_, "wall": wall, "rss_mb": rss / 1024,
            "busy": busy, "other": max(0.0, busy - own)}


def runs(out, prefix):
    return [read_time(p) for p in sorted(glob.glob(os.path.join(out, prefix + "*.time")))]


def med(values):
    return statistics.median(values) if values else float("nan")


def tsv(path):
    rows, meta = [], []
    with open(path, errors="replace") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            (meta if line.startswith("#") else rows).append(fields)
    return rows, meta


def scores_json(path):
    with open(path) as f:
        return {d["file"]: d["score"] for d in map(json.loads, f)}


def scores_tsv(path, column):
    rows, _ = tsv(path)
    return {r[0]: float(r[column]) for r in rows}


def throughput(out, files, nbytes):
    n = len(files)
    print("## Throughput (all messages, one process, single-threaded: per CPU second = per core)\n")
    print(f"{n} messages, {nbytes / 1e6:.1f} MB. CPU = user + sys of the whole process "
          "(/usr/bin/time), median over repetitions; 'net' subtracts the median CPU of the "
          "same command on one tiny message (start-up and rules load).\n")
    print("| target | runs | CPU s median [min-max] | msgs / CPU s | net msgs / CPU s | MB / CPU s "
          "| ms CPU / msg | wall s | RSS MB | other jobs' CPU % meanwhile |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, label in (("shipped", "spamgate scan, shipped rules"),
                        ("stock", "spamgate scan, stock + shipped rules")):
        r = runs(out, f"scan_{name}_")
        load = med([x["cpu"] for x in runs(out, f"load_{name}_")])
        cpu = med([x["cpu"] for x in r])
        print(f"| {label} | {len(r)} | {cpu:.2f} [{min(x['cpu'] for x in r):.2f}-"
              f"{max(x['cpu'] for x in r):.2f}] | **{n / cpu:.0f}** | {n / (cpu - load):.0f} | "
              f"{nbytes / 1e6 / cpu:.2f} | {1000 * cpu / n:.2f} | "
              f"{med([x['wall'] for x in r]):.2f} | {max(x['rss_mb'] for x in r):.0f} | "
              f"{med([x['other'] for x in r]):.0f} |")
    sa_main = read_time(os.path.join(out, "sa.time"))
    _, meta = tsv(os.path.join(out, "sa.out"))
    load = float(next(m[1] for m in meta if m[0] == "#load_s"))
    reps = [float(m[3]) for m in meta if m[0] == "#rep"]
    cpu = sa_main["cpu"]
    print(f"| SpamAssassin 4 API (as spamd), local tests, no Bayes | {len(reps)} | {cpu:.2f} | "
          f"**{n * len(reps) / cpu:.1f}** | {n / med(reps):.1f} | "
          f"{nbytes / 1e6 * len(reps) / cpu:.3f} | {1000 * med(reps) / n:.1f} | "
          f"{sa_main['wall']:.1f} | {sa_main['rss_mb']:.0f} | {sa_main['other']:.0f} |")
    cli_path = os.path.join(out, "sa_cli.time")
    if os.path.exists(cli_path):
        cli = read_time(cli_path)
        with open(os.path.join(out, "cli_files.txt")) as f:
            k = len(f.read().split())
        print(f"| `spamassassin -L` command, one process per message ({k} messages) | 1 | "
              f"{cli['cpu']:.2f} | {k / cli['cpu']:.2f} | - | - | {1000 * cli['cpu'] / k:.0f} | "
              f"{cli['wall']:.1f} | {cli['rss_mb']:.0f} | {cli['other']:.0f} |")
    print(f"\nSpamAssassin's rules load: {load:.2f} s CPU (its 'net' figure excludes it).\n")


def split(out, files):
    print("## spamgate: parse vs rules (driver scan_bench, CPU of the thread, medians of 3 passes)\n")
    print("| rules | load s | parse s | rules s | parse ms/msg | rules ms/msg | msgs / CPU s "
          "(parse+rules) | rules ms/msg p50 / p90 / p99 / max |")
    print("|---|---|---|---|---|---|---|---|")
    n = len(files)
    for name in ("shipped", "stock"):
        rows, meta = tsv(os.path.join(out, f"split_{name}.out"))
        load = float(next(m[1] for m in meta if m[0] == "#load_s"))
        parse = med([float(m[3]) for m in meta if m[0] == "#rep"])
        rules = med([float(m[5]) for m in meta if m[0] == "#rep"])
        per = sorted(float(r[3]) / 1000 for r in rows)
        q = lambda p: per[min(len(per) - 1, int(p * len(per)))]
        print(f"| {name} | {load:.3f} | {parse:.2f} | {rules:.2f} | {1000 * parse / n:.3f} | "
              f"{1000 * rules / n:.3f} | {n / (parse + rules):.0f} | "
              f"{q(0.5):.2f} / {q(0.9):.2f} / {q(0.99):.2f} / {per[-1]:.1f} |")
    rows, _ = tsv(os.path.join(out, "split_stock.out"))
    by_part = {}
    for r in rows:
        by_part.setdefault(part_of(r[0]), []).append((float(r[2]) + float(r[3])) / 1000)
    print("\nstock rules, parse+rules ms per message by part: " + ", ".join(
        f"{p} {statistics.mean(v):.2f} mean / {med(v):.2f} median" for p, v in by_part.items()))
    print()


def verdicts(out, files):
    sets = [
        ("spamgate scan, shipped rules", scores_json(os.path.join(out, "scan_shipped_1.out"))),
        ("spamgate scan, stock + shipped (score set 1)",
         scores_json(os.path.join(out, "scan_stock_1.out"))),
        ("spamgate, stock + shipped, score set 0 (as SA -L)",
         scores_tsv(os.path.join(out, "split_stock_set0.out"), 4)),
        ("SpamAssassin 4, local tests, no Bayes (set 0)",
         scores_tsv(os.path.join(out, "sa.out"), 3)),
    ]
    count = {p: sum(1 for f in files if part_of(f) == p) for p in PARTS}
    print("## Verdicts: messages scoring >= 5\n")
    print("| scorer | " + " | ".join(f"{p} ({count[p]})" for p in PARTS) + " |")
    print("|---|---|---|---|")
    for label, scores in sets:
        cells = []
        for p in PARTS:
            hit = sum(1 for f in files if part_of(f) == p and scores.get(f, 0) >= 5)
            cells.append(f"{hit} ({100 * hit / count[p]:.1f} %)")
        print(f"| {label} | " + " | ".join(cells) + " |")
    sg, sa = sets[2][1], sets[3][1]
    spam = [f for f in files if part_of(f) == "spam-1"]
    both = sum(1 for f in spam if sg.get(f, 0) >= 5 and sa.get(f, 0) >= 5)
    only_sa = sum(1 for f in spam if sg.get(f, 0) < 5 <= sa.get(f, 0))
    only_sg = sum(1 for f in spam if sa.get(f, 0) < 5 <= sg.get(f, 0))
    print(f"\nspam-1, spamgate set 0 vs SpamAssassin: both >= 5: {both}, SpamAssassin only: "
          f"{only_sa}, spamgate only: {only_sg}. Median score spam-1: spamgate "
          f"{med([sg[f] for f in spam]):.2f}, SpamAssassin {med([sa[f] for f in spam]):.2f}.\n")


def per_rule(out):
    path = os.path.join(out, "per_rule.out")
    if not os.path.exists(path):
        return
    _, meta = tsv(path)
    empty = next(m for m in meta if m[0] == "#empty_scan_us")
    rules = [(m[1], m[2], float(m[3]), m[4]) for m in meta if m[0] == "#rule"]
    k = int(empty[3])
    total = sum(r[2] for r in rules)
    print(f"## Rules timed one by one (stock + shipped, {k} messages, every k-th of the list)\n")
    print(f"Sum over {len(rules)} rules the scan runs: {total / 1e3:.0f} ms, "
          f"{total / k / 1e3:.2f} ms per message (empty scan {float(empty[1]) / k:.1f} us/msg).\n")
    print("| kind | rules run | ms / msg | share |")
    print("|---|---|---|---|")
    kinds = {}
    for r in rules:
        kinds.setdefault(r[1], []).append(r[2])
    for kind, v in sorted(kinds.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {kind} | {len(v)} | {sum(v) / k / 1e3:.3f} | {100 * sum(v) / total:.1f} % |")
    print("\n| slowest rules | kind | us / msg | share | where |")
    print("|---|---|---|---|---|")
    for name, kind, cost, where in sorted(rules, key=lambda r: -r[2])[:15]:
        print(f"| {name} | {kind} | {cost / k:.1f} | {100 * cost / total:.1f} % | "
              f"{where.replace('/usr/share/spamassassin/', '')} |")
    print()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    with open(os.path.join(out, "files.txt")) as f:
        files = f.read().split()
    nbytes = sum(os.path.getsize(f) for f in files)
    throughput(out, files, nbytes)
    split(out, files)
    verdicts(out, files)
    per_rule(out)


if __name__ == "__main__":
    main()
