#!/usr/bin/env python3
"""Regenerate the command metadata that src/commands/meta/ compiles in.

Starts a real redis-server (the oracle, default /usr/bin/redis-server, Redis 7.0.15) on a
free port on 127.0.0.1, reads COMMAND INFO and COMMAND DOCS for every command over RESP3
with a small raw-socket client (pure stdlib), and writes:

  src/commands/meta/commands.json   the compact metadata table (one command per line)
  src/commands/meta/testdata.json   wire bytes captured from the server for the unit tests:
                                    COMMAND INFO / COMMAND DOCS of a few commands in RESP2
                                    and RESP3, and COMMAND GETKEYSANDFLAGS for tricky calls

The server is stopped by its PID at the end.

Usage: scripts/gen-command-meta.py [--server /usr/bin/redis-server]

Compact JSON format (fields at their default are omitted):
  command: {"name", "arity", "flags": [...], "keys": [first, last, step] (omitted if 0,0,0),
            "acl": [categories without '@'], "tips": [...], "specs": [keyspec...],
            "subs": [command...], "docs": docs}
  keyspec: {"flags": [...], "notes": str,
            "bs": {"index": n} | {"keyword": [keyword, startfrom]}  (omitted: unknown),
            "fk": {"range": [lastkey, keystep, limit]} |
                  {"keynum": [keynumidx, firstkey, keystep]}        (omitted: unknown)}
  docs:    {"summary", "since", "group", "complexity", "doc_flags", "deprecated_since",
            "replaced_by", "history": [[since, changes]...], "args": [arg...]}
  arg:     {"name", "type", "key_spec_index", "token", "summary", "since",
            "deprecated_since", "flags": [...], "args": [arg...]}
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "src", "commands", "meta")

# Commands whose exact COMMAND INFO / COMMAND DOCS bytes the unit tests check.
FIXTURE_COMMANDS = ["get", "set", "config", "zunionstore", "xread", "eval", "migrate",
                    "sort", "lmpop", "georadius", "bitfield", "memory|usage", "ping"]

# Calls whose COMMAND GETKEYSANDFLAGS reply the unit tests check (args after GETKEYSANDFLAGS).
GETKEYS_CASES = [
    "get k", "set k v", "set k v get", "set k v GET", "set k v ex 10 get", "set k v getx",
    "mset a 1 b 2 c 3", "mset a 1 b", "del a b c", "rename a b", "lmove a b left right",
    "eval s 2 k1 k2 a1", "eval s 0", "eval s 0 a1", "eval s 3 k1 k2", "eval s -1 k1",
    "eval s 2abc k1 k2 k3", "eval s x k1", "evalsha h 1 k1 a1", "eval_ro s 1 k1", "fcall f 2 k1 k2 a",
    "fcall_ro f 1 k1", "fcall f 0",
    "zunionstore d 2 a b", "zunionstore d 2 a b weights 1 2", "zunionstore d 0 a",
    "zunionstore d 3 a b", "zunionstore d x a b", "zinterstore d 1 a aggregate sum",
    "zdiffstore d 2 a b", "zunion 2 a b", "zunion 2 a b withscores", "zinter 1 a", "zdiff 3 a b",
    "zunion 0 a", "zunion 5 a b", "zintercard 2 a b limit 1", "zintercard 3 a b",
    "sintercard 2 a b", "sintercard 1 a limit 5", "sintercard 0 a",
    "sort k", "sort k store d", "sort k by p get g store d", "sort k STORE d1 store d2",
    "sort k limit 0 10 store d", "sort k limit 1 store d", "sort k get store store d", "sort k store", "sort k by store d",
    "sort_ro k by p get g",
    "migrate h p k 0 10", "migrate h p \"\" 0 10 keys a b c", "migrate h p k 0 10 keys a b",
    "migrate h p \"\" 0 10 copy replace auth pw keys a b", "migrate h p \"\" 0 10 auth2 u keys x keys a",
    "migrate h p \"\" 0 10 replace",
    "georadius k 1 2 3 m", "georadius k 1 2 3 m store d", "georadius k 1 2 3 m storedist d",
    "georadius k 1 2 3 m store d storedist e", "georadius k 1 2 3 m store",
    "georadiusbymember k m 3 km store d", "georadius_ro k 1 2 3 m",
    "geosearchstore d s frommember m byradius 1 m",
    "xread streams a b 0 0", "xread count 2 block 0 streams a 0", "xread streams a b 0",
    "xread streams streams streams 0 0", "xread foo streams a 0",
    "xreadgroup group g c streams a b 0 0", "xreadgroup group g c count 1 noack streams a >",
    "xreadgroup group g c streams a", "xreadgroup group streams c streams a 0",
    "lmpop 2 a b left", "lmpop 2 a b left count 3", "lmpop 0 a left", "lmpop 3 a left",
    "blmpop 0 2 a b right", "blmpop 0 1 a left count 2", "blmpop 0 5 a left",
    "zmpop 2 a b min", "zmpop 1 a max count 10", "bzmpop 0 2 a b min", "bzmpop 0 3 a b min",
    "bitfield k get u8 0", "bitfield k set u8 0 1", "bitfield k overflow wrap get u8 0",
    "bitfield k get u8", "bitfield k incrby u8 0 1 get u8 0", "bitfield k", "bitfield_ro k get u8 0",
    "object encoding k", "memory usage k", "memory usage k samples 5", "xinfo stream k",
    "xgroup create k g $", "client kill 1.2.3.4:5", "config get x", "ping", "ping x",
    "publish c m", "subscribe c", "spublish c m", "debug object k",
    "touch a b", "exists a b c", "pfcount a b", "pfmerge d a b", "bitop and d a b",
    "smove a b m", "blpop a b 0", "brpoplpush a b 0", "bzpopmin a b 0", "xadd k * f v",
    "restore k 0 payload", "copy a b", "copy a b db 1", "lcs a b", "getex k", "getdel k",
    "watch a b", "unwatch", "object freq k", "ttl k", "dump k", "keys *", "scan 0",
    "randomkey", "flushall", "exec", "multi", "expire k 10", "substr k 0 1",
    "georadiusbymember_ro k m 1 km", "hset h f v", "linsert k before p v",
    "command info get", "command getkeys get k", "script load s", "function load x",
    "wait 0 0", "failover", "shutdown", "sync", "psync r o", "save", "client list",
    "cluster keyslot k", "cluster countkeysinslot 1", "cluster getkeysinslot 1 1",
    "lpos k e rank 1", "sintercard 2 a", "zrangestore d s 0 1", "geosearch k frommember m byradius 1 m",
]


# ---------------------------------------------------------------------------------------
# A minimal RESP2/RESP3 client that keeps the raw bytes of every value it parses.

class Node:
    """A parsed RESP value: `kind` is the type byte, `val` the Python value (children for
    aggregates; maps and attributes hold a flat list of alternating keys and values) and
    `raw` the exact wire bytes."""

    def __init__(self, kind, val, raw):
        self.kind, self.val, self.raw = kind, val, raw

    def py(self):
        """Plain Python form: maps become dicts, sets and arrays lists."""
        if self.kind == b"%":
            v = self.val
            return {v[i].py(): v[i + 1].py() for i in range(0, len(v), 2)}
        if self.kind in (b"*", b"~", b">"):
            return None if self.val is None else [c.py() for c in self.val]
        return self.val


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def call(self, *args):
        """Send a command; return its reply Node."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        while True:
            try:
                node, end = parse(self.buf, 0)
            except IndexError:  # incomplete
                self._fill()
                continue
            self.buf = self.buf[end:]
            return node


