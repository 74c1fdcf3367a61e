"""Real clients through spamgate to smtp-sink: swaks (plain, STARTTLS, implicit TLS,
pipelining, 8-bit body) and Python's smtplib."""

import os
import shutil
import smtplib
import socket
import subprocess
import time
import unittest

import harness as h


class SwaksTest(h.GatewayTestCase):
    def setUp(self):
        if not shutil.which("swaks"):
            self.fail("swaks is not installed (contrib/install-deps.sh installs it)")
        self.gateway = self.start_gateway()

    def swaks(self, message_id, *options, port=None, data=None):
        """Runs swaks; `data` (bytes) replaces the whole DATA portion, else swaks writes the
        message and gets `message_id` as its Message-Id header."""
        argv = ["swaks", "--server", "127.0.0.1:%d" % (port or self.gateway.config.port),
                "--from", "sender@example.org", "--to", "rcpt@example.com",
                "--helo", "swaks.example", "--timeout", "30"] + list(options)
        if data is None:
            argv += ["--header", "Message-Id: <%s>" % message_id]
        else:
            path = os.path.join(self.gateway.config.directory, message_id + ".eml")
            with open(path, "wb") as f:
                f.write(data)
            argv += ["--data", "@" + path]
        run = subprocess.run(argv, capture_output=True, timeout=h.scaled(60))
        transcript = run.stdout.decode("utf-8", "replace") + run.stderr.decode("utf-8", "replace")
        self.assertEqual(run.returncode, 0, transcript)
        return transcript

    def delivered(self, message_id):
        """The one message at smtp-sink carrying `message_id`, and its decision log line."""
        messages = [m for m in self.sink.wait_messages(1)
                    if b"Message-Id: <" + message_id.encode() + b">" in m.message.replace(b"Message-ID", b"Message-Id")]
        self.assertEqual(len(messages), 1, "messages at the backend: %r" % self.sink.files())
        log = h.wait_decisions(self.gateway.config.decisions,
                               lambda d: d.get("message_id") == "<%s>" % message_id)
        self.assertEqual(len(log), 1, self.decisions(self.gateway))
        self.assertEqual(log[0]["action"], "accept")
        return messages[0], log[0]

    def test_plain(self):
        transcript = self.swaks("swaks-plain@test")
        self.assertRegex(transcript, r"<- {2}250 2\.0\.0 Ok: queued as \w+")
        message, log = self.delivered("swaks-plain@test")
        self.assertIsNone(log["tls"])
        self.assertEqual(log["helo"], "swaks.example")
        self.assertEqual(message.mail_args, "<sender@example.org>")
        self.assertEqual(message.rcpt_args, ["<rcpt@example.com>"])
        self.assertRegex(message.received(), rb"\(spamgate\) with ESMTP id ")

    def test_starttls(self):
        transcript = self.swaks("swaks-starttls@test", "--tls")
        self.assertIn("STARTTLS", transcript)
        self.assertRegex(transcript, r"TLS started")
        message, log = self.delivered("swaks-starttls@test")
        self.assertRegex(log["tls"] or "", r"^TLSv1\.[23] ")
        self.assertRegex(message.received(), rb"\(using TLSv1\.[23] .*\) with ESMTPS id ")

    def test_implicit_tls(self):
        transcript = self.swaks("swaks-tlsc@test", "--tlsc", port=self.gateway.config.tls_port)
        self.assertRegex(transcript, r"TLS started")
        message, log = self.delivered("swaks-tlsc@test")
        self.assertRegex(log["tls"] or "", r"^TLSv1\.[23] ")
        self.assertRegex(message.received(), rb"\(using TLSv1\.[23] .*\) with ESMTPS id ")

    def test_pipelining(self):
        transcript = self.swaks("swaks-pipe@test", "--pipeline", "--to",
                                "rcpt@example.com,second@example.com")
        # swaks sends MAIL, RCPT, RCPT, DATA as one group once PIPELINING is offered, then
        # reads the four replies in order
        self.assertRegex(transcript, r" -> MAIL FROM:<sender@example.org>\n -> RCPT TO:<rcpt@"
                         r"example.com>\n -> RCPT TO:<second@example.com>\n -> DATA\n<-  250 2.1.0 "
                         r"Ok\n<-  250 2.1.5 Ok\n<-  250 2.1.5 Ok\n<-  354 ")
        message, log = self.delivered("swaks-pipe@test")
        self.assertEqual(message.rcpt_args, ["<rcpt@example.com>", "<second@example.com>"])
        self.assertEqual([r["reply"]["code"] for r in log["rcpts"]], [250, 250])

    def test_8bit_body(self):
        body = "Grüße aus Köln, ça va? \u00e9\u00e8 \u20ac\r\n".encode("utf-8") + bytes(
            range(0x80, 0x100)) + b"\r\n"
        data = (b"From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: 8bit\r\n"
                b"Message-ID: <swaks-8bit@test>\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
        transcript = self.swaks("swaks-8bit@test", data=data)
        self.assertIn("8BITMIME", transcript)
        message, _ = self.delivered("swaks-8bit@test")
        # smtp-sink writes LF line ends and drops CR: compare in that form
        self.assertIn(body.replace(b"\r\n", b"\n"), message.message)


class TlsSessionTest(h.GatewayTestCase):
    """TLS details the clients above do not pin down."""

    def setUp(self):
        self.gateway = self.start_gateway(overrides={"server": {"timeouts": {"tls_handshake": 1}}})

    def test_first_command_right_after_handshake(self):
        # A TLS 1.3 client's EHLO can arrive together with its Finished message; the session
        # must neither lose it nor wait for more input. Repeated: it is a race.
        for _ in range(25):
            with h.RawClient(self.gateway.config.port, timeout=5) as c:
                c.greet()
                c.expect(220, "STARTTLS")
                c.starttls()
                ehlo = c.ehlo()
                self.assertNotIn("STARTTLS", ehlo.lines)
                self.assertEqual(c.command("STARTTLS").code, 503)
                c.expect(221, "QUIT")  # the last reply reaches the client before the close
                self.assertTrue(c.is_closed())

    def test_implicit_tls_session(self):
        with h.RawClient(self.gateway.config.tls_port, tls=True) as c:
            ehlo = c.greet()
            self.assertNotIn("STARTTLS", ehlo.lines)
            self.assertEqual(c.command("STARTTLS").code, 503)
            c.expect(221, "QUIT")

    def assertClosedWithin(self, sock, seconds):
        started = time.monotonic()
        sock.settimeout(h.scaled(seconds + 10))
        try:
            data = sock.recv(4096)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"", "no reply can be read before the handshake")
        self.assertLess(time.monotonic() - started, h.scaled(seconds + 2))

    def test_implicit_tls_handshake_timeout(self):
        sock = socket.create_connection((h.LOOPBACK, self.gateway.config.tls_port))
        self.addCleanup(sock.close)
        self.assertClosedWithin(sock, 1)
        log = h.wait_decisions(self.gateway.config.decisions)
        self.assertEqual(log[0]["reason"], "tls handshake timeout")

    def test_starttls_handshake_timeout(self):
        c = h.RawClient(self.gateway.config.port)
        self.addCleanup(c.close)
        c.greet()
        c.expect(220, "STARTTLS")
        self.assertClosedWithin(c.sock, 1)  # not the 300 s command timeout

    def test_helo_client(self):
        with h.RawClient(self.gateway.config.port) as c:
            c.expect(220)
            c.expect(250, "HELO old.example")
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(h.message_bytes("helo@test")))
            c.expect(250)
        message = self.sink.wait_messages(1)[0]
        self.assertRegex(message.received(), rb"^Received: from old\.example .* with SMTP id ")


