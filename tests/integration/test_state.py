"""State that outlives a connection, end to end through `spamgate serve`: greylisting at RCPT
(first attempt 451 4.7.1, too early 451, after the delay 250), its passes remembered by the
embedded store across a restart, rate limits and reputation on the store, and two gateways
sharing one Redis (a triplet seen at one passes at the other, a rate limit counts both, a
reputation learned by one is used by the other). Redis killed mid-test: sessions go on (fail
open, logged with the store error); Redis back on its port: the store reconnects by itself.

Delays are seconds, not minutes ([greylist] delay = 1): the tests sleep just past them."""

import os
import time
import unittest
import urllib.request

import harness as h
import redis_server

DELAY = 1
SPAM_RULE = "body LOCAL_SPAM /buy-cheap-pills/\nscore LOCAL_SPAM 30\n"


def attempt(gateway, sender="alice@example.org", rcpt="bob@example.com", source=None):
    """EHLO, MAIL, RCPT; returns the RCPT reply (the session is then closed with QUIT)."""
    with h.RawClient(gateway.config.port, source=source) as c:
        c.greet("client.example.org")
        c.expect(250, "MAIL FROM:<%s>" % sender)
        reply = c.command("RCPT TO:<%s>" % rcpt)
        c.command("QUIT")
        return reply


def deliver(gateway, body="Hello, see you on Friday.", sender="alice@example.org",
            rcpt="bob@example.com"):
    """A whole transaction; returns the reply that refused it (to MAIL or RCPT), else the reply
    to the data."""
    with h.RawClient(gateway.config.port) as c:
        c.greet("client.example.org")
        for line in ("MAIL FROM:<%s>" % sender, "RCPT TO:<%s>" % rcpt):
            r = c.command(line)
            if r.code != 250:
                return r
        c.expect(354, "DATA")
        message = ("From: <%s>\r\nTo: <%s>\r\nSubject: Friday\r\nDate: Mon, 01 Jan 2024 10:00:00"
                   " +0000\r\nMessage-ID: <%f@example.org>\r\n\r\n%s\r\n.\r\n"
                   % (sender, rcpt, time.time(), body))
        c.send(message.encode())
        r = c.reply()
        c.command("QUIT")
        return r


class StateBase(h.GatewayTestCase):
    def gateway(self, directory=None, redis=None, **sections):
        directory = directory or self.make_tempdir()
        overrides = {"greylist": {"enabled": True, "delay": DELAY, "retry_window": 3600,
                                  "skip_good_reputation": False}}
        if redis is not None:
            overrides["store"] = {"backend": "redis", "redis": redis.address}
        return self.start_gateway(overrides=h.merge(overrides, sections), tls=False,
                                  directory=directory)

    def assertGreylisted(self, reply):
        self.assertEqual(reply.code, 451, reply)
        self.assertTrue(reply.lines[0].startswith("4.7.1"), reply)


class EmbeddedStateTest(StateBase):
    def test_greylisting_defers_then_passes_after_the_delay(self):
        gateway = self.gateway()
        self.assertGreylisted(attempt(gateway))
        self.assertGreylisted(attempt(gateway))  # too early
        time.sleep(DELAY + 0.2)
        self.assertEqual(attempt(gateway).code, 250)
        self.assertEqual(attempt(gateway).code, 250, "the triplet stays whitelisted")
        self.assertGreylisted(attempt(gateway, rcpt="carol@example.com"))  # another triplet
        self.assertGreylisted(attempt(gateway, source="127.0.1.9"))  # another /24 network
        self.assertEqual(attempt(gateway, source="127.0.0.9").code, 250, "same /24 network")
        decisions = h.wait_decisions(gateway.config.decisions, count=7)
        deferred = [d for d in decisions
                    if "GREYLIST_DEFER" in [s["name"] for s in d["symbols"]]]
        self.assertEqual(len(deferred), 4)
        self.assertEqual(deferred[0]["action"], "tempfail")
        self.assertTrue(deferred[0]["reason"].startswith("greylist: GREYLIST_DEFER"), deferred[0])

    def test_the_embedded_store_remembers_passes_across_a_restart(self):
        directory = self.make_tempdir()
        gateway = self.gateway(directory=directory)
        self.assertGreylisted(attempt(gateway))
        time.sleep(DELAY + 0.2)
        self.assertEqual(attempt(gateway).code, 250)
        self.assertGreylisted(attempt(gateway, rcpt="dave@example.com"))
        h.stop_and_check(gateway)
        self.assertTrue(os.path.exists(os.path.join(directory, "var", "state.mdb")))
        again = h.Spamgate(gateway.config)
        self.addCleanup(h.stop_and_check, again)
        again.start()
        self.assertEqual(attempt(again).code, 250, "the pass outlived the restart")
        time.sleep(DELAY + 0.2)
        self.assertEqual(attempt(again, rcpt="dave@example.com").code, 250,
                         "the first attempt before the restart counts")

    def test_rate_limits_are_kept_in_the_embedded_store(self):
        gateway = self.gateway(greylist={"enabled": False},
                               rate_limits={"enabled": True, "messages_per_minute": 2})
        for _ in range(2):
            self.assertEqual(deliver(gateway).code, 250)
        refused = deliver(gateway)
        self.assertEqual(refused.code, 450, refused)


