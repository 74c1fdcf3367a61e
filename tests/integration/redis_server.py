"""redis-server (Debian package redis-server) on a free loopback port for the state-store tests:
no persistence, started and stopped by PID; kill() and start() again on the same port model a
Redis restart. A tiny RESP client (stdlib sockets) lets tests read keys."""

import os
import shutil
import signal
import socket
import subprocess
import time

import harness as h

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def available():
    return os.access(REDIS_SERVER, os.X_OK)


class RedisServer:
    def __init__(self, directory, port=None):
        self.directory = directory
        self.port = port or h.free_port()
        self.proc = None

    @property
    def address(self):
        return "%s:%d" % (h.LOOPBACK, self.port)

    def start(self, timeout=10.0):
        log = open(os.path.join(self.directory, "redis-%d.log" % self.port), "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", h.LOOPBACK, "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", self.directory],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=h._die_with_parent)
        log.close()
        deadline = time.monotonic() + h.scaled(timeout)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %r" % self.proc.returncode)
            try:
                if self.command("PING") == "PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING on %s" % self.address)

    def kill(self):
        """SIGKILL, as a crash: clients see the connection drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def command(self, *words):
        """One command; returns a str, an int, a list or None (RESP2)."""
        with socket.create_connection((h.LOOPBACK, self.port), timeout=2) as s:
            payload = "*%d\r\n" % len(words) + "".join(
                "$%d\r\n%s\r\n" % (len(str(w).encode()), w) for w in words)
            s.sendall(payload.encode())
            return _read_reply(s.makefile("rb"))


def _read_reply(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError("bad RESP reply %r" % line)


def start_redis(register, directory, port=None):
    redis = RedisServer(directory, port)
    register(redis.stop)
    return redis.start()
