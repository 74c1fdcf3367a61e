"""Content rules end to end: `spamgate serve` with the repository's rules/ (plus a rules file
written by the test where it needs a known score), smtp-sink as the backend. GTUBE is refused
550 5.7.1 at end of data before the backend sees it; a message over tag_score arrives with
X-Spam-* headers (forged incoming ones removed) and the subject prefix; tempfail_score gives
451 4.7.1; a SIGHUP with a broken rules file keeps the running rules; `spamgate lint` and
`spamgate scan` on the same config; a meta rule over a check's symbol (HELO_BARE_IP).

The GTUBE messages come from $SPAMGATE_TESTDATA/content (tests skip without them)."""

import json
import os
import re
import signal
import subprocess
import unittest

import harness as h

RULES_DIR = os.path.join(h.source_dir(), "rules")
POLICY = {"tag_score": 5.0, "reject_score": 20.0}
GTUBE_SCORE = 1000.0


def content_file(name):
    return h.testdata_path("content", name)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def mail(message_id, body=b"Hello, see you on Friday.\r\n", extra=b"", subject=b"Friday"):
    """A message no shipped rule hits (it has Date, Message-ID and a plain Subject)."""
    return (b"From: Sender <sender@example.org>\r\nTo: rcpt@example.com\r\nSubject: " + subject +
            b"\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <" + message_id.encode() +
            b">\r\n" + extra + b"\r\n" + body)


def header_values(message, name):
    """Unfolded values of every `name:` field of an LF message (as smtp-sink writes it)."""
    head = message.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    fields = re.split(r"\n(?![ \t])", head)
    prefix = name.lower() + ":"
    return [re.sub(r"\s+", " ", f[len(prefix):]).strip()
            for f in fields if f.lower().startswith(prefix)]


def symbols(decision):
    return {s["name"]: s["score"] for s in decision["symbols"]}


def run_spamgate(*args):
    return subprocess.run([h.spamgate_bin()] + list(args), capture_output=True, text=True,
                          timeout=h.scaled(30))


