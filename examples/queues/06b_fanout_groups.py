"""Pattern 6b (RabbitMQ tutorial 3, "Publish/Subscribe"), durable fanout.

RabbitMQ: a fanout exchange with one durable queue per subscriber.
Here:     XADD to one stream; each subscriber has its OWN consumer group on it
              XGROUP CREATE events-log <subscriber> $ MKSTREAM     ("bind its queue")
          Every group sees every entry and tracks its own position and pending list, so a
          subscriber that was down catches up from where its group was (with the AOF on,
          across server restarts too: pattern 4). Several consumers inside one group share
          that subscriber's work, as in pattern 1. A group created with `$` starts at the
          end, like a queue bound after the fact; create it with `0` to read the history too.

Checked: every subscriber -- including one that was offline while we published -- receives
every entry, in order; afterwards each group is at the end of the stream, nothing pending.
"""
import threading
import time

from qcommon import args, check, connect, main

N = 20
SUBSCRIBERS = ("email", "audit", "billing")


def subscriber(url, group, got, stop):
    r = connect(url)
    while not stop.is_set():
        for _, entries in r.xreadgroup(group, f"{group}-1", {"events-log": ">"}, count=10, block=100):
            for msg_id, fields in entries:
                got[group].append(fields["msg"])
                r.xack("events-log", group, msg_id)


def run():
    a = args(__doc__)
    r = connect(a.url)
    msgs = [f"event-{i}" for i in range(N)]
    r.delete("events-log")
    for s in SUBSCRIBERS:
        r.xgroup_create("events-log", s, id="$", mkstream=True)
    got, stop = {s: [] for s in SUBSCRIBERS}, threading.Event()
    online = [threading.Thread(target=subscriber, args=(a.url, s, got, stop)) for s in SUBSCRIBERS[:2]]
    for t in online:
        t.start()
    for m in msgs:
        r.xadd("events-log", {"msg": m})
    # "billing" was offline while we published; it starts now and catches up.
    late = threading.Thread(target=subscriber, args=(a.url, "billing", got, stop))
    late.start()
    deadline = time.time() + 10
    while any(len(got[s]) < N for s in SUBSCRIBERS) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)          # let any (wrong) extra delivery show up
    stop.set()
    for t in online + [late]:
        t.join()
    check(all(got[s] == msgs for s in SUBSCRIBERS),
          f"each group (subscriber) received all {N}, in order -- the offline one too")
    last = r.xinfo_stream("events-log")["last-generated-id"]
    groups = {g["name"]: g for g in r.xinfo_groups("events-log")}
    check(all(groups[s]["pending"] == 0 and groups[s]["last-delivered-id"] == last for s in SUBSCRIBERS),
          "each group is at the end of the stream with nothing pending")


if __name__ == "__main__":
    main(run)
