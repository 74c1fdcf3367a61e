#!/usr/bin/env python3
"""checks_summary.py - the tables of run_checks_bench.sh (tests/bench/README.md).

  checks_summary.py OUTDIR             markdown summary of a run_checks_bench.sh result folder
  checks_summary.py --decisions LOG    JSON counts of a spamgate decision log (the script keeps
                                       these, not the logs themselves)

OUTDIR holds runs.csv (one row per run: direct / off / on), runs_dump.csv, decisions_off.json,
decisions_on.json, nsd_stats.txt, preflight.txt, machine.txt, run_checks_bench.txt. Failed runs
are never in the medians; they are counted.
"""
import collections
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relay_summary import f, load, med, num  # noqa: E402

LABELS = ["direct", "off", "on"]
NAMES = {"direct": "direct", "off": "spamgate, checks off", "on": "spamgate, checks on"}
LOOKUPS_PER_CONNECTION = 4  # DNSBL dnsbl.test + dnsbl2.test (A), PTR, forward A of the PTR name
GOAL = 0.90  # on/off: the checks cost under 10 % of relay throughput


def decisions(path):
    c = {k: collections.Counter() for k in
         ("events", "actions", "symbols", "helo", "clients", "scores", "sizes", "rcpt_codes")}
    details = collections.defaultdict(collections.Counter)
    lines = with_symbols = 0
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            d = json.loads(line)
            lines += 1
            c["events"][d.get("event")] += 1
            c["actions"][d.get("action")] += 1
            c["helo"][d.get("helo")] += 1
            c["clients"][d.get("client", {}).get("ip")] += 1
            c["scores"][str(d.get("score"))] += 1
            c["sizes"][str(d.get("size"))] += 1
            for r in d.get("rcpts", []):
                c["rcpt_codes"][str(r.get("reply", {}).get("code"))] += 1
            syms = d.get("symbols", [])
            with_symbols += bool(syms)
            for s in syms:
                c["symbols"][s["name"]] += 1
                details[s["name"]][s.get("detail", "")[:80]] += 1
    out = {"lines": lines, "lines_with_symbols": with_symbols}
    out.update({k: dict(v.most_common(20)) for k, v in c.items()})
    out["symbol_details"] = {k: dict(v.most_common(5)) for k, v in details.items()}
    return out


def nsd_stats(path):
    snaps = {}
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if parts:
                snaps[parts[0]] = {k: int(v) for k, v in (p.split("=", 1) for p in parts[1:] if "=" in p)}
    return snaps


