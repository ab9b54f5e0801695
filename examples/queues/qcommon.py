"""Shared helpers for the queue examples (docs/queues.md): where the server is, how to
start/stop a server process of our own (the durable-queue example restarts one), and a
tiny assertion helper that prints what it checked.

Every example takes the server address from `--url redis://HOST:PORT` or the QUEUE_URL
environment variable (default redis://127.0.0.1:6379), and the examples that start their
own server take the binary from `--server-bin PATH` or QUEUE_SERVER_BIN (ferrodis-server
or redis-server: both accept the same command line).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import redis


def args(description, need_bin=False):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--url", default=os.environ.get("QUEUE_URL", "redis://127.0.0.1:6379"))
    p.add_argument("--server-bin", default=os.environ.get("QUEUE_SERVER_BIN", ""))
    a = p.parse_args()
    if need_bin and not a.server_bin:
        p.error("this example starts its own server: pass --server-bin or set QUEUE_SERVER_BIN")
    return a


def connect(url, **kw):
    """A client with decoded (str) replies; one per thread, redis-py clients are not shared."""
    return redis.Redis.from_url(url, decode_responses=True, **kw)


def check(cond, what):
    """Assert `cond`, printing the claim either way so a run reads like the guide."""
    if not cond:
        print(f"  FAIL: {what}", flush=True)
        raise AssertionError(what)
    print(f"  ok: {what}", flush=True)


_next_port = [int(os.environ.get("QUEUE_PORT_BASE", "0"))]


def free_port():
    """QUEUE_PORT_BASE, +1, ... when set (machines where each user has a port range);
    otherwise a port the kernel says is free."""
    if _next_port[0]:
        _next_port[0] += 1
        return _next_port[0] - 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A server we start ourselves (ferrodis-server or redis-server) in `dir`.

    `start()` waits until it answers PING (not -LOADING); `kill()` is SIGKILL (a crash:
    nothing flushed that was not already on disk); `shutdown()` is a clean SHUTDOWN.
    """

    def __init__(self, binary, extra_args=(), dir=None, port=None):
        self.binary = binary
        self.extra = list(extra_args)
        self.dir = dir or tempfile.mkdtemp(prefix="queue-example-")
        self.port = port or free_port()
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
               "--save", "", "--daemonize", "no"] + self.extra
        log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: see {self.dir}/server.log")
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return self
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not answer PING in time")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def shutdown(self):
        try:
            redis.Redis(port=self.port).shutdown()
        except redis.ConnectionError:
            pass  # the server closes the connection while going down
        self.proc.wait(timeout=20)

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(fn):
    """Run an example's main; exit 1 on a failed check or any error. os._exit: worker
    threads still blocked in a read must not keep a failed example alive."""
    try:
        fn()
    except AssertionError as e:
        print(f"FAILED: {e}", flush=True)
        os._exit(1)
    except BaseException as e:
        # the error and where in the example it happened (not redis-py's internals)
        here = os.path.dirname(os.path.abspath(__file__))
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith(here)]
        where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}: {frames[-1].line}" if frames else ""
        print(f"FAILED: {type(e).__name__}: {e}{where}", flush=True)
        os._exit(1)
    print("PASSED", flush=True)
