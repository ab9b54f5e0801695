"""Pattern 7a (RabbitMQ tutorial 4, "Routing"): direct routing by routing key.

RabbitMQ: a direct exchange; each consumer's queue is bound with the routing keys it wants.
Here:     one stream per routing key (`logs:error`, `logs:warning`, `logs:info`): the
          producer routes by choosing the key it XADDs to. A consumer bound to several
          routing keys has a consumer group on each of those streams and reads them all in
          one blocking call:
              XREADGROUP GROUP alerts a1 BLOCK 0 STREAMS logs:error logs:warning > >
          (Transient routing is the same with one pub/sub channel per routing key, PUBLISH
          logs:error ... / SUBSCRIBE logs:error logs:warning.) There is no exchange object:
          a message sent to a routing key nobody is bound to still lands in that key's stream
          and waits there (RabbitMQ would drop it); trim such streams (see 10_trimming.py).

Checked: each consumer gets exactly the routing keys it is bound to, in order, per key.
"""
from qcommon import args, check, connect, main

LOGS = [("error", "disk full"), ("info", "started"), ("warning", "slow"), ("error", "oom"), ("info", "stopped"),
        ("debug", "x=1")]


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete(*[f"logs:{sev}" for sev in ("error", "warning", "info", "debug")])
    for k in ("logs:error", "logs:warning"):
        r.xgroup_create(k, "alerts", id="$", mkstream=True)      # "alerts" binds error + warning
    r.xgroup_create("logs:info", "archive", id="$", mkstream=True)
    for sev, text in LOGS:
        r.xadd(f"logs:{sev}", {"text": text})                    # route by routing key

    alerts = r.xreadgroup("alerts", "a1", {"logs:error": ">", "logs:warning": ">"}, block=1000)
    got = {k: [f["text"] for _, f in entries] for k, entries in alerts}
    check(got == {"logs:error": ["disk full", "oom"], "logs:warning": ["slow"]},
          f"the consumer bound to error+warning got exactly those {got}")
    [[_, info]] = r.xreadgroup("archive", "a1", {"logs:info": ">"})
    check([f["text"] for _, f in info] == ["started", "stopped"], "the consumer bound to info got only info")
    check(r.xlen("logs:debug") == 1, "an unbound routing key's message waits in its own stream")


if __name__ == "__main__":
    main(run)
