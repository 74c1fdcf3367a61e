#!/usr/bin/env python3
"""idle_rss.py - spamgate's memory with many idle SMTP connections (loopback only).

Starts an smtp-sink (the backend) and spamgate in a private network namespace (unshare -n, only lo;
falls back to the host loopback with a note), then opens N client connections that read the 220
greeting and send EHLO, and stay idle. It reads VmRSS/VmHWM from /proc/PID/status:

  start      spamgate just started, no connection yet
  warm       after a few complete transactions (first-use allocations, backend path warmed up)
  idle N     with N connections open after EHLO (max of 5 samples over ~2 s)
  mail N     (--mail) the same N connections after MAIL FROM + RCPT TO: each now also holds a
             backend connection (spamgate verifies recipients with the backend at RCPT time)
  closed     after all N clients quit and the sessions are gone
  (--rounds 2: all of it twice; memory kept after round 1 should be reused in round 2, not grow)

and the cost per connection = (VmRSS idle N - VmRSS warm) / N.

Usage: tests/bench/idle_rss.py [--connections 1000] [--mail] [--rounds 2] [--spamgate PATH] [--keep-dir]
Environment: SPAMGATE_BIN (default <repo>/build/bench/spamgate, else build/*/spamgate).
Needs root for unshare -n and smtp-sink -u nobody. Every process it starts is stopped by PID.
"""
import argparse
import glob
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PORT, SINK_PORT = 2531, 2601


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads", "VmSize"):
                out[k] = int(v.split()[0])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["cpu_ticks"] = int(fields[11]) + int(fields[12])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def sample(pid, n=5, every=0.4):
    best = None
    for _ in range(n):
        s = status(pid)
        if best is None or s["VmRSS"] > best["VmRSS"]:
            best = s
        time.sleep(every)
    return best


