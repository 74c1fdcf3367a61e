"""The before-queue relay against a real backend: backend down, backend refusing recipients,
the message or the session, and a client that vanishes in the middle of DATA."""

import time
import unittest

import harness as h


class BackendDownTest(h.GatewayTestCase):
    def test_nothing_listening(self):
        dead = "127.0.0.1:%d" % h.free_port()  # reserved by us, so nobody listens there
        gateway = self.start_gateway(dead)
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            replies = [c.command("MAIL FROM:<sender@example.org>")]
            if replies[-1].code == 250:
                replies.append(c.command("RCPT TO:<rcpt@example.com>"))
            if replies[-1].code == 250:
                replies.append(c.command("DATA"))
            if replies[-1].code == 354:
                c.send(h.dot_stuff(h.message_bytes("down@test")))
                replies.append(c.reply())
            final = replies[-1]
            self.assertIn(final.code, (421, 451), replies)
            self.assertTrue(final.text.startswith("4.4.1"), final)
            if final.code == 421:
                self.assertTrue(c.is_closed())
        log = h.wait_decisions(gateway.config.decisions,
                               lambda d: d["event"] == "transaction")
        self.assertEqual(len(log), 1, self.decisions(gateway))
        entry = log[0]
        self.assertEqual(entry["action"], "tempfail")
        self.assertEqual(entry["reply"]["code"], final.code)
        # the operator sees the error: connection refused at the backend's address
        self.assertIn(dead, entry["backend"]["reply"])
        self.assertRegex(entry["backend"]["reply"], r"(?i)connection refused")
        self.assertIn(entry["backend"]["reply"], entry["reason"])


