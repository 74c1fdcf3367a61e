"""All cases of $SPAMGATE_TESTDATA/smtp/smtp_edge_cases.json through the real server.

The file's "client_sends" and "expect" are prose in places, so TABLE below maps every case id to
concrete bytes and the reply codes its "expect" accepts. Each case becomes one test method
(test_case_<id>); a case of the file without an entry in TABLE fails loudly, and
test_every_case_is_covered checks that the number of cases covered equals the number in the
file (and that each entry's copy of "expect" still matches the file)."""

import os
import re
import time
import unittest

import harness as h

DATA_FILE = ("smtp", "smtp_edge_cases.json")
LIMIT = 100000  # max_message_size of the server under test
TIMEOUT = 2  # greeting and command timeouts of the server under test

MAIL = b"MAIL FROM:<sender@example.org>\r\n"
RCPT = b"RCPT TO:<rcpt@example.com>\r\n"


# --- steps -----------------------------------------------------------------------------------


def codes(spec):
    return {spec} if isinstance(spec, int) else set(spec)


class S:
    """Send `data`, then read one reply per entry of `expected` (a code or a set of codes)."""

    def __init__(self, data, *expected):
        self.data = data
        self.expected = expected

    def run(self, ctx):
        if self.data:
            ctx.client.send(self.data)
        for spec in self.expected:
            r = ctx.client.reply()
            ctx.replies.append(r)
            ctx.test.assertIn(r.code, codes(spec), "after %r: %r" % (self.data[:80], r))


def R(*expected):
    return S(b"", *expected)


class Silent:
    """No reply within `seconds` (the server waits for more input)."""

    def __init__(self, seconds=0.4):
        self.seconds = seconds

    def run(self, ctx):
        closed = ctx.client.is_closed(self.seconds)
        ctx.test.assertFalse(closed, "the server closed the connection")
        ctx.test.assertEqual(ctx.client.buffer, b"", "a reply came early")


class Closed:
    def run(self, ctx):
        ctx.test.assertTrue(ctx.client.is_closed(5), "the server kept the connection open")


class Fn:
    def __init__(self, fn):
        self.fn = fn

    def run(self, ctx):
        self.fn(ctx)


PRELUDES = {
    "connect": [],
    "greet": [R(220)],
    "ehlo": [R(220), S(b"EHLO edge.example\r\n", 250)],
}
PRELUDES["mail"] = PRELUDES["ehlo"] + [S(MAIL, 250)]
PRELUDES["rcpt"] = PRELUDES["mail"] + [S(RCPT, 250)]
PRELUDES["data"] = PRELUDES["rcpt"] + [S(b"DATA\r\n", 354)]


class Case:
    def __init__(self, expect, prelude, *steps):
        self.expect = expect  # the file's "expect", verbatim: the table follows the data
        self.prelude = prelude
        self.steps = steps


def msg(ctx, body=b"edge body\r\n"):
    """Headers with the case's Message-ID, then `body` (CRLF lines)."""
    return b"Subject: edge case\r\nMessage-ID: <" + ctx.message_id.encode() + b">\r\n\r\n" + body


# --- checks used by several cases ------------------------------------------------------------


def delivered(ctx):
    """The case's message as smtp-sink dumped it (LF line ends), exactly once."""
    found = [m for m in ctx.sink.settled_messages() if ctx.tag in m.message]
    ctx.test.assertEqual(len(found), 1, "messages at the backend with %r" % ctx.tag)
    return found[0].without_received()


def wire(ctx):
    """The case's message as spamgate sent it to the backend (dot-stuffed DATA section)."""
    found = [s for s in ctx.tap.data_sections() if ctx.tag in s]
    ctx.test.assertEqual(len(found), 1)
    return found[0]


def nothing_delivered(ctx):
    ctx.client.close()
    ctx.test.assertEqual([m for m in ctx.sink.settled_messages() if ctx.tag in m.message], [])
    ctx.test.assertEqual([s for s in ctx.tap.data_sections() if ctx.tag in s], [])


def then_quit_is_next(ctx):
    """The next reply answers QUIT: nothing of the data was run as a command."""
    ctx.client.send(b"QUIT\r\n")
    ctx.test.assertEqual(ctx.client.reply().code, 221)


def send_data(body_fn, *expected):
    return Fn(lambda ctx: S(body_fn(ctx), *expected).run(ctx))


def size_advertised(ctx):
    r = ctx.client.command("EHLO x")
    ctx.test.assertEqual(r.code, 250)
    ctx.test.assertIn("SIZE %d" % LIMIT, r.lines)


