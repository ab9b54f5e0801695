"""Dead-lettering (RabbitMQ: a dead-letter exchange, with a delivery limit on a quorum queue,
or x-death headers): a task that keeps failing is moved aside after N deliveries instead of
being retried forever.

Streams keep a delivery count per pending entry (XPENDING's 4th field); nothing acts on it
by itself. The reclaim loop of pattern 3 does: for each entry XAUTOCLAIM hands over, read
its count; over the limit, copy it to a dead-letter stream and XACK it, atomically
    MULTI; XADD tasks:dead * <fields> original-id <id> deliveries <n>; XACK tasks workers <id>; EXEC
so the task is either still pending or in the dead-letter stream, never both, never neither.
A worker that fails a task simply does not XACK it (and, to be retried sooner, it could
XCLAIM it back to itself; here it just waits for min-idle-time).

Checked: a poison task is tried MAX_DELIVERIES times, then lands in tasks:dead with its
fields and its delivery count; the good tasks are done exactly once; nothing stays pending.
"""
import time

from qcommon import args, check, connect, main

STREAM, GROUP, DEAD = "tasks", "workers", "tasks:dead"
MAX_DELIVERIES, MIN_IDLE_MS = 3, 100


def handle(fields):
    if fields["task"] == "poison":
        raise ValueError("cannot process this")


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete(STREAM, DEAD)
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    for t in ("a", "poison", "b"):
        r.xadd(STREAM, {"task": t})

    done, attempts = [], 0

    def process(msg_id, fields):
        nonlocal attempts
        try:
            if fields["task"] == "poison":
                attempts += 1
            handle(fields)
        except ValueError:
            return                       # no XACK: it stays pending and will be reclaimed
        done.append(fields["task"])
        r.xack(STREAM, GROUP, msg_id)

    deadline = time.time() + 15
    while time.time() < deadline and (len(done) < 2 or r.xlen(DEAD) == 0):
        for _, entries in r.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=10, block=50):
            for msg_id, fields in entries:
                process(msg_id, fields)
        _next, claimed, _deleted = r.xautoclaim(STREAM, GROUP, "w1", MIN_IDLE_MS, "0-0", count=10)
        for msg_id, fields in claimed:
            [p] = r.xpending_range(STREAM, GROUP, msg_id, msg_id, 1)
            if p["times_delivered"] > MAX_DELIVERIES:
                with r.pipeline(transaction=True) as tx:
                    tx.xadd(DEAD, {**fields, "original-id": msg_id, "deliveries": p["times_delivered"]})
                    tx.xack(STREAM, GROUP, msg_id)
                    tx.execute()
            else:
                process(msg_id, fields)

    check(sorted(done) == ["a", "b"], "the good tasks were done once each")
    check(attempts == MAX_DELIVERIES, f"the poison task was tried {attempts} times (the limit)")
    [(dead_id, dead)] = r.xrange(DEAD)
    check(dead["task"] == "poison" and dead["deliveries"] == str(MAX_DELIVERIES + 1),
          f"then it was moved to {DEAD}: {dead}")
    check(r.xpending(STREAM, GROUP)["pending"] == 0, "nothing is left pending in the work queue")
    check(r.xlen(STREAM) == 3, "(the work stream still holds all 3 entries until trimmed: see trimming)")


if __name__ == "__main__":
    main(run)
