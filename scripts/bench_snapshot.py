#!/usr/bin/env python3
"""Snapshot memory benchmark: ferrodis (fork-less snapshot thread) vs the real redis-server
(fork + copy-on-write), in the same run.

For each server: load N keys (16-byte values), note its memory (PSS of the server and all its
children, from /proc/PID/smaps_rollup), start BGSAVE while a client overwrites keys as fast as
it can, sample memory every 10 ms until the save is done, and report peak/before. Also the
time the save took and the time to load the file back at start-up.

    scripts/bench_snapshot.py [--keys 1000000] [--ours target/release/ferrodis-server]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pss_kb(pid):
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(x) for x in out.split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def call(self, *args):
        self.send(*args)
        l = self.line()
        if l.startswith(b"$") and l != b"$-1":
            n = int(l[1:])
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        return l

    def info(self, field):
        v = self.call("INFO", "persistence").decode()
        for l in v.splitlines():
            if l.startswith(field + ":"):
                return l.split(":", 1)[1]
        return None


def start(cmd, port, d):
    p = subprocess.Popen(cmd + ["--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
                                "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            c = Conn(port)
            if c.call("PING") == b"+PONG":
                return p, c
        except (OSError, EOFError):
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not start: %s" % cmd)


def load(port, n):
    s = socket.create_connection(("127.0.0.1", port))
    batch = []
    val = b"v" * 16
    for i in range(n):
        k = b"key:%012d" % i
        batch.append(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$16\r\n%s\r\n" % (k, val))
        if len(batch) == 10000:
            s.sendall(b"".join(batch))
            batch = []
    if batch:
        s.sendall(b"".join(batch))
    got = 0
    while got < n * 5:
        got += len(s.recv(1 << 20))
    s.close()


def bench(name, cmd, n):
    d = tempfile.mkdtemp(prefix="snapbench-")
    port = free_port()
    p, c = start(cmd, port, d)
    load(port, n)
    time.sleep(0.5)
    before = pss_kb(p.pid)
    stop = threading.Event()

    def writer():
        w = socket.create_connection(("127.0.0.1", port))
        i = 0
        while not stop.is_set():
            chunk = []
            for _ in range(1000):
                k = b"key:%012d" % (i % n)
                chunk.append(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$16\r\n%s\r\n" % (k, b"w" * 16))
                i += 1
            w.sendall(b"".join(chunk))
            got = 0
            while got < 5000:
                got += len(w.recv(1 << 20))
        w.close()

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.2)
    t0 = time.time()
    c.call("BGSAVE")
    peak = before
    while True:
        peak = max(peak, pss_kb(p.pid))
        if os.path.exists(os.path.join(d, "dump.rdb")) and c.info("rdb_bgsave_in_progress") in ("0", None):
            break
        time.sleep(0.01)
    save_s = time.time() - t0
    stop.set()
    t.join()
    p.kill()
    p.wait()
    # load time
    port2 = free_port()
    t0 = time.time()
    p2, c2 = start(cmd, port2, d)
    load_s = time.time() - t0
    keys = int(c2.call("DBSIZE")[1:])
    p2.kill()
    p2.wait()
    subprocess.run(["rm", "-rf", d])
    return {"name": name, "before_mb": before / 1024, "peak_mb": peak / 1024, "ratio": peak / max(before, 1),
            "save_s": save_s, "load_s": load_s, "keys_loaded": keys}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--ours", default="target/release/ferrodis-server")
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    a = ap.parse_args()
    res = [bench("ferrodis", [a.ours], a.keys), bench("redis", [a.redis], a.keys)]
    print("| server | RSS(PSS) before MB | peak during BGSAVE MB | peak/before | save s | load s | keys loaded |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in res:
        print("| %(name)s | %(before_mb).1f | %(peak_mb).1f | %(ratio).2f | %(save_s).2f | %(load_s).2f | %(keys_loaded)d |" % r)
    o, rd = res
    print("ratios ferrodis/redis: save time %.2f, load time %.2f, peak memory %.2f" % (
        o["save_s"] / rd["save_s"], o["load_s"] / rd["load_s"], o["peak_mb"] / rd["peak_mb"]))


if __name__ == "__main__":
    sys.exit(main())
