"""Integration test harness for spamgate: real processes on loopback only.

What it provides:
- free loopback ports, reserved across concurrent test processes (a lock file per port);
- a TOML config written into a temp dir (listeners, backend, decision log, TLS cert);
- `Spamgate`: runs `spamgate serve -c FILE` ($SPAMGATE_BIN), waits until it listens, stops it
  by PID (SIGTERM, then SIGKILL after a timeout);
- `SmtpSink`: Postfix's smtp-sink as the SMTP backend, dumping each message into a directory;
- `WireTap`: a loopback TCP relay in front of the backend that records the exact bytes
  spamgate sends (smtp-sink's dump files are LF-terminated and drop CRs, so only the wire
  shows bare CR/LF and dot-stuffing);
- `RawClient`: a socket SMTP client for exact byte sequences, with message and wire helpers
  (defined in smtp_wire.py, re-exported here);
- `Nsd` / `start_nsd`: nsd on a free loopback port serving test zones; `DnsRelay`: a UDP DNS
  endpoint that records every question and relays it to nsd, or never answers (a black hole);
- decision log reading (`read_decisions`, `wait_decisions`);
- `GatewayTestCase`: a unittest.TestCase that starts what a test asks for and always stops it.

Every process a test starts is registered with addCleanup (or addClassCleanup) the moment it
exists, so it is stopped even when the test fails or its start-up fails half-way.
"""

import atexit
import fcntl
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from smtp_wire import (  # noqa: F401 (re-exported: tests use harness.X)
    LOOPBACK, SLOWDOWN, ConnectionClosed, RawClient, Reply, bare_newlines, client_tls_context,
    dot_stuff, first_header, message_bytes, queued_id, scaled, send_message,
    split_data_sections, strip_leading_header, unstuff)

HOSTNAME = "mx.test.example"
SMTP_SINK = "/usr/sbin/smtp-sink"

def source_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("SPAMGATE_SOURCE_DIR") or os.path.dirname(os.path.dirname(here))


def spamgate_bin():
    path = os.environ.get("SPAMGATE_BIN")
    if not path:
        raise RuntimeError("SPAMGATE_BIN is not set (run the integration tests through ctest)")
    if not os.access(path, os.X_OK):
        raise RuntimeError("SPAMGATE_BIN=%s is not an executable" % path)
    return path


def testdata_path(*parts):
    """Path under $SPAMGATE_TESTDATA, or raise SkipTest with a clear message."""
    root = os.environ.get("SPAMGATE_TESTDATA", "")
    path = os.path.join(root, *parts)
    if not root or not os.path.exists(path):
        raise unittest.SkipTest(
            "shared test data not found (SPAMGATE_TESTDATA=%r, need %s)" % (root, os.path.join(*parts)))
    return path


def load_testdata_json(*parts):
    with open(testdata_path(*parts), encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------------
# Ports


_PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "spamgate-it-ports")
_held_port_locks = []  # open lock files: the reservation lasts as long as this process


