//! RDB persistence through a real server: SAVE/BGSAVE files load back after a restart,
//! BGSAVE is a point-in-time snapshot while writers keep changing the data, and files
//! written by the real redis-server load (when it is installed).
mod common;
use common::{Raw, Server};
use std::path::Path;
use std::time::{Duration, Instant};

fn start_in(dir: &Path, extra: &[&str]) -> Server {
    let d = dir.to_str().unwrap();
    let mut args = vec!["--dir", d, "--dbfilename", "dump.rdb"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// As `start_in`, returning while the dataset may still be loading.
fn start_loading_in(dir: &Path, extra: &[&str]) -> Server {
    let d = dir.to_str().unwrap();
    let mut args = vec!["--dir", d, "--dbfilename", "dump.rdb"];
    args.extend_from_slice(extra);
    Server::start_loading(&args)
}

fn wait_for_file(p: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !p.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn save_then_restart_keeps_values_and_ttls() {
    let dir = common::tmpdir("save");
    {
        let srv = start_in(&dir, &[]);
        let mut c = srv.raw();
        c.roundtrip(&[b"SET", b"int", b"12345"], b"+OK\r\n");
        c.roundtrip(&[b"SET", b"bin", b"a\x00b\xffc"], b"+OK\r\n");
        let long = vec![b'z'; 5000];
        c.roundtrip(&[b"SET", b"long", &long], b"+OK\r\n");
        c.roundtrip(&[b"SET", b"ttl", b"v", b"PX", b"100000"], b"+OK\r\n");
        c.roundtrip(&[b"SELECT", b"5"], b"+OK\r\n");
        c.roundtrip(&[b"SET", b"in5", b"five"], b"+OK\r\n");
        c.roundtrip(&[b"SAVE"], b"+OK\r\n");
    }
    let srv = start_in(&dir, &[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"GET", b"int"], b"$5\r\n12345\r\n");
    c.roundtrip(&[b"GET", b"bin"], b"$5\r\na\x00b\xffc\r\n");
    c.cmd(&[b"GET", b"long"]);
    assert_eq!(c.read_bulk().unwrap(), vec![b'z'; 5000]);
    c.roundtrip(&[b"GET", b"ttl"], b"$1\r\nv\r\n");
    c.roundtrip(&[b"SELECT", b"5"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"in5"], b"$4\r\nfive\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_is_a_point_in_time_snapshot_under_concurrent_writes() {
    let dir = common::tmpdir("bgsave");
    let n = 200_000usize;
    {
        let srv = start_in(&dir, &[]);
        let mut c = srv.raw();
        // load n keys with value "old-i", pipelined
        let mut buf = Vec::new();
        for i in 0..n {
            let k = format!("key:{i}");
            let v = format!("old-{i}");
            buf.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n${}\r\n{}\r\n", k.len(), k, v.len(), v).as_bytes());
        }
        c.send(&buf);
        let _ = c.read_n(5 * n);
        // a writer overwrites, deletes and adds keys while the snapshot runs
        let port = srv.port;
        let writer = std::thread::spawn(move || {
            let mut w = Raw::connect(port);
            let mut buf = Vec::new();
            for i in (0..n).rev() {
                let k = format!("key:{i}");
                if i % 3 == 0 {
                    buf.extend_from_slice(format!("*2\r\n$3\r\nDEL\r\n${}\r\n{}\r\n", k.len(), k).as_bytes());
                } else {
                    buf.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$3\r\nnew\r\n", k.len(), k).as_bytes());
                }
                let nk = format!("fresh:{i}");
                buf.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$1\r\nx\r\n", nk.len(), nk).as_bytes());
            }
            w.send(&buf);
            w.read_n(1);
        });
        std::thread::sleep(Duration::from_millis(5));
        c.roundtrip(&[b"BGSAVE"], b"+Background saving started\r\n");
        writer.join().unwrap();
        wait_for_file(&dir.join("dump.rdb"));
        std::thread::sleep(Duration::from_millis(200));
    }
    // Restart on the file: either the whole old dataset, or at most the writer's effects
    // that came before the snapshot instant; never a mix inside one key, never lost keys.
    let srv = start_in(&dir, &[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"DBSIZE"], b":");
    let size: usize = String::from_utf8(c.read_until_crlf()).unwrap().trim().parse().unwrap();
    assert!(size >= n * 2 / 3, "lost keys: {size}");
    // every key:i is either old-i, or (written before the snapshot) new/deleted
    let mut old = 0;
    for i in (0..n).step_by(997) {
        let k = format!("key:{i}");
        c.cmd(&[b"GET", k.as_bytes()]);
        match c.read_bulk() {
            Some(v) if v == format!("old-{i}").into_bytes() => old += 1,
            Some(v) => assert_eq!(v, b"new", "key {k}"),
            None => assert_eq!(i % 3, 0, "key {k} lost"),
        }
    }
    assert!(old > 0);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn loads_a_dump_written_by_real_redis() {
    let dir = common::tmpdir("interop");
    let Some(redis) = common::RealRedis::start(&dir, &[]) else { return };
    let mut c = redis.raw();
    c.roundtrip(&[b"SET", b"small", b"7"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"neg", b"-99999999999"], b"+OK\r\n");
    let long = vec![b'q'; 3000];
    c.roundtrip(&[b"SET", b"long", &long], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"ttl", b"t", b"EX", b"1000"], b"+OK\r\n");
    c.roundtrip(&[b"SAVE"], b"+OK\r\n");
    drop(redis);
    let srv = start_in(&dir, &[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"GET", b"small"], b"$1\r\n7\r\n");
    c.roundtrip(&[b"GET", b"neg"], b"$12\r\n-99999999999\r\n");
    c.cmd(&[b"GET", b"long"]);
    assert_eq!(c.read_bulk().unwrap(), long);
    c.roundtrip(&[b"GET", b"ttl"], b"$1\r\nt\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

fn info_field(c: &mut Raw, section: &[u8], field: &str) -> Option<String> {
    c.info_field(std::str::from_utf8(section).unwrap(), field)
}

/// Make a dump.rdb of `n` keys in `dir` (written by SAVE, server stopped after).
fn make_big_rdb(dir: &Path, n: usize) -> u64 {
    let srv = start_in(dir, &[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"DEBUG", b"POPULATE", n.to_string().as_bytes(), b"key", b"100"], b"+OK\r\n");
    c.roundtrip(&[b"SAVE"], b"+OK\r\n");
    drop(c);
    drop(srv);
    std::fs::metadata(dir.join("dump.rdb")).unwrap().len()
}

/// While the RDB loads at start-up the server already accepts connections: once the load
/// has read loading-process-events-interval-bytes, commands get -LOADING (INFO and the
/// other `loading`-flagged commands run), INFO shows the progress, and once the load is
/// done everything is there.
#[test]
fn clients_get_loading_errors_while_the_rdb_loads() {
    let dir = common::tmpdir("loading");
    let n = 40_000usize;
    let size = make_big_rdb(&dir, n);
    // key-load-delay (µs per key, Redis's own test knob) makes the load last seconds.
    let srv = start_loading_in(&dir, &["--key-load-delay", "50", "--loading-process-events-interval-bytes", "1024"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"-LOADING Redis is loading the dataset in memory\r\n");
    c.roundtrip(&[b"GET", b"key:1"], b"-LOADING Redis is loading the dataset in memory\r\n");
    c.roundtrip(&[b"SET", b"x", b"1"], b"-LOADING Redis is loading the dataset in memory\r\n");
    assert_eq!(info_field(&mut c, b"persistence", "loading").as_deref(), Some("1"));
    assert_eq!(info_field(&mut c, b"persistence", "loading_total_bytes"), Some(size.to_string()));
    let loaded: u64 = info_field(&mut c, b"persistence", "loading_loaded_bytes").unwrap().parse().unwrap();
    assert!(loaded <= size);
    assert!(info_field(&mut c, b"persistence", "loading_eta_seconds").is_some());
    // a second client connects and is answered during the load too
    let mut c2 = srv.raw();
    c2.roundtrip(&[b"CLIENT", b"SETNAME", b"during-load"], b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = c.call(&[b"PING"]);
        if r == b"+PONG\r\n" {
            break;
        }
        assert_eq!(r, b"-LOADING Redis is loading the dataset in memory\r\n".to_vec());
        assert!(Instant::now() < deadline, "load never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(info_field(&mut c, b"persistence", "loading").as_deref(), Some("0"));
    assert!(info_field(&mut c, b"persistence", "loading_total_bytes").is_none());
    assert_eq!(info_field(&mut c, b"persistence", "rdb_last_load_keys_loaded"), Some(n.to_string()));
    c.roundtrip(&[b"DBSIZE"], format!(":{n}\r\n").as_bytes());
    let v = c.call(&[b"GET", b"key:7"]);
    assert!(v.starts_with(b"$100\r\nvalue:7"), "{}", String::from_utf8_lossy(&v));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM during the load exits at once and never saves the half-loaded dataset over the
/// file it is loading, even with save points configured.
#[test]
fn sigterm_while_loading_leaves_the_rdb_alone() {
    let dir = common::tmpdir("loading-term");
    let size = make_big_rdb(&dir, 20_000);
    let before = std::fs::read(dir.join("dump.rdb")).unwrap();
    let mut srv = start_loading_in(&dir, &["--key-load-delay", "200", "--save", "1 1", "--loading-process-events-interval-bytes", "1024"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"-LOADING Redis is loading the dataset in memory\r\n");
    unsafe { libc::kill(srv.pid() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.is_alive() {
        assert!(Instant::now() < deadline, "server did not exit on SIGTERM while loading");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(std::fs::metadata(dir.join("dump.rdb")).unwrap().len(), size);
    assert!(std::fs::read(dir.join("dump.rdb")).unwrap() == before, "dump.rdb was rewritten");
    let _ = std::fs::remove_dir_all(&dir);
}

/// SYNC after `REPLCONF rdb-filter-only functions` (redis-cli --functions-rdb) sends an RDB
/// with the function libraries and no keys; an unknown filter is refused.
#[test]
fn sync_payload_honours_rdb_filter_only_functions() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"DEBUG", b"POPULATE", b"100"], b"+OK\r\n");
    c.roundtrip(
        &[b"FUNCTION", b"LOAD", b"#!lua name=lib1\nredis.register_function('func1', function() return 123 end)"],
        b"$4\r\nlib1\r\n",
    );
    c.roundtrip(
        &[b"REPLCONF", b"rdb-filter-only", b"functions bla"],
        b"-ERR Unsupported rdb-filter-only option: bla\r\n",
    );
    let mut r = srv.raw();
    r.roundtrip(&[b"REPLCONF", b"rdb-filter-only", b"functions"], b"+OK\r\n");
    r.cmd(&[b"SYNC"]);
    let head = r.read_until_crlf();
    let len: usize = String::from_utf8_lossy(&head[1..]).trim().parse().unwrap();
    let payload = r.read_n(len);
    assert!(payload.starts_with(b"REDIS"));
    let dir = common::tmpdir("filter");
    std::fs::write(dir.join("dump.rdb"), &payload).unwrap();
    let loaded = start_in(&dir, &[]);
    let mut l = loaded.raw();
    l.roundtrip(&[b"DBSIZE"], b":0\r\n");
    l.roundtrip(&[b"FCALL", b"func1", b"0"], b":123\r\n");
    // without a filter the payload has the keys too
    let mut full = srv.raw();
    full.cmd(&[b"SYNC"]);
    let head = full.read_until_crlf();
    let len: usize = String::from_utf8_lossy(&head[1..]).trim().parse().unwrap();
    let payload = full.read_n(len);
    drop(l);
    drop(loaded);
    std::fs::write(dir.join("dump.rdb"), &payload).unwrap();
    let loaded = start_in(&dir, &[]);
    let mut l = loaded.raw();
    l.roundtrip(&[b"DBSIZE"], b":100\r\n");
    l.roundtrip(&[b"FCALL", b"func1", b"0"], b":123\r\n");
    drop(loaded);
    let _ = std::fs::remove_dir_all(&dir);
}

fn persist_field(c: &mut common::Raw, field: &str) -> String {
    c.info_field("persistence", field).unwrap_or_else(|| panic!("no {field} in INFO persistence"))
}

#[test]
fn info_persistence_reports_background_work() {
    let dir = common::tmpdir("info");
    let srv = start_in(&dir, &["--save", ""]);
    let mut c = srv.raw();
    assert_eq!(persist_field(&mut c, "aof_enabled"), "0");
    assert_eq!(persist_field(&mut c, "rdb_saves"), "0");
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    assert_eq!(persist_field(&mut c, "rdb_changes_since_last_save"), "1");
    c.roundtrip(&[b"BGSAVE"], b"+Background saving started\r\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    while persist_field(&mut c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(persist_field(&mut c, "rdb_saves"), "1");
    assert_eq!(persist_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(persist_field(&mut c, "rdb_changes_since_last_save"), "0");
    // Turning the AOF on starts a rewrite, reported until it is done (what
    // `waitForBgrewriteaof` in Redis's suite polls); a BGREWRITEAOF after it starts anew.
    c.roundtrip(&[b"CONFIG", b"SET", b"appendonly", b"yes"], b"+OK\r\n");
    assert_eq!(persist_field(&mut c, "aof_enabled"), "1");
    while persist_field(&mut c, "aof_rewrite_in_progress") != "0" {
        assert!(Instant::now() < deadline, "the AOF rewrite never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(persist_field(&mut c, "aof_rewrites"), "1");
    assert_eq!(persist_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_counts_the_bytes_it_copies_for_writers() {
    let dir = common::tmpdir("cow");
    {
        let srv = start_in(&dir, &["--save", ""]);
        let mut c = srv.raw();
        let val = vec![b'A'; 500];
        for i in 0..2000 {
            c.roundtrip(&[b"SET", format!("key{i}").as_bytes(), &val], b"+OK\r\n");
        }
        // 1 ms per key: the walk takes ~2 s, so it is still at the start below
        c.roundtrip(&[b"CONFIG", b"SET", b"rdb-key-save-delay", b"1000"], b"+OK\r\n");
        c.roundtrip(&[b"BGSAVE"], b"+Background saving started\r\n");
        for i in 0..16 {
            c.roundtrip(&[b"SETRANGE", format!("key{i}").as_bytes(), b"0", &[b'B'; 500]], b":500\r\n");
        }
        // each overwritten 500-byte value not yet written is copied as it was (the
        // counterpart of a fork child's copy-on-write); a few may already be written
        let cow: u64 = persist_field(&mut c, "current_cow_size").parse().unwrap();
        assert!(cow >= 10 * 500, "current_cow_size {cow}");
        let processed: u64 = persist_field(&mut c, "current_save_keys_processed").parse().unwrap();
        assert!(processed < 2000, "{processed}");
        assert!(persist_field(&mut c, "current_fork_perc").parse::<f64>().unwrap() > 0.0);
        c.roundtrip(&[b"CONFIG", b"SET", b"rdb-key-save-delay", b"0"], b"+OK\r\n");
        let deadline = Instant::now() + Duration::from_secs(30);
        while persist_field(&mut c, "rdb_bgsave_in_progress") != "0" {
            assert!(Instant::now() < deadline, "BGSAVE never finished");
            std::thread::sleep(Duration::from_millis(10));
        }
        let last: u64 = persist_field(&mut c, "rdb_last_cow_size").parse().unwrap();
        assert!(last >= cow, "rdb_last_cow_size {last} < {cow}");
        assert_eq!(persist_field(&mut c, "current_cow_size"), "0");
    }
    // the copies are in the file with their snapshot-time values
    let srv = start_in(&dir, &[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"DBSIZE"], b":2000\r\n");
    for i in 0..16 {
        c.cmd(&[b"GET", format!("key{i}").as_bytes()]);
        assert_eq!(c.read_bulk().unwrap(), vec![b'A'; 500], "key{i}");
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_refuses_to_exit_while_the_first_aof_is_written() {
    let dir = common::tmpdir("initial-aof");
    let mut srv = start_in(&dir, &["--save", "", "--logfile", "log.txt"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    // the rewrite that turns the AOF on sleeps 60 s on its one key
    c.roundtrip(&[b"CONFIG", b"SET", b"rdb-key-save-delay", b"60000000"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"appendonly", b"yes"], b"+OK\r\n");
    c.roundtrip(&[b"SHUTDOWN", b"NOSAVE"], b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains("Writing initial AOF, can't exit."), "{log}");
    assert!(log.contains("Errors trying to shut down the server. Check the logs for more information."), "{log}");
    // FORCE exits anyway
    c.cmd(&[b"SHUTDOWN", b"NOSAVE", b"FORCE"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.is_alive() {
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains("Writing initial AOF. Exit anyway."), "{log}");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
