"""Signals: SIGTERM in the middle of a burst of concurrent messages, SIGHUP with sessions
open (new config for new sessions, broken config refused), SIGUSR1 reopens the decision log."""

import os
import re
import signal
import threading
import time
import unittest

import harness as h


class BurstClient(threading.Thread):
    """One message, written slowly so that a burst keeps many transactions in flight."""

    def __init__(self, port, index, start_delay, think=0.0):
        super().__init__(daemon=True)
        self.think = think  # a pause between EHLO and MAIL: the session is idle meanwhile
        self.port = port
        self.message_id = "burst-%d@test" % index
        self.start_delay = start_delay
        self.mail_accepted_at = None  # time.monotonic() when MAIL got 250
        self.final = None  # the reply to the end of data
        self.refusal = None  # the reply that ended the session early, if any
        self.error = None

    def run(self):
        time.sleep(self.start_delay)
        try:
            with h.RawClient(self.port, timeout=30) as c:
                self.steps(c)
        except (OSError, h.ConnectionClosed) as e:
            self.error = e

    def steps(self, c):
        for expected, line in ((220, None), (250, "EHLO burst.example"),
                               (250, "MAIL FROM:<sender@example.org>")):
            if line and line.startswith("MAIL"):
                time.sleep(self.think)
            r = c.reply() if line is None else c.command(line)
            if r.code != expected:
                self.refusal = r
                return
        self.mail_accepted_at = time.monotonic()
        for expected, line in ((250, "RCPT TO:<rcpt@example.com>"), (354, "DATA")):
            r = c.command(line)
            if r.code != expected:
                self.refusal = r
                return
        data = h.dot_stuff(h.message_bytes(self.message_id, body=b"burst body line\r\n" * 200))
        quarter = len(data) // 4
        for i in range(4):
            c.send(data[i * quarter:] if i == 3 else data[i * quarter:(i + 1) * quarter])
            time.sleep(0.1)
        self.final = c.reply()


class SigtermTest(h.GatewayTestCase):
    def test_sigterm_during_burst(self):
        gateway = self.start_gateway(overrides={"server": {"timeouts": {"shutdown": 20}}})
        clients = [BurstClient(gateway.config.port, i, i * 0.04, think=0.6 if i % 3 == 0 else 0)
                   for i in range(40)]
        for c in clients:
            c.start()
        time.sleep(0.8)
        gateway.signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        status = gateway.wait(30)
        for c in clients:
            c.join(h.scaled(30))
        self.assertEqual(status, 0, gateway.stderr())
        self.assertRegex(gateway.stderr(), r"shutting down")

        in_flight = [c for c in clients if c.mail_accepted_at and c.mail_accepted_at < signalled_at]
        accepted = [c for c in clients if c.final is not None and c.final.code == 250]
        self.assertTrue(in_flight, "SIGTERM came before any transaction started")
        self.assertLess(len(accepted), len(clients), "SIGTERM came after the burst")
        # transactions in flight at SIGTERM finish; the rest are told 421 4.3.2 (or find the
        # listener gone)
        for c in in_flight:
            self.assertIsNotNone(c.final, "%s: %r %r" % (c.message_id, c.refusal, c.error))
            self.assertEqual(c.final.code, 250, c.message_id)
        refused = [c for c in clients if c.refusal is not None]
        self.assertTrue(refused, "no session was idle at SIGTERM")
        for c in refused:
            self.assertEnhanced(c.refusal, 421, "4.3.2")

        at_backend = {}
        for m in self.sink.settled_messages():
            found = re.search(rb"Message-ID: <([^>]+)>", m.message)
            self.assertIsNotNone(found, m.raw[:300])
            at_backend[found.group(1).decode()] = at_backend.get(found.group(1).decode(), 0) + 1
        for c in accepted:
            self.assertEqual(at_backend.get(c.message_id), 1, c.message_id)
        self.assertTrue(all(n == 1 for n in at_backend.values()), at_backend)
        self.assertLessEqual(set(at_backend), {c.message_id for c in clients})
        # every 250 has its decision log line
        logged = {d["id"] for d in self.transactions(gateway) if d["action"] == "accept"}
        for c in accepted:
            self.assertIn(h.queued_id(c.final), logged)

    def test_sigterm_idle_session_gets_421(self):
        gateway = self.start_gateway()
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            gateway.signal(signal.SIGTERM)
            self.assertEnhanced(c.reply(), 421, "4.3.2")
            self.assertTrue(c.is_closed())
        self.assertEqual(gateway.wait(20), 0)


