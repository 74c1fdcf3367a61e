"""Each limit and its reply: message size (SIZE= and in data, DATA and BDAT), recipients,
command line length, errors, unknown commands, idle timeouts, connections per IP and in
total."""

import time
import unittest

import harness as h

SMALL = 10000


class MessageSizeTest(h.GatewayTestCase):
    def setUp(self):
        self.gateway = self.start_gateway(overrides={"server": {"max_message_size": SMALL}})

    def open_transaction(self, c):
        c.greet()
        c.expect(250, "MAIL FROM:<sender@example.org>")
        c.expect(250, "RCPT TO:<rcpt@example.com>")

    def test_ehlo_announces_limit(self):
        with h.RawClient(self.gateway.config.port) as c:
            self.assertIn("SIZE %d" % SMALL, c.greet().lines)

    def test_size_parameter_over_limit(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            r = c.command("MAIL FROM:<sender@example.org> SIZE=%d" % (SMALL + 1))
            self.assertEnhanced(r, 552, "5.3.4")
            c.expect(250, "MAIL FROM:<sender@example.org> SIZE=%d" % SMALL)
        log = h.wait_decisions(self.gateway.config.decisions)
        self.assertTrue(log, "a decision log line")

    def test_data_over_limit(self):
        message = h.message_bytes("big@test", body=b"y" * 76 + b"\r\n") * (SMALL // 60)
        self.assertGreater(len(message), SMALL)
        with h.RawClient(self.gateway.config.port) as c:
            self.open_transaction(c)
            c.expect(354, "DATA")
            c.send(h.dot_stuff(message)[:-3])
            self.assertFalse(c.is_closed(0.3), "no reply before the end of data")
            self.assertEqual(c.buffer, b"", "the refusal waits for the final dot")
            c.send(b".\r\n")
            self.assertEnhanced(c.reply(), 552, "5.3.4")
            c.expect(250, "NOOP")  # the session goes on
            # and a message within the limit still goes through
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("small@test")))
            c.expect(250)
        messages = self.sink.wait_messages(1)
        self.assertEqual(len(messages), 1)
        self.assertIn(b"<small@test>", messages[0].message)
        refused = [d for d in self.transactions(self.gateway) if d["reply"]["code"] == 552]
        self.assertEqual(len(refused), 1, self.decisions(self.gateway))
        self.assertEqual(refused[0]["action"], "reject")

    def test_bdat_over_limit(self):
        with h.RawClient(self.gateway.config.port) as c:
            self.open_transaction(c)
            c.send(b"BDAT %d LAST\r\n" % (SMALL + 1) + b"z" * (SMALL + 1))
            self.assertEnhanced(c.reply(), 552, "5.3.4")
            c.expect(250, "NOOP")  # the chunk was consumed, not read as commands
        self.assertEqual(self.sink.settled_messages(), [])


class RecipientLimitTest(h.GatewayTestCase):
    def test_too_many_recipients(self):
        gateway = self.start_gateway(overrides={"server": {"max_recipients": 3}})
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            for i in range(3):
                c.expect(250, "RCPT TO:<r%d@example.com>" % i)
            self.assertEnhanced(c.command("RCPT TO:<r3@example.com>"), 452, "4.5.3")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("rcpts@test")))
            c.expect(250)
        messages = self.sink.wait_messages(1)
        self.assertEqual(messages[0].rcpt_args, ["<r0@example.com>", "<r1@example.com>",
                                                 "<r2@example.com>"])