def _line(buf, pos):
    end = buf.index(b"\r\n", pos)  # ValueError when incomplete
    return buf[pos:end], end + 2


def parse(buf, pos):
    """Parse one RESP value at buf[pos:]; return (Node, end). IndexError if incomplete."""
    if pos >= len(buf):
        raise IndexError
    kind = buf[pos:pos + 1]
    try:
        line, p = _line(buf, pos + 1)
    except ValueError:
        raise IndexError
    if kind in (b"+", b"-"):
        val = line.decode()
    elif kind in (b":",):
        val = int(line)
    elif kind in (b",",):
        val = float(line)
    elif kind == b"#":
        val = line == b"t"
    elif kind == b"_":
        val = None
    elif kind in (b"$", b"="):
        n = int(line)
        if n < 0:
            val = None
        else:
            if p + n + 2 > len(buf):
                raise IndexError
            val = buf[p:p + n].decode()
            p += n + 2
    elif kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(line)
        if n < 0:
            val = None
        else:
            if kind in (b"%", b"|"):
                n *= 2
            val = []
            for _ in range(n):
                child, p = parse(buf, p)
                val.append(child)
    else:
        raise ValueError("unknown RESP type %r" % kind)
    return Node(kind, val, buf[pos:p]), p


# ---------------------------------------------------------------------------------------
# Server lifecycle.

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary):
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ferrodis-meta-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--daemonize", "no", "--logfile", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            c = Conn(port)
            if c.call("PING").val == "PONG":
                return proc, port, workdir
        except OSError:
            time.sleep(0.05)
    stop_server(proc, workdir)
    sys.exit("redis-server did not come up on port %d" % port)