def path_256():
    local = b"a" * 64
    domain = b".".join([b"b" * 63, b"c" * 63, b"d" * 61]) + b".example"  # 195
    domain = domain[: 254 - 65 - len(b".example")] + b".example"
    path = b"<" + local + b"@" + domain + b">"
    assert len(path) == 256, len(path)
    return b"MAIL FROM:" + path + b"\r\n"


def bdat_size_mismatch(ctx):
    # BDAT announces more octets than the client sends before its next "command"
    first = msg(ctx, b"the chunk goes on: ")
    command = b"NOOP\r\n"
    rest = b"y" * 42 + b"\r\n"
    size = len(first) + len(command) + len(rest)
    ctx.client.send(b"BDAT %d LAST\r\n" % size + first)
    ctx.client.send(command)
    Silent(0.5).run(ctx)  # NOOP is part of the chunk, not a command
    S(rest, 250).run(ctx)
    ctx.test.assertIn(b"the chunk goes on: NOOP\n" + rest[:-2] + b"\n", delivered(ctx))


def bdat_literal(ctx):
    content = msg(ctx, b"line1\r\n.\r\nline2\r\n")
    S(b"BDAT %d LAST\r\n" % len(content) + content, 250).run(ctx)
    ctx.test.assertIn(b"\nline1\n.\nline2\n", delivered(ctx))
    ctx.test.assertIn(b"\r\nline1\r\n..\r\nline2\r\n", wire(ctx))


