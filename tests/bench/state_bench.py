#!/usr/bin/env python3
"""The cost of state: relay throughput of `spamgate serve` with greylisting and reputation on,
on the embedded store and on Redis, against both off, side by side in one run.

Each repetition runs the cases interleaved (off, embedded, redis): a fresh spamgate (Release
build; the binary from SPAMGATE_BIN) between smtp-source and smtp-sink on loopback, 2 workers,
every check but the ones under test off. Before the timed run one message goes through the
greylist (deferred, then passed after the 1 s delay), so the timed run measures the price an
established sender pays: a greylist lookup per recipient, a reputation read per connection and
a reputation update per message. Prints msgs/s per case (median of REPS) and the cost against
off. Needs postfix's smtp-source and smtp-sink, redis-server; loopback only.

Usage: SPAMGATE_BIN=build/bench/spamgate python3 tests/bench/state_bench.py [--count N] [--reps R]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness as h  # noqa: E402
import redis_server  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
STATE = {"greylist": {"enabled": True, "delay": 1, "skip_good_reputation": False},
         "reputation": {"enabled": True}}


def cleanups():
    stack = []
    return stack, (lambda f, *a: stack.append((f, a)))


def run_case(name, count, concurrency, redis):
    stack, register = cleanups()
    try:
        directory = h.new_tempdir(register)
        sink = h.start_sink(register, directory)
        overrides = {"server": {"workers": 2, "max_connections_per_ip": 1000},
                     "log": {"decisions": ""},
                     "quarantine": {"dir": ""}}
        if name != "off":
            overrides = h.merge(overrides, STATE)
        if name == "redis":
            overrides["store"] = {"backend": "redis", "redis": redis.address}
        gateway = h.start_spamgate(register, directory, sink.address, overrides, tls=False)
        target = "%s:%d" % (h.LOOPBACK, gateway.config.port)
        source = [SMTP_SOURCE, "-c", "-s", str(concurrency), "-l", "2000", "-f",
                  "sender@example.org", "-t", "rcpt@example.com"]
        for _ in range(2):  # first contact is deferred; after the delay the triplet passes
            subprocess.run(source[:3] + ["1", "-m", "1"] + source[4:] + [target],
                           capture_output=True)
            time.sleep(1.2)
        before = len(sink.files())
        started = time.monotonic()
        run = subprocess.run(source + ["-m", str(count), target], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit("%s: smtp-source: %s%s" % (name, run.stdout[-500:], run.stderr[-500:]))
        elapsed = time.monotonic() - started
        delivered = len(sink.wait_messages(before + count, timeout=60)) - before
        return delivered / elapsed, delivered
    finally:
        for f, a in reversed(stack):
            f(*a)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    stack, register = cleanups()
    try:
        redis = redis_server.start_redis(register, h.new_tempdir(register))
        rates = {"off": [], "embedded": [], "redis": []}
        for rep in range(args.reps):
            for name in rates:
                rate, delivered = run_case(name, args.count, args.concurrency, redis)
                if delivered != args.count:
                    sys.exit("%s: %d of %d messages delivered" % (name, delivered, args.count))
                rates[name].append(rate)
                print("rep %d %-8s %8.0f msgs/s" % (rep + 1, name, rate), flush=True)
        off = statistics.median(rates["off"])
        print("\ncase      median msgs/s  range            cost vs off")
        for name, values in rates.items():
            median = statistics.median(values)
            print("%-9s %13.0f  %6.0f-%-8.0f %+10.1f%%" % (name, median, min(values), max(values),
                                                         (off - median) / off * 100))
    finally:
        for f, a in reversed(stack):
            f(*a)


if __name__ == "__main__":
    main()
