"""What reaches the backend: byte-exact delivery (apart from our Received: header), dot-stuffing
round trips, BDAT (one chunk, several chunks, CRLF.CRLF inside a chunk), partial writes, the
Maildir backend and a 25 MB message.

The SMTP backend is smtp-sink behind a WireTap: the tap shows the exact bytes spamgate sent
(smtp-sink's dump files have LF line ends and no CRs), the dump shows what the backend took."""

import hashlib
import os
import time
import unittest

import harness as h

# A message with what tends to get mangled: folded headers, tabs, trailing white space, a
# header without a space after the colon, 8-bit text, an empty line in the body, dots at line
# starts, a line of exactly 998 octets, "From " at a line start.
EXACT_MESSAGE = (
    b"From: Sender <sender@example.org>\r\n"
    b"To: rcpt@example.com\r\n"
    b"Subject: a folded\r\n\tsubject line  \r\n"
    b"X-No-Space:value\r\n"
    b"X-Tab:\tvalue\twith\ttabs\t\r\n"
    b"Message-ID: <exact@test>\r\n"
    b"\r\n"
    b"From the start of a body line\r\n"
    b".one leading dot\r\n"
    b"..two leading dots\r\n"
    b".\r\n"
    b"..\r\n"
    b"\r\n"
    b"trailing spaces   \r\n"
    b"\xc3\xa4\xc3\xb6\xc3\xbc 8-bit \xe2\x82\xac\r\n" + b"L" * 998 + b"\r\n"
    b"last line\r\n")


class DeliveryTestCase(h.GatewayTestCase):
    def start(self, overrides=None):
        directory = self.make_tempdir()
        self.sink = self.start_sink(directory=directory)
        self.tap = self.start_tap(self.sink.port)
        self.gateway = self.start_gateway(self.tap.address, overrides, directory=directory)
        return self.gateway

    def wire_message(self, index=0, count=1):
        """The index-th message as spamgate sent it (unstuffed), minus its Received: header."""
        sections = self.wait_sections(count)
        self.assertEqual(len(sections), count, "DATA sections at the backend")
        return h.strip_leading_header(h.unstuff(sections[index]), b"Received")

    def wait_sections(self, count, timeout=10.0):
        deadline = time.monotonic() + h.scaled(timeout)
        while time.monotonic() < deadline:
            sections = self.tap.data_sections()
            if len(sections) >= count:
                return sections
            time.sleep(0.02)
        return self.tap.data_sections()

    def assertDelivered(self, sent, count=1, index=0):
        """`sent` (CRLF) reached the backend exactly: on the wire and in smtp-sink's dump."""
        self.assertEqual(self.wire_message(index, count), sent)
        messages = self.sink.wait_messages(count)
        self.assertEqual(len(messages), count, self.sink.files())
        dumped = [m.without_received() for m in messages]
        # smtp-sink dumps LF line ends and removes CRs
        self.assertIn(sent.replace(b"\r\n", b"\n"), dumped)


