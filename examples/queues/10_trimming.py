"""Trimming (RabbitMQ: x-max-length / message TTL on a queue).

Acknowledging an entry does not delete it: a stream is a log, and every consumer group reads
it at its own position. Bound its size when adding:
    XADD tasks MAXLEN ~ 1000 * ...   approximate: the server drops whole internal nodes, so
                                     the length stays at 1000 or a bit more (cheap; the usual)
    XADD tasks MAXLEN = 1000 * ...   exact (costs more per XADD)
    XTRIM tasks MINID ~ <id>         drop entries older than an id (ids start with a ms
                                     timestamp: time-based retention)
Failure semantics: trimming looks at length or id only, never at consumer groups. Entries a
group has not read yet, or that are pending (delivered, not acked), are dropped all the same.
A lagging group then simply never sees them (XINFO GROUPS shows its lag), and a pending id
whose entry is gone comes back from XAUTOCLAIM in its third element (deleted ids), which also
removes it from the pending list. Size MAXLEN for the slowest consumer's worst backlog.

Checked: MAXLEN ~ keeps the length within one node of the bound, MAXLEN = exactly;
MINID; a lagging group loses the trimmed entries; a trimmed pending entry is reported
deleted by XAUTOCLAIM and leaves the pending list.
"""
from qcommon import args, check, connect, main

STREAM, GROUP = "tasks", "workers"


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete(STREAM)
    node = int(r.config_get("stream-node-max-entries")["stream-node-max-entries"])

    with r.pipeline(transaction=False) as p:
        for i in range(5000):
            p.xadd(STREAM, {"n": i}, maxlen=1000, approximate=True)
        p.execute()
    n = r.xlen(STREAM)
    check(1000 <= n < 1000 + node, f"MAXLEN ~ 1000 after 5000 XADDs: length {n} (bound + less than one node of {node})")
    check(r.xrevrange(STREAM, count=1)[0][1]["n"] == "4999", "the newest entries are kept")
    r.xadd(STREAM, {"n": "5000"}, maxlen=1000, approximate=False)
    check(r.xlen(STREAM) == 1000, "MAXLEN = 1000: exactly 1000")
    keep_from = r.xrange(STREAM, count=501)[-1][0]
    check(r.xtrim(STREAM, minid=keep_from, approximate=False) == 500 and r.xrange(STREAM, count=1)[0][0] == keep_from,
          "XTRIM MINID drops everything older than the id (500 entries)")

    # A lagging group and a pending entry, then trimming.
    r.delete(STREAM)
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    first = r.xadd(STREAM, {"task": "t0"})
    r.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=1)           # t0: delivered, never acked
    for i in range(1, 20):
        r.xadd(STREAM, {"task": f"t{i}"}, maxlen=10, approximate=False)
    [[_, unread]] = r.xreadgroup(GROUP, "w1", {STREAM: ">"})
    check([f["task"] for _, f in unread] == [f"t{i}" for i in range(10, 20)],
          "a lagging group never sees the 9 entries trimmed before it read them")
    r.xack(STREAM, GROUP, *[m for m, _ in unread])
    check(r.xpending(STREAM, GROUP)["pending"] == 1, "t0 is still pending although its entry was trimmed")
    _next, claimed, deleted = r.xautoclaim(STREAM, GROUP, "w2", 0, "0-0")
    check(claimed == [] and deleted == [first], "XAUTOCLAIM reports t0's id as deleted...")
    check(r.xpending(STREAM, GROUP)["pending"] == 0, "... and removes it from the pending list")


if __name__ == "__main__":
    main(run)
