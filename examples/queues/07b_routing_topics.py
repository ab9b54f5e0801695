"""Pattern 7b (RabbitMQ tutorial 5, "Topics"): routing by pattern.

RabbitMQ: a topic exchange; queues bound with patterns like `kern.*` or `*.critical`.
Here:     PUBLISH to channels named like routing keys (`kern.critical`) and PSUBSCRIBE with
          glob patterns (`kern.*`, `*.critical`). Differences from AMQP topics:
          - the glob `*` also matches dots: `kern.*` matches `kern.disk.critical` (AMQP
            needs `kern.#`); there is no `#`, but `?` and `[abc]` exist;
          - a client subscribed with two patterns that both match a message receives it
            twice (one pmessage per matching pattern), and PUBLISH counts it twice; RabbitMQ
            delivers a message once per queue however many bindings match.
          Pattern subscriptions are transient (pub/sub semantics, see 06a). For durable
          topic routing publish to one stream per routing key and give each consumer groups
          on the streams whose names match its pattern (SCAN MATCH finds them).

Checked: each pattern subscriber gets exactly the matching channels, in order, including
the double delivery; PUBLISH's receiver counts.
"""
import threading
import time

from qcommon import args, check, connect, main


def pattern_subscriber(url, patterns, got, ready, expect):
    ps = connect(url).pubsub(ignore_subscribe_messages=True)
    ps.psubscribe(*patterns)
    ready.release()
    deadline = time.time() + 10
    while len(got) < expect and time.time() < deadline:
        m = ps.get_message(timeout=1)
        if m is not None and m["data"] != "probe":
            got.append((m["pattern"], m["channel"], m["data"]))
    ps.close()


def run():
    a = args(__doc__)
    r = connect(a.url)
    kern, critical, both = [], [], []
    ready = threading.Semaphore(0)
    ts = [threading.Thread(target=pattern_subscriber, args=(a.url, ["kern.*"], kern, ready, 3)),
          threading.Thread(target=pattern_subscriber, args=(a.url, ["*.critical"], critical, ready, 3)),
          threading.Thread(target=pattern_subscriber, args=(a.url, ["kern.*", "*.critical"], both, ready, 6))]
    for t in ts:
        t.start()
    for _ in ts:
        ready.acquire()
    # Wait until every PSUBSCRIBE is in effect: a probe that matches all 4 subscriptions.
    deadline = time.time() + 10
    while r.publish("kern.probe.critical", "probe") < 4 and time.time() < deadline:
        time.sleep(0.01)
    sent = [("kern.critical", "cpu on fire"), ("kern.info", "tick"), ("auth.critical", "intruder"),
            ("auth.info", "login"), ("kern.disk.critical", "bad sector")]
    receivers = [r.publish(ch, msg) for ch, msg in sent]
    check(receivers == [4, 2, 2, 0, 4], f"PUBLISH counts one receiver per matching subscription {receivers}")
    for t in ts:
        t.join()
    check([c for _, c, _ in kern] == ["kern.critical", "kern.info", "kern.disk.critical"],
          "kern.* got kern.critical, kern.info and kern.disk.critical ('*' matches dots)")
    check([c for _, c, _ in critical] == ["kern.critical", "auth.critical", "kern.disk.critical"],
          "*.critical got every critical message")
    check(sorted((p, c) for p, c, _ in both if c == "kern.critical") == [("*.critical", "kern.critical"),
                                                                           ("kern.*", "kern.critical")],
          "a client with both patterns got kern.critical twice, once per pattern")
    check(len(both) == 6, "... and 6 messages in all for its 4 matching channels")


if __name__ == "__main__":
    main(run)