class SmtplibTest(h.GatewayTestCase):
    def setUp(self):
        self.gateway = self.start_gateway()

    def send(self, message_id, starttls=False):
        msg = ("From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: smtplib\r\n"
               "Message-ID: <%s>\r\n\r\n.leading dot\r\nbody\r\n" % message_id)
        with smtplib.SMTP(h.LOOPBACK, self.gateway.config.port, "smtplib.example",
                          timeout=h.scaled(30)) as client:
            if starttls:
                client.starttls(context=h.client_tls_context())
            code, text = client.ehlo()
            self.assertEqual(code, 250)
            self.assertTrue(client.has_extn("pipelining"))
            self.assertEqual(int(client.esmtp_features["size"]), 52428800)
            refused = client.sendmail("sender@example.org", ["rcpt@example.com"], msg)
            self.assertEqual(refused, {})
            self.assertRegex(client.noop()[1].decode(), r"Ok")
        messages = self.sink.wait_messages(1)
        self.assertEqual(len(messages), 1)
        self.assertIn(b"Message-ID: <%s>\n\n.leading dot\nbody\n" % message_id.encode(),
                      messages[0].message)
        return messages[0]

    def test_sendmail(self):
        self.send("smtplib@test")

    def test_sendmail_starttls(self):
        message = self.send("smtplib-tls@test", starttls=True)
        self.assertRegex(message.received(), rb"\(using TLSv1\.[23] .*\) with ESMTPS id ")

    def test_refused_recipient_raises(self):
        # a syntax error in RCPT comes back as smtplib's SMTPRecipientsRefused
        with smtplib.SMTP(h.LOOPBACK, self.gateway.config.port, timeout=h.scaled(30)) as client:
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                client.sendmail("sender@example.org", ["not an address"], "Subject: x\r\n\r\nx\r\n")
        self.assertEqual(self.sink.settled_messages(), [])


if __name__ == "__main__":
    unittest.main()
