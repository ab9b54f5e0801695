"""Pattern 3: redelivery of a task whose worker died (RabbitMQ: an unacked message is
requeued when its consumer's connection dies, with the `redelivered` flag set).

Here nothing happens by itself when a worker dies: its entries stay in the group's pending
list (PEL), owned by the dead consumer. A surviving worker periodically runs
    XAUTOCLAIM tasks workers <me> <min-idle-ms> 0-0 COUNT n
which transfers to it every pending entry nobody has touched for at least min-idle-ms and
returns them; each transfer increments the entry's delivery count, which XPENDING shows
(the equivalent of RabbitMQ's `redelivered` flag / x-delivery-count). Choose min-idle well
above the longest legitimate processing time, or a slow-but-alive worker's task is stolen
and done twice (at-least-once delivery, like RabbitMQ: make handlers idempotent).

Checked: worker A (a separate process) takes a task and is SIGKILLed mid-task; worker B
cannot claim it before min-idle-time, then claims it with delivery count 2 shown by
XPENDING, and every task is completed exactly once.
"""
import multiprocessing as mp
import os
import signal
import time

from qcommon import args, check, connect, main

STREAM, GROUP, MIN_IDLE_MS = "tasks", "workers", 1000


def doomed_worker(url):
    """Takes one task and 'works' on it forever -- until it is killed."""
    r = connect(url)
    while not r.xreadgroup(GROUP, "worker-A", {STREAM: ">"}, count=1, block=1000):
        pass
    time.sleep(3600)


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete(STREAM, "completed")
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)

    a_proc = mp.get_context("fork").Process(target=doomed_worker, args=(a.url,))
    a_proc.start()
    first = r.xadd(STREAM, {"task": "task-0"})
    deadline = time.time() + 10
    while r.xpending(STREAM, GROUP)["pending"] == 0 and time.time() < deadline:
        time.sleep(0.02)
    [entry] = r.xpending_range(STREAM, GROUP, "-", "+", 10)
    check(entry["message_id"] == first and entry["consumer"] == "worker-A" and entry["times_delivered"] == 1,
          "worker A holds task-0 (delivered once)")
    os.kill(a_proc.pid, signal.SIGKILL)          # the worker dies mid-task
    a_proc.join()
    killed_at = time.time()
    # Right away, the task is not idle long enough: XAUTOCLAIM leaves it where it is.
    idle = r.xpending_range(STREAM, GROUP, "-", "+", 10)[0]["time_since_delivered"]
    _next, claimed, _deleted = r.xautoclaim(STREAM, GROUP, "worker-B", MIN_IDLE_MS, "0-0", count=10)
    check(idle < MIN_IDLE_MS and claimed == [], f"XAUTOCLAIM takes nothing while idle ({idle} ms) < min-idle-time")
    for i in range(1, 5):
        r.xadd(STREAM, {"task": f"task-{i}"})

    # Worker B: its normal loop, plus the reclaim step.
    completed = []
    while len(completed) < 5 and time.time() < killed_at + 10:
        for _, entries in r.xreadgroup(GROUP, "worker-B", {STREAM: ">"}, count=10, block=100):
            for msg_id, fields in entries:
                completed.append(fields["task"])
                r.xack(STREAM, GROUP, msg_id)
        _next, claimed, _deleted = r.xautoclaim(STREAM, GROUP, "worker-B", MIN_IDLE_MS, "0-0", count=10)
        for msg_id, fields in claimed:
            [e] = r.xpending_range(STREAM, GROUP, msg_id, msg_id, 1)
            check(e["consumer"] == "worker-B" and e["times_delivered"] == 2,
                  f"{fields['task']} redelivered to worker B, XPENDING delivery count {e['times_delivered']}")
            check(e["time_since_delivered"] < MIN_IDLE_MS, "the claim reset its idle time")
            completed.append(fields["task"])
            r.xack(STREAM, GROUP, msg_id)

    check(sorted(completed) == [f"task-{i}" for i in range(5)], "all 5 tasks completed")
    check(len(completed) == len(set(completed)), "each exactly once (the dead worker finished none)")
    check(r.xpending(STREAM, GROUP)["pending"] == 0, "nothing pending")
    # The dead consumer is still registered (with nothing pending); remove it when sure it is gone.
    check(r.xgroup_delconsumer(STREAM, GROUP, "worker-A") == 0,
          "XGROUP DELCONSUMER worker-A (0 pending entries dropped)")


if __name__ == "__main__":
    main(run)