class ExactDeliveryTest(DeliveryTestCase):
    def setUp(self):
        self.start()

    def test_byte_exact_through_data(self):
        reply = h.send_message(self.gateway.config.port, EXACT_MESSAGE)
        self.assertEqual(reply.code, 250, reply)
        self.assertDelivered(EXACT_MESSAGE)

    def test_wire_is_dot_stuffed_and_canonical(self):
        h.send_message(self.gateway.config.port, EXACT_MESSAGE)
        section = self.wait_sections(1)[0]
        self.assertEqual(h.bare_newlines(section), [])
        lines = section.split(b"\r\n")
        self.assertIn(b"..one leading dot", lines)
        self.assertIn(b"...two leading dots", lines)
        self.assertIn(b"..", lines)  # the lone "." line
        self.assertIn(b"...", lines)  # the ".." line
        self.assertNotIn(b".", lines)

    def test_dot_stuffing_round_trip(self):
        body = (b".\r\n..\r\n...\r\n.foo\r\n..foo\r\n. \r\n .\r\nend.\r\n.\r\n")
        message = h.message_bytes("dots@test", body=body)
        wire = (b"EHLO dots.example\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            c.expect(220)
            c.send(wire)
            c.reply()
            c.expect(250, "MAIL FROM:<sender@example.org>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(message))  # the client stuffs every leading dot
            self.assertEqual(c.reply().code, 250)
        self.assertDelivered(message)

    def test_partial_writes(self):
        """Commands and message arrive one octet per write."""
        message = h.message_bytes("partial@test", body=b".dot\r\nline two\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            c.expect(220)
            c.send_in_pieces(b"EHLO partial.example\r\n")
            self.assertEqual(c.reply().code, 250)
            c.send_in_pieces(b"MAIL FROM:<sender@example.org>\r\n")
            self.assertEqual(c.reply().code, 250)
            c.send_in_pieces(b"RCPT TO:<rcpt@example.com>\r\n")
            self.assertEqual(c.reply().code, 250)
            c.send_in_pieces(b"DATA\r\n")
            self.assertEqual(c.reply().code, 354)
            c.send_in_pieces(h.dot_stuff(message))
            self.assertEqual(c.reply().code, 250)
        self.assertDelivered(message)

    def test_quit_pipelined_after_the_final_dot(self):
        message = h.message_bytes("then-quit@test")
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            c.send(b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<bad address>\r\n"
                   b"RCPT TO:<rcpt@example.com>\r\nDATA\r\n")
            codes = [r.code for r in c.replies(4)]
            self.assertEqual((codes[0], codes[1] // 100, codes[2], codes[3]), (250, 5, 250, 354))
            c.send(h.dot_stuff(message) + b"QUIT\r\n")
            self.assertEqual([r.code for r in c.replies(2)], [250, 221])
            self.assertTrue(c.is_closed())
        self.assertDelivered(message)

    def test_two_messages_one_session(self):
        first = h.message_bytes("first@test", body=b"one\r\n")
        second = h.message_bytes("second@test", body=b"two\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            ids = []
            for message in (first, second):
                c.expect(250, "MAIL FROM:<sender@example.org>")
                c.expect(250, "RCPT TO:<rcpt@example.com>")
                c.expect(354, "DATA")
                c.send(h.dot_stuff(message))
                ids.append(h.queued_id(c.expect(250)))
        self.assertNotEqual(ids[0], ids[1])
        self.assertEqual(self.wire_message(0, 2), first)
        self.assertEqual(self.wire_message(1, 2), second)


class BdatTest(DeliveryTestCase):
    def setUp(self):
        self.start()

    def transaction(self, c):
        c.greet()
        ehlo = c.ehlo()
        self.assertIn("CHUNKING", ehlo.lines)
        c.expect(250, "MAIL FROM:<sender@example.org>")
        c.expect(250, "RCPT TO:<rcpt@example.com>")

    def test_single_chunk(self):
        message = h.message_bytes("bdat-one@test", body=b".not stuffed\r\nbody\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            self.transaction(c)
            c.send(b"BDAT %d LAST\r\n" % len(message) + message)
            reply = c.expect(250)
            self.assertRegex(reply.text, r"^2\.0\.0 Ok: queued as \w+")
        self.assertDelivered(message)

    def test_multiple_chunks(self):
        message = h.message_bytes("bdat-many@test", body=b"first part\r\nsecond part\r\n")
        # chunk boundaries inside a header, between CR and LF, and an empty LAST chunk
        cut = [0, 20, message.index(b"\r\n\r\n") + 1, len(message) - 5, len(message)]
        chunks = [message[a:b] for a, b in zip(cut, cut[1:])]
        with h.RawClient(self.gateway.config.port) as c:
            self.transaction(c)
            for chunk in chunks:
                c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
                self.assertEqual(c.reply().code, 250)
            c.send(b"BDAT 0 LAST\r\n")
            h.queued_id(c.expect(250))
        self.assertDelivered(message)

    def test_pipelined_chunks(self):
        message = h.message_bytes("bdat-pipe@test", body=(b"x" * 98 + b"\r\n") * 50)
        half = len(message) // 2
        with h.RawClient(self.gateway.config.port) as c:
            c.greet()
            c.send(b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.com>\r\n"
                   b"BDAT %d\r\n%sBDAT %d LAST\r\n%s" % (half, message[:half],
                                                         len(message) - half, message[half:]))
            codes = [r.code for r in c.replies(4)]
            self.assertEqual(codes, [250, 250, 250, 250])
        self.assertDelivered(message)

    def test_crlf_dot_crlf_inside_chunk_is_content(self):
        message = h.message_bytes(
            "bdat-dot@test", body=b"before\r\n.\r\nMAIL FROM:<smuggled@example.org>\r\n.\r\nafter\r\n")
        with h.RawClient(self.gateway.config.port) as c:
            self.transaction(c)
            c.send(b"BDAT %d LAST\r\n" % len(message) + message)
            h.queued_id(c.expect(250))
            c.expect(250, "NOOP")  # nothing of the chunk was taken as a command
        self.assertDelivered(message)
        self.assertEqual(len(self.transactions(self.gateway)), 1)


class MaildirTest(h.GatewayTestCase):
    def test_byte_exact_in_maildir(self):
        directory = self.make_tempdir()
        maildir = os.path.join(directory, "maildir")
        gateway = self.start_gateway("maildir:" + maildir, directory=directory)
        reply = h.send_message(gateway.config.port, EXACT_MESSAGE)
        queue_id = h.queued_id(reply)
        files = os.listdir(os.path.join(maildir, "new"))
        self.assertEqual(len(files), 1)
        with open(os.path.join(maildir, "new", files[0]), "rb") as f:
            stored = f.read()
        self.assertTrue(stored.startswith(b"Return-Path: <sender@example.org>\r\n"
                                          b"Delivered-To: rcpt@example.com\r\n"), stored[:200])
        stored = stored.split(b"\r\n", 2)[2]
        self.assertEqual(h.strip_leading_header(stored, b"Received"), EXACT_MESSAGE)
        self.assertEqual(os.listdir(os.path.join(maildir, "tmp")), [])
        log = [d for d in self.transactions(gateway) if d["id"] == queue_id]
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["backend"]["queue_id"], files[0])


class LargeMessageTest(DeliveryTestCase):
    SIZE = 25 * 1024 * 1024

    def test_25_megabytes(self):
        self.start({"server": {"max_message_size": 26 * 1024 * 1024}})
        line_count = self.SIZE // 80
        body = b"".join(b"%08d " % i + b"x" * 69 + b"\r\n" for i in range(line_count))
        message = h.message_bytes("large@test", body=body)
        self.assertGreaterEqual(len(message), self.SIZE)
        with h.RawClient(self.gateway.config.port, timeout=120) as c:
            c.greet()
            c.expect(250, "MAIL FROM:<sender@example.org> SIZE=%d" % len(message))
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(h.dot_stuff(message))
            h.queued_id(c.expect(250))
        self.assertEqual(self.wire_message(), message)
        messages = self.sink.wait_messages(1, timeout=30)
        self.assertEqual(len(messages), 1)
        dumped = messages[0].without_received()
        self.assertEqual(hashlib.sha256(dumped).hexdigest(),
                         hashlib.sha256(message.replace(b"\r\n", b"\n")).hexdigest())
        log = self.transactions(self.gateway)
        self.assertEqual(log[0]["size"], len(message))


if __name__ == "__main__":
    unittest.main()
