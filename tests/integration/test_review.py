"""`spamgate review` end to end: (1) messages through a real `spamgate serve` (smtp-sink
backend, a local rules file giving one accepted, one tagged and one rejected message) show up
in `review --json` with the right counts, reason and rule, the rejected message's id (quoted
in its 550 reply) is found by --list and --explain, and the same log read gzip-compressed from
stdin gives the same summary; (2) the --html page of the golden log (tests/data/review) renders
in headless Chromium with its two charts (one SVG bar per hour and action, one per reason) and
its numbers, and a screenshot of it is not blank. Chromium runs offline: a temp profile, no
background networking, every host name mapped to nothing, a proxy on a dead loopback port.
Skipped when chromium is not installed."""

import gzip
import json
import os
import re
import shutil
import subprocess
import unittest

import harness as h

RULES = ("body LOCAL_TAG_WORD /\\bzqxtagword\\b/\nscore LOCAL_TAG_WORD 6\n"
         "body LOCAL_REJECT_WORD /\\bzqxrejectword\\b/\nscore LOCAL_REJECT_WORD 30\n")
GOLDEN_LOG = os.path.join(h.source_dir(), "tests", "data", "review", "decisions.jsonl")


def mail(message_id, body):
    return (b"From: Sender <sender@example.org>\r\nTo: rcpt@example.com\r\nSubject: Friday\r\n"
            b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <" + message_id.encode() +
            b">\r\n\r\n" + body)


def review(*args, stdin=None):
    return subprocess.run([h.spamgate_bin(), "review"] + list(args), input=stdin,
                          capture_output=True, timeout=h.scaled(60))


class ReviewServeTest(h.GatewayTestCase):
    def send(self, gateway, sender, message):
        with h.RawClient(gateway.config.port) as c:
            c.expect(220)
            c.ehlo("client.example")
            c.expect(250, "MAIL FROM:<%s>" % sender)
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(message))
            final = c.reply()
            c.command("QUIT")
        return final

    def test_review_of_a_served_log(self):
        directory = self.make_tempdir()
        rules = os.path.join(directory, "local.cf")
        with open(rules, "w") as f:
            f.write(RULES)
        gateway = self.start_gateway(directory=directory, tls=False, overrides={
            "rules": {"paths": [rules]}, "policy": {"tag_score": 5.0, "reject_score": 20.0}})
        self.assertEqual(self.send(gateway, "ann@good.example", mail("ok-1@t", b"hi\r\n")).code, 250)
        self.assertEqual(self.send(gateway, "tom@tag.example",
                                   mail("tag-1@t", b"zqxtagword\r\n")).code, 250)
        rejected = self.send(gateway, "rex@bad.example", mail("rej-1@t", b"zqxrejectword\r\n"))
        self.assertEqual(rejected.code, 550, rejected)
        rejected_id = re.search(r"\b[0-9A-Z]{16}\b", rejected.text).group(0)
        log = gateway.config.decisions
        self.assertEqual(len(h.wait_decisions(log, count=3)), 3)

        result = review("--json", log)
        self.assertEqual(result.returncode, 0, result.stderr)
        summary = json.loads(result.stdout)
        self.assertEqual(summary["decisions"], 3)
        self.assertEqual(summary["skipped_lines"], 0)
        self.assertEqual({k: v for k, v in summary["actions"].items() if v},
                         {"accept": 1, "tag": 1, "reject": 1})
        self.assertEqual(summary["rejections"], [{"reason": "score >= reject_score",
                                                  "check": "score", "count": 1, "share": 1}])
        rules_seen = {r["rule"]: (r["count"], r["rejected"]) for r in summary["top_rules"]}
        self.assertEqual(rules_seen["LOCAL_REJECT_WORD"], (1, 1))
        self.assertEqual(rules_seen["LOCAL_TAG_WORD"], (1, 0))
        self.assertEqual({d["domain"] for d in summary["top_sender_domains"]},
                         {"good.example", "tag.example", "bad.example"})

        listed = json.loads(review("--json", "--list", "--action", "reject", log).stdout)
        self.assertEqual([d["id"] for d in listed["decisions"]], [rejected_id])
        self.assertEqual(listed["decisions"][0]["from"], "rex@bad.example")

        explained = json.loads(review("--json", "--explain", rejected_id, log).stdout)
        d = explained["decision"]
        self.assertEqual(d["id"], rejected_id)
        self.assertEqual(d["reply"]["code"], 550)
        self.assertEqual([s["name"] for s in d["symbols"]][:1], ["LOCAL_REJECT_WORD"])
        self.assertEqual(d["symbols"][0]["score"], 30)
        text = review("--explain", rejected_id, log)
        self.assertEqual(text.returncode, 0)
        self.assertRegex(text.stdout.decode(), r"30  LOCAL_REJECT_WORD")
        missing = review("--explain", "ZZZZZZZZZZZZZZZZ", log)
        self.assertEqual(missing.returncode, 1)
        self.assertIn(b"no decision with id ZZZZZZZZZZZZZZZZ", missing.stderr)

        # The same log, gzip-compressed, with garbage appended, read from stdin.
        with open(log, "rb") as f:
            raw = f.read()
        piped = review("--json", stdin=gzip.compress(raw + b"garbage\n{\"time\":\n"))
        self.assertEqual(piped.returncode, 0, piped.stderr)
        self.assertIn(b"skipped 2 lines that are not decisions", piped.stderr)
        again = json.loads(piped.stdout)
        self.assertEqual(again["skipped_lines"], 2)
        self.assertEqual(again["actions"], summary["actions"])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--no-default-browser-check", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-extensions",
           "--disable-default-apps", "--metrics-recording-only", "--disable-breakpad",
           "--disable-domain-reliability", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--proxy-server=127.0.0.1:9", "--hide-scrollbars"]