def stop_server(proc, workdir):
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# COMMAND INFO / DOCS -> compact JSON.

def compact_keyspec(spec):
    out = {"flags": spec["flags"]}
    if "notes" in spec:
        out["notes"] = spec["notes"]
    bs, fk = spec["begin_search"], spec["find_keys"]
    if bs["type"] == "index":
        out["bs"] = {"index": bs["spec"]["index"]}
    elif bs["type"] == "keyword":
        out["bs"] = {"keyword": [bs["spec"]["keyword"], bs["spec"]["startfrom"]]}
    else:
        assert bs["type"] == "unknown", bs
    s = fk["spec"]
    if fk["type"] == "range":
        out["fk"] = {"range": [s["lastkey"], s["keystep"], s["limit"]]}
    elif fk["type"] == "keynum":
        out["fk"] = {"keynum": [s["keynumidx"], s["firstkey"], s["keystep"]]}
    else:
        assert fk["type"] == "unknown", fk
    return out


ARG_FIELDS = ["name", "type", "key_spec_index", "token", "summary", "since",
              "deprecated_since", "flags"]
DOC_FIELDS = ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since",
              "replaced_by", "history"]


def compact_args(args):
    out = []
    for a in args:
        known = set(ARG_FIELDS) | {"arguments"}
        assert set(a) <= known, a
        c = {k: a[k] for k in ARG_FIELDS if k in a}
        if "arguments" in a:
            c["args"] = compact_args(a["arguments"])
        out.append(c)
    return out


def compact_docs(d):
    assert set(d) <= set(DOC_FIELDS) | {"arguments", "subcommands"}, d
    out = {k: d[k] for k in DOC_FIELDS if k in d}
    if "arguments" in d:
        out["args"] = compact_args(d["arguments"])
    return out


def compact_command(info, docs):
    name, arity, flags, first, last, step, acl, tips, specs, subs = info
    out = {"name": name, "arity": arity}
    if flags:
        out["flags"] = flags
    if (first, last, step) != (0, 0, 0):
        out["keys"] = [first, last, step]
    if acl:
        assert all(c.startswith("@") for c in acl)
        out["acl"] = [c[1:] for c in acl]
    if tips:
        out["tips"] = tips
    if specs:
        out["specs"] = [compact_keyspec(s) for s in specs]
    if subs:
        sub_docs = docs.get("subcommands", {})
        out["subs"] = [compact_command(s, sub_docs[s[0]]) for s in sorted(subs, key=lambda s: s[0])]
    else:
        assert "subcommands" not in docs
    out["docs"] = compact_docs(docs)
    return out


def dump_table(commands):
    lines = [json.dumps(c, separators=(",", ":"), ensure_ascii=False) for c in commands]
    return "[\n" + ",\n".join(lines) + "\n]\n"


