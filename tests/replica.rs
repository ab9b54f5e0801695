//! Replication, replica side: ferrodis follows a real redis-server 7.0.15 master and
//! another ferrodis (REPLICAOF): the initial dataset, the write stream (MULTI/EXEC,
//! EXPIRE), READONLY for normal clients, ROLE / INFO replication, REPLICAOF NO ONE
//! keeping the data, replica-serve-stale-data no while the link is down.
mod common;
use common::{RealRedis, Server};
use std::time::{Duration, Instant};

fn text(r: &mut common::Raw, args: &[&str]) -> String {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    String::from_utf8_lossy(&r.call(&a)).into_owned()
}

/// Wait until `args` on `r` answers `want` (raw RESP), or fail after 30 s.
fn wait_for(r: &mut common::Raw, args: &[&str], want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = text(r, args);
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{args:?}: waited for {want:?}, last {got:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn info_field(r: &mut common::Raw, field: &str) -> Option<String> {
    r.info_field("replication", field)
}

fn wait_link(r: &mut common::Raw, up: bool) {
    let want = if up { "up" } else { "down" };
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(r, "master_link_status").as_deref() != Some(want) {
        assert!(Instant::now() < deadline, "link never {want}: {}", text(r, &["INFO", "replication"]));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The scenario, against a master listening on `mport` (`m`: a connection to it).
fn follow(m: &mut common::Raw, mport: u16, replica: &Server) {
    // the initial dataset, written before the replica attaches
    assert_eq!(text(m, &["SET", "pre", "1"]), "+OK\r\n");
    assert_eq!(text(m, &["RPUSH", "list", "a", "b", "c"]), ":3\r\n");
    assert_eq!(text(m, &["SELECT", "3"]), "+OK\r\n");
    assert_eq!(text(m, &["HSET", "h3", "f", "v"]), ":1\r\n");
    assert_eq!(text(m, &["SELECT", "0"]), "+OK\r\n");
    let mut r = replica.raw();
    assert_eq!(text(&mut r, &["SET", "old", "x"]), "+OK\r\n");
    let p = mport.to_string();
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &p]), "+OK\r\n");
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &p]), "+OK Already connected to specified master\r\n");
    assert_eq!(info_field(&mut r, "role").as_deref(), Some("slave"));
    assert_eq!(info_field(&mut r, "master_port"), Some(p.clone()));
    wait_link(&mut r, true);
    // the old data went, the master's came
    assert_eq!(text(&mut r, &["GET", "old"]), "$-1\r\n");
    assert_eq!(text(&mut r, &["GET", "pre"]), "$1\r\n1\r\n");
    assert_eq!(text(&mut r, &["LRANGE", "list", "0", "-1"]), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(text(&mut r, &["SELECT", "3"]), "+OK\r\n");
    assert_eq!(text(&mut r, &["HGET", "h3", "f"]), "$1\r\nv\r\n");
    assert_eq!(text(&mut r, &["SELECT", "0"]), "+OK\r\n");
    let role = text(&mut r, &["ROLE"]);
    assert!(role.starts_with(&format!("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{mport}\r\n$9\r\nconnected\r\n:")), "{role}");
    for f in ["master_last_io_seconds_ago", "slave_repl_offset", "slave_read_repl_offset", "master_repl_offset"] {
        assert!(info_field(&mut r, f).is_some_and(|v| v.parse::<i64>().is_ok_and(|n| n >= 0)), "{f}");
    }
    assert_eq!(info_field(&mut r, "master_sync_in_progress").as_deref(), Some("0"));
    assert_eq!(info_field(&mut r, "slave_read_only").as_deref(), Some("1"));
    assert_eq!(info_field(&mut r, "slave_priority").as_deref(), Some("100"));

    // the write stream: plain writes, MULTI/EXEC, EXPIRE
    assert_eq!(text(m, &["INCR", "counter"]), ":1\r\n");
    assert_eq!(text(m, &["MULTI"]), "+OK\r\n");
    assert_eq!(text(m, &["SET", "t1", "a"]), "+QUEUED\r\n");
    assert_eq!(text(m, &["LPUSH", "list", "z"]), "+QUEUED\r\n");
    assert_eq!(text(m, &["EXEC"]), "*2\r\n+OK\r\n:4\r\n");
    assert_eq!(text(m, &["EXPIRE", "pre", "1000"]), ":1\r\n");
    assert_eq!(text(m, &["SET", "last", "done"]), "+OK\r\n");
    wait_for(&mut r, &["GET", "last"], "$4\r\ndone\r\n");
    assert_eq!(text(&mut r, &["GET", "counter"]), "$1\r\n1\r\n");
    assert_eq!(text(&mut r, &["GET", "t1"]), "$1\r\na\r\n");
    assert_eq!(text(&mut r, &["LINDEX", "list", "0"]), "$1\r\nz\r\n");
    let ttl = text(&mut r, &["TTL", "pre"]);
    assert!(ttl.starts_with(":99") || ttl == ":1000\r\n", "{ttl}");
    // a key the master expires goes away on the replica too
    assert_eq!(text(m, &["SET", "short", "v", "PX", "100"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(text(&mut r, &["GET", "short"]), "$-1\r\n");

    // normal clients cannot write; reads work
    assert_eq!(text(&mut r, &["SET", "x", "1"]), "-READONLY You can't write against a read only replica.\r\n");
    assert_eq!(text(&mut r, &["MULTI"]), "+OK\r\n");
    assert_eq!(text(&mut r, &["INCR", "counter"]), "-READONLY You can't write against a read only replica.\r\n");
    assert_eq!(
        text(&mut r, &["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );

    // the offset acknowledged to the master catches up with the master's own
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mine: i64 = info_field(&mut r, "slave_repl_offset").unwrap().parse().unwrap();
        let theirs: i64 = info_field(m, "master_repl_offset").unwrap().parse().unwrap();
        if mine == theirs {
            break;
        }
        assert!(Instant::now() < deadline, "offsets {mine} vs {theirs}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // promoted: keeps the data, writable again
    assert_eq!(text(&mut r, &["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    assert_eq!(info_field(&mut r, "role").as_deref(), Some("master"));
    assert_eq!(text(&mut r, &["GET", "t1"]), "$1\r\na\r\n");
    assert_eq!(text(&mut r, &["SET", "x", "1"]), "+OK\r\n");
    assert_eq!(text(m, &["SET", "after", "1"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(text(&mut r, &["GET", "after"]), "$-1\r\n");
}

/// A real redis-server 7.0.15 master started with `args` (skipped when it is absent).
fn follow_real_master(name: &str, args: &[&str]) {
    let dir = std::env::temp_dir().join(format!("ferrodis-replica-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, args) else {
        return;
    };
    let replica = Server::start(&[]);
    let mut m = real.raw();
    follow(&mut m, real.port, &replica);
    drop(real);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn follows_a_real_redis_master() {
    // a short diskless delay keeps the test fast; the payload then comes in the $EOF: form
    follow_real_master("real", &["--repl-diskless-sync-delay", "0"]);
}

#[test]
fn follows_a_real_redis_master_disk_payload() {
    follow_real_master("real-disk", &["--repl-diskless-sync", "no"]);
}

#[test]
fn follows_a_ferrodis_master() {
    let master = Server::start(&[]);
    let replica = Server::start(&[]);
    let mut m = master.raw();
    follow(&mut m, master.port, &replica);
    // the master counted the full synchronization it served; as a Redis replica, the
    // fresh replica first asked to continue its own history (its replication id, offset
    // 1), which the master refused (sync_partial_err)
    let stats = text(&mut m, &["INFO", "stats"]);
    assert!(stats.contains("\r\nsync_full:1\r\n") && stats.contains("\r\nsync_partial_err:1\r\n"), "{stats}");
}

#[test]
fn link_down_retries_and_stale_data() {
    let mut master = Server::start(&[]);
    let replica = Server::start(&["--replica-serve-stale-data", "no"]);
    let mut m = master.raw();
    assert_eq!(text(&mut m, &["SET", "k", "v"]), "+OK\r\n");
    let mut r = replica.raw();
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]), "+OK\r\n");
    wait_link(&mut r, true);
    assert_eq!(text(&mut r, &["GET", "k"]), "$1\r\nv\r\n");
    // the master goes away: the link is down, data commands answer MASTERDOWN, INFO works
    let mport = master.port;
    let _ = master.child.kill();
    let _ = master.child.wait();
    wait_link(&mut r, false);
    assert_eq!(
        text(&mut r, &["GET", "k"]),
        "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    );
    assert!(info_field(&mut r, "master_link_down_since_seconds").is_some());
    assert!(text(&mut r, &["ROLE"]).starts_with("*5\r\n$5\r\nslave\r\n"));
    // serve-stale-data yes: the old data is readable
    assert_eq!(text(&mut r, &["CONFIG", "SET", "replica-serve-stale-data", "yes"]), "+OK\r\n");
    assert_eq!(text(&mut r, &["GET", "k"]), "$1\r\nv\r\n");
    // a new master on the same port: the replica reconnects by itself (retried every second)
    let master2 = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
            .args(["--port", &mport.to_string(), "--bind", "127.0.0.1", "--save", "", "--dir"])
            .arg(&master.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut m2 = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", mport)) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            break common::Raw { s };
        }
        assert!(Instant::now() < deadline, "second master did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    wait_for(&mut m2, &["PING"], "+PONG\r\n");
    assert_eq!(text(&mut m2, &["SET", "k", "new"]), "+OK\r\n");
    wait_link(&mut r, true);
    wait_for(&mut r, &["GET", "k"], "$3\r\nnew\r\n");
    drop(master2);
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn unreachable_master_is_accepted_and_retried() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    assert_eq!(text(&mut r, &["REPLICAOF", "localhsot", "0"]), "+OK\r\n");
    assert_eq!(info_field(&mut r, "role").as_deref(), Some("slave"));
    assert_eq!(info_field(&mut r, "master_link_status").as_deref(), Some("down"));
    assert_eq!(text(&mut r, &["SET", "a", "1"]), "-READONLY You can't write against a read only replica.\r\n");
    assert_eq!(text(&mut r, &["REPLICAOF", "127.0.0.1", "abc"]), "-ERR Invalid master port\r\n");
    assert_eq!(text(&mut r, &["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    assert_eq!(text(&mut r, &["SET", "a", "1"]), "+OK\r\n");
}

/// master -> A -> B: A passes the master's stream on byte for byte, so B has the same data
/// and the same offset; writes made while A synchronizes are not lost or doubled.
#[test]
fn chained_replicas_share_the_masters_stream() {
    let master = Server::start(&[]);
    let a = Server::start(&[]);
    let b = Server::start(&[]);
    let mut m = master.raw();
    for i in 0..200 {
        assert_eq!(text(&mut m, &["RPUSH", "l", &i.to_string()]), format!(":{}\r\n", i + 1));
    }
    let mut ra = a.raw();
    let mut rb = b.raw();
    assert_eq!(text(&mut rb, &["REPLICAOF", "127.0.0.1", &a.port.to_string()]), "+OK\r\n");
    assert_eq!(text(&mut ra, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]), "+OK\r\n");
    // writes keep coming while the links come up
    let writer = {
        let port = master.port;
        std::thread::spawn(move || {
            let mut w = common::Raw::connect(port);
            for i in 0..2000 {
                w.call(&[b"INCR", b"n"]);
                w.call(&[b"SELECT", if i % 2 == 0 { b"1" } else { b"0" }]);
                w.call(&[b"SET", format!("k{i}").as_bytes(), b"v"]);
            }
        })
    };
    wait_link(&mut ra, true);
    wait_link(&mut rb, true);
    writer.join().unwrap();
    assert_eq!(text(&mut m, &["SET", "end", "1"]), "+OK\r\n");
    wait_for(&mut rb, &["GET", "end"], "$1\r\n1\r\n");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let offs: Vec<String> = [&mut m, &mut ra, &mut rb].into_iter().map(|c| info_field(c, "master_repl_offset").unwrap()).collect();
        if offs[0] == offs[1] && offs[1] == offs[2] {
            break;
        }
        assert!(Instant::now() < deadline, "offsets {offs:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    for c in [&mut ra, &mut rb] {
        // INCR ran in db 0 for even i, in db 1 for odd i
        assert_eq!(text(c, &["GET", "n"]), "$4\r\n1000\r\n");
        assert_eq!(text(c, &["LLEN", "l"]), ":200\r\n");
        assert_eq!(text(c, &["DBSIZE"]), ":1003\r\n");
        assert_eq!(text(c, &["SELECT", "1"]), "+OK\r\n");
        assert_eq!(text(c, &["DBSIZE"]), ":1001\r\n");
        assert_eq!(text(c, &["GET", "n"]), "$4\r\n1000\r\n");
    }
    assert_eq!(text(&mut m, &["DEBUG", "DIGEST"]), text(&mut rb, &["DEBUG", "DIGEST"]));
}