@atexit.register
def _release_ports():
    for lock in _held_port_locks:
        lock.close()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A loopback port nobody listens on, outside the ephemeral range (so an outgoing
    connection cannot take it meanwhile), reserved against other test processes: spamgate
    binds with SO_REUSEPORT, so two processes given the same port would silently share it."""
    low, high = _ephemeral_range()
    candidates = [(10000, low - 1)] if low > 12000 else [(high + 1, 65535)]
    os.makedirs(_PORT_LOCK_DIR, exist_ok=True)
    for _ in range(500):
        first, last = random.choice(candidates)
        port = random.randint(first, last)
        lock = open(os.path.join(_PORT_LOCK_DIR, "%d.lock" % port), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        if _bindable(port):
            _held_port_locks.append(lock)
            return port
        lock.close()
    raise RuntimeError("no free loopback port found")


def _listening_ports():
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":  # TCP_LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def wait_listening(ports, timeout, proc=None):
    """Waits until every port has a listening socket, without connecting (a probe connection
    would be a session in spamgate's decision log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if set(ports) <= _listening_ports():
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------------------------
# Processes


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL if the test process dies without its cleanups (a
    ctest timeout, ^C), so no spamgate or smtp-sink outlives the test."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop_process(proc, timeout=10.0):
    """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


_cert_cache = {}


def tls_certificate():
    """(cert, key) paths of a self-signed certificate made by contrib/make-test-cert.sh, made
    once per test process."""
    if "paths" not in _cert_cache:
        directory = tempfile.mkdtemp(prefix="spamgate-it-cert-")
        script = os.path.join(source_dir(), "contrib", "make-test-cert.sh")
        subprocess.run(["bash", script, directory, "localhost"], check=True, timeout=60)
        _cert_cache["paths"] = (os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem"))
        _cert_cache["dir"] = directory
        atexit.register(shutil.rmtree, directory, True)
    return _cert_cache["paths"]


# ---------------------------------------------------------------------------------------------
# Configuration


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string for what we write
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table, e.g. in an array of tables (dnsbl.zones)
        return "{" + ", ".join("%s = %s" % (k, _toml_value(v)) for k, v in value.items()) + "}"
    raise TypeError("cannot write %r as TOML" % (value,))


def to_toml(tables):
    """{"server": {"listen": [...], "timeouts": {...}}, ...} -> TOML text."""
    lines = []

    def emit(name, table):
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines.append("[%s]" % name)
        for key, value in scalars.items():
            lines.append("%s = %s" % (key, _toml_value(value)))
        lines.append("")
        for key, value in table.items():
            if isinstance(value, dict):
                emit(name + "." + key, value)

    for name, table in tables.items():
        emit(name, table)
    return "\n".join(lines)


def merge(base, overrides):
    """Deep merge; a value of None in `overrides` removes the key."""
    out = dict(base)
    for key, value in (overrides or {}).items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class GatewayConfig:
    """A config file in `directory`: plain and implicit-TLS listeners on free ports, the given
    backend, the decision log in the directory, 2 workers."""

    def __init__(self, directory, backend, overrides=None, tls=True):
        self.directory = directory
        self.path = os.path.join(directory, "spamgate.toml")
        self.decisions = os.path.join(directory, "decisions.jsonl")
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        tables = {
            "server": {
                "hostname": HOSTNAME,
                "listen": ["%s:%d" % (LOOPBACK, self.port)],
                "listen_tls": ["%s:%d" % (LOOPBACK, self.tls_port)] if tls else [],
                "workers": 2,
                "timeouts": {"shutdown": 5},
            },
            "backend": {"address": backend, "connect_timeout": 5, "command_timeout": 10,
                        "data_timeout": 30},
            "log": {"decisions": self.decisions},
            # Messages arrive as sent plus our Received header: no "X-Spam-Status: No".
            "policy": {"clean_status": False},
            # Loopback only: the resolver never falls back to /etc/resolv.conf in tests. Port 9
            # (discard) has no DNS server: lookups fail at once with a port-unreachable error.
            # The scoring checks are off here, so these tests see the core's behaviour alone;
            # the connection-check tests turn them on against their own nsd.
            "dns": {"nameservers": ["%s:9" % LOOPBACK], "timeout": 0.5, "retries": 0},
            "fcrdns": {"enabled": False},
            "helo": {"enabled": False},
            "dnsbl": {"enabled": False},
            "rate_limits": {"enabled": False},
            "pregreet": {"enabled": False},
            "spf": {"enabled": False},
            "dkim": {"enabled": False},
            "dmarc": {"enabled": False},
            "reputation": {"enabled": False},
        }
        if tls:
            cert, key = tls_certificate()
            tables["tls"] = {"certificate": cert, "private_key": key}
        self.tables = merge(tables, overrides)
        self.write()

    def write(self, tables=None, text=None):
        if tables is not None:
            self.tables = tables
        with open(self.path, "w") as f:
            f.write(text if text is not None else to_toml(self.tables))

    def update(self, overrides):
        self.write(merge(self.tables, overrides))

    def ports(self):
        return [p for p in (self.port, self.tls_port) if p]


# ---------------------------------------------------------------------------------------------
# spamgate


class Spamgate:
    """`spamgate serve -c FILE`, started in the config's directory."""

    def __init__(self, config):
        self.config = config
        self.proc = None
        self.stderr_path = os.path.join(config.directory, "spamgate.stderr")

    def start(self, timeout=15.0):
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [spamgate_bin(), "serve", "-c", self.config.path],
            cwd=self.config.directory, stdin=subprocess.DEVNULL, stdout=self._stderr,
            stderr=self._stderr, preexec_fn=_die_with_parent)
        if not wait_listening(self.config.ports(), scaled(timeout), self.proc):
            raise RuntimeError("spamgate did not start listening on %s (exit %r):\n%s" % (
                self.config.ports(), self.proc.poll(), self.stderr()))
        if not self.wait_stderr("serving as", timeout):
            raise RuntimeError("spamgate did not report serving:\n" + self.stderr())
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        os.kill(self.proc.pid, signum)

    def stop(self, timeout=15.0):
        """SIGTERM, SIGKILL after `timeout`; returns the exit status (None if never started)."""
        if self.proc is None:
            return None
        try:
            return stop_process(self.proc, timeout)
        finally:
            self._stderr.close()

    def wait(self, timeout):
        return self.proc.wait(timeout=scaled(timeout))

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_stderr(self, pattern, timeout=10.0, start=0):
        """Waits until stderr (from character `start` on) matches the regex `pattern`."""
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if re.search(pattern, self.stderr()[start:]):
                return True
            if not self.running():
                return bool(re.search(pattern, self.stderr()[start:]))
            time.sleep(0.02)
        return False


