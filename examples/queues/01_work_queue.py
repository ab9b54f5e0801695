"""Pattern 1 (RabbitMQ tutorial 2, "Work queues"): two workers share the tasks of one queue.

RabbitMQ: one durable queue, two consumers on it; the broker round-robins deliveries.
Here:     one stream `tasks` with one consumer group `workers`; each worker is a consumer
          of that group and reads with XREADGROUP ... STREAMS tasks > (">" = entries never
          delivered to anyone in this group). The group hands each entry to exactly one
          consumer, whoever asks first.

Checked: every task is handled exactly once, and both workers did some of the work.
"""
import threading
import time

from qcommon import args, check, connect, main

STREAM, GROUP, N = "tasks", "workers", 40


def worker(url, name, done, stop):
    r = connect(url)
    while not stop.is_set():
        # BLOCK: wait up to 100 ms for new work instead of polling; COUNT 1: one task at a time.
        resp = r.xreadgroup(GROUP, name, {STREAM: ">"}, count=1, block=100)
        for _stream, entries in resp:
            for msg_id, fields in entries:
                time.sleep(0.01 * int(fields["cost"]))       # the "work"
                done.append((name, fields["task"]))
                r.xack(STREAM, GROUP, msg_id)                # done: forget it (pattern 2)


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete(STREAM)
    # Create the queue and the group. "$" = the group starts at the end (only tasks added
    # from now on); MKSTREAM creates the empty stream if it does not exist yet.
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)

    done, stop = [], threading.Event()
    workers = [threading.Thread(target=worker, args=(a.url, f"worker-{i}", done, stop)) for i in (1, 2)]
    for t in workers:
        t.start()
    for i in range(N):
        r.xadd(STREAM, {"task": f"task-{i}", "cost": str(1 + i % 3)})   # the producer
    deadline = time.time() + 20
    while len(done) < N and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)          # let any (wrong) duplicate delivery show up
    stop.set()
    for t in workers:
        t.join()

    tasks = [t for _, t in done]
    check(sorted(tasks) == sorted(f"task-{i}" for i in range(N)), f"all {N} tasks handled")
    check(len(tasks) == len(set(tasks)), "each task handled exactly once")
    per = {w: sum(1 for n, _ in done if n == w) for w in ("worker-1", "worker-2")}
    check(all(v > 0 for v in per.values()), f"both workers did some of the work {per}")
    check(r.xpending(STREAM, GROUP)["pending"] == 0, "nothing left pending (all acknowledged)")


if __name__ == "__main__":
    main(run)
