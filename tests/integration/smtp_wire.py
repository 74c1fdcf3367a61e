"""SMTP on the wire for the integration tests: a raw-socket client that sends exactly the bytes
it is given (BDAT, smuggling, pipelining, partial writes), message helpers, and parsers for
what a server or a backend received (DATA sections, dot-stuffing, bare CR/LF, headers).
Loopback only."""

import os
import re
import socket
import ssl
import time

LOOPBACK = "127.0.0.1"

# Slow builds (ASan) get longer waits: SPAMGATE_TEST_SLOWDOWN=3.
SLOWDOWN = float(os.environ.get("SPAMGATE_TEST_SLOWDOWN", "1"))


def scaled(seconds):
    return seconds * SLOWDOWN


# ---------------------------------------------------------------------------------------------
# Parsing what was received

def first_header(message, eol=b"\r\n"):
    """The message's first header field, unfolded (continuation line ends removed)."""
    lines = message.split(eol)
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"".join(lines[:i])


def strip_leading_header(message, name, eol=b"\r\n"):
    lines = message.split(eol)
    if not lines or not lines[0].lower().startswith(name.lower() + b":"):
        raise AssertionError("message does not start with %s: %r" % (name, message[:200]))
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return eol.join(lines[i:])


def split_data_sections(stream):
    """Parses a client->server SMTP stream: returns each DATA section that was terminated by
    CRLF.CRLF. Assumes the server answered DATA with 354 (the relay only sends the message
    after 354)."""
    out = []
    pos = 0
    while True:
        m = re.compile(rb"(?im)^DATA\r\n").search(stream, pos)
        if not m:
            return out
        start = m.end()
        if stream.startswith(b".\r\n", start):
            out.append(b"")
            pos = start + 3
            continue
        end = stream.find(b"\r\n.\r\n", start)
        if end < 0:
            return out
        out.append(stream[start:end + 2])
        pos = end + 5


def unstuff(wire):
    """Undoes dot-stuffing of a DATA section with CRLF lines."""
    lines = wire.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


def bare_newlines(data):
    """Offsets of CR not followed by LF and of LF not preceded by CR."""
    bad = []
    for i, c in enumerate(data):
        if c == 0x0D and data[i + 1:i + 2] != b"\n":
            bad.append(i)
        elif c == 0x0A and (i == 0 or data[i - 1] != 0x0D):
            bad.append(i)
    return bad


# ---------------------------------------------------------------------------------------------
# Raw SMTP client


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines  # text after "NNN-" / "NNN "

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "Reply(%d, %r)" % (self.code, self.lines)


class ConnectionClosed(Exception):
    pass


class RawClient:
    """A blocking SMTP client that sends exactly the bytes it is given."""

    def __init__(self, port, tls=False, timeout=10.0, source=None):
        """`source`: a loopback address to connect from ("127.0.0.2"), else the kernel's."""
        self.sock = socket.create_connection((LOOPBACK, port), timeout=scaled(timeout),
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            self.sock = client_tls_context().wrap_socket(self.sock, server_hostname="localhost")
        self.buffer = b""
        self.timeout = scaled(timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_in_pieces(self, data, size=1, pause=0.0):
        """Writes `data` in pieces of `size` bytes (partial writes), optionally pausing."""
        for i in range(0, len(data), size):
            self.sock.sendall(data[i:i + size])
            if pause:
                time.sleep(pause)

    def _fill(self, timeout=None):
        self.sock.settimeout(scaled(timeout) if timeout is not None else self.timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            raise ConnectionClosed("connection closed; unread: %r" % self.buffer)
        self.buffer += data

    def read_line(self, timeout=None):
        while b"\r\n" not in self.buffer:
            self._fill(timeout)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def reply(self, timeout=None):
        """Reads one (possibly multi-line) reply."""
        lines = []
        while True:
            line = self.read_line(timeout).decode("utf-8", "replace")
            if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in ("-", " ", ""):
                raise AssertionError("malformed reply line %r" % line)
            lines.append(line[4:])
            if line[3:4] != "-":
                return Reply(int(line[:3]), lines)

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def command(self, line, timeout=None):
        """Sends `line` + CRLF (str or bytes) and returns the reply."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def expect(self, code, line=None, timeout=None):
        r = self.command(line, timeout) if line is not None else self.reply(timeout)
        if r.code != code:
            raise AssertionError("expected %d to %r, got %r" % (code, line, r))
        return r

    def read_until_closed(self, timeout=None):
        """Everything the server still sends until it closes the connection."""
        data = self.buffer
        self.buffer = b""
        self.sock.settimeout(scaled(timeout) if timeout is not None else self.timeout)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    def is_closed(self, timeout=2.0):
        """True if the server closes the connection within `timeout` (unread data is kept)."""
        self.sock.settimeout(scaled(timeout))
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        self.buffer += chunk
        return not chunk or self.is_closed(timeout)

    def starttls(self):
        self.sock = client_tls_context().wrap_socket(self.sock, server_hostname="localhost")
        self.sock.settimeout(self.timeout)

    def ehlo(self, name="client.example"):
        return self.expect(250, "EHLO " + name)

    def greet(self, name="client.example"):
        self.expect(220)
        return self.ehlo(name)


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message_bytes(message_id, body=b"Hello.\r\n", extra_headers=b"", subject=b"test"):
    return (b"From: sender@example.org\r\nTo: rcpt@example.com\r\nSubject: " + subject +
            b"\r\nMessage-ID: <" + message_id.encode() + b">\r\n" + extra_headers + b"\r\n" + body)


def dot_stuff(message):
    """CRLF message -> DATA wire form including the terminating CRLF.CRLF."""
    lines = message.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    stuffed = [b"." + l if l.startswith(b".") else l for l in lines]
    return b"".join(l + b"\r\n" for l in stuffed) + b".\r\n"


QUEUED = re.compile(r"queued as (\S+)")


def queued_id(reply):
    m = QUEUED.search(reply.text if isinstance(reply, Reply) else reply)
    if not m:
        raise AssertionError("no 'queued as ID' in %r" % (reply,))
    return m.group(1)


def send_message(port, message, mail_from="sender@example.org", rcpts=("rcpt@example.com",),
                 tls=False):
    """A complete transaction over a RawClient; returns the final reply."""
    with RawClient(port, tls=tls) as c:
        c.greet()
        c.expect(250, "MAIL FROM:<%s>" % mail_from)
        for r in rcpts:
            c.expect(250, "RCPT TO:<%s>" % r)
        c.expect(354, "DATA")
        c.send(dot_stuff(message))
        final = c.reply()
        c.command("QUIT")
        return final
