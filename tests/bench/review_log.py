#!/usr/bin/env python3
"""A realistic decision log for the `spamgate review` benchmark: N lines (default 1,000,000)
over 7 days, fixed seed. Varied client IPs (a few heavy senders, a long tail, some IPv6),
sender domains, actions (mostly accept, then reject, tag, tempfail, connection events),
symbols and reasons as spamgate writes them (docs/decision-log.md).

    review_log.py OUT [N]
"""
import json
import random
import sys

ACTIONS = [("accept", 62), ("reject", 18), ("tag", 8), ("tempfail", 4), ("none", 3),
           ("disconnect", 2), ("connection", 3)]
REASONS = ["dnsbl: DNSBL_LISTED", "spf: SPF_FAIL", "dmarc: DMARC_FAIL_REJECT",
           "backend: 550 5.1.1 user unknown", "protocol: bare LF in data", None]  # None: score
SYMBOLS = [("DKIM_PASS", 0), ("DMARC_PASS", 0), ("SPF_PASS", 0), ("SPF_SOFTFAIL", 1.5),
           ("MISSING_DATE", 0.5), ("HTML_ONLY", 3), ("SUBJ_ALL_CAPS", 2.5), ("BODY_VIAGRA", 10),
           ("URI_SHORTENER", 1.5), ("FROM_MISSING", 2), ("DNSBL_LISTED", 10), ("FCRDNS_FAIL", 1)]


def weighted(rng, items):
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def main():
    out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rng = random.Random(20261130)
    ips = ["198.51.%d.%d" % (rng.randrange(256), rng.randrange(1, 255)) for _ in range(40000)]
    ips += ["2001:db8:%x::%x" % (rng.randrange(65536), rng.randrange(65536)) for _ in range(5000)]
    domains = ["d%d.example" % i for i in range(5000)] + ["gmail.example", "corp.example"]
    start = 1795996800000  # 2026-11-30T00:00:00Z minus 7 days, roughly
    with open(out, "w") as f:
        for i in range(n):
            ms = start + i * 604_800_000 // n + rng.randrange(500)
            t = "%s.%03dZ" % (__import__("time").strftime("%Y-%m-%dT%H:%M:%S", __import__("time").gmtime(ms // 1000)), ms % 1000)
            ip = ips[min(int(rng.paretovariate(1.2)) - 1, len(ips) - 1)] if rng.random() < 0.3 else rng.choice(ips)
            kind = weighted(rng, ACTIONS)
            sid = "%016X" % rng.getrandbits(64)
            syms = rng.sample(SYMBOLS, rng.randrange(0, 5))
            score = sum(s for _, s in syms)
            record = {"time": t, "event": "connection" if kind == "connection" else "transaction",
                      "id": sid, "client": {"ip": ip, "port": rng.randrange(1024, 65536)},
                      "helo": "mail.%s" % rng.choice(domains), "tls": None if rng.random() < 0.4 else
                      "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"}
            if kind == "connection":
                action, reason = rng.choice([("disconnect", "pregreet: PREGREET"),
                                             ("tempfail", "connection_limits: CONN_LIMIT_IP")]), None
                action, reason = action
                record.update(mail_from=None, rcpts=[], size=0, message_id="")
            else:
                action = kind
                frm = "" if rng.random() < 0.03 else "u%d@%s" % (rng.randrange(1000), rng.choice(domains))
                record.update(mail_from=frm, rcpts=[{"address": "user%d@corp.example" % rng.randrange(500),
                              "reply": {"code": 250, "enhanced": "2.1.5", "text": "Ok"}}
                              for _ in range(1 + (rng.random() < 0.1))],
                              size=rng.randrange(800, 90000), message_id="<%s@%s>" % (sid, ip))
                reason = ""
                if action == "reject":
                    reason = rng.choice(REASONS) or "score %.1f >= reject_score 15.0" % (15 + rng.random() * 20)
                elif action == "tag":
                    reason = "score %.1f >= tag_score 5.0" % (5 + rng.random() * 9)
                elif action == "tempfail":
                    reason = "backend: 451 4.3.0 try again later"
            record.update(action=action, reason=reason or "",
                          reply={"code": 250, "enhanced": "2.0.0", "text": "Ok: queued as " + sid},
                          score=score, symbols=[{"name": s, "score": v, "detail": "detail of " + s} for s, v in syms],
                          backend={"reply": "250 2.0.0 Ok: queued as 4F2B" if action == "accept" else "",
                                   "queue_id": "4F2B" if action == "accept" else ""},
                          duration_ms=rng.randrange(1, 900))
            f.write(json.dumps(record, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
