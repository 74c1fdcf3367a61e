"""Prometheus metrics end to end: `spamgate serve` with [metrics] listen and smtp-sink as the
backend. Messages sent with smtplib (accepted, one over STARTTLS, and rejected by a body rule
over reject_score) show up in GET /metrics with the counts sent, agreeing with the decision
log; the exposition parses; other paths get 404, other methods 405; a metrics address already
in use stops start-up with a clear error. Also checks that the pattern of
contrib/logrotate.spamgate's postrotate command finds this gateway's process."""

import os
import re
import smtplib
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import harness as h

SPAM_RULE = ("body LOCAL_METRICS_SPAM /\\bzqxmetricspam\\b/\n"
             "describe LOCAL_METRICS_SPAM Metrics test spam word\n"
             "score LOCAL_METRICS_SPAM 10\n")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)"')


def parse(text):
    """Exposition -> ({family: type}, [(name, {label: value}, float)]); raises on a line that
    is neither a comment nor a sample."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            m = SAMPLE.match(line)
            if not m:
                raise AssertionError("not a sample line: %r" % line)
            labels = dict(LABEL.findall(m.group(3) or ""))
            samples.append((m.group(1), labels, float(m.group(4))))
    return types, samples


def family_of(name, types):
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return None


def value(samples, name, **labels):
    found = [v for n, l, v in samples if n == name and l == labels]
    if len(found) != 1:
        raise AssertionError("%s%r: %d samples" % (name, labels, len(found)))
    return found[0]


def message(index, spam):
    body = b"Hello, zqxmetricspam here.\r\n" if spam else b"Hello, see you on Friday.\r\n"
    padding = b"x" * (100 * (index % 8)) + b"\r\n"  # sizes differ; lines stay under 998
    return h.message_bytes("metrics-%d@test" % index, body=body + padding)


class MetricsTest(h.GatewayTestCase):
    ACCEPTED = 4  # one of them over STARTTLS
    REJECTED = 3

    def start(self):
        directory = self.make_tempdir()
        rules = os.path.join(directory, "local.cf")
        with open(rules, "w") as f:
            f.write(SPAM_RULE)
        self.metrics_port = h.free_port()
        overrides = {"metrics": {"listen": "%s:%d" % (h.LOOPBACK, self.metrics_port)},
                     "rules": {"paths": [rules]}, "policy": {"tag_score": 3, "reject_score": 5}}
        return self.start_gateway(overrides=overrides, directory=directory)

    def get(self, path="/metrics", method="GET"):
        request = urllib.request.Request("http://%s:%d%s" % (h.LOOPBACK, self.metrics_port, path),
                                         method=method)
        with urllib.request.urlopen(request, timeout=h.scaled(10)) as response:
            return response.status, response.headers, response.read().decode()

    def send(self, gateway, index, spam, tls=False):
        with smtplib.SMTP(h.LOOPBACK, gateway.config.port, timeout=h.scaled(10)) as client:
            if tls:
                client.starttls(context=h.client_tls_context())
            try:
                client.sendmail("sender@example.org", ["rcpt@example.com"], message(index, spam))
                return 250
            except smtplib.SMTPDataError as e:
                return e.smtp_code

    def scrape_when(self, predicate, timeout=10.0):
        """The parsed exposition once `predicate(samples)` holds (sessions end a moment after
        the client's QUIT), or the last one."""
        deadline = time.monotonic() + h.scaled(timeout)
        while True:
            status, headers, text = self.get()
            types, samples = parse(text)
            if predicate(samples) or time.monotonic() >= deadline:
                return status, headers, text, types, samples
            time.sleep(0.05)

    def test_counters_match_what_was_sent(self):
        gateway = self.start()
        codes = [self.send(gateway, i, spam=False, tls=(i == 0)) for i in range(self.ACCEPTED)]
        codes += [self.send(gateway, 100 + i, spam=True) for i in range(self.REJECTED)]
        self.assertEqual(codes, [250] * self.ACCEPTED + [550] * self.REJECTED)
        total = self.ACCEPTED + self.REJECTED
        decisions = h.wait_decisions(gateway.config.decisions, count=total)
        self.assertEqual(len(decisions), total)

        status, headers, _, _, samples = self.scrape_when(
            lambda s: value(s, "spamgate_connections_current") == 0)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertEqual(value(samples, "spamgate_connections_total"), total)
        self.assertEqual(value(samples, "spamgate_connections_current"), 0)
        self.assertEqual(value(samples, "spamgate_connections_refused_total"), 0)
        by_action = {l["action"]: v for n, l, v in samples if n == "spamgate_transactions_total"}
        self.assertEqual(by_action, {"accept": self.ACCEPTED, "tag": 0, "tempfail": 0,
                                     "reject": self.REJECTED, "disconnect": 0, "none": 0})
        self.assertEqual(value(samples, "spamgate_rejections_total", reason="score"),
                         self.REJECTED)
        by_code = {l["code"]: v for n, l, v in samples if n == "spamgate_replies_total"}
        self.assertEqual(by_code, {"250": self.ACCEPTED, "550": self.REJECTED})
        self.assertEqual(value(samples, "spamgate_message_size_bytes_count"), total)
        self.assertEqual(value(samples, "spamgate_message_size_bytes_sum"),
                         sum(d["size"] for d in decisions))
        self.assertEqual(value(samples, "spamgate_check_duration_seconds_count", check="rules"),
                         total)
        self.assertEqual(value(samples, "spamgate_backend_errors_total"), 0)
        handshakes = sum(v for n, l, v in samples if n == "spamgate_tls_handshakes_total")
        self.assertEqual(handshakes, 1)
        self.assertEqual(value(samples, "spamgate_tls_failures_total"), 0)
        # The same figures as the decision log's.
        logged = {}
        for d in decisions:
            logged[d["action"]] = logged.get(d["action"], 0) + 1
        self.assertEqual(logged, {a: v for a, v in by_action.items() if v})

    def test_refused_at_connect_and_tls_failure(self):
        directory = self.make_tempdir()
        deny = os.path.join(directory, "deny.txt")
        with open(deny, "w") as f:
            f.write("127.0.0.0/8\n")
        self.metrics_port = h.free_port()
        gateway = self.start_gateway(
            directory=directory,
            overrides={"metrics": {"listen": "%s:%d" % (h.LOOPBACK, self.metrics_port)},
                       "lists": {"deny": [deny], "reject_at": "connect"}})
        with smtplib.SMTP(timeout=h.scaled(10)) as client:
            code, _ = client.connect(h.LOOPBACK, gateway.config.port)
        self.assertEqual(code, 554)
        with socket.create_connection((h.LOOPBACK, gateway.config.tls_port)) as raw:
            raw.sendall(b"EHLO not-a-tls-client-hello\r\n")
            raw.settimeout(h.scaled(10))
            try:
                while raw.recv(4096):  # an alert, then the close (or a reset)
                    pass
            except ConnectionResetError:
                pass
        _, _, _, _, samples = self.scrape_when(
            lambda s: value(s, "spamgate_connections_current") == 0)
        self.assertEqual(value(samples, "spamgate_connections_total"), 2)
        self.assertEqual(value(samples, "spamgate_connections_refused_total"), 1)
        self.assertEqual(value(samples, "spamgate_rejections_total", reason="lists"), 1)
        self.assertEqual(value(samples, "spamgate_tls_failures_total"), 1)
        self.assertEqual(sum(v for n, l, v in samples if n == "spamgate_tls_handshakes_total"), 0)
        self.assertEqual(sum(v for n, l, v in samples if n == "spamgate_transactions_total"), 0)

    def test_exposition_parses(self):
        gateway = self.start()
        self.send(gateway, 1, spam=False)
        self.send(gateway, 2, spam=True)
        _, _, text, types, samples = self.scrape_when(lambda s: True)
        self.assertTrue(text.endswith("\n"))
        self.assertGreater(len(samples), 0)
        for name, labels, _ in samples:
            self.assertIsNotNone(family_of(name, types), "sample without a TYPE: %s" % name)
            self.assertTrue(name.startswith("spamgate_"), name)
        helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
        self.assertEqual(helps, set(types))
        for family, kind in types.items():
            if kind != "histogram":
                continue
            series = {}
            for name, labels, v in samples:
                if name == family + "_bucket":
                    key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
                    series.setdefault(key, []).append((labels["le"], v))
            self.assertTrue(series, family)
            for key, buckets in series.items():
                counts = [v for _, v in buckets]
                self.assertEqual(counts, sorted(counts), (family, key))  # cumulative
                self.assertEqual(buckets[-1][0], "+Inf")
                self.assertEqual(value(samples, family + "_count", **dict(key)), counts[-1])

    def test_other_paths_and_methods(self):
        self.start()
        for path in ("/", "/metricsx", "/other"):
            with self.assertRaises(urllib.error.HTTPError) as caught:
                self.get(path)
            self.assertEqual(caught.exception.code, 404, path)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.get("/metrics", method="POST")
        self.assertEqual(caught.exception.code, 405)
        self.assertEqual(self.get("/metrics?x=1")[0], 200)

    def test_address_in_use_is_a_startup_error(self):
        directory = self.make_tempdir()
        taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(taken.close)
        taken.bind((h.LOOPBACK, 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = h.GatewayConfig(directory, "%s:9" % h.LOOPBACK,
                                 {"metrics": {"listen": "%s:%d" % (h.LOOPBACK, port)}}, tls=False)
        result = subprocess.run([h.spamgate_bin(), "serve", "-c", config.path],
                                capture_output=True, text=True, timeout=h.scaled(30))
        self.assertNotEqual(result.returncode, 0)
        expected = "metrics: cannot listen on %s:%d: Address already in use" % (h.LOOPBACK, port)
        self.assertIn(expected, result.stderr)
        self.assertNotIn("Sanitizer", result.stderr)

    def test_logrotate_signal_reaches_this_gateway(self):
        with open(os.path.join(h.source_dir(), "contrib", "logrotate.spamgate")) as f:
            pattern = re.search(r"pkill -USR1 -f '([^']+)'", f.read()).group(1)
        gateway = self.start()
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        self.assertIn(str(gateway.pid), found.stdout.split())
        self.assertFalse(re.search(pattern, "/usr/bin/spamgate review /var/log/decisions.jsonl"))
        self.assertTrue(re.search(pattern, "/usr/bin/spamgate serve -c /etc/spamgate.toml"))


if __name__ == "__main__":
    unittest.main()
