//! Replication, master side: SYNC/PSYNC hand out an RDB payload and then the write stream
//! (what Redis's test suite reads with attach_to_replication_stream), and a real
//! redis-server replica follows ferrodis; MIGRATE moves keys to a real redis-server.
mod common;
use common::{RealRedis, Server};
use std::time::{Duration, Instant};

/// Send SYNC on a raw connection and consume the `$<len>\r\n<rdb>` payload; returns it.
fn attach(srv: &Server) -> (common::Raw, Vec<u8>) {
    let mut r = srv.raw();
    r.send(b"SYNC\r\n");
    let head = r.read_until_crlf();
    assert_eq!(head[0], b'$', "{}", String::from_utf8_lossy(&head));
    let n: usize = std::str::from_utf8(&head[1..head.len() - 2]).unwrap().parse().unwrap();
    let rdb = r.read_n(n);
    assert!(rdb.starts_with(b"REDIS0010"), "payload is an RDB");
    (r, rdb)
}

/// Read one command of the stream as its arguments.
fn next_cmd(r: &mut common::Raw) -> Vec<String> {
    let head = r.read_until_crlf();
    assert_eq!(head[0], b'*', "{}", String::from_utf8_lossy(&head));
    let n: usize = std::str::from_utf8(&head[1..head.len() - 2]).unwrap().parse().unwrap();
    (0..n).map(|_| String::from_utf8_lossy(&r.read_bulk().unwrap()).into_owned()).collect()
}

#[test]
fn sync_sends_snapshot_then_stream() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"before", b"1"], b"+OK\r\n");
    let (mut repl, rdb) = attach(&srv);
    assert!(rdb.windows(6).any(|w| w == b"before"), "the snapshot has the existing key");
    c.roundtrip(&[b"SET", b"foo", b"bar", b"EX", b"100"], b"+OK\r\n");
    assert_eq!(next_cmd(&mut repl), ["SELECT", "0"]);
    let set = next_cmd(&mut repl);
    assert_eq!(set[..4], ["SET", "foo", "bar", "PXAT"]);
    // RESTORE with a relative TTL goes out with the absolute time and ABSTTL.
    let dump = c.call(&[b"DUMP", b"foo"]);
    let payload = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..dump.len() - 2];
    c.roundtrip(&[b"RESTORE", b"foo2", b"100000", payload], b"+OK\r\n");
    let restore = next_cmd(&mut repl);
    assert_eq!(restore[..2], ["RESTORE", "foo2"]);
    assert!(restore[2].parse::<i64>().unwrap() > 1_600_000_000_000, "{restore:?}");
    assert_eq!(restore[4], "ABSTTL");
    // SCAN expiring keys on its way: one DEL each, no MULTI/EXEC around them.
    c.roundtrip(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"e1", b"x", b"PX", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"e2", b"x", b"PX", b"1"], b"+OK\r\n");
    assert_eq!(next_cmd(&mut repl)[..2], ["SET", "e1"]);
    assert_eq!(next_cmd(&mut repl)[..2], ["SET", "e2"]);
    std::thread::sleep(Duration::from_millis(5));
    let _ = c.call(&[b"SCAN", b"0"]);
    let mut dels = vec![next_cmd(&mut repl), next_cmd(&mut repl)];
    dels.sort();
    assert_eq!(dels, [["DEL", "e1"], ["DEL", "e2"]]);
    // The replica shows in INFO; a replica may not touch the keyspace.
    let info = String::from_utf8(c.call(&[b"INFO", b"replication"])).unwrap();
    assert!(info.contains("connected_slaves:1\r\nslave0:ip=127.0.0.1,"), "{info}");
    repl.roundtrip(&[b"GET", b"foo"], b"-ERR Replica can't interact with the keyspace\r\n");
    drop(repl);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = String::from_utf8(c.call(&[b"INFO", b"replication"])).unwrap();
        if info.contains("connected_slaves:0") {
            break;
        }
        assert!(Instant::now() < deadline, "replica not dropped: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn psync_full_resync_and_replconf() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.roundtrip(&[b"REPLCONF", b"listening-port", b"6380"], b"+OK\r\n");
    r.roundtrip(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"], b"+OK\r\n");
    r.roundtrip(&[b"REPLCONF", b"listening-port"], b"-ERR syntax error\r\n");
    r.roundtrip(&[b"REPLCONF", b"nosuch", b"1"], b"-ERR Unrecognized REPLCONF option: nosuch\r\n");
    r.roundtrip(&[b"REPLCONF", b"listening-port", b"x"], b"-ERR value is not an integer or out of range\r\n");
    r.cmd(&[b"PSYNC", b"?", b"-1"]);
    let line = String::from_utf8(r.read_until_crlf()).unwrap();
    assert!(line.starts_with("+FULLRESYNC ") && line.split(' ').nth(1).unwrap().len() == 40, "{line}");
    let head = r.read_until_crlf();
    assert_eq!(head[0], b'$');
    let mut c = srv.raw();
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SYNC"], b"-ERR Command not allowed inside a transaction\r\n");
}

#[test]
fn real_redis_replica_follows() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"RPUSH", b"l", b"x", b"y"], b":2\r\n");
    let dir = srv.dir.join("replica");
    std::fs::create_dir_all(&dir).unwrap();
    let port = srv.port.to_string();
    let Some(replica) = RealRedis::start(&dir, &["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let mut rc = replica.raw();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&rc.call(&[b"INFO", b"replication"])).contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "replica did not sync");
        std::thread::sleep(Duration::from_millis(50));
    }
    c.roundtrip(&[b"INCR", b"a"], b":2\r\n");
    c.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"b", b"v"], b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        rc.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n");
        if rc.call(&[b"GET", b"b"]) == b"$1\r\nv\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "write did not reach the replica");
        std::thread::sleep(Duration::from_millis(50));
    }
    rc.roundtrip(&[b"SELECT", b"0"], b"+OK\r\n");
    rc.roundtrip(&[b"GET", b"a"], b"$1\r\n2\r\n");
    rc.roundtrip(&[b"LRANGE", b"l", b"0", b"-1"], b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
}