def summary(out):
    rows = load(os.path.join(out, "runs.csv"))
    if not rows:
        sys.exit(f"no runs.csv in {out}")
    for name in ("run_checks_bench.txt", "machine.txt", "preflight.txt"):
        p = os.path.join(out, name)
        if os.path.exists(p):
            print(f"```\n# {name}\n{open(p).read().rstrip()}\n```\n")
    by = collections.defaultdict(list)
    for r in rows:
        by[(r["label"], int(r["conc"]))].append(r)
    concs = sorted({int(r["conc"]) for r in rows})
    size = int(rows[0]["size"])

    def ok(label, conc):
        return [r for r in by[(label, conc)] if r["status"] == "OK"]

    def col(label, conc, c):
        return med([num(r[c]) for r in ok(label, conc)])

    def per_k(r, c):  # CPU s per 1000 messages from a % of one core over the run
        return num(r[c]) / 100 * num(r["secs"]) / int(r["msgs"]) * 1000

    meds, verdicts = {}, []
    print(f"### Throughput, msgs/s, {size // 1000} KB: median [min-max] of the OK runs, n = OK/all\n")
    print("on/off three ways: the ratio of the medians; the median [min-max] of the 'on/off' ratios of each "
          "repetition (the two runs were seconds apart); and pooled: all messages / all seconds of each target "
          "(the ratio of the mean times per message).\n")
    print("| sessions | direct | checks off | checks on | **on/off** (medians) | on/off paired by repetition, "
          "median [min-max] | on/off pooled | off/direct | on/direct |")
    print("|---|---|---|---|---|---|---|---|---|")
    for conc in concs:
        cells = []
        for l in LABELS:
            v = [num(r["msgs_per_s"]) for r in ok(l, conc)]
            if v:
                meds[(l, conc)] = statistics.median(v)
                cells.append(f"**{statistics.median(v):.0f}** [{min(v):.0f}-{max(v):.0f}] n={len(v)}/{len(by[(l, conc)])}")
            else:
                cells.append(f"FAIL n=0/{len(by[(l, conc)])}")
        offr = {r["rep"]: num(r["msgs_per_s"]) for r in ok("off", conc)}
        paired = [num(r["msgs_per_s"]) / offr[r["rep"]] for r in ok("on", conc) if offr.get(r["rep"])]
        ratio = lambda a, b: (meds[(a, conc)] / meds[(b, conc)]) if (a, conc) in meds and (b, conc) in meds else None  # noqa: E731
        onoff = ratio("on", "off")
        pool = {}
        for l in ("off", "on"):
            o = ok(l, conc)
            pool[l] = sum(int(r["msgs"]) for r in o) / sum(num(r["secs"]) for r in o) if o else None
        pooled = pool["on"] / pool["off"] if pool["on"] and pool["off"] else None
        verdicts.append((conc, onoff, statistics.median(paired) if paired else None, pooled))
        pcell = f"{statistics.median(paired):.3f} [{min(paired):.3f}-{max(paired):.3f}]" if paired else "-"
        print(f"| {conc} | " + " | ".join(cells) + f" | **{f(onoff, 3)}** | {pcell} | {f(pooled, 3)} | "
              f"{f(ratio('off', 'direct'), 3)} | {f(ratio('on', 'direct'), 3)} |")

    print("\n### Per message: latency (Little's law) and CPU, medians of the OK runs\n")
    print("CPU s / 1000 msgs = ms of CPU per message. spamgate: utime+stime of the process (all threads). "
          "source + sink: smtp-source and smtp-sink, for every target (the load generator's own cost). "
          "% are of one core (2 cores = 200 %).\n")
    print("| sessions | target | msgs/s | mean latency ms | spamgate CPU s / 1000 msgs | source + sink CPU s / 1000 msgs "
          "| spamgate CPU % | source % | sink % | machine % | bg before % | spamgate RSS max MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    cpu = {}
    for conc in concs:
        for l in LABELS:
            o = ok(l, conc)
            if not o:
                continue
            ss = med([per_k(r, "cpu_source_pct") + per_k(r, "cpu_sink_pct") for r in o])
            cpu[(l, conc)] = col(l, conc, "cpu_target_ms_per_msg")
            rss = [x for x in (num(r["rss_target_max_mb"]) for r in o) if x is not None]
            print(f"| {conc} | {NAMES[l]} | {f(col(l, conc, 'msgs_per_s'))} | {f(col(l, conc, 'lat_mean_ms_littles'), 2)} | "
                  f"{f(cpu[(l, conc)], 3)} | {f(ss, 3)} | {f(col(l, conc, 'cpu_target_pct'))} | "
                  f"{f(col(l, conc, 'cpu_source_pct'))} | {f(col(l, conc, 'cpu_sink_pct'))} | "
                  f"{f(col(l, conc, 'cpu_all_pct'))} | {f(col(l, conc, 'bg_before_pct'))} | "
                  f"{f(max(rss), 1) if rss else '-'} |")

    print("\n### CPU cost of the checks (spamgate's CPU per message, medians)\n")
    print("projected on/off = (S + off) / (S + on), S = smtp-source + smtp-sink CPU per message (median over the "
          "off and on runs): the throughput ratio if the CPU were the only limit and other jobs took none of it.\n")
    print("| sessions | checks off ms/msg | checks on ms/msg | on - off ms/msg | on/off CPU | S ms/msg | projected on/off throughput |")
    print("|---|---|---|---|---|---|---|")
    for conc in concs:
        a, b = cpu.get(("off", conc)), cpu.get(("on", conc))
        s = med([per_k(r, "cpu_source_pct") + per_k(r, "cpu_sink_pct") for r in ok("off", conc) + ok("on", conc)])
        if a is not None and b is not None and s is not None:
            print(f"| {conc} | {a:.3f} | {b:.3f} | {b - a:+.3f} | {b / a:.3f} | {s:.3f} | {(s + a) / (s + b):.3f} |")

    print("\n### Order of the runs (each repetition: direct, then off and on in alternating order)\n")
    print("Median msgs/s of each spamgate by its place in the repetition: 2nd = right after direct, 3rd = last.\n")
    print("| sessions | target | 2nd: median [n] | 3rd: median [n] |")
    print("|---|---|---|---|")
    for conc in concs:
        for l in ("off", "on"):
            cells = []
            for pos in (2, 3):
                v = [num(r["msgs_per_s"]) for r in ok(l, conc)
                     if r.get("order") and r["order"].split(",").index(l) + 1 == pos]
                cells.append(f"{statistics.median(v):.0f} [{len(v)}]" if v else "-")
            print(f"| {conc} | {NAMES[l]} | " + " | ".join(cells) + " |")

    print("\n### Messages lost (sink counter: every run must deliver exactly the messages sent)\n")
    print("| target | runs | failed runs | messages sent | messages counted at the sink |")
    print("|---|---|---|---|---|")
    for l in LABELS:
        rs = [r for r in rows if r["label"] == l]
        print(f"| {NAMES[l]} | {len(rs)} | {sum(r['status'] != 'OK' for r in rs)} | "
              f"{sum(int(r['msgs']) for r in rs)} | {sum(int(r['sink_delta']) for r in rs)} |")
    for r in rows:
        if r["status"] != "OK":
            print(f"\nFAIL {r['label']} s={r['conc']} rep={r['rep']} msgs={r['msgs']} sink_delta={r['sink_delta']} "
                  f"src_rc={r['src_rc']}")
    dump = load(os.path.join(out, "runs_dump.csv"))
    if dump:
        print("\nCorrectness pass (sink keeps every message):\n")
        print("| sessions | target | sent | at the sink | check | status |")
        print("|---|---|---|---|---|---|")
        for r in dump:
            print(f"| {r['conc']} | {NAMES.get(r['label'], r['label'])} | {r['msgs']} | {r['sink_delta']} | "
                  f"{r.get('verify', '')} | {r['status']} |")

    print("\n### Decision logs (measurement and correctness pass; the control connections are not in them)\n")
    print("| | checks off | checks on |")
    print("|---|---|---|")
    dec = {}
    for w in ("off", "on"):
        p = os.path.join(out, f"decisions_{w}.json")
        dec[w] = json.load(open(p)) if os.path.exists(p) else {}
    keys = [("lines", "lines"), ("lines_with_symbols", "lines with a symbol"), ("events", "events"),
            ("actions", "actions"), ("symbols", "symbols"), ("helo", "HELO names"), ("clients", "client IPs"),
            ("scores", "scores"), ("rcpt_codes", "RCPT replies")]
    for k, name in keys:
        cells = []
        for w in ("off", "on"):
            v = dec[w].get(k)
            cells.append(", ".join(f"{a}: {b}" for a, b in v.items()) or "none" if isinstance(v, dict) else str(v))
        print(f"| {name} | " + " | ".join(cells) + " |")
    sent = {w: sum(int(r["msgs"]) for r in rows if r["label"] == w) + sum(int(r["msgs"]) for r in dump if r["label"] == w)
            for w in ("off", "on")}
    print(f"\nMessages sent to each instance (measurement + correctness pass): off {sent['off']}, on {sent['on']}.")
    on_syms = dec["on"].get("symbols", {})
    bad = {k: v for k, v in on_syms.items()
           if k.startswith(("DNSBL_", "DNSWL_", "RDNS_", "HELO_", "LIST_", "PREGREET", "RATE_", "CONN_LIMIT"))}
    print(f"Checks-on symbols that should not appear for 127.0.0.1 (DNSBL_*, RDNS_*, HELO_*, LIST_*, PREGREET, "
          f"RATE_*, CONN_LIMIT_*): {bad or 'none'}.")

    snaps = nsd_stats(os.path.join(out, "nsd_stats.txt"))
    a, b = snaps.get("after_preflight"), snaps.get("after_main")
    if a and b:
        d = {k: b.get(k, 0) - a.get(k, 0) for k in b}
        conns = sum(int(r["msgs"]) for r in rows if r["label"] == "on")
        lookups = LOOKUPS_PER_CONNECTION * conns
        print("\n### DNS: queries that reached nsd during the measurement\n")
        print(f"spamgate (checks on) handled {conns} connections = {lookups} lookups "
              f"({LOOKUPS_PER_CONNECTION} per connection). nsd answered **{d.get('num.queries', 0)} queries** "
              f"(A {d.get('num.type.A', 0)}, PTR {d.get('num.type.PTR', 0)}; NOERROR {d.get('num.rcode.NOERROR', 0)}, "
              f"NXDOMAIN {d.get('num.rcode.NXDOMAIN', 0)}, SERVFAIL {d.get('num.rcode.SERVFAIL', 0)}, "
              f"REFUSED {d.get('num.rcode.REFUSED', 0)}; UDP {d.get('num.udp', 0)}, TCP {d.get('num.tcp', 0)}): "
              f"at least **{100 * (1 - d.get('num.queries', 0) / lookups):.3f} %** of the lookups were answered "
              f"without a query (cache hit, or merged with a query in flight)."
              if lookups else "")
        # each step's figure is on each of its rows (one per target)
        ticks = sum(int(r.get("cpu_nsd_ticks") or 0) for r in rows) / len(LABELS)
        clk = 100
        mp = os.path.join(out, "machine.txt")
        if os.path.exists(mp):
            for tok in open(mp).read().split():
                if tok.startswith("clk_tck="):
                    clk = int(tok.split("=", 1)[1])
        print(f"nsd's CPU (utime+stime) over the whole measurement: {ticks / clk:.2f} s.")

    print("\n### Goal: with DNS answers cached, the checks cost under 10 % of relay throughput (on/off >= 0.90)\n")
    for conc, r, p, q in verdicts:
        if r is not None:
            print(f"- {conc} sessions: on/off = **{r:.3f}** (medians; paired median {f(p, 3)}, pooled {f(q, 3)}), "
                  f"cost {100 * (1 - r):.1f} %: {'met' if r >= GOAL else 'NOT met'} by the medians; "
                  f"{'the three estimates agree' if len({x is not None and x >= GOAL for x in (r, p, q)}) == 1 else 'the estimates disagree'}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--decisions":
        print(json.dumps(decisions(sys.argv[2]), indent=1, sort_keys=True))
    elif len(sys.argv) == 2:
        summary(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