class BackendRefusesTest(h.GatewayTestCase):
    def start_with_sink(self, extra):
        directory = self.make_tempdir()
        self.sink = self.start_sink(extra, directory=directory)
        return self.start_gateway(self.sink.address, directory=directory)

    def test_recipient_refused_at_rcpt(self):
        gateway = self.start_with_sink(
            ["-f", "RCPT", "-B", "550 5.1.1 <rcpt@example.com>: Recipient address rejected: "
                                 "User unknown"])
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            r = c.command("RCPT TO:<rcpt@example.com>")
            self.assertEnhanced(r, 550, "5.1.1")
            self.assertIn("User unknown", r.text)
            self.assertIn(c.command("DATA").code, (503, 554))
            c.expect(250, "RSET")
        log = h.wait_decisions(gateway.config.decisions, lambda d: d["event"] == "transaction")
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["rcpts"][0]["reply"]["code"], 550)
        self.assertIn("User unknown", log[0]["backend"]["reply"])
        self.assertEqual(self.sink.settled_messages(), [])

    def test_recipient_tempfailed_at_rcpt(self):
        gateway = self.start_with_sink(["-r", "RCPT", "-b", "450 4.2.1 Mailbox busy"])
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            self.assertEnhanced(c.command("RCPT TO:<rcpt@example.com>"), 450, "4.2.1")

    def test_sender_refused_at_mail(self):
        gateway = self.start_with_sink(["-f", "MAIL", "-B", "553 5.7.1 Sender rejected"])
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            self.assertEnhanced(c.command("MAIL FROM:<sender@example.org>"), 553, "5.7.1")
            self.assertEqual(c.command("RCPT TO:<rcpt@example.com>").code, 503)

    def test_message_refused_at_end_of_data(self):
        gateway = self.start_with_sink(["-f", ".", "-B", "554 5.6.0 Content rejected"])
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("refused@test")))
            r = c.reply()
            self.assertEnhanced(r, 554, "5.6.0")
            c.expect(250, "NOOP")
        log = h.wait_decisions(gateway.config.decisions, lambda d: d["event"] == "transaction")
        self.assertEqual(log[0]["action"], "reject")
        self.assertEqual(log[0]["message_id"], "<refused@test>")

    def test_backend_times_out(self):
        # smtp-sink answers RCPT after 4 s; spamgate waits 1 s for each backend reply
        directory = self.make_tempdir()
        self.sink = self.start_sink(["-W", "rcpt:4"], directory=directory)
        gateway = self.start_gateway(self.sink.address, {"backend": {"command_timeout": 1}},
                                     directory=directory)
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            started = time.monotonic()
            r = c.command("RCPT TO:<rcpt@example.com>", timeout=10)
            self.assertIn(r.code, (421, 451), r)
            self.assertTrue(r.text.startswith("4.4.1"), r)
            self.assertLess(time.monotonic() - started, h.scaled(3.5))
        log = h.wait_decisions(gateway.config.decisions, lambda d: d["event"] == "transaction")
        self.assertEqual(len(log), 1, self.decisions(gateway))
        self.assertRegex(log[0]["backend"]["reply"] + log[0]["reason"], r"(?i)time")

    def test_slow_client_outlives_the_backend_session(self):
        # smtp-sink drops a session idle for 1 s; the client waits 2.5 s between RCPT and DATA.
        # spamgate must send the envelope again on a fresh backend session: one message, 250.
        gateway = self.start_with_sink(["-t", "1"])
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            time.sleep(2.5)
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("slow@test")))
            h.queued_id(c.expect(250))
        messages = self.sink.settled_messages()
        self.assertEqual(len(messages), 1)
        self.assertIn(b"slow@test", messages[0].raw)

    def test_backend_drops_session_mid_transaction(self):
        # smtp-sink hangs up without a reply when it gets DATA
        gateway = self.start_with_sink(["-q", "DATA"])
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("dropped@test")))
            r = c.reply()
            self.assertEqual(r.code // 100, 4, r)  # never 250: the backend never took it
        self.assertEqual(self.sink.settled_messages(), [])


class BackendSessionTest(h.GatewayTestCase):
    """What spamgate says to the backend before the envelope."""

    def relay_through_tap(self, overrides):
        directory = self.make_tempdir()
        self.sink = self.start_sink(directory=directory)
        tap = self.start_tap(self.sink.port)
        gateway = self.start_gateway(tap.address, overrides, directory=directory)
        with h.RawClient(gateway.config.port) as c:
            c.greet("real-client.example")
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("forward@test")))
            c.expect(250)
        self.assertEqual(len(self.sink.settled_messages()), 1)
        return b"".join(bytes(s) for s in tap.streams)

    def test_xclient(self):
        # smtp-sink offers "XCLIENT NAME HELO": only those attributes, then EHLO again
        stream = self.relay_through_tap({"backend": {"forward_client": "xclient"}})
        self.assertRegex(stream, rb"^EHLO mx\.test\.example\r\nXCLIENT NAME=\[UNAVAILABLE\] "
                                 rb"HELO=real-client\.example\r\nEHLO mx\.test\.example\r\nMAIL ")

    def test_xforward(self):
        stream = self.relay_through_tap({"backend": {"forward_client": "xforward"}})
        self.assertIn(b"XFORWARD ", stream)
        self.assertIn(b"ADDR=127.0.0.1", stream)
        self.assertIn(b"HELO=real-client.example", stream)
        self.assertLess(stream.index(b"XFORWARD"), stream.index(b"MAIL FROM"))

    def test_no_forwarding_by_default(self):
        stream = self.relay_through_tap(None)
        self.assertNotIn(b"XCLIENT", stream)
        self.assertNotIn(b"XFORWARD", stream)

    def test_required_tls_without_starttls_at_the_backend(self):
        gateway = self.start_gateway(overrides={"backend": {"tls": "required"}})
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            r = c.command("MAIL FROM:<sender@example.org>")
            self.assertIn(r.code, (421, 451), r)
            self.assertTrue(r.text.startswith("4.4.1"), r)
        log = h.wait_decisions(gateway.config.decisions, lambda d: d["event"] == "transaction")
        self.assertRegex(log[0]["backend"]["reply"], r"STARTTLS")


class ClientVanishesTest(h.GatewayTestCase):
    def test_mid_data(self):
        directory = self.make_tempdir()
        self.sink = self.start_sink(directory=directory)
        tap = self.start_tap(self.sink.port)
        gateway = self.start_gateway(tap.address, directory=directory)
        c = h.RawClient(gateway.config.port)
        c.greet()
        c.expect(250, "MAIL FROM:<sender@example.org>")
        c.expect(250, "RCPT TO:<rcpt@example.com>")
        c.expect(354, "DATA")
        c.send(h.message_bytes("vanish@test", body=b"half a message\r\n" * 100))
        time.sleep(0.2)
        c.close()
        log = h.wait_decisions(gateway.config.decisions)
        self.assertEqual(len(log), 1, log)
        self.assertNotIn(log[0]["action"], ("accept", "tag"))
        time.sleep(0.3)
        self.assertEqual(self.sink.settled_messages(), [])
        self.assertEqual(tap.data_sections(), [])
        self.assertNotIn(b"half a message", b"".join(bytes(s) for s in tap.streams))
        # the backend session was ended (RSET or QUIT), not left hanging
        self.assertRegex(b"".join(bytes(s) for s in tap.streams), rb"(?m)^(RSET|QUIT)\r$")


if __name__ == "__main__":
    unittest.main()
