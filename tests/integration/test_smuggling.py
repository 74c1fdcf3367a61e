"""SMTP smuggling through the real server to a real backend: every non-standard end-of-data
sequence of $SPAMGATE_TESTDATA/smtp/smuggling_eod_sequences.json, under
bare_linefeed = "normalize" and "reject".

For each sequence the client sends: a message whose body line is followed by the sequence, a
smuggled 'MAIL FROM:<smuggled-...>' transaction, and finally one real CRLF.CRLF. Required:
exactly one reply to all of it (250 with one message at the backend, or a 4xx/5xx refusal with
none), the smuggled MAIL never becomes a transaction (no reply of its own, no decision log line,
nothing at the backend), and the bytes at the backend contain no bare CR or LF."""

import os
import re
import unittest

import harness as h

DATA_FILE = ("smtp", "smuggling_eod_sequences.json")


def load_sequences():
    root = os.environ.get("SPAMGATE_TESTDATA", "")
    path = os.path.join(root, *DATA_FILE)
    if not root or not os.path.exists(path):
        return None
    return h.load_testdata_json(*DATA_FILE)


def has_bare_newline(seq):
    return bool(h.bare_newlines(b"x" + seq + b"x"))


def malformed(seq):
    """What bare_linefeed = "reject" refuses: a bare CR or LF, or a NUL octet (550 5.6.0)."""
    return has_bare_newline(seq) or b"\0" in seq


def safe_name(name):
    """"crlf-nul.crlf" -> "crlf_nul_dot_crlf" (distinct from "crlf.nul-crlf")."""
    return re.sub(r"[^0-9A-Za-z_]", "_", name.replace(".", "_dot_"))


