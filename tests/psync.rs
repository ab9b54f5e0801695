//! Partial resynchronization, master side: a replica whose link broke continues from the
//! master's replication backlog (PSYNC answered +CONTINUE, INFO stats sync_partial_ok)
//! instead of loading a new snapshot: a real redis-server 7.0.15 replica and a ferrodis
//! one; a promoted replica serves its former fellow replicas (and its former master)
//! under master_replid2; a backlog too small, or freed after repl-backlog-ttl, means a
//! full synchronization again.
mod common;
use common::{RealRedis, Raw, Server};
use std::time::{Duration, Instant};

fn text(r: &mut Raw, args: &[&str]) -> String {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    String::from_utf8_lossy(&r.call(&a)).into_owned()
}

fn field(r: &mut Raw, section: &str, name: &str) -> String {
    r.info_field(section, name).unwrap_or_else(|| panic!("INFO {section} has no {name}"))
}

fn stat(r: &mut Raw, name: &str) -> i64 {
    field(r, "stats", name).parse().unwrap()
}

/// Wait (30 s at most) until `cond` holds.
fn wait(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_link_up(r: &mut Raw) {
    wait("the replica's link", || r.info_field("replication", "master_link_status").as_deref() == Some("up"));
}

/// Wait until the replica has the master's whole stream, then compare the data.
fn wait_in_sync(m: &mut Raw, r: &mut Raw) {
    wait("equal replication offsets", || {
        field(m, "replication", "master_repl_offset") == field(r, "replication", "master_repl_offset")
    });
    assert_eq!(text(m, &["DEBUG", "DIGEST"]), text(r, &["DEBUG", "DIGEST"]));
}

/// Writes the replica can only get from the backlog: the link is killed inside the same
/// transaction, so they are fed to the stream after the replica's connection is closing.
fn kill_link_and_write(m: &mut Raw, tag: &str) {
    assert_eq!(text(m, &["MULTI"]), "+OK\r\n");
    assert_eq!(text(m, &["CLIENT", "KILL", "TYPE", "replica"]), "+QUEUED\r\n");
    for i in 0..50 {
        assert_eq!(text(m, &["RPUSH", &format!("{tag}:list"), &i.to_string()]), "+QUEUED\r\n");
    }
    assert_eq!(text(m, &["SET", &format!("{tag}:str"), "value"]), "+QUEUED\r\n");
    let exec = text(m, &["EXEC"]);
    assert!(exec.starts_with("*52\r\n:1\r\n:1\r\n"), "{exec}");
    // and more after the transaction
    for i in 0..100 {
        assert_eq!(text(m, &["SET", &format!("{tag}:k{i}"), &"x".repeat(i)]), "+OK\r\n");
    }
}

/// The scenario on a ferrodis master `m` with a replica `r` (of either kind) attached to it.
fn continues_after_link_loss(m: &mut Raw, r: &mut Raw) {
    for i in 0..100 {
        assert_eq!(text(m, &["SET", &format!("pre{i}"), &i.to_string()]), "+OK\r\n");
    }
    assert_eq!(text(m, &["HSET", "h", "f", "v"]), ":1\r\n");
    wait_in_sync(m, r);
    let (full, ok, err) = (stat(m, "sync_full"), stat(m, "sync_partial_ok"), stat(m, "sync_partial_err"));
    assert_eq!(field(m, "replication", "repl_backlog_active"), "1");
    assert_eq!(field(m, "replication", "repl_backlog_size"), "1048576");
    let first: i64 = field(m, "replication", "repl_backlog_first_byte_offset").parse().unwrap();
    let histlen: i64 = field(m, "replication", "repl_backlog_histlen").parse().unwrap();
    let offset: i64 = field(m, "replication", "master_repl_offset").parse().unwrap();
    assert!(histlen > 0 && first + histlen - 1 == offset, "backlog {first}+{histlen} vs offset {offset}");

    for round in 0..3 {
        kill_link_and_write(m, &format!("r{round}"));
        wait("the partial resynchronization", || stat(m, "sync_partial_ok") == ok + round + 1);
        wait_link_up(r);
        wait_in_sync(m, r);
        assert_eq!(text(r, &["LLEN", &format!("r{round}:list")]), ":50\r\n");
        assert_eq!(text(r, &["GET", &format!("r{round}:k99")]), format!("$99\r\n{}\r\n", "x".repeat(99)));
    }
    assert_eq!(stat(m, "sync_full"), full, "no new full synchronization");
    assert_eq!(stat(m, "sync_partial_err"), err);
}

#[test]
fn real_redis_replica_continues_from_the_backlog() {
    let dir = common::tmpdir("psync-real");
    let Some(real) = RealRedis::start(&dir, &["--enable-debug-command", "yes"]) else {
        return;
    };
    let master = Server::start(&[]);
    let mut m = master.raw();
    let mut r = real.raw();
    // before any replica: no backlog, the offset does not move
    assert_eq!(text(&mut m, &["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(field(&mut m, "replication", "repl_backlog_active"), "0");
    assert_eq!(field(&mut m, "replication", "master_repl_offset"), "0");
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]), "+OK\r\n");
    wait_link_up(&mut r);
    continues_after_link_loss(&mut m, &mut r);
    drop(real);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ferrodis_replica_continues_from_the_backlog() {
    let master = Server::start(&[]);
    let replica = Server::start(&[]);
    let mut m = master.raw();
    let mut r = replica.raw();
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]), "+OK\r\n");
    wait_link_up(&mut r);
    continues_after_link_loss(&mut m, &mut r);
    // the replica keeps a backlog of the master's stream too (so it can serve replicas)
    assert_eq!(field(&mut r, "replication", "repl_backlog_active"), "1");
    assert_eq!(
        field(&mut r, "replication", "repl_backlog_histlen"),
        field(&mut m, "replication", "repl_backlog_histlen")
    );
    // the replica side breaks the link (CLIENT KILL TYPE master): it continues too
    let ok = stat(&mut m, "sync_partial_ok");
    assert!(text(&mut r, &["CLIENT", "LIST", "TYPE", "master"]).contains(" flags=M "));
    assert_eq!(text(&mut r, &["CLIENT", "KILL", "TYPE", "master"]), ":1\r\n");
    assert_eq!(text(&mut m, &["SET", "after-kill", "1"]), "+OK\r\n");
    wait("the partial resynchronization", || stat(&mut m, "sync_partial_ok") == ok + 1);
    wait_link_up(&mut r);
    wait_in_sync(&mut m, &mut r);
    assert_eq!(text(&mut r, &["GET", "after-kill"]), "$1\r\n1\r\n");
    assert_eq!(stat(&mut m, "sync_full"), 1);
}