class LineLengthTest(h.GatewayTestCase):
    """max_line_length (998 by default) bounds message text lines, however they arrive."""

    def setUp(self):
        self.gateway = self.start_gateway()

    def transaction(self, c):
        c.expect(250, "MAIL FROM:<sender@example.org>")
        c.expect(250, "RCPT TO:<rcpt@example.com>")

    def message(self, length):
        return h.message_bytes("line-%d@test" % length, body=b"l" * length + b"\r\n")

    def test_data(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            self.transaction(c)
            c.expect(354, "DATA")
            c.send(h.dot_stuff(self.message(998)))
            c.expect(250)
            self.transaction(c)
            c.expect(354, "DATA")
            c.send(h.dot_stuff(self.message(999)))
            self.assertEqual(c.reply().code, 500)
        self.assertEqual(len(self.sink.settled_messages()), 1)

    def test_bdat(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            for length, code in ((998, 250), (999, 500)):
                self.transaction(c)
                message = self.message(length)
                c.send(b"BDAT %d LAST\r\n" % len(message) + message)
                self.assertEqual(c.reply().code, code, length)
        self.assertEqual(len(self.sink.settled_messages()), 1)


class CommandLimitsTest(h.GatewayTestCase):
    def setUp(self):
        self.gateway = self.start_gateway(
            overrides={"server": {"max_errors": 3, "max_unknown_commands": 2}})

    def test_command_line_too_long(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            r = c.command("NOOP " + "x" * 600)
            self.assertEqual(r.code, 500, r)
            c.expect(250, "NOOP")

    def test_errors_then_421(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.expect(220)
            self.assertEqual(c.command("MAIL FROM:<a@example.org>").code, 503)
            self.assertEqual(c.command("RCPT TO:<a@example.org>").code, 503)
            c.send(b"DATA\r\n")
            self.assertEqual(c.reply().code, 503)
            self.assertEnhanced(c.reply(), 421, "4.7.0")
            self.assertTrue(c.is_closed())

    def test_unknown_commands_then_421(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.expect(220)
            self.assertEqual(c.command("FOO").code, 500)
            self.assertEnhanced(c.command("BAR"), 421, "4.7.0")
            self.assertTrue(c.is_closed())
        log = h.wait_decisions(self.gateway.config.decisions)
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["event"], "connection")
        self.assertEqual(log[0]["reply"]["code"], 421)


class IdleTimeoutTest(h.GatewayTestCase):
    def setUp(self):
        self.gateway = self.start_gateway(overrides={
            "server": {"timeouts": {"greeting": 1, "command": 2, "data_block": 1}}})

    def assertTimesOut(self, c, at_least, at_most):
        started = time.monotonic()
        r = c.reply(timeout=at_most + 5)
        elapsed = time.monotonic() - started
        self.assertEnhanced(r, 421, "4.4.2")
        self.assertTrue(c.is_closed())
        self.assertGreaterEqual(elapsed, at_least - 0.2)
        self.assertLess(elapsed, h.scaled(at_most + 2))

    def test_greeting_timeout(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.expect(220)
            self.assertTimesOut(c, 1, 1)
        log = h.wait_decisions(self.gateway.config.decisions)
        self.assertEqual(log[0]["reason"], "timeout")

    def test_command_timeout(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            time.sleep(1.2)  # longer than the greeting timeout: after EHLO the command one counts
            c.expect(250, "NOOP")
            self.assertTimesOut(c, 2, 2)

    def test_data_block_timeout(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(b"Subject: slow\r\n\r\npart")
            self.assertTimesOut(c, 1, 1)
        time.sleep(0.2)
        self.assertEqual(self.sink.settled_messages(), [])


class ConnectionLimitTest(h.GatewayTestCase):
    def hold(self, port, n):
        clients = []
        for _ in range(n):
            c = h.RawClient(port)
            self.addCleanup(c.close)
            c.expect(220)
            clients.append(c)
        return clients

    def assertRefused(self, port, tls=False):
        with h.RawClient(port, tls=tls) as c:
            r = c.reply()
            self.assertEnhanced(r, 421, "4.7.0")
            self.assertTrue(c.is_closed())

    def test_per_ip(self):
        gateway = self.start_gateway(overrides={"server": {"max_connections_per_ip": 2}})
        held = self.hold(gateway.config.port, 2)
        self.assertRefused(gateway.config.port)
        held[0].command("QUIT")
        self.assertTrue(held[0].is_closed())
        time.sleep(0.2)
        self.hold(gateway.config.port, 1)  # a slot is free again
        log = [d for d in self.decisions(gateway) if d["reply"]["code"] == 421]
        self.assertTrue(any("CONN_LIMIT_IP" in [s["name"] for s in d["symbols"]] for d in log), log)

    def test_total(self):
        gateway = self.start_gateway(overrides={
            "server": {"max_connections": 2, "max_connections_per_ip": 100}})
        self.hold(gateway.config.port, 2)
        self.assertRefused(gateway.config.port)
        self.assertRefused(gateway.config.tls_port, tls=True)


if __name__ == "__main__":
    unittest.main()
