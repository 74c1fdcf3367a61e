"""The decision log: one JSON line per transaction (and per connection without one), with the
documented fields; the id in the 250 reply is the log line's id."""

import re
import threading
import unittest

import harness as h

FIELDS = {"time", "event", "id", "client", "helo", "tls", "mail_from", "rcpts", "size",
          "message_id", "action", "reason", "reply", "score", "symbols", "backend",
          "quarantined", "duration_ms"}
ACTIONS = {"accept", "tag", "tempfail", "reject", "disconnect", "none"}


class DecisionLogTest(h.GatewayTestCase):
    def setUp(self):
        self.gateway = self.start_gateway(overrides={"server": {"max_message_size": 5000}})
        self.path = self.gateway.config.decisions

    def assertWellFormed(self, d):
        self.assertEqual(set(d), FIELDS, d)
        self.assertRegex(d["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIn(d["event"], ("transaction", "connection"))
        self.assertRegex(d["id"], r"^[0-9A-Z]{16}$")
        self.assertEqual(d["client"]["ip"], "127.0.0.1")
        self.assertIsInstance(d["client"]["port"], int)
        self.assertIsInstance(d["helo"], str)
        self.assertTrue(d["tls"] is None or isinstance(d["tls"], str))
        self.assertTrue(d["mail_from"] is None or isinstance(d["mail_from"], str))
        for r in d["rcpts"]:
            self.assertEqual(set(r), {"address", "reply"})
            self.assertEqual(set(r["reply"]), {"code", "enhanced", "text"})
        self.assertIsInstance(d["size"], int)
        self.assertIsInstance(d["message_id"], str)
        self.assertIn(d["action"], ACTIONS)
        self.assertIsInstance(d["reason"], str)
        self.assertEqual(set(d["reply"]), {"code", "enhanced", "text"})
        self.assertIsInstance(d["score"], (int, float))
        for s in d["symbols"]:
            self.assertEqual(set(s), {"name", "score", "detail"})
        self.assertEqual(set(d["backend"]), {"reply", "queue_id"})
        self.assertIsInstance(d["duration_ms"], int)
        self.assertGreaterEqual(d["duration_ms"], 0)

    def test_one_line_per_transaction(self):
        message = h.message_bytes("logged@test", body=b"hello\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            client_port = c.sock.getsockname()[1]
            c.greet("logger.example")
            # 1: accepted
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(250, "RCPT TO:<second@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(message))
            accepted_id = h.queued_id(c.expect(250))
            # 2: abandoned with RSET
            c.expect(250, "MAIL FROM:<rset@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(250, "RSET")
            # 3: refused for its size
            c.expect(250, "MAIL FROM:<big@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("big@test", body=(b"b" * 70 + b"\r\n") * 90)))
            refused = c.reply()
            self.assertEqual(refused.code, 552)
            c.expect(221, "QUIT")
        log = h.wait_decisions(self.path, count=3)
        self.assertEqual(len(log), 3, log)  # no extra "connection" line
        for d in log:
            self.assertWellFormed(d)
            self.assertEqual(d["event"], "transaction")
            self.assertEqual(d["client"]["port"], client_port)
            self.assertEqual(d["helo"], "logger.example")
            self.assertIsNone(d["tls"])
        self.assertEqual(len({d["id"] for d in log}), 3)
        first, second, third = log

        self.assertEqual(first["id"], accepted_id)
        self.assertEqual(first["mail_from"], "sender@example.org")
        self.assertEqual([(r["address"], r["reply"]["code"], r["reply"]["enhanced"])
                          for r in first["rcpts"]],
                         [("rcpt@example.com", 250, "2.1.5"), ("second@example.com", 250, "2.1.5")])
        self.assertEqual(first["size"], len(message))
        self.assertEqual(first["message_id"], "<logged@test>")
        self.assertEqual(first["action"], "accept")
        self.assertEqual(first["reply"], {"code": 250, "enhanced": "2.0.0",
                                          "text": "Ok: queued as " + accepted_id})
        self.assertEqual(first["score"], 0)
        self.assertRegex(first["backend"]["reply"], r"^250 ")

        self.assertEqual(second["mail_from"], "rset@example.org")
        self.assertEqual(second["action"], "none")
        self.assertEqual(second["message_id"], "")

        self.assertEqual(third["mail_from"], "big@example.org")
        self.assertEqual(third["action"], "reject")
        self.assertEqual(third["reply"]["code"], 552)
        self.assertEqual(third["reply"]["enhanced"], "5.3.4")
        self.assertNotEqual(third["reason"], "")
        self.assertEqual(self.sink.settled_messages()[0].message.count(b"Message-ID"), 1)

    def test_null_sender_and_tls(self):
        with h.RawClient(self.gateway.config.tls_port, tls=True) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("bounce@test")))
            queued = h.queued_id(c.expect(250))
        log = h.wait_decisions(self.path)
        self.assertWellFormed(log[0])
        self.assertEqual(log[0]["id"], queued)
        self.assertEqual(log[0]["mail_from"], "")
        self.assertRegex(log[0]["tls"], r"^TLSv1\.[23] ")

    def test_connection_without_transaction(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            c.expect(250, "NOOP")
            c.expect(221, "QUIT")
        log = h.wait_decisions(self.path)
        self.assertEqual(len(log), 1)
        self.assertWellFormed(log[0])
        self.assertEqual(log[0]["event"], "connection")
        self.assertIsNone(log[0]["mail_from"])
        self.assertEqual(log[0]["reply"]["code"], 221)

    def test_refused_recipient_is_recorded(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            bad = c.command("RCPT TO:<no-at-sign>")
            self.assertEqual(bad.code // 100, 5, bad)
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("mixed@test")))
            c.expect(250)
        log = h.wait_decisions(self.path)
        self.assertEqual([r["reply"]["code"] for r in log[0]["rcpts"]][-1], 250)

    def test_concurrent_lines_do_not_interleave(self):
        errors = []

        def send(i):
            try:
                r = h.send_message(self.gateway.config.port,
                                   h.message_bytes("par-%d@test" % i, body=(b"p" * 70 + b"\r\n") * 40))
                if r.code != 250:
                    errors.append(r)
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(h.scaled(30))
        self.assertEqual(errors, [])
        log = h.wait_decisions(self.path, count=12)  # every line parses as JSON
        self.assertEqual(sorted(d["message_id"] for d in log),
                         sorted("<par-%d@test>" % i for i in range(12)))
        with open(self.path, "rb") as f:
            self.assertTrue(all(re.match(rb"^\{.*\}$", l) for l in f.read().splitlines()))


if __name__ == "__main__":
    unittest.main()