# ---------------------------------------------------------------------------------------------
# smtp-sink


class SinkMessage:
    """One smtp-sink dump file: the envelope smtp-sink recorded and the message as received
    (smtp-sink writes it dot-unstuffed, with LF line ends and CRs removed)."""

    def __init__(self, path, raw):
        self.path = path
        self.raw = raw
        lines = raw.split(b"\n")
        self.mail_args = None
        self.rcpt_args = []
        self.helo_args = None
        i = 0
        while i < len(lines) and not lines[i].startswith(b"Received: "):
            name, _, value = lines[i].partition(b": ")
            if name == b"X-Mail-Args":
                self.mail_args = value.decode("utf-8", "replace")
            elif name == b"X-Rcpt-Args":
                self.rcpt_args.append(value.decode("utf-8", "replace"))
            elif name == b"X-Helo-Args":
                self.helo_args = value.decode("utf-8", "replace")
            i += 1
        i += 1  # smtp-sink's own three-line Received: header
        while i < len(lines) and lines[i].startswith(b"\t"):
            i += 1
        body = b"\n".join(lines[i:])
        # The dump ends with the message's last line end plus one empty line.
        if body.endswith(b"\n\n"):
            body = body[:-1]
        elif body == b"\n":
            body = b""
        self.message = body

    def received(self):
        """spamgate's Received: header, unfolded."""
        return first_header(self.message, b"\n")

    def without_received(self):
        """The message minus spamgate's leading Received: header (with continuation lines)."""
        return strip_leading_header(self.message, b"Received", b"\n")


