//! RDB persistence through a real server: SAVE/BGSAVE files load back after a restart,
//! BGSAVE is a point-in-time snapshot while writers keep changing the data, and files
//! written by the real redis-server load (when it is installed).
mod common;
use common::{free_port, Raw, Server};
use std::path::Path;
use std::time::{Duration, Instant};

fn start_in(dir: &Path, extra: &[&str]) -> Server {
    let d = dir.to_str().unwrap();
    let mut args = vec!["--dir", d, "--dbfilename", "dump.rdb"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn wait_for_file(p: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !p.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ferrodis-persist-{}-{}-{}", name, std::process::id(), free_port()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn save_then_restart_keeps_values_and_ttls() {
    let dir = tmpdir("save");
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
    let dir = tmpdir("bgsave");
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
    let dir = tmpdir("interop");
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

fn info_field(c: &mut common::Raw, field: &str) -> String {
    let info = c.bulk_text(&[b"INFO", b"persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {field} in INFO persistence: {info}"))
}

#[test]
fn info_persistence_reports_background_work() {
    let dir = tmpdir("info");
    let srv = start_in(&dir, &["--save", ""]);
    let mut c = srv.raw();
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert_eq!(info_field(&mut c, "rdb_saves"), "0");
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "1");
    c.roundtrip(&[b"BGSAVE"], b"+Background saving started\r\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(info_field(&mut c, "rdb_saves"), "1");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    // Turning the AOF on starts a rewrite, reported until it is done (what
    // `waitForBgrewriteaof` in Redis's suite polls); a BGREWRITEAOF after it starts anew.
    c.roundtrip(&[b"CONFIG", b"SET", b"appendonly", b"yes"], b"+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    while info_field(&mut c, "aof_rewrite_in_progress") != "0" {
        assert!(Instant::now() < deadline, "the AOF rewrite never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
