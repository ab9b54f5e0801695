"""Pattern 5: prefetch / fair dispatch (RabbitMQ: basic.qos(prefetch_count=N)).

RabbitMQ pushes messages to consumers, at most prefetch_count unacked ones each. Streams are
pull-based: a worker asks with XREADGROUP ... COUNT n and gets at most n entries, and it
asks again only when it is ready for more. COUNT is the prefetch: with COUNT 1 a slow worker
holds one task at a time and a fast worker takes the rest (fair dispatch); with a large
COUNT the first worker to ask grabs the whole backlog, and the others idle while it works
through it (its tasks sit in its pending list, unavailable to anyone else).
Note that COUNT bounds one read, not the number of unacknowledged entries a consumer may
hold: a worker that reads again before acking holds more (keep to read -> work -> ack).

Checked: COUNT bounds each read; a greedy COUNT 100 takes the whole backlog; with COUNT 1 a
fast worker does most of the tasks of a slow one and each task is done exactly once.
"""
import threading
import time

from qcommon import args, check, connect, main

STREAM, GROUP, N = "tasks", "workers", 30


def worker(url, name, seconds_per_task, done, stop):
    r = connect(url)
    while not stop.is_set():
        for _, entries in r.xreadgroup(GROUP, name, {STREAM: ">"}, count=1, block=100):
            for msg_id, fields in entries:
                time.sleep(seconds_per_task)
                done.append((name, fields["task"]))
                r.xack(STREAM, GROUP, msg_id)


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete(STREAM)
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    for i in range(N):
        r.xadd(STREAM, {"task": f"task-{i}"})

    [[_, batch]] = r.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=3)
    check(len(batch) == 3, "COUNT 3: a read returns at most 3 tasks")
    [[_, rest]] = r.xreadgroup(GROUP, "greedy", {STREAM: ">"}, count=100)
    check(len(rest) == N - 3, f"COUNT 100: one greedy worker took the whole backlog ({len(rest)})")
    check(r.xreadgroup(GROUP, "w2", {STREAM: ">"}, count=1) == [], "nothing left for another worker")

    # Fair dispatch: start over with COUNT 1 workers of very different speeds.
    r.delete(STREAM)
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    done, stop = [], threading.Event()
    ts = [threading.Thread(target=worker, args=(a.url, "slow", 0.3, done, stop)),
          threading.Thread(target=worker, args=(a.url, "fast", 0.01, done, stop))]
    for t in ts:
        t.start()
    for i in range(N):
        r.xadd(STREAM, {"task": f"task-{i}"})
    deadline = time.time() + 20
    while len(done) < N and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in ts:
        t.join()
    per = {w: sum(1 for n, _ in done if n == w) for w in ("slow", "fast")}
    check(sorted(t for _, t in done) == sorted(f"task-{i}" for i in range(N)),
          "COUNT 1: every task done exactly once")
    check(per["fast"] > 3 * per["slow"], f"the fast worker did most of the work {per}")


if __name__ == "__main__":
    main(run)
