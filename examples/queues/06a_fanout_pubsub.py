"""Pattern 6a (RabbitMQ tutorial 3, "Publish/Subscribe"), transient fanout.

RabbitMQ: a fanout exchange; each subscriber binds an exclusive, auto-delete queue.
Here:     PUBLISH events <message> delivers to every client SUBSCRIBEd to `events` at that
          moment and returns how many received it. Nothing is stored: a subscriber that is
          not connected (or whose connection drops, or whose output buffer overflows and
          gets it disconnected) misses those messages for good. For fanout that survives
          that, see 06b (one consumer group per subscriber on a stream).

Checked: every connected subscriber receives every published message, in order; PUBLISH
returns the receiver count; what was published before a client subscribed never reaches it.
"""
import threading
import time

from qcommon import args, check, connect, main

N = 20
SUBSCRIBERS = ("email", "audit", "billing")


def subscriber(url, name, got, ready):
    ps = connect(url).pubsub(ignore_subscribe_messages=True)
    ps.subscribe("events")
    ready.release()
    deadline = time.time() + 10
    while len(got[name]) < N and time.time() < deadline:
        # None = nothing within the timeout, or a subscribe confirmation (ignored)
        m = ps.get_message(timeout=1)
        if m is not None:
            got[name].append(m["data"])
    ps.close()


def run():
    a = args(__doc__)
    r = connect(a.url)
    msgs = [f"event-{i}" for i in range(N)]

    check(r.publish("events", "nobody-listens") == 0, "PUBLISH with no subscriber: 0 receivers, message gone")
    got, ready = {s: [] for s in SUBSCRIBERS}, threading.Semaphore(0)
    ts = [threading.Thread(target=subscriber, args=(a.url, s, got, ready)) for s in SUBSCRIBERS]
    for t in ts:
        t.start()
    for _ in SUBSCRIBERS:
        ready.acquire()
    deadline = time.time() + 10      # until the server has processed the 3 SUBSCRIBEs
    while r.pubsub_numsub("events")[0][1] < len(SUBSCRIBERS) and time.time() < deadline:
        time.sleep(0.01)
    receivers = [r.publish("events", m) for m in msgs]
    check(receivers == [3] * N, f"each of the {N} PUBLISHes reached the 3 subscribers")
    for t in ts:
        t.join()
    check(all(got[s] == msgs for s in SUBSCRIBERS), f"each subscriber received all {N}, in order")
    check("nobody-listens" not in sum(got.values(), []),
          "nobody received what was published before they subscribed")


if __name__ == "__main__":
    main(run)