class ContentRulesTest(h.GatewayTestCase):
    def write_rules(self, directory, text, name="local.cf"):
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def gateway(self, local_rules=None, policy=None, **sections):
        """spamgate with the shipped rules (and `local_rules` written to local.cf); the
        gateway's directory is self.directory, local.cf's path self.local."""
        self.directory = self.make_tempdir()
        paths = [RULES_DIR]
        if local_rules is not None:
            self.local = self.write_rules(self.directory, local_rules)
            paths.append(self.local)
        overrides = {"rules": {"paths": paths}, "policy": h.merge(POLICY, policy)}
        return self.start_gateway(overrides=h.merge(overrides, sections), tls=False,
                                  directory=self.directory)

    def send(self, gateway, message, helo=None):
        """One transaction (EHLO, or HELO `helo`); returns the reply to the end of data."""
        with h.RawClient(gateway.config.port) as c:
            c.expect(220)
            if helo is None:
                c.ehlo("client.example")
            else:
                c.expect(250, "HELO " + helo)
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(message))
            final = c.reply()
            c.command("QUIT")
        return final

    def decision(self, gateway, message_id):
        found = h.wait_decisions(gateway.config.decisions,
                                 lambda d: d.get("event") == "transaction"
                                 and message_id in d.get("message_id", ""))
        self.assertTrue(found, "no decision for %s in %r" % (message_id, self.decisions(gateway)))
        return found[-1]

    def delivered(self, count=1):
        messages = self.sink.wait_messages(count)
        self.assertEqual(len(messages), count, [m.raw for m in messages])
        return [m.message for m in messages]

    # --- GTUBE ------------------------------------------------------------------------------

    def test_gtube_is_refused_550_5_7_1_before_the_backend(self):
        message = read_bytes(content_file("gtube.eml"))
        gateway = self.gateway()
        final = self.send(gateway, message)
        self.assertEnhanced(final, 550, "5.7.1")
        d = self.decision(gateway, "gtube-1@example.com")
        self.assertIn(d["id"], final.text, "the reply carries the decision id")
        self.assertEqual(d["action"], "reject")
        self.assertEqual(symbols(d).get("GTUBE"), GTUBE_SCORE, d["symbols"])
        self.assertGreaterEqual(d["score"], GTUBE_SCORE)
        self.assertEqual(self.sink.settled_messages(), [], "the backend saw the GTUBE message")

    def test_gtube_near_miss_and_split_are_delivered(self):
        near = read_bytes(content_file("gtube-nearmiss.eml"))
        split = read_bytes(content_file("gtube-split.eml"))
        gateway = self.gateway()
        for message, message_id in ((near, "gtube-2@example.com"), (split, "gtube-3@example.com")):
            final = self.send(gateway, message)
            self.assertEqual(final.code, 250, final)
            d = self.decision(gateway, message_id)
            self.assertEqual(d["action"], "accept", d)
            self.assertNotIn("GTUBE", symbols(d))
        delivered = self.delivered(2)
        self.assertTrue(any(b"GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34\n" in m for m in delivered))

    # --- tagging ----------------------------------------------------------------------------

    def test_over_tag_score_arrives_tagged_with_prefix_and_forged_headers_removed(self):
        rules = ("body LOCAL_TAG_WORD /\\bzqxtagword\\b/\n"
                 "describe LOCAL_TAG_WORD A word the test put in the body\n"
                 "score LOCAL_TAG_WORD 6\n")
        gateway = self.gateway(rules, policy={"subject_prefix": "[SPAM]"})
        forged = (b"X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-50.0 required=5.0\r\n"
                  b"  tests=FORGED\r\nX-Spam-Score: -50.0\r\n")
        final = self.send(gateway, mail("tag-1@test", b"Here is zqxtagword for you.\r\n", forged,
                                        subject=b"Hello there"))
        self.assertEqual(final.code, 250, final)
        message = self.delivered()[0]
        self.assertEqual(header_values(message, "X-Spam-Flag"), ["YES"])
        self.assertEqual(header_values(message, "X-Spam-Score"), ["6.0"])
        status = header_values(message, "X-Spam-Status")
        self.assertEqual(len(status), 1, status)
        self.assertRegex(status[0], r"^Yes, score=6\.0 required=5\.0 tests=\S*\bLOCAL_TAG_WORD\b")
        self.assertNotIn("FORGED", status[0])
        self.assertEqual(header_values(message, "Subject"), ["[SPAM] Hello there"])
        d = self.decision(gateway, "tag-1@test")
        self.assertEqual(d["action"], "tag")
        self.assertEqual(symbols(d).get("LOCAL_TAG_WORD"), 6.0, d["symbols"])

    def test_below_tag_score_is_not_tagged_and_subject_kept(self):
        rules = ("body LOCAL_SMALL /\\bzqxsmall\\b/\ndescribe LOCAL_SMALL Small\n"
                 "score LOCAL_SMALL 4\n")
        gateway = self.gateway(rules, policy={"subject_prefix": "[SPAM]"})
        final = self.send(gateway, mail("small-1@test", b"zqxsmall\r\n", subject=b"Hello there"))
        self.assertEqual(final.code, 250, final)
        message = self.delivered()[0]
        self.assertEqual(header_values(message, "X-Spam-Flag"), [])
        self.assertEqual(header_values(message, "X-Spam-Status"), [], "clean_status is off")
        self.assertEqual(header_values(message, "Subject"), ["Hello there"])
        d = self.decision(gateway, "small-1@test")
        self.assertEqual(d["action"], "accept")
        self.assertEqual(symbols(d).get("LOCAL_SMALL"), 4.0)

    def test_clean_status_marks_clean_mail_and_removes_forged_flag(self):
        gateway = self.gateway(policy={"clean_status": True})
        forged = b"X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=99.0 required=5.0 tests=FORGED\r\n"
        final = self.send(gateway, mail("clean-1@test", extra=forged))
        self.assertEqual(final.code, 250, final)
        message = self.delivered()[0]
        self.assertEqual(header_values(message, "X-Spam-Flag"), [])
        self.assertEqual(header_values(message, "X-Spam-Status"),
                         ["No, score=0.0 required=5.0 tests=none"])
        self.assertEqual(header_values(message, "X-Spam-Score"), ["0.0"])
        self.assertEqual(self.decision(gateway, "clean-1@test")["action"], "accept")

    # --- tempfail ---------------------------------------------------------------------------

    def test_score_between_tempfail_and_reject_is_deferred_451_4_7_1(self):
        rules = ("body LOCAL_DEFER /\\bzqxdefer\\b/\ndescribe LOCAL_DEFER Defer\n"
                 "score LOCAL_DEFER 10\n")
        gateway = self.gateway(rules, policy={"tempfail_score": 8.0})
        final = self.send(gateway, mail("defer-1@test", b"zqxdefer\r\n"))
        self.assertEnhanced(final, 451, "4.7.1")
        d = self.decision(gateway, "defer-1@test")
        self.assertEqual(d["action"], "tempfail")
        self.assertEqual(symbols(d).get("LOCAL_DEFER"), 10.0)
        # The same gateway delivers a message without the word: only that one arrives.
        final = self.send(gateway, mail("defer-2@test", b"nothing to see\r\n"))
        self.assertEqual(final.code, 250, final)
        delivered = self.sink.settled_messages()
        self.assertEqual(len(delivered), 1)
        self.assertIn(b"defer-2@test", delivered[0].message)

    # --- SIGHUP -----------------------------------------------------------------------------

    def test_sighup_with_broken_rules_keeps_the_old_rules(self):
        good = "body LOCAL_RELOAD /\\bzqxreload\\b/\ndescribe LOCAL_RELOAD Reload\n"
        gateway = self.gateway(good + "score LOCAL_RELOAD 2.5\n")
        body = b"zqxreload\r\n"

        self.send(gateway, mail("reload-1@test", body))
        self.assertEqual(symbols(self.decision(gateway, "reload-1@test")).get("LOCAL_RELOAD"), 2.5)

        # Line 1 broken (an unclosed group), and a new score that must not be applied.
        self.write_rules(self.directory, "body LOCAL_RELOAD /\\bzqx(reload\\b/\n"
                         "describe LOCAL_RELOAD Reload\nscore LOCAL_RELOAD 3.5\n")
        mark = len(gateway.stderr())
        gateway.signal(signal.SIGHUP)
        self.assertTrue(gateway.wait_stderr(r"reload failed", start=mark), gateway.stderr())
        self.assertRegex(gateway.stderr()[mark:], re.escape(self.local) + r":1: ")
        self.send(gateway, mail("reload-2@test", body))
        self.assertEqual(symbols(self.decision(gateway, "reload-2@test")).get("LOCAL_RELOAD"), 2.5,
                         "the old rules keep scoring")

        self.write_rules(self.directory, good + "score LOCAL_RELOAD 3.5\n")
        mark = len(gateway.stderr())
        gateway.signal(signal.SIGHUP)
        self.assertTrue(gateway.wait_stderr(r"configuration reloaded", start=mark),
                        gateway.stderr())
        self.send(gateway, mail("reload-3@test", body))
        self.assertEqual(symbols(self.decision(gateway, "reload-3@test")).get("LOCAL_RELOAD"), 3.5,
                         "the fixed rules are applied")
        self.assertTrue(gateway.running())

    # --- meta over a check's symbol ---------------------------------------------------------

    def test_meta_combines_a_helo_symbol_with_a_rule(self):
        rules = ("body __LOCAL_WORD /\\bzqxmeta\\b/\n"
                 "meta LOCAL_HELO_AND_WORD HELO_BARE_IP && __LOCAL_WORD\n"
                 "describe LOCAL_HELO_AND_WORD Bare IP in HELO and the test's word\n"
                 "score LOCAL_HELO_AND_WORD 1.5\n")
        gateway = self.gateway(rules, helo={"enabled": True, "bare_ip_score": 0.5})
        cases = (("meta-both@test", "127.0.0.1", b"zqxmeta\r\n", True),
                 ("meta-helo@test", "127.0.0.1", b"nothing here\r\n", False),
                 ("meta-word@test", "client.example", b"zqxmeta\r\n", False))
        for message_id, helo, body, expected in cases:
            final = self.send(gateway, mail(message_id, body), helo=helo)
            self.assertEqual(final.code, 250, final)
            found = symbols(self.decision(gateway, message_id))
            self.assertEqual("HELO_BARE_IP" in found, helo == "127.0.0.1", (message_id, found))
            self.assertEqual(found.get("LOCAL_HELO_AND_WORD"), 1.5 if expected else None,
                             (message_id, found))
            self.assertNotIn("__LOCAL_WORD", found)