@unittest.skipUnless(CHROMIUM, "chromium is not installed (Debian package chromium)")
class ReviewHtmlTest(unittest.TestCase):
    def chromium(self, directory, *args):
        profile = os.path.join(directory, "profile")
        return subprocess.run([CHROMIUM] + OFFLINE + ["--user-data-dir=" + profile] + list(args),
                              capture_output=True, timeout=h.scaled(90))

    def test_html_page_renders_with_charts_and_numbers(self):
        directory = h.new_tempdir(self.addCleanup)
        page = os.path.join(directory, "review.html")
        result = review("--html", page, GOLDEN_LOG)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(page, encoding="utf-8") as f:
            self.assertNotRegex(f.read(), r"(?i)<script|\bsrc=|https?://(?!www\.w3\.org/2000/svg)")

        dom = self.chromium(directory, "--dump-dom", "file://" + page)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        html = dom.stdout.decode()
        hours = re.search(r'<svg id="hours-chart".*?</svg>', html, re.S).group(0)
        reasons = re.search(r'<svg id="reasons-chart".*?</svg>', html, re.S).group(0)
        # One bar per hour and action that happened: 1 + 4 + 4 + 3 + 1 in the golden log.
        self.assertEqual(len(re.findall(r'<rect class="bar action-', hours)), 13)
        self.assertIn("<title>2026-11-30T08:00Z accept: 3</title>", hours)
        self.assertIn("<title>2026-11-30T09:00Z tempfail: 2</title>", hours)
        self.assertEqual(len(re.findall(r'<rect class="bar reason"', reasons)), 6)
        self.assertIn("<title>dnsbl: DNSBL_LISTED: 3</title>", reasons)
        self.assertRegex(html, r'<td>reject</td><td class="num">10</td><td class="num">41\.7%</td>')
        self.assertRegex(html, r'<td>192\.0\.2\.10</td><td class="num">7</td><td class="num">1</td>')
        self.assertIn("decisions: 24 (transaction 21, connection 2, release 1)", html)

        png = os.path.join(directory, "review.png")
        shot = self.chromium(directory, "--screenshot=" + png, "--window-size=1000,1600",
                             "file://" + page)
        self.assertEqual(shot.returncode, 0, shot.stderr[-2000:])
        with open(png, "rb") as f:
            image = f.read()
        self.assertEqual(image[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(len(image), 20000, "a blank page compresses to a few KB")


if __name__ == "__main__":
    unittest.main()