class ShutdownDeadlineTest(h.GatewayTestCase):
    def test_stalled_transaction_is_cut_at_the_deadline(self):
        gateway = self.start_gateway(overrides={"server": {"timeouts": {"shutdown": 1}}})
        with h.RawClient(gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(b"Subject: stalled\r\n\r\nhalf a message")
            started = time.monotonic()
            gateway.signal(signal.SIGTERM)
            self.assertEnhanced(c.reply(timeout=10), 421, "4.3.2")
            self.assertGreaterEqual(time.monotonic() - started, 0.8)
            self.assertTrue(c.is_closed())
        self.assertEqual(gateway.wait(20), 0)
        self.assertEqual(self.sink.settled_messages(), [])


class SighupTest(h.GatewayTestCase):
    def reload(self, gateway, pattern):
        mark = len(gateway.stderr())
        gateway.signal(signal.SIGHUP)
        self.assertTrue(gateway.wait_stderr(pattern, 10, start=mark), gateway.stderr())
        return gateway.stderr()[mark:]

    def banner(self, gateway):
        with h.RawClient(gateway.config.port) as c:
            return c.expect(220).text

    def test_reload_during_sessions(self):
        gateway = self.start_gateway()
        self.assertEqual(self.banner(gateway), h.HOSTNAME + " ESMTP spamgate")
        # session A: open before the reload, in the middle of a transaction
        a = h.RawClient(gateway.config.port)
        self.addCleanup(a.close)
        a.greet()
        a.expect(250, "MAIL FROM:<sender@example.org>")
        a.expect(250, "RCPT TO:<rcpt@example.com>")

        gateway.config.update({"server": {"banner": "ESMTP reloaded",
                                          "max_message_size": 123456}})
        self.reload(gateway, r"configuration reloaded")
        self.assertEqual(self.banner(gateway), h.HOSTNAME + " ESMTP reloaded")
        with h.RawClient(gateway.config.port) as b:
            self.assertIn("SIZE 123456", b.greet().lines)

        # A survives and finishes, on the configuration it started with
        a.expect(354, "DATA")
        a.send(h.dot_stuff(h.message_bytes("hup@test")))
        h.queued_id(a.expect(250))
        self.assertIn("SIZE 52428800", a.ehlo().lines)
        a.expect(221, "QUIT")
        self.assertEqual(len(self.sink.wait_messages(1)), 1)

        # a broken file is reported and the running configuration stays
        gateway.config.update({"server": {"max_recipients": 0}})
        report = self.reload(gateway, r"reload failed")
        self.assertIn("server.max_recipients", report)
        self.assertEqual(self.banner(gateway), h.HOSTNAME + " ESMTP reloaded")
        gateway.config.write(text="[server\nbanner = 'x'\n")
        report = self.reload(gateway, r"reload failed")
        self.assertRegex(report, r"(?i)syntax")
        self.assertEqual(self.banner(gateway), h.HOSTNAME + " ESMTP reloaded")
        self.assertTrue(gateway.running())
        self.assertEqual(h.send_message(gateway.config.port, h.message_bytes("after@test")).code,
                         250)


class Sigusr1Test(h.GatewayTestCase):
    def test_reopen_decision_log(self):
        gateway = self.start_gateway()
        path = gateway.config.decisions
        h.send_message(gateway.config.port, h.message_bytes("before@test"))
        self.assertEqual(len(h.wait_decisions(path)), 1)
        os.rename(path, path + ".1")
        gateway.signal(signal.SIGUSR1)
        deadline = time.monotonic() + h.scaled(5)
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.02)
        h.send_message(gateway.config.port, h.message_bytes("after@test"))
        new = h.wait_decisions(path)
        self.assertEqual([d["message_id"] for d in new], ["<after@test>"])
        self.assertEqual([d["message_id"] for d in h.read_decisions(path + ".1")],
                         ["<before@test>"])


if __name__ == "__main__":
    unittest.main()