/// master M with replicas A and B; A is promoted (REPLICAOF NO ONE): its old replication id
/// becomes master_replid2, so B, then M itself, continue with A instead of a full sync.
#[test]
fn promoted_replica_serves_its_former_peers_partially() {
    // no PINGs from M: its offset must stay where A's promotion left the history
    let master = Server::start(&["--repl-ping-replica-period", "3600"]);
    let a = Server::start(&[]);
    let b = Server::start(&[]);
    let (mut m, mut ra, mut rb) = (master.raw(), a.raw(), b.raw());
    let mport = master.port.to_string();
    for i in 0..300 {
        assert_eq!(text(&mut m, &["SADD", "s", &i.to_string()]), ":1\r\n");
    }
    assert_eq!(text(&mut ra, &["REPLICAOF", "127.0.0.1", &mport]), "+OK\r\n");
    assert_eq!(text(&mut rb, &["REPLICAOF", "127.0.0.1", &mport]), "+OK\r\n");
    wait_link_up(&mut ra);
    wait_link_up(&mut rb);
    assert_eq!(text(&mut m, &["SELECT", "2"]), "+OK\r\n");
    assert_eq!(text(&mut m, &["SET", "in2", "v"]), "+OK\r\n");
    assert_eq!(text(&mut m, &["SELECT", "0"]), "+OK\r\n");
    assert_eq!(text(&mut m, &["INCR", "n"]), ":1\r\n");
    wait_in_sync(&mut m, &mut ra);
    wait_in_sync(&mut m, &mut rb);
    let old_id = field(&mut m, "replication", "master_replid");
    let offset: i64 = field(&mut m, "replication", "master_repl_offset").parse().unwrap();
    assert_eq!(field(&mut ra, "replication", "master_replid"), old_id);

    assert_eq!(text(&mut ra, &["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    let new_id = field(&mut ra, "replication", "master_replid");
    assert_ne!(new_id, old_id);
    assert_eq!(field(&mut ra, "replication", "master_replid2"), old_id);
    assert_eq!(field(&mut ra, "replication", "second_repl_offset"), (offset + 1).to_string());
    assert_eq!(field(&mut ra, "replication", "master_repl_offset"), offset.to_string());
    assert_eq!(field(&mut ra, "replication", "repl_backlog_active"), "1");

    // B follows A: continued under the old id, B learns the new one
    assert_eq!(text(&mut rb, &["REPLICAOF", "127.0.0.1", &a.port.to_string()]), "+OK\r\n");
    wait("B's partial resynchronization with A", || stat(&mut ra, "sync_partial_ok") == 1);
    wait_link_up(&mut rb);
    assert_eq!(stat(&mut ra, "sync_full"), 0);
    assert_eq!(field(&mut rb, "replication", "master_replid"), new_id);
    assert_eq!(field(&mut rb, "replication", "master_replid2"), old_id);
    assert_eq!(field(&mut rb, "replication", "second_repl_offset"), (offset + 1).to_string());
    assert_eq!(text(&mut ra, &["INCR", "n"]), ":2\r\n");
    assert_eq!(text(&mut ra, &["SELECT", "2"]), "+OK\r\n");
    assert_eq!(text(&mut ra, &["APPEND", "in2", "w"]), ":2\r\n");
    assert_eq!(text(&mut ra, &["SELECT", "0"]), "+OK\r\n");
    wait_in_sync(&mut ra, &mut rb);
    assert_eq!(text(&mut rb, &["GET", "n"]), "$1\r\n2\r\n");

    // the old master M follows A too: its own history (same id, same offset) continues
    assert_eq!(text(&mut m, &["REPLICAOF", "127.0.0.1", &a.port.to_string()]), "+OK\r\n");
    wait("M's partial resynchronization with A", || stat(&mut ra, "sync_partial_ok") == 2);
    wait_link_up(&mut m);
    assert_eq!(stat(&mut ra, "sync_full"), 0);
    assert_eq!(field(&mut m, "replication", "master_replid"), new_id);
    wait_in_sync(&mut ra, &mut m);
    assert_eq!(text(&mut m, &["GET", "n"]), "$1\r\n2\r\n");
    assert_eq!(text(&mut m, &["SELECT", "2"]), "+OK\r\n");
    assert_eq!(text(&mut m, &["GET", "in2"]), "$2\r\nvw\r\n");
}

/// A backlog that cannot hold what the replica missed, or one freed after
/// repl-backlog-ttl (the replication id then changes), means a full synchronization.
#[test]
fn partial_resync_refused_when_the_backlog_lacks_the_data() {
    let master = Server::start(&["--repl-backlog-ttl", "1"]);
    let replica = Server::start(&[]);
    let (mut m, mut r) = (master.raw(), replica.raw());
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]), "+OK\r\n");
    wait_link_up(&mut r);
    assert_eq!(text(&mut m, &["SET", "k", &"v".repeat(30_000)]), "+OK\r\n");
    wait_in_sync(&mut m, &mut r);
    let histlen: i64 = field(&mut m, "replication", "repl_backlog_histlen").parse().unwrap();
    assert!(histlen > 30_000, "{histlen}");
    // CONFIG SET repl-backlog-size resizes it, keeping the newest bytes
    assert_eq!(text(&mut m, &["CONFIG", "SET", "repl-backlog-size", "16384"]), "+OK\r\n");
    assert_eq!(field(&mut m, "replication", "repl_backlog_histlen"), "16384");
    let first: i64 = field(&mut m, "replication", "repl_backlog_first_byte_offset").parse().unwrap();
    let offset: i64 = field(&mut m, "replication", "master_repl_offset").parse().unwrap();
    assert_eq!(first, offset - 16384 + 1);
    let (full, err) = (stat(&mut m, "sync_full"), stat(&mut m, "sync_partial_err"));
    // 40 KB written while the link is down: more than the 16 KB backlog
    assert_eq!(text(&mut m, &["MULTI"]), "+OK\r\n");
    assert_eq!(text(&mut m, &["CLIENT", "KILL", "TYPE", "replica"]), "+QUEUED\r\n");
    assert_eq!(text(&mut m, &["SET", "big", &"b".repeat(40_000)]), "+QUEUED\r\n");
    assert_eq!(text(&mut m, &["EXEC"]), "*2\r\n:1\r\n+OK\r\n");
    let histlen: i64 = field(&mut m, "replication", "repl_backlog_histlen").parse().unwrap();
    assert_eq!(histlen, 16384);
    wait("a full resynchronization", || stat(&mut m, "sync_full") == full + 1);
    assert_eq!(stat(&mut m, "sync_partial_err"), err + 1);
    wait_link_up(&mut r);
    wait_in_sync(&mut m, &mut r);

    // no replica for longer than repl-backlog-ttl: the backlog goes, with the history's id
    let id = field(&mut m, "replication", "master_replid");
    assert_eq!(text(&mut r, &["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    wait("the backlog to be freed", || field(&mut m, "replication", "repl_backlog_active") == "0");
    assert_ne!(field(&mut m, "replication", "master_replid"), id);
    assert_eq!(field(&mut m, "replication", "repl_backlog_histlen"), "0");
}

/// A replica's RDB records the replication history (repl-id, repl-offset): restarted from
/// it with `replicaof` configured, the replica continues from there, without a full sync.
#[test]
fn restarted_replica_continues_from_its_rdb() {
    let master = Server::start(&[]);
    let mut m = master.raw();
    let mport = master.port.to_string();
    let dir = common::tmpdir("psync-restart");
    let mut replica = Server::start_owning(&dir, &[]);
    let mut r = replica.raw();
    assert_eq!(text(&mut m, &["RPUSH", "l", "a", "b"]), ":2\r\n");
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &mport]), "+OK\r\n");
    wait_link_up(&mut r);
    assert_eq!(text(&mut m, &["SELECT", "5"]), "+OK\r\n");
    assert_eq!(text(&mut m, &["SET", "in5", "1"]), "+OK\r\n");
    wait_in_sync(&mut m, &mut r);
    assert_eq!(text(&mut r, &["SAVE"]), "+OK\r\n");
    let _ = replica.child.kill();
    let _ = replica.child.wait();
    std::mem::forget(replica);
    // written while the replica is away: db 5 stays selected in the master's stream
    assert_eq!(text(&mut m, &["SET", "later", "2"]), "+OK\r\n");
    let (full, ok) = (stat(&mut m, "sync_full"), stat(&mut m, "sync_partial_ok"));
    let replica = Server::start_owning(&dir, &["--replicaof", "127.0.0.1", &mport]);
    let mut r = replica.raw();
    wait("the restarted replica's partial resynchronization", || stat(&mut m, "sync_partial_ok") == ok + 1);
    wait_link_up(&mut r);
    assert_eq!(stat(&mut m, "sync_full"), full);
    wait_in_sync(&mut m, &mut r);
    assert_eq!(text(&mut r, &["SELECT", "5"]), "+OK\r\n");
    assert_eq!(text(&mut r, &["GET", "later"]), "$1\r\n2\r\n");
}