class SmugglingBase(h.GatewayTestCase):
    MODE = None

    @classmethod
    def setUpClass(cls):
        h.testdata_path(*DATA_FILE)  # skips the class without the shared data
        register = cls.addClassCleanup
        directory = h.new_tempdir(register)
        cls.sink = h.start_sink(register, directory)
        cls.tap = h.start_tap(register, cls.sink.port)
        cls.gateway = h.start_spamgate(register, directory, cls.tap.address,
                                       {"server": {"bare_linefeed": cls.MODE}})

    def smuggle(self, name, seq):
        tag = "%s-%s" % (self.MODE, safe_name(name))
        message_id = "smuggle-%s@test" % tag
        payload = (b"Subject: smuggling " + name.encode() + b"\r\nMessage-ID: <" +
                   message_id.encode() + b">\r\n\r\nbody line" + seq +
                   b"MAIL FROM:<smuggled-" + tag.encode() + b"@example.org>\r\n"
                   b"RCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\n"
                   b"smuggled body\r\n.\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            client_port = c.sock.getsockname()[1]
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(payload)
            final = c.reply()
            # nothing more: the next reply answers our QUIT (a smuggled transaction would
            # have its 250/354/250 replies first)
            try:
                after = c.command("QUIT")
            except (h.ConnectionClosed, OSError):
                after = None  # the server closed after its final reply
            if after is not None:
                self.assertEqual(after.code, 221, "a reply after the final one: %r" % after)
        return tag, message_id, client_port, final

    def check(self, name, seq, refuse):
        tag, message_id, client_port, final = self.smuggle(name, seq)
        if refuse:
            self.assertIn(final.code // 100, (4, 5), final)
        else:
            self.assertEqual(final.code, 250, final)
        # the backend: one message (or none when refused), holding the smuggled lines as text
        at_backend = [m for m in self.sink.settled_messages()
                      if ("<%s>" % message_id).encode() in m.message]
        smuggled_mail = ("smuggled-%s@example.org" % tag).encode()
        self.assertFalse([m for m in self.sink.messages() if smuggled_mail in
                          (m.mail_args or "").encode()], "the smuggled MAIL reached the backend")
        wire = [s for s in self.tap.data_sections() if ("<%s>" % message_id).encode() in s]
        if refuse:
            self.assertEqual(at_backend, [])
            self.assertEqual(wire, [])
        else:
            self.assertEqual(len(at_backend), 1)
            self.assertIn(b"MAIL FROM:<" + smuggled_mail + b">", at_backend[0].message)
            self.assertIn(b"smuggled body", at_backend[0].message)
            self.assertEqual(len(wire), 1)
            self.assertEqual(h.bare_newlines(wire[0]), [], "bare CR/LF sent to the backend")
        # the decision log: one transaction for this connection, never the smuggled sender
        log = h.wait_decisions(self.gateway.config.decisions,
                               lambda d: d["client"]["port"] == client_port)
        self.assertEqual([d["event"] for d in log], ["transaction"], log)
        self.assertEqual(log[0]["mail_from"], "sender@example.org")
        self.assertFalse([d for d in h.read_decisions(self.gateway.config.decisions)
                          if d["mail_from"] == smuggled_mail.decode()])

    def test_bdat_with_every_sequence(self):
        """BDAT has no end-of-data sequence, but its content follows the same bare CR/LF
        policy: normalized into CRLF lines on the way to the backend, or refused."""
        data = load_sequences()
        message_id = "bdat-smuggle-%s@test" % self.MODE
        content = (b"Subject: bdat smuggling\r\nMessage-ID: <" + message_id.encode() +
                   b">\r\n\r\n" + b"".join(b"line" + bytes.fromhex(e["hex"]) +
                                            b"MAIL FROM:<smuggled@example.org>\r\n"
                                            for e in data["sequences"]))
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.send(b"BDAT %d LAST\r\n" % len(content) + content)
            final = c.reply()
            c.expect(221, "QUIT")
        wire = [s for s in self.tap.data_sections() if message_id.encode() in s]
        if self.MODE == "reject":
            self.assertEqual(final.code // 100, 5, final)
            self.assertEqual(wire, [])
        else:
            self.assertEqual(final.code, 250, final)
            self.assertEqual(len(wire), 1)
            self.assertEqual(h.bare_newlines(wire[0]), [])
            self.assertEqual(wire[0].count(b"MAIL FROM:<smuggled@example.org>"),
                             len(data["sequences"]))

    def test_control_sequence_ends_the_message(self):
        """CRLF.CRLF really ends DATA: the same payload then makes two transactions, which is
        what the checks above would catch."""
        data = load_sequences()
        seq = bytes.fromhex(data["control"]["hex"])
        tag = "%s-control" % self.MODE
        payload = (b"Subject: control\r\nMessage-ID: <control-" + tag.encode() + b"@test>\r\n\r\n"
                   b"body line" + seq + b"MAIL FROM:<second-" + tag.encode() + b"@example.org>\r\n"
                   b"RCPT TO:<rcpt@example.com>\r\nDATA\r\nSubject: second\r\n\r\nsecond\r\n.\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            # send in two writes: DATA ends a pipelining group, and pipelining past it is refused
            head, _, tail = payload.partition(b"DATA\r\n")
            c.send(head)
            self.assertEqual([r.code for r in c.replies(3)], [250, 250, 250])
            c.send(b"DATA\r\n")
            c.expect(354)
            c.send(tail)
            c.expect(250)
        second = ("second-%s@example.org" % tag).encode()
        messages = self.sink.wait_messages(2)
        self.assertTrue([m for m in messages if second in (m.mail_args or "").encode()])


def add_sequence_tests(cls, refuse_bare):
    data = load_sequences()
    if data is None:
        def test_sequences(self):
            self.skipTest("shared test data not found: SPAMGATE_TESTDATA=%r" %
                          os.environ.get("SPAMGATE_TESTDATA", ""))

        cls.test_sequences = test_sequences
        return
    for entry in data["sequences"]:
        seq = bytes.fromhex(entry["hex"])
        refuse = refuse_bare and malformed(seq)

        def test(self, name=entry["name"], seq=seq, refuse=refuse):
            self.check(name, seq, refuse)

        test.__doc__ = "%s: %s" % (entry["name"], entry.get("c", ""))
        setattr(cls, "test_seq_" + safe_name(entry["name"]), test)

    def test_all_sequences_covered(self):
        names = {n for n in dir(type(self)) if n.startswith("test_seq_")}
        self.assertEqual(len(names), len(data["sequences"]))

    cls.test_all_sequences_covered = test_all_sequences_covered


class NormalizeTest(SmugglingBase):
    MODE = "normalize"


class RejectTest(SmugglingBase):
    MODE = "reject"


add_sequence_tests(NormalizeTest, refuse_bare=False)
add_sequence_tests(RejectTest, refuse_bare=True)
del SmugglingBase  # not a test of its own

if __name__ == "__main__":
    unittest.main()