#[test]
fn role_replicaof_cluster_lolwut_like_redis() {
    let srv = Server::start(&[]);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    let (mut ours, mut theirs) = (srv.raw(), real.raw());
    common::same_replies(
        &mut ours,
        &mut theirs,
        "ROLE
         REPLICAOF NO ONE
         SLAVEOF no one
         REPLICAOF localhost 99999
         REPLICAOF localhost x
         REPLICAOF a
         CLUSTER INFO
         CLUSTER HELP
         CLUSTER
         CLUSTER nosuch
         READONLY
         READWRITE
         ASKING
         LOLWUT
         LOLWUT 5 6 7 8
         LOLWUT VERSION x
         CLIENT
         CONFIG",
    );
    // COMMAND without a subcommand lists every command.
    let all = ours.call(&[b"COMMAND"]);
    let count = String::from_utf8(ours.call(&[b"COMMAND", b"COUNT"])).unwrap();
    assert_eq!(String::from_utf8_lossy(&all[..all.iter().position(|&b| b == b'\r').unwrap()]), format!("*{}", &count[1..count.len() - 2]));
}

#[test]
fn migrate_to_real_redis() {
    let srv = Server::start(&[]);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    let port = real.port.to_string();
    let p = port.as_bytes();
    let mut c = srv.raw();
    let mut r = real.raw();
    c.roundtrip(&[b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"MIGRATE", b"127.0.0.1", p, b"nosuch", b"3", b"1000"], b"+NOKEY\r\n");
    c.roundtrip(&[b"SET", b"k1", b"v1"], b"+OK\r\n");
    c.roundtrip(&[b"RPUSH", b"k2", b"a", b"b"], b":2\r\n");
    c.roundtrip(&[b"EXPIRE", b"k2", b"100"], b":1\r\n");
    c.roundtrip(&[b"MIGRATE", b"127.0.0.1", p, b"", b"3", b"2000", b"KEYS", b"k1", b"k2", b"nosuch"], b"+OK\r\n");
    c.roundtrip(&[b"EXISTS", b"k1", b"k2"], b":0\r\n");
    r.roundtrip(&[b"SELECT", b"3"], b"+OK\r\n");
    r.roundtrip(&[b"GET", b"k1"], b"$2\r\nv1\r\n");
    r.roundtrip(&[b"LRANGE", b"k2", b"0", b"-1"], b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    let ttl = r.call(&[b"TTL", b"k2"]);
    assert!(ttl == b":100\r\n" || ttl == b":99\r\n", "{}", String::from_utf8_lossy(&ttl));
    // The target's errors come back; COPY keeps the key here; AUTH arguments are redacted.
    c.roundtrip(&[b"SET", b"k1", b"x"], b"+OK\r\n");
    c.roundtrip(
        &[b"MIGRATE", b"127.0.0.1", p, b"k1", b"3", b"2000"],
        b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n",
    );
    c.roundtrip(&[b"MIGRATE", b"127.0.0.1", p, b"k1", b"3", b"2000", b"COPY", b"REPLACE"], b"+OK\r\n");
    c.roundtrip(&[b"EXISTS", b"k1"], b":1\r\n");
    r.roundtrip(&[b"GET", b"k1"], b"$1\r\nx\r\n");
    c.roundtrip(
        &[b"MIGRATE", b"127.0.0.1", p, b"k1", b"3", b"2000", b"AUTH2", b"u", b"pw"],
        b"-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    c.roundtrip(&[b"MIGRATE", b"127.0.0.1", p, b"k1", b"3", b"2000", b"AUTH"], b"-ERR syntax error\r\n");
    let mut con = srv.client();
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG").arg("GET").arg(3).query(&mut con).unwrap();
    let redis::Value::Array(e) = &entries[1] else { panic!("{entries:?}") };
    let args: Vec<String> = redis::from_redis_value(&e[3]).unwrap();
    assert_eq!(args[6..], ["AUTH2", "(redacted)", "(redacted)"]);
}

/// Attach a raw connection as a replica announcing `port` (REPLCONF listening-port, then
/// PSYNC): consumes +FULLRESYNC and the payload; returns it and the starting offset.
fn attach_psync(srv: &Server, port: &str) -> (common::Raw, i64) {
    let mut r = srv.raw();
    r.roundtrip(&[b"REPLCONF", b"listening-port", port.as_bytes()], b"+OK\r\n");
    r.cmd(&[b"PSYNC", b"?", b"-1"]);
    let line = String::from_utf8(r.read_until_crlf()).unwrap();
    let offset: i64 = line.trim_end().rsplit(' ').next().unwrap().parse().unwrap();
    let head = r.read_until_crlf();
    assert_eq!(head[0], b'$', "{}", String::from_utf8_lossy(&head));
    let n: usize = std::str::from_utf8(&head[1..head.len() - 2]).unwrap().parse().unwrap();
    r.read_n(n);
    (r, offset)
}

fn master_offset(c: &mut common::Raw) -> i64 {
    c.info_field("replication", "master_repl_offset").unwrap().parse().unwrap()
}

fn wait_exit(srv: &mut Server, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while srv.is_alive() {
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn replica_acks_show_in_info_and_role() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let (mut r, start) = attach_psync(&srv, "4242");
    let slave0 = |c: &mut common::Raw| c.info_field("replication", "slave0").unwrap();
    assert!(slave0(&mut c).starts_with("ip=127.0.0.1,port=4242,state=online,offset=0,lag="), "{}", slave0(&mut c));
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    assert_eq!(next_cmd(&mut r), ["SELECT", "0"]);
    assert_eq!(next_cmd(&mut r), ["SET", "k", "v"]);
    let off = master_offset(&mut c);
    assert!(off > start, "{off} {start}");
    // ACK gets no reply; a smaller offset never moves the acknowledged one back
    r.cmd(&[b"REPLCONF", b"ACK", off.to_string().as_bytes()]);
    r.cmd(&[b"REPLCONF", b"ACK", b"1"]);
    assert_eq!(r.read_for(200), b"");
    let line = slave0(&mut c);
    let (head, lag) = line.rsplit_once(",lag=").unwrap();
    assert_eq!(head, format!("ip=127.0.0.1,port=4242,state=online,offset={off}"));
    assert!(lag == "0" || lag == "1", "seconds since the ACK: {line}");
    let role = c.call(&[b"ROLE"]);
    let want = format!("*3\r\n$6\r\nmaster\r\n:{off}\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n4242\r\n${}\r\n{off}\r\n", off.to_string().len());
    assert_eq!(String::from_utf8_lossy(&role), want);
    assert_eq!(c.info_field("memory", "mem_total_replication_buffers").as_deref(), Some("0"));
}

#[test]
fn shutdown_waits_for_replica_to_acknowledge() {
    let mut srv = Server::start(&["--logfile", "log.txt", "--shutdown-timeout", "60"]);
    let log = srv.dir.join("log.txt");
    let mut c = srv.raw();
    let (mut r, _) = attach_psync(&srv, "4243");
    c.roundtrip(&[b"SET", b"k", b"1"], b"+OK\r\n");
    assert_eq!(next_cmd(&mut r)[0], "SELECT");
    assert_eq!(next_cmd(&mut r), ["SET", "k", "1"]);
    // the replica has not acknowledged: SHUTDOWN waits (no reply), writes are held
    let mut s = srv.raw();
    s.cmd(&[b"SHUTDOWN"]);
    assert_eq!(next_cmd(&mut r), ["REPLCONF", "GETACK", "*"]);
    assert_eq!(s.read_for(200), b"");
    let left: i64 = c.info_field("server", "shutdown_in_milliseconds").unwrap().parse().unwrap();
    assert!(left > 50_000 && left <= 60_000, "{left}");
    assert_eq!(c.info_field("clients", "blocked_clients").as_deref(), Some("1"));
    let mut w = srv.raw();
    w.cmd(&[b"SET", b"held", b"1"]);
    assert_eq!(w.read_for(200), b"", "writes wait during the shutdown");
    c.roundtrip(&[b"GET", b"k"], b"$1\r\n1\r\n");
    // once the replica acknowledged everything, the server finishes and exits
    let off = master_offset(&mut c);
    r.cmd(&[b"REPLCONF", b"ACK", off.to_string().as_bytes()]);
    wait_exit(&mut srv, 10);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Waiting for replicas before shutting down."), "{text}");
    assert!(text.contains("1 of 1 replicas are in sync when shutting down."), "{text}");
    assert!(!text.contains("Lagging replica"), "{text}");
    assert!(text.contains("ready to exit, bye bye"), "{text}");
}

#[test]
fn shutdown_abort_then_timeout_with_lagging_replica() {
    let mut srv = Server::start(&["--logfile", "log.txt"]);
    let log = srv.dir.join("log.txt");
    let mut c = srv.raw();
    let (mut r, _) = attach_psync(&srv, "4244");
    c.roundtrip(&[b"SET", b"k", b"1"], b"+OK\r\n");
    // two callers wait; SHUTDOWN ABORT answers both with an error and writes resume
    let (mut s1, mut s2) = (srv.raw(), srv.raw());
    s1.cmd(&[b"SHUTDOWN"]);
    s2.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    let mut w = srv.raw();
    w.cmd(&[b"INCR", b"k"]);
    assert_eq!(w.read_for(200), b"");
    assert_eq!(c.info_field("clients", "blocked_clients").as_deref(), Some("3"));
    c.roundtrip(&[b"SHUTDOWN", b"ABORT"], b"+OK\r\n");
    s1.expect(b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    s2.expect(b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    w.expect(b":2\r\n");
    assert_eq!(c.info_field("server", "shutdown_in_milliseconds"), None);
    c.roundtrip(&[b"SHUTDOWN", b"ABORT"], b"-ERR No shutdown in progress.\r\n");
    // with a short timeout and no ACK, it gives up waiting and exits anyway
    c.roundtrip(&[b"CONFIG", b"SET", b"shutdown-timeout", b"1"], b"+OK\r\n");
    // (+ the REPLCONF GETACK * this shutdown sends first)
    let behind = master_offset(&mut c) + 37;
    s1.cmd(&[b"SHUTDOWN"]);
    wait_exit(&mut srv, 10);
    drop(r.read_for(10));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Shutdown manually aborted."), "{text}");
    let lag_line = format!("Lagging replica 127.0.0.1:4244 reported offset {behind} behind master, lag=");
    assert!(text.contains(&lag_line), "{lag_line} in {text}");
    assert!(text.contains("0 of 1 replicas are in sync when shutting down."), "{text}");
}

#[test]
fn shutdown_now_and_timeout_zero_do_not_wait() {
    let cases: [&[&[u8]]; 2] = [&[b"SHUTDOWN", b"NOW"], &[b"SHUTDOWN"]];
    for args in cases {
        let mut srv = Server::start(&[]);
        let mut c = srv.raw();
        let (_r, _) = attach_psync(&srv, "4245");
        c.roundtrip(&[b"SET", b"k", b"1"], b"+OK\r\n");
        if args.len() == 1 {
            c.roundtrip(&[b"CONFIG", b"SET", b"shutdown-timeout", b"0"], b"+OK\r\n");
        }
        c.cmd(args);
        wait_exit(&mut srv, 5);
    }
}

#[test]
fn wait_counts_replicas_that_acknowledged_the_clients_writes() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    // no replica, nothing written: answered at once
    c.roundtrip(&[b"WAIT", b"0", b"0"], b":0\r\n");
    c.roundtrip(&[b"WAIT", b"1", b"50"], b":0\r\n");
    let (mut r, _) = attach_psync(&srv, "4246");
    // nothing written by this client yet: every replica has it
    c.roundtrip(&[b"WAIT", b"1", b"0"], b":1\r\n");
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    assert_eq!(next_cmd(&mut r)[0], "SELECT");
    assert_eq!(next_cmd(&mut r), ["SET", "k", "v"]);
    // blocks (no timeout) and asks the replica for an ACK; the ACK answers it
    c.cmd(&[b"WAIT", b"1", b"0"]);
    assert_eq!(next_cmd(&mut r), ["REPLCONF", "GETACK", "*"]);
    assert_eq!(c.read_for(100), b"");
    let mut o = srv.raw();
    assert_eq!(o.info_field("clients", "blocked_clients").as_deref(), Some("1"));
    let off = master_offset(&mut o);
    r.cmd(&[b"REPLCONF", b"ACK", off.to_string().as_bytes()]);
    c.expect(b":1\r\n");
    // a write the replica does not acknowledge: the count at the timeout
    c.roundtrip(&[b"INCR", b"n"], b":1\r\n");
    let t = Instant::now();
    c.roundtrip(&[b"WAIT", b"1", b"200"], b":0\r\n");
    assert!(t.elapsed() >= Duration::from_millis(190), "{:?}", t.elapsed());
    // another client that wrote nothing is not held up by it
    o.roundtrip(&[b"WAIT", b"1", b"0"], b":1\r\n");
    // inside MULTI it never blocks
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"WAIT", b"1", b"0"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*1\r\n:0\r\n");
    // a later ACK does not send a stale reply to this client's next blocking command
    c.cmd(&[b"BLPOP", b"list", b"0"]);
    let off = master_offset(&mut o);
    r.cmd(&[b"REPLCONF", b"ACK", off.to_string().as_bytes()]);
    assert_eq!(c.read_for(200), b"");
    o.roundtrip(&[b"RPUSH", b"list", b"x"], b":1\r\n");
    c.expect(b"*2\r\n$4\r\nlist\r\n$1\r\nx\r\n");
}

#[test]
fn wait_errors_like_redis() {
    let srv = Server::start(&[]);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    let (mut ours, mut theirs) = (srv.raw(), real.raw());
    common::same_replies(
        &mut ours,
        &mut theirs,
        "WAIT 0 0
         WAIT a 0
         WAIT 0 -1
         WAIT 0 x
         WAIT 0 1.5
         WAIT -1 10
         WAIT 0
         SET k v
         WAIT 0 10",
    );
}

#[test]
fn min_replicas_to_write_counts_replicas_that_acked_recently() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let (mut r, _) = attach_psync(&srv, "4247");
    c.roundtrip(&[b"CONFIG", b"SET", b"min-replicas-max-lag", b"1"], b"+OK\r\n");
    assert_eq!(c.info_field("replication", "min_slaves_good_slaves"), None);
    c.roundtrip(&[b"CONFIG", b"SET", b"min-replicas-to-write", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"k", b"1"], b"+OK\r\n");
    assert_eq!(c.info_field("replication", "min_slaves_good_slaves").as_deref(), Some("1"));
    // a replica silent for longer than the max lag is not good any more
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(c.info_field("replication", "min_slaves_good_slaves").as_deref(), Some("0"));
    c.roundtrip(&[b"SET", b"k", b"2"], b"-NOREPLICAS Not enough good replicas to write.\r\n");
    c.roundtrip(&[b"GET", b"k"], b"$1\r\n1\r\n");
    let off = master_offset(&mut c);
    r.cmd(&[b"REPLCONF", b"ACK", off.to_string().as_bytes()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.info_field("replication", "min_slaves_good_slaves").as_deref() != Some("1") {
        assert!(Instant::now() < deadline, "the ACK did not make the replica good again");
        std::thread::sleep(Duration::from_millis(10));
    }
    c.roundtrip(&[b"SET", b"k", b"3"], b"+OK\r\n");
}