@unittest.skipUnless(redis_server.available(), "redis-server is not installed (Debian redis-server)")
class SharedRedisTest(StateBase):
    def setUp(self):
        self.redis = redis_server.start_redis(self.addCleanup, self.make_tempdir())

    def test_a_triplet_seen_by_one_gateway_passes_at_the_other(self):
        first, second = self.gateway(redis=self.redis), self.gateway(redis=self.redis)
        self.assertGreylisted(attempt(first))
        self.assertGreylisted(attempt(second))
        keys = self.redis.command("KEYS", "grey:*")
        self.assertEqual(len(keys), 1, keys)
        self.assertGreater(self.redis.command("PTTL", keys[0]), 0, "every key has a TTL")
        time.sleep(DELAY + 0.2)
        self.assertEqual(attempt(second).code, 250)
        self.assertEqual(attempt(first).code, 250)

    def test_a_rate_limit_counts_the_traffic_of_both(self):
        limits = {"enabled": True, "messages_per_minute": 3}
        first = self.gateway(redis=self.redis, greylist={"enabled": False}, rate_limits=limits)
        second = self.gateway(redis=self.redis, greylist={"enabled": False}, rate_limits=limits)
        for gateway in (first, second, first):
            self.assertEqual(deliver(gateway).code, 250)
        self.assertEqual(deliver(second).code, 450)
        self.assertEqual(deliver(first).code, 450)

    def test_reputation_learned_by_one_is_used_by_the_other(self):
        rules = os.path.join(self.make_tempdir(), "local.cf")
        with open(rules, "w") as f:
            f.write(SPAM_RULE)
        sections = {"greylist": {"enabled": False}, "reputation": {"enabled": True},
                    "rules": {"paths": [rules]}, "policy": {"reject_score": 20}}
        first = self.gateway(redis=self.redis, **sections)
        second = self.gateway(redis=self.redis, **sections)
        for _ in range(4):
            self.assertEqual(deliver(first, body="buy-cheap-pills now").code, 550)
        # Learning follows the decision; wait until the record has counted the four.
        deadline = time.monotonic() + h.scaled(5)
        record = None
        while time.monotonic() < deadline:
            record = self.redis.command("GET", "rep:ip:127.0.0.1")
            if record and float(record.split()[4]) > 3.9:  # "v1 ACCEPT TAG TEMPFAIL REJECT MS"
                break
            time.sleep(0.05)
        self.assertGreater(float(record.split()[4]), 3.9, record)
        self.assertEqual(deliver(second).code, 250)
        [d] = h.wait_decisions(second.config.decisions, lambda d: d["action"] != "none")
        names = {s["name"]: s["score"] for s in d["symbols"]}
        self.assertIn("REPUTATION_BAD", names, d["symbols"])
        self.assertGreater(names["REPUTATION_BAD"], 0)
        self.assertEqual(d["action"], "tag", "REPUTATION_BAD 4 + REPUTATION_NET_BAD 2 >= 5")

    def test_redis_killed_fails_open_and_the_store_reconnects(self):
        metrics = "%s:%d" % (h.LOOPBACK, h.free_port())
        gateway = self.gateway(redis=self.redis, metrics={"listen": metrics},
                               rate_limits={"enabled": True, "messages_per_minute": 100})
        gateway.metrics = metrics
        self.assertGreylisted(attempt(gateway))
        port = self.redis.port
        self.redis.kill()
        started = time.monotonic()
        reply = attempt(gateway, rcpt="erin@example.com")
        self.assertEqual(reply.code, 250, "greylisting fails open")
        self.assertLess(time.monotonic() - started, h.scaled(3), "no stalled session")
        [d] = h.wait_decisions(gateway.config.decisions,
                               lambda d: "erin@example.com" in [r["address"] for r in d["rcpts"]])
        names = [s["name"] for s in d["symbols"]]
        self.assertIn("GREYLIST_STORE_ERROR", names)
        self.assertIn("RATE_STORE_ERROR", names)
        with urllib.request.urlopen("http://%s/metrics" % gateway.metrics, timeout=5) as r:
            metrics = r.read().decode()
        self.assertIn('spamgate_store_errors_total{feature="greylist"} 1', metrics)
        self.assertIn('spamgate_store_errors_total{feature="rate_limits"} 1', metrics)
        self.redis = redis_server.start_redis(self.addCleanup, self.make_tempdir(), port=port)
        deadline = time.monotonic() + h.scaled(10)
        while True:
            reply = attempt(gateway, rcpt="frank@example.com")
            if reply.code == 451 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertGreylisted(reply)


if __name__ == "__main__":
    unittest.main()
