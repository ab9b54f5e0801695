"""Pattern 8 (RabbitMQ tutorial 6, "RPC"): request/reply with a reply key and a correlation id.

RabbitMQ: the client publishes to an `rpc_queue` with properties reply_to (its exclusive
callback queue) and correlation_id, then waits on its callback queue; the server publishes
the answer to reply_to with the same correlation_id.
Here:
  client:  RPUSH rpc:fib {"id": <correlation id>, "reply_to": "rpc:reply:<client uuid>", "n": 30}
           BLPOP rpc:reply:<client uuid> <timeout>       -> the reply, or nil on timeout
  server:  BLPOP rpc:fib 0 ; compute ;
           MULTI; RPUSH <reply_to> {"id": ..., "result": ...}; EXPIRE <reply_to> 60; EXEC
The EXPIRE makes a reply nobody collects (the client gave up or died) go away by itself,
like an auto-delete callback queue. A client that gave up on a call may later find that
late reply on its reply key: it must drop replies whose correlation id it is not waiting
for. Delivery of the request is at-most-once: a server that dies between its BLPOP and its
reply loses that request (the client times out); for requests that must not be lost, put
them on a stream with a consumer group (patterns 1-3) and keep the reply part as is.

Checked: concurrent clients get exactly their own replies (matched by correlation id); a
stale reply is dropped; a call nobody answers returns nil after the timeout.
"""
import json
import threading
import time
import uuid

from qcommon import args, check, connect, main


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def rpc_server(url, stop, served):
    r = connect(url)
    while not stop.is_set():
        item = r.blpop(["rpc:fib"], timeout=0.1)
        if item is None:
            continue
        req = json.loads(item[1])
        time.sleep(req.get("delay", 0))
        with r.pipeline(transaction=True) as p:      # MULTI ... EXEC
            p.rpush(req["reply_to"], json.dumps({"id": req["id"], "result": fib(req["n"])}))
            p.expire(req["reply_to"], 60)
            p.execute()
        served.append(req["id"])


class RpcClient:
    def __init__(self, url):
        self.r = connect(url)
        self.reply_to = f"rpc:reply:{uuid.uuid4().hex}"   # this client's "callback queue"
        self.dropped = []

    def call(self, queue, n, timeout, delay=0):
        corr = uuid.uuid4().hex
        self.r.rpush(queue, json.dumps({"id": corr, "reply_to": self.reply_to, "n": n, "delay": delay}))
        deadline = time.time() + timeout
        while (left := deadline - time.time()) > 0:
            item = self.r.blpop([self.reply_to], timeout=left)
            if item is None:
                break
            reply = json.loads(item[1])
            if reply["id"] == corr:
                return reply["result"]
            self.dropped.append(reply["id"])              # a late reply to an earlier call
        return None


def run():
    a = args(__doc__)
    r = connect(a.url)
    r.delete("rpc:fib", "rpc:nobody")
    stop, served = threading.Event(), []
    servers = [threading.Thread(target=rpc_server, args=(a.url, stop, served)) for _ in range(2)]
    for t in servers:
        t.start()

    results, errors = {}, []

    def client(k):
        c = RpcClient(a.url)
        for n in range(k, k + 5):
            res = c.call("rpc:fib", n, timeout=5)
            if res != fib(n):
                errors.append((k, n, res))
            results[(k, n)] = res

    cs = [threading.Thread(target=client, args=(k * 10,)) for k in range(4)]
    for t in cs:
        t.start()
    for t in cs:
        t.join()
    check(len(results) == 20 and not errors, "4 concurrent clients x 5 calls: every reply matched its request")

    # A call that times out, and its late reply.
    c = RpcClient(a.url)
    check(c.call("rpc:fib", 10, timeout=0.3, delay=1.0) is None, "a slow call times out on the client (0.3 s)")
    deadline = time.time() + 5
    while r.llen(c.reply_to) == 0 and time.time() < deadline:   # the late reply lands meanwhile
        time.sleep(0.05)
    check(0 < r.ttl(c.reply_to) <= 60, "an uncollected reply carries a TTL (it expires by itself)")
    check(c.call("rpc:fib", 20, timeout=5) == fib(20), "the next call gets its own reply...")
    check(len(c.dropped) == 1, "... after dropping the late reply of the timed-out call (correlation id)")

    # Nobody serves rpc:nobody.
    t0 = time.time()
    res = RpcClient(a.url).call("rpc:nobody", 5, timeout=1)
    elapsed = time.time() - t0
    check(res is None and 0.9 <= elapsed < 3, f"a call nobody answers returns nil after the timeout ({elapsed:.2f} s)")
    check(r.llen("rpc:nobody") == 1, "its request is still queued (drop it, or give requests a TTL)")

    stop.set()
    for t in servers:
        t.join()


if __name__ == "__main__":
    main(run)