def starttls_injection(ctx):
    ctx.client.send(b"STARTTLS\r\nMAIL FROM:<x>\r\n")
    r = ctx.client.reply()
    if r.code != 220:  # refusing the injected STARTTLS is the other acceptable answer
        ctx.test.assertIn(r.code // 100, (4, 5), r)
        return
    ctx.client.starttls()
    # the first reply inside TLS answers our EHLO; an executed MAIL would have answered first
    r = ctx.client.command("EHLO edge.example")
    ctx.test.assertEqual(r.code, 250, r)
    ctx.test.assertEqual(r.lines[0], h.HOSTNAME)
    S(MAIL, 250).run(ctx)  # not "nested MAIL": the injected one never ran


def starttls_state_reset(ctx):
    S(b"STARTTLS\r\n", 220).run(ctx)
    ctx.client.starttls()
    S(MAIL, 503).run(ctx)
    S(b"EHLO edge.example\r\n", 250).run(ctx)
    S(MAIL, 250).run(ctx)


def timeout_idle(ctx):
    started = time.monotonic()
    r = ctx.client.reply(timeout=TIMEOUT + 10)
    elapsed = time.monotonic() - started
    ctx.test.assertEqual(r.code, 421, r)
    ctx.test.assertTrue(ctx.client.is_closed())
    ctx.test.assertGreaterEqual(elapsed, TIMEOUT - 0.5)


def pregreet(ctx):
    ctx.client.send(b"EHLO early.example\r\n")
    try:
        first = ctx.client.reply(timeout=10)
    except h.ConnectionClosed:  # dropped after "220-": the log must say why
        found = h.wait_decisions(
            ctx.gateway.config.decisions,
            lambda d: any(s["name"] == "PREGREET" for s in d["symbols"]))
        ctx.test.assertTrue(found, "no decision with PREGREET")
        ctx.test.assertEqual(found[0]["action"], "reject")
        return
    ctx.test.assertEqual(first.code, 554, "a pregreeting client got %r" % first)


def nul_in_body(ctx):
    S(msg(ctx, b"before\x00after\r\nnext line\r\n") + b".\r\n", {250, 550, 552, 554}).run(ctx)
    S(b"NOOP\r\n", 250).run(ctx)
    if ctx.replies[-2].code == 250:  # accepted: stripped, not passed on, not truncated
        sent = wire(ctx)
        ctx.test.assertNotIn(b"\x00", sent)
        ctx.test.assertIn(b"after", sent)
        ctx.test.assertIn(b"next line", sent)


def bare_in_body(bare):
    def check(ctx):
        body = b"one" + bare + b"two\r\nx" + bare + b"." + bare + b"NOOP\r\n"
        S(msg(ctx, body) + b".\r\n", {250, 550, 554}).run(ctx)
        then_quit_is_next(ctx)
        if ctx.replies[-1].code == 250:
            sent = wire(ctx)
            ctx.test.assertEqual(h.bare_newlines(sent), [])
            ctx.test.assertIn(b"NOOP", sent)  # normalized into the message, never run
        else:
            nothing_delivered(ctx)

    return check


def too_long_line(ctx):
    ctx.client.send(msg(ctx, b"z" * 5555 + b"\r\n"))
    Silent().run(ctx)  # nothing before the end of data
    S(b".\r\n", {500, 250}).run(ctx)


def over_limit(ctx):
    ctx.client.send(msg(ctx, (b"o" * 98 + b"\r\n") * (LIMIT // 100 + 10)))
    Silent().run(ctx)
    S(b".\r\n", 552).run(ctx)
    nothing_delivered(ctx)


def pipelining_after_data(ctx):
    S(b"DATA\r\n" + msg(ctx) + b".\r\n", {500, 503, 550, 554}).run(ctx)
    Closed().run(ctx)
    nothing_delivered(ctx)


def connection_drop(ctx):
    ctx.client.send(msg(ctx, b"half of it\r\n" * 50))
    time.sleep(0.2)
    nothing_delivered(ctx)


UTF8_SENDER = "MAIL FROM:<anne\u00cb@example.com>".encode("utf-8")

# --- the table: every case id of the file -> concrete bytes and accepted replies --------------

TABLE = {
    "cmd-empty": Case("500|501", "greet", S(b"\r\n", {500, 501})),
    "cmd-unknown": Case("500|502", "greet", S(b"FOOBAR\r\n", {500, 502})),
    "cmd-line-512": Case("250", "greet", S(b"NOOP " + b"p" * 505 + b"\r\n", 250)),
    "cmd-line-513": Case("500", "greet", S(b"a" * 513 + b"\r\n", 500)),
    "cmd-line-1MB-then-noop": Case(
        "500 then 250", "greet", S(b"a" * 1000000 + b"a" * 1001 + b"\r\nNOOP\r\n", 500, 250)),
    "cmd-case-insensitive": Case(
        "250", "greet", S(b"ehlo x\r\nmail from:<a@example.com>\r\n", 250, 250)),
    "cmd-bare-lf": Case("500|421|accept", "greet", S(b"NOOP\n", {500, 421, 250})),
    "helo-missing-arg": Case("501", "greet", S(b"HELO\r\n", 501)),
    "ehlo-missing-arg": Case("501", "greet", S(b"EHLO\r\n", 501)),
    "ehlo-twice": Case("250 250", "greet", S(b"EHLO a\r\n", 250), S(MAIL, 250),
                       S(b"EHLO b\r\n", 250), S(RCPT, 503)),  # the second EHLO reset MAIL
    "ehlo-address-literal": Case("250", "greet", S(b"EHLO [192.0.2.1]\r\n", 250),
                                 S(b"EHLO [IPv6:2001:db8::1]\r\n", 250)),
    "mail-before-helo": Case("503", "greet", S(b"MAIL FROM:<a@example.com>\r\n", 503)),
    "rcpt-before-mail": Case("503", "ehlo", S(b"RCPT TO:<b@example.net>\r\n", 503)),
    "data-before-rcpt": Case("503|554", "mail", S(b"DATA\r\n", {503, 554})),
    "mail-twice": Case("503", "ehlo", S(b"MAIL FROM:<a@x>\r\nMAIL FROM:<b@x>\r\n", 250, 503)),
    "mail-null-sender": Case("250", "ehlo", S(b"MAIL FROM:<>\r\n", 250)),
    "mail-no-brackets": Case("501|250", "ehlo", S(b"MAIL FROM:a@example.com\r\n", {501, 250})),
    "mail-space-after-colon": Case("250|501", "ehlo",
                                   S(b"MAIL FROM: <a@example.com>\r\n", {250, 501})),
    "mail-source-route": Case("250", "ehlo",
                              S(b"MAIL FROM:<@relay.example:a@example.com>\r\n", 250)),
    "localpart-64": Case("250", "mail", S(b"RCPT TO:<" + b"l" * 64 + b"@example.com>\r\n", 250)),
    "localpart-65": Case("501|553|250", "mail",
                         S(b"RCPT TO:<" + b"l" * 65 + b"@example.com>\r\n", {501, 553, 250})),
    "path-256": Case("250", "ehlo", S(path_256(), 250)),
    "quoted-localpart": Case("250", "mail", S(b'RCPT TO:<"john doe"@example.com>\r\n', 250)),
    "rcpt-100": Case("250 each", "mail",
                     S(b"".join(b"RCPT TO:<r%d@example.com>\r\n" % i for i in range(100)),
                       *([250] * 100)),
                     S(b"RCPT TO:<r100@example.com>\r\n", {250, 452})),
    "rset-with-arg": Case("501", "ehlo", S(b"RSET foo\r\n", 501)),
    "noop-with-arg": Case("250", "ehlo", S(b"NOOP foo\r\n", 250)),
    "quit-with-arg": Case("501", "ehlo", S(b"QUIT foo\r\n", 501)),
    "vrfy": Case("252|502", "ehlo", S(b"VRFY postmaster\r\n", {252, 502})),
    "unknown-mail-param": Case("555|501", "ehlo", S(b"MAIL FROM:<a@x> FOO=BAR\r\n", {555, 501})),
    "size-advertised": Case("250-SIZE <n>", "greet", Fn(size_advertised)),
    "size-too-large": Case("552", "ehlo", S(b"MAIL FROM:<a@x> SIZE=%d\r\n" % (LIMIT + 1), 552)),
    "size-non-numeric": Case("501", "ehlo", S(b"MAIL FROM:<a@x> SIZE=abc\r\n", 501)),
    "size-exceeded-in-data": Case("552 after final CRLF.CRLF", "data", Fn(over_limit)),
    "8bitmime-body-param": Case("250", "ehlo", S(b"MAIL FROM:<a@x> BODY=8BITMIME\r\n", 250)),
    "8bitmime-bad-body": Case("501", "ehlo", S(b"MAIL FROM:<a@x> BODY=9BIT\r\n", 501)),
    "smtputf8-mail": Case("250", "ehlo", S(UTF8_SENDER + b" SMTPUTF8\r\n", 250)),
    "smtputf8-with-value": Case("501", "ehlo", S(b"MAIL FROM:<a@x> SMTPUTF8=YES\r\n", 501)),
    "utf8-without-smtputf8": Case("553|501|250", "ehlo", S(UTF8_SENDER + b"\r\n", {553, 501, 250})),
    "pipelining-group": Case(
        "250 250 250 354 in order", "ehlo",
        S(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n"
          b"DATA\r\n", 250, 250, 250, 354),
        send_data(lambda ctx: h.dot_stuff(msg(ctx)), 250),
        Fn(lambda ctx: delivered(ctx))),
    "pipelining-before-greeting": Case("554 or drop", "connect", Fn(pregreet)),
    "pipelining-after-data": Case(
        "reject (Postfix smtpd_forbid_unauth_pipelining=yes in 3.9 -> disconnect)", "rcpt",
        Fn(pipelining_after_data)),
    "starttls-injection": Case(
        "discard buffered plaintext or reject (James expects 451)", "ehlo", Fn(starttls_injection)),
    "starttls-in-transaction": Case("503|501", "mail", S(b"STARTTLS\r\n", {503, 501})),
    "starttls-state-reset": Case(
        "server forgets pre-TLS EHLO; client must EHLO again (MAIL before 2nd EHLO -> 503)", "ehlo",
        Fn(starttls_state_reset)),
    "bdat-basic": Case("250", "rcpt", S(b"BDAT 10 LAST\r\nHi there\r\n", 250)),
    "bdat-then-data": Case("503", "rcpt", S(b"BDAT 5\r\n.....DATA\r\n", 250, 503)),
    "bdat-size-mismatch": Case("octets consumed as data (no resync on lines)", "rcpt",
                               Fn(bdat_size_mismatch)),
    "bdat-no-dotstuffing": Case("taken literally as content", "rcpt", Fn(bdat_literal)),
    "data-dot-stuffing": Case(
        "stored as '.foo'", "data", send_data(lambda ctx: msg(ctx, b"..foo\r\n") + b".\r\n", 250),
        Fn(lambda ctx: ctx.test.assertIn(b"\n\n.foo\n", delivered(ctx)))),
    "data-lone-dot-inside": Case(
        "message contains a '.' line", "data",
        send_data(lambda ctx: msg(ctx, b"Test\r\n..\r\nmail\r\n") + b".\r\n", 250),
        Fn(lambda ctx: ctx.test.assertIn(b"\nTest\n.\nmail\n", delivered(ctx)))),
    "data-empty": Case("250 (or policy 5xx)", "data",
                       S(b".\r\n", {250, 550, 552, 554}), S(b"NOOP\r\n", 250)),
    "data-line-1000": Case(
        "250", "data", send_data(lambda ctx: msg(ctx, b"k" * 998 + b"\r\n") + b".\r\n", 250),
        Fn(lambda ctx: ctx.test.assertIn(b"\n" + b"k" * 998 + b"\n", delivered(ctx)))),
    "data-line-too-long": Case(
        "500 Line too long, delayed to end of DATA (aiosmtpd) or accepted+wrapped (Postfix "
        "line_length_limit=2048 splits)", "data", Fn(too_long_line)),
    "data-binary-8bit": Case(
        "250 (lenient) ", "data",
        send_data(lambda ctx: msg(ctx, bytes(range(0x80, 0x100)) + b"\r\n") + b".\r\n", 250),
        Fn(lambda ctx: ctx.test.assertIn(bytes(range(0x80, 0x100)), delivered(ctx)))),
    "data-nul": Case("policy: reject or strip; must not truncate processing", "data",
                     Fn(nul_in_body)),
    "data-bare-lf": Case("reject (strict) or normalise; never EOD", "data",
                         Fn(bare_in_body(b"\n"))),
    "data-bare-cr": Case("reject (strict) or normalise; never EOD", "data",
                         Fn(bare_in_body(b"\r"))),
    "data-connection-drop": Case("transaction discarded; nothing forwarded", "data",
                                 Fn(connection_drop)),
    "timeout-idle": Case(
        "server closes after its timeout (RFC minimum 5 min for commands, 3 min DATA block, 10 "
        "min after DATA terminator)", "greet", Fn(timeout_idle)),
}

# Cases that fail because spamgate is wrong in a module owned elsewhere; each is reported to
# the lead. unittest.expectedFailure keeps the suite green until the fix removes the entry.
EXPECTED_FAILURES = set()


class Ctx:
    def __init__(self, test, case_id, client, stack):
        self.test = test
        self.case_id = case_id
        self.client = client
        self.sink, self.tap, self.gateway = stack
        self.message_id = "edge-%s@test" % case_id
        self.tag = ("<%s>" % self.message_id).encode()
        self.replies = []


class EdgeCaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = h.load_testdata_json(*DATA_FILE)  # skips without the shared data
        register = cls.addClassCleanup
        directory = h.new_tempdir(register)
        sink = h.start_sink(register, directory)
        tap = h.start_tap(register, sink.port)
        # postscreen-style greet wait: "220-" first; a client that talks during the wait is
        # dropped (the pipelining-before-greeting case).
        gateway = h.start_spamgate(register, directory, tap.address, {
            "server": {"max_message_size": LIMIT,
                       "timeouts": {"greeting": TIMEOUT, "command": TIMEOUT}},
            "pregreet": {"enabled": True, "enforce": True, "wait": 0.1}})
        cls.stack = (sink, tap, gateway)

    def run_case(self, case_id):
        entries = [c for c in self.data["cases"] if c["id"] == case_id]
        self.assertEqual(len(entries), 1, "case %s in the file" % case_id)
        case = TABLE.get(case_id)
        if case is None:
            self.fail("edge case %r has no concrete mapping in TABLE (client_sends=%r, "
                      "expect=%r)" % (case_id, entries[0]["client_sends"], entries[0]["expect"]))
        self.assertEqual(case.expect, entries[0]["expect"], "the file's expectation changed")
        gateway = self.stack[2]
        with h.RawClient(gateway.config.port) as client:
            ctx = Ctx(self, case_id, client, self.stack)
            for step in PRELUDES[case.prelude] + list(case.steps):
                step.run(ctx)

    def test_every_case_is_covered(self):
        ids = [c["id"] for c in self.data["cases"]]
        self.assertEqual(len(ids), len(set(ids)), "duplicate ids in the file")
        covered = [i for i in ids if i in TABLE]
        self.assertEqual(sorted(set(TABLE) - set(ids)), [], "table entries not in the file")
        self.assertEqual(len(covered), len(ids), "not covered: %s" % sorted(set(ids) - set(TABLE)))
        methods = [n for n in dir(self) if n.startswith("test_case_")]
        self.assertEqual(len(methods), len(ids))


def method_name(case_id):
    return "test_case_" + re.sub(r"[^0-9A-Za-z]", "_", case_id)


def add_case_tests():
    root = os.environ.get("SPAMGATE_TESTDATA", "")
    path = os.path.join(root, *DATA_FILE)
    # Without the data the class skips in setUpClass; the table's ids still give methods.
    ids = [c["id"] for c in h.load_testdata_json(*DATA_FILE)["cases"]] \
        if root and os.path.exists(path) else list(TABLE)
    for case_id in ids:
        def test(self, case_id=case_id):
            self.run_case(case_id)

        test.__doc__ = case_id
        if case_id in EXPECTED_FAILURES:
            test = unittest.expectedFailure(test)
        name = method_name(case_id)
        assert not hasattr(EdgeCaseTest, name), "two ids map to " + name
        setattr(EdgeCaseTest, name, test)


add_case_tests()

if __name__ == "__main__":
    unittest.main()
