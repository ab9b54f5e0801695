"""Pattern 2 (RabbitMQ tutorial 2, "Message acknowledgment"): XACK.

RabbitMQ: manual ack (basic.ack); an unacked message stays "unacked" on the channel and is
          requeued if the consumer's channel closes.
Here:     XREADGROUP moves an entry into the group's Pending Entries List (PEL), owned by
          the consumer that read it; XACK removes it from the PEL. An entry stays pending
          until someone acknowledges it -- nothing is redelivered automatically when a
          consumer disconnects (see pattern 3 for how a surviving worker takes it over).
          With NOACK (auto-ack, like RabbitMQ's autoAck=true) entries never enter the PEL:
          a worker that dies mid-task loses that task.

Checked: pending counts before/after XACK, XACK of an already-acked id is 0, a re-read with
ID 0 returns the consumer's own unacknowledged entries (its "history"), NOACK skips the PEL.
"""
from qcommon import args, check, connect, main

STREAM, GROUP = "ack-demo", "workers"


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete(STREAM)
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    ids = [r.xadd(STREAM, {"task": f"t{i}"}) for i in range(3)]

    [[_, entries]] = r.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=3)
    check([e[0] for e in entries] == ids, "w1 received the 3 tasks")
    p = r.xpending(STREAM, GROUP)
    check(p["pending"] == 3 and p["consumers"] == [{"name": "w1", "pending": 3}],
          "the 3 are pending, owned by w1")

    check(r.xack(STREAM, GROUP, ids[0], ids[1]) == 2, "XACK of two ids returns 2")
    check(r.xack(STREAM, GROUP, ids[0]) == 0, "XACK of an id already acknowledged returns 0")
    check(r.xpending(STREAM, GROUP)["pending"] == 1, "one task still pending")

    # ">" only gives new entries; "0" gives this consumer's own pending ones (after a worker
    # restart under the same consumer name, this is how it resumes its unfinished work).
    check(r.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=10) == [], "no new tasks for w1 ('>')")
    [[_, mine]] = r.xreadgroup(GROUP, "w1", {STREAM: "0"})
    check([e[0] for e in mine] == [ids[2]], "w1 re-reads its unacknowledged task with ID 0")
    check(r.xack(STREAM, GROUP, ids[2]) == 1 and r.xpending(STREAM, GROUP)["pending"] == 0,
          "after the last XACK nothing is pending")

    # Auto-ack: NOACK means delivered = done. Fast, but a crash loses the task.
    r.xadd(STREAM, {"task": "fire-and-forget"})
    [[_, got]] = r.xreadgroup(GROUP, "w2", {STREAM: ">"}, noack=True)
    check(len(got) == 1 and r.xpending(STREAM, GROUP)["pending"] == 0,
          "NOACK delivery does not enter the pending list")


if __name__ == "__main__":
    main(run)