class ContentCommandsTest(unittest.TestCase):
    """`spamgate lint` and `spamgate scan` on a config naming the rules."""

    def config(self, paths):
        directory = h.new_tempdir(self.addCleanup)
        path = os.path.join(directory, "spamgate.toml")
        with open(path, "w") as f:
            f.write(h.to_toml({"rules": {"paths": paths}, "policy": dict(POLICY)}))
        return directory, path

    def test_lint_passes_the_shipped_rules(self):
        _, path = self.config([RULES_DIR])
        run = run_spamgate("lint", "-c", path)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("0 errors, 0 warnings", run.stdout)
        self.assertRegex(run.stdout, r"\d+ rules loaded from \d+ files")

    def test_lint_names_file_and_line_of_a_broken_rule(self):
        directory, path = self.config([RULES_DIR])
        broken = os.path.join(directory, "broken.cf")
        with open(broken, "w") as f:
            f.write("# a comment\nbody LOCAL_OK /fine/\nbody LOCAL_BAD /unclosed(group/\n"
                    "score LOCAL_BAD 1\n")
        with open(path, "w") as f:
            f.write(h.to_toml({"rules": {"paths": [RULES_DIR, broken]}}))
        run = run_spamgate("lint", "-c", path)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn(broken + ":3: ", run.stdout)
        self.assertRegex(run.stdout, r"[1-9]\d* errors?")

    def test_scan_json_reports_gtube(self):
        gtube = content_file("gtube.eml")
        near = content_file("gtube-nearmiss.eml")
        _, path = self.config([RULES_DIR])
        run = run_spamgate("scan", "-c", path, "--json", gtube, near)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        results = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
        self.assertEqual([r["file"] for r in results], [gtube, near])
        first, second = results
        self.assertEqual(first["action"], "reject")
        hits = {hit["name"]: hit for hit in first["hits"]}
        self.assertEqual(hits["GTUBE"]["score"], GTUBE_SCORE)
        self.assertTrue(hits["GTUBE"]["description"])
        self.assertGreaterEqual(first["score"], GTUBE_SCORE)
        self.assertEqual(second["action"], "accept")
        self.assertNotIn("GTUBE", [hit["name"] for hit in second["hits"]])

    def test_example_config_refuses_gtube_at_its_thresholds(self):
        """config/spamgate.toml, from a working directory laid out as the quick start leaves
        the repository: rules/ and the test certificate in var/tls (a clean clone has none)."""
        gtube = content_file("gtube.eml")
        config = os.path.join(h.source_dir(), "config", "spamgate.toml")
        workdir = h.new_tempdir(self.addCleanup)
        os.symlink(os.path.join(h.source_dir(), "rules"), os.path.join(workdir, "rules"))
        subprocess.run(["bash", os.path.join(h.source_dir(), "contrib", "make-test-cert.sh"),
                        os.path.join(workdir, "var", "tls"), "localhost"],
                       check=True, capture_output=True, timeout=h.scaled(60))
        run = subprocess.run([h.spamgate_bin(), "scan", "-c", config, "--json", gtube],
                             capture_output=True, text=True, timeout=h.scaled(30), cwd=workdir)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        result = json.loads(run.stdout)
        self.assertEqual(result["action"], "reject")
        self.assertIn("GTUBE", [hit["name"] for hit in result["hits"]])


if __name__ == "__main__":
    unittest.main()
