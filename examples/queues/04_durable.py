"""Pattern 4: a durable queue that survives a server restart (RabbitMQ: durable queue +
persistent messages (delivery_mode=2) + publisher confirms).

Durability is a server setting, not a per-queue flag: run the server with
    --appendonly yes --appendfsync always      every write is fsynced to the append-only
                                               file before its reply is sent: an XADD that
                                               returned an id survives a crash (SIGKILL, power
                                               loss) -- the equivalent of a publisher confirm
    --appendonly yes --appendfsync everysec    (the default) fsync once a second: a crash
                                               can lose up to about one second of acknowledged
                                               writes; a clean SHUTDOWN loses nothing
Not only the entries are persisted: the consumer group, its last-delivered id and the
pending list (who holds which unacknowledged task, delivery counts) come back too, so after
the restart workers continue where they were: '>' gives the never-delivered tasks, and the
tasks that were in flight are still pending (re-read with ID 0, or XAUTOCLAIM them).

This example starts the server itself (--server-bin / QUEUE_SERVER_BIN), three times:
  a) appendfsync always, enqueue 100, deliver 10, ack 5, SIGKILL, restart
  b) appendfsync everysec, the same, clean SHUTDOWN, restart
  c) no AOF (and no RDB save points), SIGKILL, restart: the queue is gone (a transient queue)
"""
from qcommon import ServerProcess, args, check, connect, main

STREAM, GROUP, N = "tasks", "workers", 100


def fill_and_work(url):
    r = connect(url)
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    for i in range(N):
        r.xadd(STREAM, {"task": f"task-{i}"})
    [[_, got]] = r.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=10)
    r.xack(STREAM, GROUP, *[msg_id for msg_id, _ in got[:5]])
    return [msg_id for msg_id, _ in got]


def check_after_restart(url, delivered, label):
    r = connect(url)
    check(r.xlen(STREAM) == N, f"{label}: all {N} entries are back")
    p = r.xpending(STREAM, GROUP)
    check(p["pending"] == 5 and p["consumers"] == [{"name": "w1", "pending": 5}],
          f"{label}: the group and its 5 unacknowledged deliveries (owned by w1) are back")
    [[_, mine]] = r.xreadgroup(GROUP, "w1", {STREAM: "0"})
    check([m for m, _ in mine] == delivered[5:], f"{label}: w1 resumes its 5 in-flight tasks (ID 0)")
    [[_, new]] = r.xreadgroup(GROUP, "w2", {STREAM: ">"})
    check(len(new) == N - 10 and new[0][1]["task"] == "task-10",
          f"{label}: '>' continues after the last delivered task (90 left, from task-10)")


def scenario(binary, extra, stop, label):
    srv = ServerProcess(binary, extra).start()
    try:
        delivered = fill_and_work(srv.url)
        stop(srv)
        srv.start()
        check_after_restart(srv.url, delivered, label)
    finally:
        srv.cleanup()


def run():
    a = args(__doc__, need_bin=True)
    scenario(a.server_bin, ["--appendonly", "yes", "--appendfsync", "always"], ServerProcess.kill,
             "always + SIGKILL")
    scenario(a.server_bin, ["--appendonly", "yes", "--appendfsync", "everysec"], ServerProcess.shutdown,
             "everysec + SHUTDOWN")

    srv = ServerProcess(a.server_bin, ["--appendonly", "no"]).start()
    try:
        fill_and_work(srv.url)
        srv.kill()
        srv.start()
        check(connect(srv.url).exists(STREAM) == 0, "no AOF + SIGKILL: the queue is gone after the restart")
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main(run)