def read_reply(sock):
    buf = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by spamgate: " + buf.decode(errors="replace"))
        buf += chunk
        lines = buf.split(b"\r\n")
        for line in lines[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                return int(line[:3]), buf
        # a partial reply: keep reading


def wait_listen(port, proc, secs=10):
    end = time.time() + secs
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def established(port):
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    return len([l for l in out.splitlines() if l.strip()])


def stop(proc, name, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"# {name} (pid {proc.pid}) ignored SIGTERM for {timeout}s: SIGKILL", flush=True)
        proc.kill()
        proc.wait()


def transaction(seq):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    try:
        for cmd in (None, b"EHLO client.bench.test", b"MAIL FROM:<sender@bench.test>",
                    b"RCPT TO:<rcpt@bench.test>", b"DATA"):
            if cmd:
                s.sendall(cmd + b"\r\n")
            code, text = read_reply(s)
            if code >= 400:
                raise RuntimeError(f"{cmd}: {text!r}")
        body = (f"Subject: warm-up {seq}\r\nMessage-Id: <warm.{seq}@bench.test>\r\n\r\n" +
                "x" * 70 + "\r\n") * 1
        s.sendall(body.encode() + b".\r\n")
        code, text = read_reply(s)
        if code != 250:
            raise RuntimeError(f"end of data: {text!r}")
        s.sendall(b"QUIT\r\n")
        read_reply(s)
    finally:
        s.close()


def find_binary(arg):
    if arg:
        return os.path.abspath(arg)
    if os.environ.get("SPAMGATE_BIN"):
        return os.path.abspath(os.environ["SPAMGATE_BIN"])
    cands = [os.path.join(ROOT, "build", "bench", "spamgate")] + sorted(glob.glob(os.path.join(ROOT, "build", "*", "spamgate")))
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    sys.exit("idle_rss: no spamgate binary (build one, or set SPAMGATE_BIN / --spamgate)")


def kb(x):
    return f"{x / 1024:.1f} MB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", "-n", type=int, default=1000)
    ap.add_argument("--mail", action="store_true", help="also measure after MAIL FROM + RCPT TO on every connection")
    ap.add_argument("--spamgate", help="spamgate binary (default $SPAMGATE_BIN or build/bench/spamgate)")
    ap.add_argument("--warmup", type=int, default=50, help="complete transactions before the 'warm' sample")
    ap.add_argument("--rounds", type=int, default=2,
                    help="open and close the N connections this many times (a leak shows as growth)")
    ap.add_argument("--keep-dir", action="store_true")
    args = ap.parse_args()

    note = ""
    if os.environ.get("IDLE_RSS_NETNS") != "1":
        if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
            env = dict(os.environ, IDLE_RSS_NETNS="1")
            os.execvpe("unshare", ["unshare", "-n", "--", sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)
        note = "NOTE: unshare -n failed: measured on the HOST loopback"
    else:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    network = note or "private network namespace (unshare -n, lo only)"

    binary = find_binary(args.spamgate)
    need = args.connections * 3 + 256  # clients + spamgate sessions + backend connections, and spare
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        if hard != resource.RLIM_INFINITY and hard < need:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
                new = need
            except (ValueError, OSError):
                pass
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, max(new, hard) if hard != resource.RLIM_INFINITY else hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile < need:
        sys.exit(f"idle_rss: RLIMIT_NOFILE is {nofile}, need {need} (ulimit -n {need})")

    work = tempfile.mkdtemp(prefix="spamgate-idle.", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.chmod(work, 0o777)
    cfg = os.path.join(work, "spamgate.toml")
    with open(cfg, "w") as f:
        f.write(f"""# generated by tests/bench/idle_rss.py
[server]
hostname = "spamgate.bench.test"
listen = ["127.0.0.1:{PORT}"]
listen_tls = []
workers = 0
max_connections = {args.connections + 1000}
max_connections_per_ip = {args.connections + 1000}
[server.timeouts]
greeting = 600
command = 600
shutdown = 2
[backend]
address = "127.0.0.1:{SINK_PORT}"
[log]
decisions = "{work}/decisions.jsonl"
[connection_limits]
enabled = false
""")
    sink = spamgate = None
    clients = []
    try:
        sink = subprocess.Popen(["smtp-sink", "-u", "nobody", "-m", str(args.connections + 100), "-C", "-F",
                                 f"127.0.0.1:{SINK_PORT}", "4096"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "sink.err"), "w"))
        if not wait_listen(SINK_PORT, sink):
            sys.exit("idle_rss: smtp-sink did not start")
        spamgate = subprocess.Popen([binary, "serve", "-c", cfg], stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(work, "spamgate.log"), "w"))
        if not wait_listen(PORT, spamgate):
            sys.exit("idle_rss: spamgate did not start: " + open(os.path.join(work, "spamgate.log")).read())
        pid = spamgate.pid
        time.sleep(0.5)
        rows = [("start (no connection)", 0, sample(pid, 3, 0.2))]
        for i in range(args.warmup):
            transaction(i)
        time.sleep(0.5)
        warm = sample(pid, 3, 0.2)
        rows.append((f"warm ({args.warmup} transactions done)", 0, warm))

        first_idle = first_mail = None
        n_est, opened = 0, 0.0
        for rnd in range(1, args.rounds + 1):
            tag = f"round {rnd}: " if args.rounds > 1 else ""
            t0 = time.time()
            for i in range(args.connections):
                s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
                clients.append(s)
                code, text = read_reply(s)
                if code != 220:
                    sys.exit(f"idle_rss: connection {i}: greeting {text!r}")
                s.sendall(b"EHLO client.bench.test\r\n")
                code, text = read_reply(s)
                if code != 250:
                    sys.exit(f"idle_rss: connection {i}: EHLO {text!r}")
            opened = time.time() - t0
            time.sleep(1.0)
            n = established(PORT)
            idle = sample(pid)
            rows.append((f"{tag}idle: {args.connections} connections after EHLO", n, idle))
            if first_idle is None:
                first_idle, n_est = idle, n

            if args.mail:
                for i, s in enumerate(clients):
                    try:
                        for cmd in (b"MAIL FROM:<sender@bench.test>", b"RCPT TO:<rcpt@bench.test>"):
                            s.sendall(cmd + b"\r\n")
                            code, text = read_reply(s)
                            if code != 250:
                                raise RuntimeError(f"{cmd.decode()}: {text!r}")
                    except (OSError, RuntimeError, ConnectionError) as e:
                        sys.exit(f"idle_rss: connection {i}: {e} (backend connections open: "
                                 f"{established(SINK_PORT)}; spamgate log: "
                                 f"{open(os.path.join(work, 'spamgate.log')).read()[-500:]!r})")
                time.sleep(1.0)
                mail = sample(pid)
                rows.append((f"{tag}mail: the same after MAIL+RCPT (backend connections: "
                             f"{established(SINK_PORT)})", established(PORT), mail))
                if first_mail is None:
                    first_mail = mail

            for s in clients:
                try:
                    s.sendall(b"QUIT\r\n")
                except OSError:
                    pass
            for s in clients:
                try:
                    s.settimeout(5)
                    read_reply(s)
                except (OSError, ConnectionError):
                    pass
                s.close()
            clients = []
            end = time.time() + 15
            while (established(PORT) > 0 or established(SINK_PORT) > 0) and time.time() < end:
                time.sleep(0.2)
            time.sleep(1.0)
            rows.append((f"{tag}closed: all clients quit", established(PORT), sample(pid, 3, 0.2)))
        idle, mail = first_idle, first_mail

        print(f"# idle_rss {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} spamgate={binary} "
              f"network=\"{network}\" nproc={os.cpu_count()} RLIMIT_NOFILE={nofile}")
        print(f"# opened {args.connections} connections (greeting + EHLO each) in {opened:.2f} s")
        print()
        print("| state | established | VmRSS | VmHWM | RssAnon | threads | fds |")
        print("|---|---|---|---|---|---|---|")
        for name, n, s in rows:
            print(f"| {name} | {n} | {kb(s['VmRSS'])} | {kb(s['VmHWM'])} | {kb(s['RssAnon'])} | {s['Threads']} | {s['fds']} |")
        per = (idle["VmRSS"] - warm["VmRSS"]) / args.connections
        print()
        print(f"idle_connections={args.connections} established={n_est} vmrss_warm_kb={warm['VmRSS']} "
              f"vmrss_idle_kb={idle['VmRSS']} vmhwm_idle_kb={idle['VmHWM']} per_connection_kb={per:.1f}")
        print(f"goal: {args.connections} idle connections < 64 MB VmRSS: "
              f"{'met' if idle['VmHWM'] < 64 * 1024 else 'NOT met'} (VmHWM {kb(idle['VmHWM'])})")
        if mail is not None:
            print(f"with_mail_kb={mail['VmRSS']} per_connection_with_backend_kb="
                  f"{(mail['VmRSS'] - warm['VmRSS']) / args.connections:.1f}")
        ok = n_est == args.connections
        if not ok:
            print(f"WARNING: {n_est} established connections, expected {args.connections}")
        return 0 if ok else 1
    finally:
        for s in clients:
            s.close()
        stop(spamgate, "spamgate")
        stop(sink, "smtp-sink")
        if args.keep_dir:
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
