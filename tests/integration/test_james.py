"""The semantics of Apache James' SMTP scripts in $SPAMGATE_TESTDATA/smtp/james/, replayed
against the real server with the client lines taken from the scripts:
- starttls_with_injection: plaintext pipelined behind STARTTLS is never executed;
- starttls_session_fixation: STARTTLS inside a transaction is refused (503/501);
- data_with_starttls: the word STARTTLS inside DATA is content.

James' own replies differ in places (it answers 451 to the injection, spamgate starts TLS and
discards the plaintext; spamgate has no AUTH), so the scripts are not compared line by line:
their client lines are sent and the required outcome is checked."""

import unittest

import harness as h


def script(name):
    """[(direction, text)] of a James .test script; "\\r\\n" inside a C: line stays literal
    CRLF (the line is sent in one write)."""
    steps = []
    with open(h.testdata_path("smtp", "james", name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line[:3] in ("C: ", "S: "):
                steps.append((line[0], line[3:]))
            elif line in ("C:", "S:"):
                steps.append((line[0], ""))
    return steps


def client_lines(steps):
    return [text for d, text in steps if d == "C"]


def wire(text):
    data = text.replace("\\r\\n", "\r\n").encode("utf-8")
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class JamesTest(h.GatewayTestCase):
    def setUp(self):
        h.testdata_path("smtp", "james")  # skips without the shared data
        self.gateway = self.start_gateway()

    def client(self):
        c = h.RawClient(self.gateway.config.port)
        self.addCleanup(c.close)
        c.expect(220)
        return c

    def test_starttls_with_injection(self):
        steps = script("starttls_with_injection.test")
        lines = client_lines(steps)
        injection = [l for l in lines if "\\r\\n" in l]
        self.assertEqual(len(injection), 1, lines)
        self.assertTrue(injection[0].lower().startswith("starttls\\r\\nmail from:"))
        self.assertIn(("S", "451 Unable to process request"), steps)  # James refuses instead
        c = self.client()
        self.assertEqual(c.command(lines[0]).code, 250)  # ehlo
        c.send(wire(injection[0]))
        r = c.reply()
        if r.code != 220:  # refusing like James does is also safe
            self.assertIn(r.code // 100, (4, 5), r)
            return
        c.starttls()
        ehlo = c.command("EHLO yopmail.com")  # an executed MAIL would have answered first
        self.assertEqual(ehlo.code, 250, ehlo)
        self.assertNotIn("STARTTLS", ehlo.lines)
        c.expect(250, "MAIL FROM:<matthieu@yopmail.com>")  # not "nested MAIL"
        c.expect(250, "RCPT TO:<bob@mydomain.tld>")

    def test_starttls_session_fixation(self):
        steps = script("starttls_session_fixation.test")
        lines = client_lines(steps)
        self.assertIn(("S", "501 .*"), steps)
        c = self.client()
        starttls_seen = False
        for line in lines:
            verb = line.split(" ", 1)[0].lower()
            if verb not in ("ehlo", "mail", "rcpt", "starttls"):
                continue  # AUTH LOGIN and its two credential lines: spamgate has no AUTH
            r = c.command(line)
            if verb == "starttls":
                starttls_seen = True
                self.assertIn(r.code, (503, 501), r)
                break
            self.assertEqual(r.code, 250, (line, r))
        self.assertTrue(starttls_seen)
        # still plaintext, and the transaction still usable
        c.expect(354, "DATA")
        c.send(h.dot_stuff(h.message_bytes("fixation@test")))
        c.expect(250)

    def test_data_with_starttls(self):
        steps = script("data_with_starttls.test")
        lines = client_lines(steps)
        self.assertIn("content starttls content", lines)
        head = lines[:4]
        self.assertEqual([l.split(" ")[0] for l in head], ["ehlo", "mail", "rcpt", "data"])
        c = self.client()
        c.send(b"".join(wire(l) for l in head))  # as the script: four lines before any reply
        self.assertEqual([r.code for r in c.replies(4)], [250, 250, 250, 354])
        c.send(b"".join(wire(l) for l in lines[4:]))  # content lines and the final "."
        h.queued_id(c.expect(250))
        c.expect(250, "NOOP")  # still plaintext: nothing started TLS
        messages = self.sink.wait_messages(1)
        self.assertEqual(len(messages), 1)
        self.assertIn(b"\ncontent starttls content\n", messages[0].message)


if __name__ == "__main__":
    unittest.main()