# ---------------------------------------------------------------------------------------
# Test fixtures: wire bytes with the (hash-ordered, so random) subcommand lists sorted by name.

def canonical_info_bytes(node):
    """One COMMAND INFO entry's bytes, subcommand entries sorted by name."""
    items = node.val
    subs = items[9]
    if subs.val:
        header = subs.raw.split(b"\r\n", 1)[0] + b"\r\n"
        sorted_subs = sorted(subs.val, key=lambda s: s.val[0].val)
        subs_raw = header + b"".join(canonical_info_bytes(s) for s in sorted_subs)
    else:
        subs_raw = subs.raw
    head = node.raw.split(b"\r\n", 1)[0] + b"\r\n"
    return head + b"".join(i.raw for i in items[:9]) + subs_raw


def canonical_docs_bytes(node):
    """One COMMAND DOCS value's bytes (a map), the subcommands map sorted by name.
    In RESP2 maps are flat arrays, which have the same key/value layout."""
    kv = node.val
    parts = []
    for i in range(0, len(kv), 2):
        k, v = kv[i], kv[i + 1]
        if k.val == "subcommands":
            pairs = sorted(((v.val[j], v.val[j + 1]) for j in range(0, len(v.val), 2)),
                           key=lambda p: p[0].val)
            header = v.raw.split(b"\r\n", 1)[0] + b"\r\n"
            v_raw = header + b"".join(n.raw + canonical_docs_bytes(d) for n, d in pairs)
            parts.append(k.raw + v_raw)
        else:
            parts.append(k.raw + v.raw)
    head = node.raw.split(b"\r\n", 1)[0] + b"\r\n"
    return head + b"".join(parts)


def split_args(line):
    """Split a case line on spaces; "" stands for an empty argument."""
    return ["" if w == '""' else w for w in line.split(" ")]


def capture_fixtures(conn2, conn3):
    info, docs = {}, {}
    for name in FIXTURE_COMMANDS:
        for proto, c in (("2", conn2), ("3", conn3)):
            r = c.call("COMMAND", "INFO", name)
            info.setdefault(name, {})[proto] = canonical_info_bytes(r.val[0]).decode()
            r = c.call("COMMAND", "DOCS", name)
            docs.setdefault(name, {})[proto] = canonical_docs_bytes(r.val[1]).decode()
    getkeys = []
    for line in GETKEYS_CASES:
        argv = split_args(line)
        r = conn3.call("COMMAND", "GETKEYSANDFLAGS", *argv)
        if r.kind == b"-":
            expect = r.val
        else:
            expect = [[k.val[0].val, [f.val for f in k.val[1].val]] for k in r.val]
        raw2 = conn2.call("COMMAND", "GETKEYSANDFLAGS", *argv).raw.decode()
        getkeys.append({"argv": argv, "expect": expect, "resp2": raw2, "resp3": r.raw.decode()})
    return {"info": info, "docs": docs, "getkeys": getkeys}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", default="/usr/bin/redis-server")
    opts = ap.parse_args()

    proc, port, workdir = start_server(opts.server)
    try:
        conn3 = Conn(port)
        hello = conn3.call("HELLO", "3").py()
        conn2 = Conn(port)
        infos = conn3.call("COMMAND", "INFO").py()
        docs = conn3.call("COMMAND", "DOCS").py()
        fixtures = capture_fixtures(conn2, conn3)
    finally:
        stop_server(proc, workdir)

    assert len(infos) == len(docs), (len(infos), len(docs))
    infos.sort(key=lambda i: i[0])
    table = [compact_command(i, docs[i[0]]) for i in infos]
    with open(os.path.join(OUT_DIR, "commands.json"), "w") as f:
        f.write(dump_table(table))
    with open(os.path.join(OUT_DIR, "testdata.json"), "w") as f:
        json.dump(fixtures, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("redis %s: %d commands written to %s" % (hello["version"], len(table), OUT_DIR))


if __name__ == "__main__":
    main()
