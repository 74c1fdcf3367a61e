"""The quarantine end to end: `spamgate serve` keeps the messages it refuses (or tags, when
configured) in [quarantine] dir, named by the decision id the client saw; `spamgate release`
delivers one to the backend with its original envelope exactly once (a second run says so, a
failed delivery can be retried); `spamgate scan --id` re-scores it with today's rules; the
pruner removes messages past the retention at start-up."""

import os
import re
import smtplib
import subprocess
import time
import unittest

import harness as h

SPAM_RULE = "body LOCAL_RELEASE_ME /release-me-please/\nscore LOCAL_RELEASE_ME {score}\n"
TAG_RULE = "body LOCAL_TAG_ME /tag-me-please/\nscore LOCAL_TAG_ME 6\n"


def message(body, message_id):
    return ("From: Sender <sender@example.org>\r\nTo: one@example.com, two@example.com\r\n"
            "Subject: Friday\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
            "Message-ID: <%s>\r\nX-Spam-Status: Yes, forged\r\n\r\n%s\r\n" % (message_id, body))


def run_spamgate(*args):
    return subprocess.run([h.spamgate_bin()] + list(args), capture_output=True, text=True,
                          timeout=h.scaled(30))


class QuarantineTest(h.GatewayTestCase):
    def gateway(self, keep=("reject",), score=30):
        self.directory = self.make_tempdir()
        self.rules = os.path.join(self.directory, "local.cf")
        self.write_rules(score)
        self.qdir = os.path.join(self.directory, "quarantine")
        overrides = {"rules": {"paths": [self.rules]},
                     "policy": {"tag_score": 5.0, "reject_score": 20.0},
                     "quarantine": {"dir": self.qdir, "keep": list(keep)}}
        return self.start_gateway(overrides=overrides, tls=False, directory=self.directory)

    def write_rules(self, score):
        with open(self.rules, "w") as f:
            f.write(SPAM_RULE.format(score=score) + TAG_RULE)

    def send(self, gateway, body, message_id):
        """Sends to two recipients; returns (code, text) of the reply to the end of data."""
        with smtplib.SMTP(h.LOOPBACK, gateway.config.port, local_hostname="client.example.org",
                          timeout=h.scaled(20)) as c:
            try:
                c.sendmail("sender@example.org", ["one@example.com", "two@example.com"],
                           message(body, message_id))
                return 250, ""
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error.decode()

    def rejected_id(self, gateway, message_id="q1@example.org"):
        code, text = self.send(gateway, "please release-me-please now", message_id)
        self.assertEqual(code, 550, text)
        found = re.search(r"id=([0-9A-Z]{16})", text)
        self.assertIsNotNone(found, text)
        return found.group(1)

    def release(self, gateway, decision_id):
        return run_spamgate("release", "-c", gateway.config.path, decision_id)

    def test_a_rejected_message_is_kept_under_its_id(self):
        gateway = self.gateway()
        decision_id = self.rejected_id(gateway)
        path = os.path.join(self.qdir, decision_id + ".msg")
        self.assertTrue(os.path.exists(path), os.listdir(self.directory))
        with open(path, "rb") as f:
            kept = f.read()
        head, _, body = kept.partition(b"\n\n")
        fields = [line.split(b": ", 1) for line in head.split(b"\n")]
        self.assertIn([b"id", decision_id.encode()], fields)
        self.assertIn([b"client", b"127.0.0.1"], fields)
        self.assertIn([b"helo", b"client.example.org"], fields)
        self.assertIn([b"mail-from", b"sender@example.org"], fields)
        self.assertIn([b"rcpt", b"one@example.com"], fields)
        self.assertIn([b"rcpt", b"two@example.com"], fields)
        self.assertIn([b"action", b"reject"], fields)
        self.assertIn(b"Message-ID: <q1@example.org>\r\n", body, "the message as received")
        self.assertNotIn(b"Received: from client.example.org", body, "not stamped")
        [d] = h.wait_decisions(gateway.config.decisions, lambda d: d["id"] == decision_id)
        self.assertTrue(d["quarantined"])
        self.assertEqual(d["action"], "reject")
        self.assertEqual(self.sink.messages(), [], "the backend never saw it")
        explained = run_spamgate("review", "--explain", decision_id, gateway.config.decisions)
        self.assertEqual(explained.returncode, 0, explained.stderr)
        self.assertIn("kept: spamgate scan --id " + decision_id, explained.stdout)

    def test_release_delivers_once_with_the_original_envelope(self):
        gateway = self.gateway()
        decision_id = self.rejected_id(gateway)
        first = self.release(gateway, decision_id)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("released " + decision_id, first.stdout)
        [delivered] = self.sink.wait_messages(1)
        self.assertEqual(delivered.mail_args, "<sender@example.org>")
        self.assertEqual(sorted(delivered.rcpt_args), ["<one@example.com>", "<two@example.com>"])
        self.assertIn(b"X-Spamgate-Released: " + decision_id.encode(), delivered.message)
        self.assertIn(b"Message-ID: <q1@example.org>", delivered.message)
        self.assertNotIn(b"X-Spam-Status: Yes, forged", delivered.message)
        head = delivered.message.split(b"\n\n", 1)[0]
        self.assertRegex(head, rb"Received: from client\.example\.org \(.*\n?.*id " +
                         decision_id.encode(), "the original hop's Received header")

        second = self.release(gateway, decision_id)
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn("released already", second.stdout)
        time.sleep(h.scaled(0.5))
        self.assertEqual(len(self.sink.messages()), 1, "no duplicate delivery")

        releases = [d for d in h.read_decisions(gateway.config.decisions)
                    if d["event"] == "release"]
        self.assertEqual(len(releases), 1, releases)
        self.assertEqual(releases[0]["release_of"], decision_id)
        self.assertEqual(releases[0]["action"], "accept")
        self.assertNotEqual(releases[0]["id"], decision_id)
        self.assertEqual([r["address"] for r in releases[0]["rcpts"]],
                         ["one@example.com", "two@example.com"])

    def test_a_failed_release_can_be_tried_again(self):
        gateway = self.gateway()
        decision_id = self.rejected_id(gateway)
        self.sink.stop()
        failed = self.release(gateway, decision_id)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("release of %s failed" % decision_id, failed.stderr)
        sink = self.start_sink()
        gateway.config.update({"backend": {"address": sink.address}})
        retried = self.release(gateway, decision_id)
        self.assertEqual(retried.returncode, 0, retried.stderr)
        self.assertEqual(len(sink.wait_messages(1)), 1)
        attempts = [d for d in h.read_decisions(gateway.config.decisions)
                    if d["event"] == "release"]
        self.assertEqual([d["action"] for d in attempts], ["tempfail", "accept"])

    def test_unknown_and_malformed_ids_are_refused(self):
        gateway = self.gateway()
        unknown = self.release(gateway, "0000000000000000")
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("0000000000000000.msg", unknown.stderr)
        bad = self.release(gateway, "../../etc/passwd")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("not a decision id", bad.stderr)

    def test_scan_id_rescores_with_todays_rules(self):
        gateway = self.gateway()
        decision_id = self.rejected_id(gateway)
        before = run_spamgate("scan", "-c", gateway.config.path, "--id", decision_id)
        self.assertEqual(before.returncode, 0, before.stderr)
        self.assertIn("was reject at score 30.00", before.stdout)
        self.assertIn(decision_id + ": score 30.00, reject", before.stdout)
        self.write_rules(score=1)  # the operator lowers the false positive's rule
        after = run_spamgate("scan", "-c", gateway.config.path, "--id", decision_id)
        self.assertIn(decision_id + ": score 1.00, accept", after.stdout)

    def test_tagged_mail_is_kept_only_when_asked(self):
        gateway = self.gateway(keep=("tag",))
        code, _ = self.send(gateway, "tag-me-please", "t1@example.org")
        self.assertEqual(code, 250)
        [d] = h.wait_decisions(gateway.config.decisions, lambda d: d["action"] == "tag")
        self.assertTrue(d["quarantined"])
        self.assertTrue(os.path.exists(os.path.join(self.qdir, d["id"] + ".msg")))
        self.assertEqual(len(self.sink.wait_messages(1)), 1, "and delivered")
        rejected = self.rejected_id(gateway, "q2@example.org")
        self.assertFalse(os.path.exists(os.path.join(self.qdir, rejected + ".msg")))

    def test_messages_past_retention_are_pruned_at_start(self):
        directory = self.make_tempdir()
        qdir = os.path.join(directory, "quarantine")
        os.makedirs(qdir)
        old, new = os.path.join(qdir, "0000000000000OLD.msg"), os.path.join(qdir,
                                                                            "0000000000000NEW.msg")
        for path in (old, new):
            with open(path, "w") as f:
                f.write("id: %s\n\nSubject: x\r\n\r\n" % os.path.basename(path)[:16])
        month_ago = time.time() - 31 * 86400
        os.utime(old, (month_ago, month_ago))
        gateway = self.start_gateway(overrides={"quarantine": {"dir": qdir, "retention_days": 30}},
                                     tls=False, directory=directory)
        deadline = time.monotonic() + h.scaled(5)
        while os.path.exists(old) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(os.path.exists(old))
        self.assertTrue(os.path.exists(new))
        gateway.wait_stderr("quarantine: pruned 1 messages")


if __name__ == "__main__":
    unittest.main()