/// A master's RDB records its history too: restarted from it, the master keeps that id as
/// master_replid2 with a new (empty) backlog, so its replica continues; keys that expired
/// while it was down reach the replica as DELs through that backlog.
#[test]
fn restarted_master_lets_its_replica_continue() {
    let dir = common::tmpdir("psync-master-restart");
    let mut master = Server::start_owning(&dir, &[]);
    let replica = Server::start(&[]);
    let (mut m, mut r) = (master.raw(), replica.raw());
    assert_eq!(text(&mut m, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]), "+OK\r\n");
    wait_link_up(&mut r);
    assert_eq!(text(&mut m, &["SET", "stays", "1"]), "+OK\r\n");
    assert_eq!(text(&mut m, &["SET", "goes", "1", "PX", "300"]), "+OK\r\n");
    wait_in_sync(&mut m, &mut r);
    let id = field(&mut m, "replication", "master_replid");
    let offset: i64 = field(&mut m, "replication", "master_repl_offset").parse().unwrap();
    assert_eq!(text(&mut m, &["SAVE"]), "+OK\r\n");
    let _ = master.child.kill();
    let _ = master.child.wait();
    std::mem::forget(master);
    std::thread::sleep(Duration::from_millis(400));
    let master = Server::start_owning(&dir, &[]);
    let mut m = master.raw();
    assert_ne!(field(&mut m, "replication", "master_replid"), id);
    assert_eq!(field(&mut m, "replication", "master_replid2"), id);
    assert_eq!(field(&mut m, "replication", "second_repl_offset"), (offset + 1).to_string());
    assert_eq!(field(&mut m, "replication", "repl_backlog_active"), "1");
    assert_eq!(field(&mut m, "replication", "repl_backlog_first_byte_offset"), (offset + 1).to_string());
    // the expired key's DEL is in the backlog already
    let histlen: i64 = field(&mut m, "replication", "repl_backlog_histlen").parse().unwrap();
    assert!(histlen > 0);
    assert_eq!(text(&mut r, &["EXISTS", "goes"]), ":0\r\n", "expired for reads on the replica");
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]), "+OK\r\n");
    wait("the partial resynchronization", || stat(&mut m, "sync_partial_ok") == 1);
    wait_link_up(&mut r);
    assert_eq!(stat(&mut m, "sync_full"), 0);
    wait_in_sync(&mut m, &mut r);
    assert_eq!(text(&mut r, &["DBSIZE"]), ":1\r\n");
}