class SmtpSink:
    """Postfix smtp-sink on a free loopback port, dumping each completed message to a file in
    `directory` (an aborted transaction leaves no file). `extra` are further options, e.g.
    ["-f", "RCPT", "-B", "550 5.1.1 User unknown"] to refuse every recipient."""

    def __init__(self, directory, extra=()):
        self.directory = directory
        self.dump_dir = os.path.join(directory, "sink")
        os.makedirs(self.dump_dir, exist_ok=True)
        os.chmod(self.dump_dir, 0o777)
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def start(self, timeout=10.0):
        if not os.access(SMTP_SINK, os.X_OK):
            raise RuntimeError("%s not installed (contrib/install-deps.sh installs postfix)"
                               % SMTP_SINK)
        # smtp-sink refuses to run as root without -u; -u root keeps the dump dir writable.
        user = ["-u", "root"] if os.geteuid() == 0 else []
        argv = [SMTP_SINK] + user + ["-d", os.path.join(self.dump_dir, "%M.")] + self.extra + [
            "%s:%d" % (LOOPBACK, self.port), "64"]
        self._log = open(os.path.join(self.directory, "smtp-sink.log"), "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, preexec_fn=_die_with_parent)
        if not wait_listening([self.port], scaled(timeout), self.proc):
            raise RuntimeError("smtp-sink did not start (exit %r)" % self.proc.poll())
        return self

    def stop(self):
        if self.proc is None:
            return None
        try:
            return stop_process(self.proc, 5.0)
        finally:
            self._log.close()

    def _open_files(self):
        """Dump files smtp-sink still writes (a transaction in progress)."""
        fd_dir = "/proc/%d/fd" % self.proc.pid
        out = set()
        try:
            for fd in os.listdir(fd_dir):
                try:
                    out.add(os.readlink(os.path.join(fd_dir, fd)))
                except OSError:
                    pass
        except OSError:
            pass
        return out

    def files(self):
        """Complete dump files: smtp-sink keeps a transaction's file open until its end and
        removes it when the transaction is aborted."""
        names = sorted(os.path.join(self.dump_dir, n) for n in os.listdir(self.dump_dir))
        busy = self._open_files()
        return [n for n in names if os.path.realpath(n) not in busy]

    def connections(self):
        """Established TCP connections to the sink."""
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        fields = line.split()
                        local_port = int(fields[1].rsplit(":", 1)[1], 16)
                        if local_port == self.port and fields[3] == "01":  # ESTABLISHED
                            count += 1
            except OSError:
                pass
        return count

    def settled_messages(self, timeout=10.0):
        """The messages once no backend session is open any more (so that an aborted
        transaction is gone and a completed one is there)."""
        deadline = time.monotonic() + scaled(timeout)
        while self.connections() > 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages()

    def messages(self):
        out = []
        for path in self.files():
            with open(path, "rb") as f:
                out.append(SinkMessage(path, f.read()))
        return out

    def wait_messages(self, count, timeout=10.0):
        """Waits until at least `count` messages are dumped, then returns all of them."""
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count and all(m.raw.endswith(b"\n") for m in messages):
                return messages
            time.sleep(0.02)
        return self.messages()


# ---------------------------------------------------------------------------------------------
# WireTap: the exact bytes spamgate sends to the backend


class WireTap:
    """Listens on a free loopback port and relays each connection to `upstream_port`,
    recording the bytes the client (spamgate) sends on each connection."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.streams = []  # one bytearray per connection, client -> upstream
        self._lock = threading.Lock()
        self._threads = []
        self._sockets = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((LOOPBACK, self.port))
        self._listener.listen(64)
        self._stopping = False
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def _accept(self):
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((LOOPBACK, self.upstream_port))
            except OSError:
                client.close()
                continue
            record = bytearray()
            with self._lock:
                self.streams.append(record)
                self._sockets += [client, upstream]
            for src, dst, rec in ((client, upstream, record), (upstream, client, None)):
                t = threading.Thread(target=self._pump, args=(src, dst, rec), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    with self._lock:
                        record += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (dst,):
                try:
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def data_sections(self):
        """The DATA contents spamgate sent (dot-stuffed wire form, without the final
        CRLF.CRLF) for every transaction that reached end of data, in order."""
        with self._lock:
            streams = [bytes(s) for s in self.streams]
        out = []
        for stream in streams:
            out += split_data_sections(stream)
        return out

    def stop(self):
        self._stopping = True
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=2)


# ---------------------------------------------------------------------------------------------
# DNS: nsd on loopback, a recording UDP relay in front of it, a black hole


NSD = "/usr/sbin/nsd"


def dns_query(name, qtype=1, qid=0x5A5A):
    """A minimal DNS query packet (RD set, class IN) for `name`."""
    labels = [l for l in name.rstrip(".").split(".") if l]
    qname = b"".join(bytes([len(l)]) + l.encode("ascii") for l in labels) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)


def dns_question_name(packet):
    """The question name of a DNS packet ("2.0.0.127.dnsbl.test"), or None if malformed."""
    if len(packet) < 12:
        return None
    labels = []
    i = 12
    while i < len(packet):
        n = packet[i]
        if n == 0:
            return ".".join(labels)
        if n >= 64 or i + 1 + n > len(packet):
            return None
        labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    return None


def dns_answers(port, name, timeout=0.1):
    """True when a UDP query for `name` to 127.0.0.1:`port` gets any reply with its id."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((LOOPBACK, port))
        s.send(dns_query(name))
        reply = s.recv(4096)
        return len(reply) >= 12 and reply[:2] == b"\x5a\x5a"
    except OSError:  # a timeout, or port unreachable while nothing listens yet
        return False
    finally:
        s.close()


def _udp_bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_udp_tcp_port():
    """free_port(), also free for UDP (a DNS server binds both)."""
    for _ in range(50):
        port = free_port()
        if _udp_bindable(port):
            return port
    raise RuntimeError("no loopback port free for both UDP and TCP")


def _nsd_config(directory, port, zones):
    lines = [
        "server:",
        '  zonesdir: "%s"' % directory,
        "  ip-address: %s@%d" % (LOOPBACK, port),
        "  port: %d" % port,
        "  do-ip4: yes", "  do-ip6: no", "  verbosity: 0", "  server-count: 1",
        "  hide-version: yes", "  hide-identity: yes", '  database: ""',
        '  zonelistfile: "%s/zone.list"' % directory,
        '  xfrdfile: "%s/xfrd.state"' % directory,
        '  pidfile: "%s/nsd.pid"' % directory,
        '  logfile: "%s/nsd.log"' % directory,
        '  chroot: ""', '  username: ""',
        "  rrl-ratelimit: 0", "  rrl-whitelist-ratelimit: 0",
        "remote-control:", "  control-enable: no",
    ]
    for name in zones:
        lines += ["zone:", '  name: "%s"' % name, '  zonefile: "%s/%s.zone"' % (directory, name)]
    return "\n".join(lines) + "\n"


class Nsd:
    """nsd (Debian package nsd) serving `zones` ({name: zone file text}) on a free loopback
    port: `nsd -d -c` in its own process group (nsd forks a server and xfrd), stopped through
    the group of the PID it was started as. The port logic of tests/unit/dns/dns_servers.cpp."""

    def __init__(self, directory, zones):
        self.directory = os.path.join(directory, "nsd")
        os.makedirs(self.directory, exist_ok=True)
        self.zones = dict(zones)
        self.port = None
        self.proc = None

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def start(self, timeout=10.0):
        if not os.access(NSD, os.X_OK):
            raise RuntimeError("%s is not installed (Debian package nsd)" % NSD)
        for name, text in self.zones.items():
            with open(os.path.join(self.directory, name + ".zone"), "w") as f:
                f.write(text)
        probe = next(iter(self.zones), "")
        # The port is free when chosen but may be taken before nsd binds it: try a few.
        for _ in range(5):
            self.port = free_udp_tcp_port()
            conf = os.path.join(self.directory, "nsd.conf")
            with open(conf, "w") as f:
                f.write(_nsd_config(self.directory, self.port, self.zones))
            with open(os.path.join(self.directory, "nsd.out"), "ab") as out:
                self.proc = subprocess.Popen(
                    [NSD, "-d", "-c", conf], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                    start_new_session=True, preexec_fn=_die_with_parent)
            deadline = time.monotonic() + scaled(timeout)
            while time.monotonic() < deadline and self.proc.poll() is None:
                if dns_answers(self.port, probe):
                    return self
                time.sleep(0.01)
            self.stop()
        raise RuntimeError("nsd did not start:\n" + self.log())

    def log(self):
        out = ""
        for name in ("nsd.log", "nsd.out"):
            try:
                with open(os.path.join(self.directory, name), errors="replace") as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def stop(self):
        """SIGTERM to the process group nsd leads, SIGKILL after 3 s."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        pid = proc.pid
        if proc.poll() is None:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pid, signal.SIGKILL)  # the forked server/xfrd, if any outlived the leader
        except (ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            proc.wait()


def start_nsd(register, directory, zones):
    """nsd serving `zones` ({name: zone text}) from `directory`; its stop is registered before
    it starts. Returns the Nsd (its port is .port, "127.0.0.1:PORT" is .address)."""
    nsd = Nsd(directory, zones)
    register(nsd.stop)
    return nsd.start()


class DnsRelay:
    """A UDP DNS endpoint on a free loopback port that records the question name of every
    query it receives (`.names()`), and either relays queries to `upstream_port` (and the
    answers back), or, with `upstream_port` None, never answers: a black hole (the socket
    stays open, so no ICMP port-unreachable either)."""

    def __init__(self, upstream_port=None):
        self.upstream_port = upstream_port
        self.port = free_udp_tcp_port()
        self._lock = threading.Lock()
        self._names = []
        self._clients = {}  # query id -> client address (relay mode)
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._front.bind((LOOPBACK, self.port))
        self._back = None
        if upstream_port is not None:
            self._back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._back.connect((LOOPBACK, upstream_port))
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def names(self):
        with self._lock:
            return list(self._names)

    def count(self):
        with self._lock:
            return len(self._names)

    def clear(self):
        with self._lock:
            self._names.clear()

    def _run(self):
        import select

        sockets = [self._front] + ([self._back] if self._back else []) + [self._stop_r]
        while True:
            readable, _, _ = select.select(sockets, [], [])
            if self._stop_r in readable:
                return
            if self._front in readable:
                try:
                    packet, client = self._front.recvfrom(65536)
                except OSError:
                    continue
                name = dns_question_name(packet)
                with self._lock:
                    self._names.append(name)
                    if self._back is not None and len(packet) >= 2:
                        self._clients[packet[:2]] = client
                if self._back is not None:
                    try:
                        self._back.send(packet)
                    except OSError:
                        pass
            if self._back is not None and self._back in readable:
                try:
                    packet = self._back.recv(65536)
                except OSError:
                    continue
                with self._lock:
                    client = self._clients.pop(packet[:2], None)
                if client is not None:
                    try:
                        self._front.sendto(packet, client)
                    except OSError:
                        pass

    def stop(self):
        if self._stop_w is None:
            return
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._stop_r, self._stop_w):
            os.close(fd)
        self._stop_w = None
        self._front.close()
        if self._back is not None:
            self._back.close()


def start_dns_relay(register, upstream_port=None):
    relay = DnsRelay(upstream_port)
    register(relay.stop)
    return relay


# ---------------------------------------------------------------------------------------------
# Decision log


def read_decisions(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def wait_decisions(path, predicate=lambda d: True, count=1, timeout=10.0):
    """Waits until `count` log lines satisfy `predicate`; returns those lines."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        found = [d for d in read_decisions(path) if predicate(d)]
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# Test case base


def new_tempdir(register):
    """A temp dir removed by `register` (addCleanup / addClassCleanup) unless
    SPAMGATE_KEEP_TEMP is set."""
    directory = tempfile.mkdtemp(prefix="spamgate-it-")
    os.chmod(directory, 0o755)
    if os.environ.get("SPAMGATE_KEEP_TEMP"):
        sys.stderr.write("keeping %s\n" % directory)
    else:
        register(shutil.rmtree, directory, True)
    return directory


def start_sink(register, directory, extra=()):
    sink = SmtpSink(directory, extra)
    register(sink.stop)
    return sink.start()


def start_tap(register, upstream_port):
    tap = WireTap(upstream_port)
    register(tap.stop)
    return tap


def stop_and_check(gateway):
    """Stops spamgate; a crash, a sanitizer report, a non-zero exit or a SIGKILL (it did not
    stop after SIGTERM) fails the test that started it."""
    status = gateway.stop()
    report = gateway.stderr()
    if status not in (None, 0) or re.search(r"Sanitizer|runtime error:", report):
        raise AssertionError("spamgate exited with status %r; stderr:\n%s" % (status, report))


def start_spamgate(register, directory, backend, overrides=None, tls=True):
    """spamgate on a config in `directory`; its stop is registered before it starts."""
    gateway = Spamgate(GatewayConfig(directory, backend, overrides, tls))
    register(stop_and_check, gateway)
    return gateway.start()


class GatewayTestCase(unittest.TestCase):
    """Helpers that start processes and register their stop at once."""

    def make_tempdir(self):
        return new_tempdir(self.addCleanup)

    def start_sink(self, extra=(), directory=None):
        return start_sink(self.addCleanup, directory or self.make_tempdir(), extra)

    def start_tap(self, upstream_port):
        return start_tap(self.addCleanup, upstream_port)

    def start_gateway(self, backend=None, overrides=None, tls=True, directory=None):
        """spamgate with the given backend address (default: a fresh smtp-sink, kept in
        self.sink); returns the Spamgate (its config is .config)."""
        directory = directory or self.make_tempdir()
        if backend is None:
            self.sink = self.start_sink(directory=directory)
            backend = self.sink.address
        return start_spamgate(self.addCleanup, directory, backend, overrides, tls)

    def decisions(self, gateway):
        return read_decisions(gateway.config.decisions)

    def transactions(self, gateway):
        return [d for d in self.decisions(gateway) if d.get("event") == "transaction"]

    def assertEnhanced(self, reply, code, enhanced):
        self.assertEqual(reply.code, code, reply)
        self.assertTrue(reply.lines[-1].startswith(enhanced) or reply.lines[0].startswith(enhanced),
                        "expected %d %s, got %r" % (code, enhanced, reply))
