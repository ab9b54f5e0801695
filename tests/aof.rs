//! The append-only file through a real server: acknowledged writes survive SIGKILL with
//! `appendfsync always`, a rewrite keeps the data, and the directory layout interoperates
//! with the real redis-server (when installed).
mod common;
use common::{free_port, Raw, Server};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn start_aof(dir: &Path, fsync: &str) -> Server {
    Server::start(&["--dir", dir.to_str().unwrap(), "--appendonly", "yes", "--appendfsync", fsync])
}

fn get_int(c: &mut Raw, key: &[u8]) -> i64 {
    c.cmd(&[b"GET", key]);
    c.read_bulk().map(|v| String::from_utf8(v).unwrap().parse().unwrap()).unwrap_or(0)
}

#[test]
fn acknowledged_incrs_survive_sigkill_with_fsync_always() {
    let dir = common::tmpdir("crash");
    let mut acked_total = 0i64;
    for round in 0..5u64 {
        let mut srv = start_aof(&dir, "always");
        let port = srv.port;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let s2 = stop.clone();
        let client = std::thread::spawn(move || {
            let mut c = Raw::connect(port);
            let mut acked = 0i64;
            loop {
                c.cmd(&[b"INCR", b"counter"]);
                let line = c.read_until_crlf();
                if !line.starts_with(b":") {
                    break; // connection gone
                }
                acked = String::from_utf8_lossy(&line[1..line.len() - 2]).parse().unwrap();
                s2.store(acked, std::sync::atomic::Ordering::SeqCst);
            }
            acked
        });
        // kill at a pseudo-random moment
        std::thread::sleep(Duration::from_millis(50 + (round * 37) % 150));
        let _ = srv.child.kill();
        let _ = srv.child.wait();
        let acked = client.join().unwrap().max(stop.load(std::sync::atomic::Ordering::SeqCst));
        assert!(acked > acked_total, "round {round}: no progress");
        drop(srv);
        let srv = start_aof(&dir, "always");
        let mut c = srv.raw();
        let v = get_int(&mut c, b"counter");
        assert!(v >= acked, "round {round}: counter {v} below acknowledged {acked}");
        acked_total = v;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rewrite_then_restart_keeps_everything() {
    let dir = common::tmpdir("rewrite");
    {
        let srv = start_aof(&dir, "everysec");
        let mut c = srv.raw();
        for i in 0..1000 {
            let k = format!("k{i}");
            c.roundtrip(&[b"SET", k.as_bytes(), b"v1"], b"+OK\r\n");
        }
        c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
        for i in 0..1000 {
            let k = format!("k{i}");
            c.roundtrip(&[b"SET", k.as_bytes(), b"v2"], b"+OK\r\n");
        }
        c.roundtrip(&[b"SET", b"after", b"x"], b"+OK\r\n");
        // wait for the rewrite to finish: the manifest names seq 2 base
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap_or_default();
            if m.contains("appendonly.aof.2.base.rdb") {
                break;
            }
            assert!(Instant::now() < deadline, "rewrite did not finish: {m}");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(1200)); // everysec fsync
    }
    let srv = start_aof(&dir, "everysec");
    let mut c = srv.raw();
    c.roundtrip(&[b"GET", b"k0"], b"$2\r\nv2\r\n");
    c.roundtrip(&[b"GET", b"k999"], b"$2\r\nv2\r\n");
    c.roundtrip(&[b"GET", b"after"], b"$1\r\nx\r\n");
    c.roundtrip(&[b"DBSIZE"], b":1001\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn real_redis_loads_our_aof_directory() {
    let dir = common::tmpdir("interop");
    {
        let srv = start_aof(&dir, "always");
        let mut c = srv.raw();
        c.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n");
        c.roundtrip(&[b"INCR", b"a"], b":2\r\n");
        c.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n");
        c.roundtrip(&[b"SET", b"b", b"hello"], b"+OK\r\n");
    }
    let Some(redis) = common::RealRedis::start(&dir, &["--appendonly", "yes"]) else { return };
    let mut c = redis.raw();
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n2\r\n");
    c.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"b"], b"$5\r\nhello\r\n");
    // and back: Redis appends to the directory; we load what it wrote
    c.roundtrip(&[b"SET", b"fromredis", b"yes"], b"+OK\r\n");
    c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    std::thread::sleep(Duration::from_millis(500));
    c.roundtrip(&[b"SET", b"afterrw", b"1"], b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(1200));
    drop(redis);
    let srv = start_aof(&dir, "everysec");
    let mut c = srv.raw();
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n2\r\n");
    c.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"fromredis"], b"$3\r\nyes\r\n");
    c.roundtrip(&[b"GET", b"afterrw"], b"$1\r\n1\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

fn resp(args: &[&str]) -> String {
    let mut s = format!("*{}\r\n", args.len());
    for a in args {
        s.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s
}

/// An AOF directory in Redis's layout with one incr file holding `body`.
fn aof_dir_with(name: &str, body: &str) -> PathBuf {
    let dir = common::tmpdir(name);
    let ad = dir.join("appendonlydir");
    std::fs::create_dir_all(&ad).unwrap();
    std::fs::write(ad.join("appendonly.aof.1.incr.aof"), body).unwrap();
    std::fs::write(ad.join("appendonly.aof.manifest"), "file appendonly.aof.1.incr.aof seq 1 type i\n").unwrap();
    dir
}

/// While an AOF loads nothing expires (as Redis): a key given a past deadline and then
/// written to keeps both writes, and is gone once the load is done. `#TS:` annotation
/// lines are skipped.
#[test]
fn aof_replay_does_not_expire_keys_while_loading() {
    let mut body = String::from("#TS:1628217470\r\n");
    body += &resp(&["rpush", "list", "foo"]);
    body += &resp(&["pexpireat", "list", "1000"]);
    body += "#TS:1628217471\r\n";
    body += &resp(&["rpush", "list", "bar"]);
    body += &resp(&["set", "other", "v"]);
    let dir = aof_dir_with("noexpire", &body);
    let srv = start_aof(&dir, "everysec");
    let mut c = srv.raw();
    c.roundtrip(&[b"LLEN", b"list"], b":0\r\n");
    c.roundtrip(&[b"EXISTS", b"list"], b":0\r\n");
    c.roundtrip(&[b"GET", b"other"], b"$1\r\nv\r\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A manifest error stops the start with Redis's message.
#[test]
fn bad_manifest_stops_the_server_with_redis_message() {
    let dir = aof_dir_with("badmanifest", &resp(&["set", "k", "v"]));
    let ad = dir.join("appendonlydir");
    for (manifest, msg) in [
        ("file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 1 type i\n", "Found a non-monotonic sequence number"),
        ("file appendonly.aof.1.incr.aof seq 1 type i\n\n", "Invalid AOF manifest file format"),
        ("file appendonly.aof.1.incr.aof seq 1\n", "Invalid AOF manifest file format"),
        ("file appendonly.aof.1.incr.aof seq 1 type i", "The AOF manifest file contains too long line"),
        ("file appendonly.aof.1.incr.aof seq 1 type x\n", "Unknown AOF file type"),
    ] {
        std::fs::write(ad.join("appendonly.aof.manifest"), manifest).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
            .args(["--port", &free_port().to_string(), "--save", "", "--appendonly", "yes", "--dir"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(log.contains(msg), "{manifest:?}: expected {msg:?} in\n{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The manifest's base file name.
fn manifest_base(dir: &Path) -> String {
    let m = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let line = m.lines().find(|l| l.ends_with("type b")).unwrap_or_else(|| panic!("no base in {m:?}"));
    line.split(' ').nth(1).unwrap().to_string()
}

/// One key of every type (stream with a consumer group, a pending entry and a consumer
/// without any; an empty stream), a TTL, a function library and a second db.
fn write_every_type(c: &mut Raw) {
    for cmd in [
        "SET s hello",
        "RPUSH l a b 1 2",
        "SADD st x y 3",
        "SADD ints 1 2 3",
        "ZADD z 1.5 a 2 b inf c -0.1 d",
        "HSET h f v g 1",
        "SET e v PX 100000",
        "XADD x 1-1 a 1 b 2",
        "XADD x 2-1 a 1",
        "XGROUP CREATE x g 0",
        "XREADGROUP GROUP g c1 COUNT 1 STREAMS x >",
        "XGROUP CREATECONSUMER x g c2",
        "XADD y MAXLEN 0 5-5 q q",
        "SELECT 2",
        "SET other 1",
        "SELECT 0",
    ] {
        let args: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
        let r = c.call(&args);
        assert!(!r.starts_with(b"-"), "{cmd}: {}", String::from_utf8_lossy(&r));
    }
    let lib = b"#!lua name=mylib\nredis.register_function('f1', function() return 1 end)";
    c.roundtrip(&[b"FUNCTION", b"LOAD", lib], b"$5\r\nmylib\r\n");
    let big: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"RPUSH", b"biglist"];
    args.extend(big.iter().map(|m| m.as_bytes()));
    c.call(&args);
}

/// `aof-use-rdb-preamble no`: the base is written as commands (`<name>.<seq>.base.aof`) at
/// start-up and by BGREWRITEAOF, loads back (DEBUG LOADAOF, restart) to the same digest,
/// and is loaded by the real redis-server 7.0.15; the base Redis writes that way loads
/// here to the same digest.
#[test]
fn aof_format_base_roundtrip_and_interop() {
    let dir = common::tmpdir("aofbase");
    let args = ["--dir", dir.to_str().unwrap(), "--appendonly", "yes", "--aof-use-rdb-preamble", "no"];
    let digest;
    {
        let srv = Server::start(&args);
        let mut c = srv.raw();
        assert_eq!(manifest_base(&dir), "appendonly.aof.1.base.aof");
        write_every_type(&mut c);
        c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
        c.wait_aof_rewrite(30);
        assert_eq!(manifest_base(&dir), "appendonly.aof.2.base.aof");
        let base = std::fs::read(dir.join("appendonlydir/appendonly.aof.2.base.aof")).unwrap();
        let text = String::from_utf8_lossy(&base);
        assert!(text.starts_with("*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"), "{text}");
        assert!(text.contains("*3\r\n$9\r\nPEXPIREAT\r\n$1\r\ne\r\n"), "{text}");
        assert!(text.contains("$6\r\nXCLAIM\r\n$1\r\nx\r\n$1\r\ng\r\n$2\r\nc1\r\n$1\r\n0\r\n$3\r\n1-1\r\n$4\r\nTIME\r\n"), "{text}");
        // lists go in batches of 64 items
        assert!(text.contains("*66\r\n$5\r\nRPUSH\r\n$7\r\nbiglist\r\n"), "{text}");
        digest = c.call(&[b"DEBUG", b"DIGEST"]);
        c.roundtrip(&[b"DEBUG", b"LOADAOF"], b"+OK\r\n");
        assert_eq!(c.call(&[b"DEBUG", b"DIGEST"]), digest);
    }
    {
        let srv = Server::start(&args);
        let mut c = srv.raw();
        assert_eq!(c.call(&[b"DEBUG", b"DIGEST"]), digest);
        c.roundtrip(&[b"FCALL", b"f1", b"0"], b":1\r\n");
        c.roundtrip(&[b"XPENDING", b"x", b"g"], b"*4\r\n:1\r\n$3\r\n1-1\r\n$3\r\n1-1\r\n*1\r\n*2\r\n$2\r\nc1\r\n$1\r\n1\r\n");
    }
    let Some(redis) = common::RealRedis::start(&dir, &["--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--enable-debug-command", "yes"])
    else {
        return;
    };
    let mut c = redis.raw();
    assert_eq!(c.call(&[b"DEBUG", b"DIGEST"]), digest, "real redis loaded another dataset");
    c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    c.wait_aof_rewrite(30);
    drop(c);
    drop(redis);
    assert_eq!(manifest_base(&dir), "appendonly.aof.3.base.aof");
    let srv = Server::start(&args);
    let mut c = srv.raw();
    assert_eq!(c.call(&[b"DEBUG", b"DIGEST"]), digest, "the base written by real redis loaded differently");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// aof-timestamp-enabled: the incr file gets `#TS:<unix time>` before the first write of
/// a second, an AOF-format base starts with one; such files load (here and in the real
/// redis-server).
#[test]
fn timestamp_annotations_in_incr_and_base() {
    let dir = common::tmpdir("ts");
    let args = ["--dir", dir.to_str().unwrap(), "--appendonly", "yes"];
    {
        let srv = Server::start(&args);
        let mut c = srv.raw();
        c.roundtrip(&[b"CONFIG", b"SET", b"aof-timestamp-enabled", b"yes"], b"+OK\r\n");
        c.roundtrip(&[b"CONFIG", b"SET", b"aof-use-rdb-preamble", b"no"], b"+OK\r\n");
        let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        c.roundtrip(&[b"SET", b"foo", b"bar"], b"+OK\r\n");
        c.roundtrip(&[b"SET", b"foo2", b"bar2"], b"+OK\r\n");
        let incr = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
        let ts: u64 = incr.strip_prefix("#TS:").and_then(|r| r.split("\r\n").next()).unwrap_or_else(|| panic!("{incr:?}")).parse().unwrap();
        assert!(ts >= before && ts <= before + 2, "{ts} vs {before}");
        assert!(incr.contains("*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"), "{incr:?}");
        c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
        c.wait_aof_rewrite(30);
        let base = std::fs::read_to_string(dir.join("appendonlydir").join(manifest_base(&dir))).unwrap();
        assert!(base.starts_with("#TS:"), "{base:?}");
        c.roundtrip(&[b"SET", b"after", b"rw"], b"+OK\r\n");
        c.roundtrip(&[b"CONFIG", b"SET", b"aof-timestamp-enabled", b"no"], b"+OK\r\n");
    }
    for real in [false, true] {
        let (mut c, _keep): (Raw, Box<dyn std::any::Any>) = if real {
            let Some(r) = common::RealRedis::start(&dir, &["--appendonly", "yes"]) else { break };
            (r.raw(), Box::new(r))
        } else {
            let s = Server::start(&args);
            (s.raw(), Box::new(s))
        };
        c.roundtrip(&[b"MGET", b"foo", b"foo2", b"after"], b"*3\r\n$3\r\nbar\r\n$4\r\nbar2\r\n$2\r\nrw\r\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The manifest and the files of the AOF directory, one string.
fn aof_dir_state(dir: &Path, step: &str) -> String {
    let ad = dir.join("appendonlydir");
    let m = std::fs::read_to_string(ad.join("appendonly.aof.manifest")).unwrap_or_default();
    let mut files: Vec<String> = std::fs::read_dir(&ad)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    files.retain(|f| !f.ends_with(".manifest"));
    files.sort();
    format!("{step}:\n{m}files: {files:?}")
}

fn wait_background(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = c.bulk_text(&[b"INFO", b"persistence"]);
        if !["aof_rewrite_in_progress:1", "aof_rewrite_scheduled:1", "rdb_bgsave_in_progress:1"].iter().any(|f| info.contains(f)) {
            return;
        }
        assert!(Instant::now() < deadline, "background job did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What integration/aof-multi-part's second part walks through (minus the killed rewrite
/// children): turning the AOF on, rewrites with it on and off, DEBUG LOADAOF re-reading
/// the sequence numbers, history files kept with aof-disable-auto-gc and deleted when it
/// is turned off, turning the AOF on during a BGSAVE (scheduled, nothing written until
/// the rewrite), turning it off during a rewrite (stopped, the extra incr file stays).
fn rewrite_scenario(c: &mut Raw, dir: &Path) -> Vec<String> {
    let mut states = Vec::new();
    let run = |c: &mut Raw, cmd: &str| {
        let args: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
        let r = c.call(&args);
        assert!(!r.starts_with(b"-"), "{cmd}: {}", String::from_utf8_lossy(&r));
        r
    };
    run(c, "SET a 1");
    run(c, "CONFIG SET appendonly yes");
    wait_background(c);
    states.push(aof_dir_state(dir, "enabled"));
    run(c, "BGREWRITEAOF");
    wait_background(c);
    states.push(aof_dir_state(dir, "rewrite"));
    run(c, "CONFIG SET appendonly no");
    run(c, "BGREWRITEAOF");
    wait_background(c);
    states.push(aof_dir_state(dir, "rewrite with the AOF off"));
    run(c, "DEBUG LOADAOF");
    run(c, "CONFIG SET appendonly yes");
    wait_background(c);
    states.push(aof_dir_state(dir, "DEBUG LOADAOF, AOF on"));
    run(c, "CONFIG SET aof-disable-auto-gc yes");
    for _ in 0..2 {
        run(c, "BGREWRITEAOF");
        wait_background(c);
    }
    states.push(aof_dir_state(dir, "two rewrites without gc"));
    run(c, "CONFIG SET aof-disable-auto-gc no");
    states.push(aof_dir_state(dir, "gc on"));
    run(c, "DEBUG LOADAOF");
    run(c, "BGREWRITEAOF");
    wait_background(c);
    states.push(aof_dir_state(dir, "DEBUG LOADAOF, rewrite"));
    // AOF on during a BGSAVE: scheduled; the writes meanwhile reach no AOF
    run(c, "CONFIG SET appendonly no");
    run(c, "CONFIG SET rdb-key-save-delay 500000");
    run(c, "SET k1 v1");
    run(c, "BGSAVE");
    run(c, "CONFIG SET appendonly yes");
    assert_eq!(c.info_field("persistence", "aof_rewrite_scheduled").as_deref(), Some("1"));
    assert_eq!(c.info_field("persistence", "aof_enabled").as_deref(), Some("1"));
    states.push(aof_dir_state(dir, "AOF on during BGSAVE"));
    run(c, "SET k2 v2");
    run(c, "DEBUG LOADAOF");
    c.roundtrip(&[b"EXISTS", b"k1", b"k2"], b":0\r\n");
    run(c, "CONFIG SET rdb-key-save-delay 0");
    wait_background(c);
    states.push(aof_dir_state(dir, "after the BGSAVE"));
    run(c, "SET k3 v3");
    run(c, "DEBUG LOADAOF");
    c.roundtrip(&[b"GET", b"k3"], b"$2\r\nv3\r\n");
    // AOF off during a rewrite stops it
    run(c, "CONFIG SET rdb-key-save-delay 1000000");
    run(c, "BGREWRITEAOF");
    run(c, "CONFIG SET appendonly no");
    wait_background(c);
    run(c, "CONFIG SET rdb-key-save-delay 0");
    assert_eq!(c.info_field("persistence", "aof_last_bgrewrite_status").as_deref(), Some("ok"));
    states.push(aof_dir_state(dir, "AOF off during a rewrite"));
    states
}

#[test]
fn rewrite_sequence_numbers_and_history_as_real_redis() {
    let srv = Server::start(&["--appendonly", "no"]);
    let ours = rewrite_scenario(&mut srv.raw(), &srv.dir.clone());
    assert!(ours[0].contains("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"), "{}", ours[0]);
    assert!(ours[2].ends_with("file appendonly.aof.3.base.rdb seq 3 type b\nfiles: [\"appendonly.aof.3.base.rdb\"]"), "{}", ours[2]);
    assert!(ours[4].contains("file appendonly.aof.2.incr.aof seq 2 type h\nfile appendonly.aof.5.base.rdb seq 5 type h\n"), "{}", ours[4]);
    drop(srv);
    let dir = common::tmpdir("seq-real");
    let Some(redis) = common::RealRedis::start(&dir, &["--appendonly", "no", "--enable-debug-command", "yes"]) else { return };
    let real = rewrite_scenario(&mut redis.raw(), &dir);
    drop(redis);
    for (o, r) in ours.iter().zip(real.iter()) {
        assert_eq!(o, r);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// SHUTDOWN while the rewrite that turns the AOF on runs is refused (the data would only
/// be in an incr file no manifest names yet), as Redis's "Writing initial AOF, can't
/// exit."; any other running rewrite is stopped and leaves no temp file.
#[test]
fn shutdown_waits_for_the_initial_aof_and_stops_other_rewrites() {
    let mut srv = Server::start(&["--appendonly", "no"]);
    let dir = srv.dir.clone();
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"b", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"rdb-key-save-delay", b"1000000"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"appendonly", b"yes"], b"+OK\r\n");
    c.roundtrip(&[b"SHUTDOWN"], b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    c.roundtrip(&[b"SHUTDOWN", b"NOSAVE"], b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"rdb-key-save-delay", b"0"], b"+OK\r\n");
    c.wait_aof_rewrite(30);
    c.roundtrip(&[b"CONFIG", b"SET", b"rdb-key-save-delay", b"1000000"], b"+OK\r\n");
    c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    c.cmd(&[b"SHUTDOWN"]);
    assert!(c.closed(), "SHUTDOWN did not close the connection");
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.is_alive() {
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut files: Vec<String> =
        std::fs::read_dir(dir.join("appendonlydir")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]);
    let srv = Server::start(&["--dir", dir.to_str().unwrap(), "--appendonly", "yes"]);
    srv.raw().roundtrip(&[b"MGET", b"a", b"b"], b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

fn persistence_fields(c: &mut Raw, names: &[&str]) -> String {
    names.iter().map(|n| format!("{n}:{} ", c.info_field("persistence", n).unwrap_or_default())).collect()
}

/// Failed rewrites (the new base's name is taken by a directory): each leaves its incr
/// file in the manifest and counts in aof_rewrites_consecutive_failures; from 3 on the
/// growth rule does not start rewrites (Redis's limit: 1 minute, then longer), a
/// BGREWRITEAOF by hand still runs and a success resets the count.
fn failing_rewrites(c: &mut Raw, dir: &Path) -> Vec<String> {
    let ad = dir.join("appendonlydir");
    std::fs::create_dir(ad.join("appendonly.aof.2.base.rdb")).unwrap();
    let fields = ["aof_last_bgrewrite_status", "aof_rewrites", "aof_rewrites_consecutive_failures", "aof_rewrite_in_progress"];
    let mut out = Vec::new();
    for i in 0..3 {
        c.roundtrip(&[b"SET", format!("k{i}").as_bytes(), b"v"], b"+OK\r\n");
        c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
        c.wait_aof_rewrite(30);
    }
    out.push(persistence_fields(c, &fields));
    out.push(aof_dir_state(dir, "after 3 failures"));
    c.roundtrip(&[b"CONFIG", b"SET", b"auto-aof-rewrite-percentage", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"auto-aof-rewrite-min-size", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"big", &[b'x'; 3000]], b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(1500));
    out.push(persistence_fields(c, &fields));
    c.roundtrip(&[b"CONFIG", b"SET", b"auto-aof-rewrite-percentage", b"0"], b"+OK\r\n");
    std::fs::remove_dir(ad.join("appendonly.aof.2.base.rdb")).unwrap();
    c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    c.wait_aof_rewrite(30);
    out.push(persistence_fields(c, &fields));
    out.push(aof_dir_state(dir, "after a success"));
    out
}

#[test]
fn failed_rewrites_are_counted_and_limited_as_real_redis() {
    let srv = Server::start(&["--appendonly", "yes"]);
    let ours = failing_rewrites(&mut srv.raw(), &srv.dir.clone());
    assert!(ours[0].contains("aof_last_bgrewrite_status:err aof_rewrites:3 aof_rewrites_consecutive_failures:3"), "{}", ours[0]);
    assert!(ours[2].contains("aof_rewrites:3 "), "the limit did not hold the growth rule back: {}", ours[2]);
    assert!(ours[3].contains("aof_last_bgrewrite_status:ok aof_rewrites:4 aof_rewrites_consecutive_failures:0"), "{}", ours[3]);
    drop(srv);
    let dir = common::tmpdir("fail-real");
    let Some(redis) = common::RealRedis::start(&dir, &["--appendonly", "yes"]) else { return };
    let real = failing_rewrites(&mut redis.raw(), &dir);
    drop(redis);
    assert_eq!(ours, real);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The rewrite that turns the AOF on fails (its base name is taken by a directory): the
/// AOF stays waiting for it (aof_enabled:1, nothing written, the temp incr file removed),
/// the cron retries until the failure limit; a BGREWRITEAOF by hand is that first rewrite
/// and then every write is in the AOF, numbered from 1.
fn failing_enable(c: &mut Raw, dir: &Path) -> Vec<String> {
    let ad = dir.join("appendonlydir");
    std::fs::create_dir_all(ad.join("appendonly.aof.1.base.rdb")).unwrap();
    let fields = ["aof_enabled", "aof_rewrite_scheduled", "aof_last_bgrewrite_status", "aof_rewrites_consecutive_failures"];
    let mut out = Vec::new();
    c.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"appendonly", b"yes"], b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.info_field("persistence", "aof_rewrites_consecutive_failures").as_deref() != Some("3") {
        assert!(Instant::now() < deadline, "the rewrite was not retried up to the limit");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_rewrite_running_done(c);
    c.roundtrip(&[b"SET", b"b", b"2"], b"+OK\r\n");
    out.push(persistence_fields(c, &fields));
    out.push(aof_dir_state(dir, "failed"));
    std::fs::remove_dir(ad.join("appendonly.aof.1.base.rdb")).unwrap();
    c.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    c.wait_aof_rewrite(30);
    c.roundtrip(&[b"SET", b"c", b"3"], b"+OK\r\n");
    out.push(persistence_fields(c, &fields));
    out.push(aof_dir_state(dir, "done"));
    c.roundtrip(&[b"DEBUG", b"LOADAOF"], b"+OK\r\n");
    c.roundtrip(&[b"MGET", b"a", b"b", b"c"], b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    out
}

/// Wait until no rewrite runs (a scheduled one may stay pending).
fn wait_rewrite_running_done(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.info_field("persistence", "aof_rewrite_in_progress").as_deref() != Some("0") {
        assert!(Instant::now() < deadline, "AOF rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn failed_initial_rewrite_waits_and_retries_as_real_redis() {
    let srv = Server::start(&["--appendonly", "no"]);
    let ours = failing_enable(&mut srv.raw(), &srv.dir.clone());
    assert!(ours[0].contains("aof_enabled:1 aof_rewrite_scheduled:1 aof_last_bgrewrite_status:err"), "{}", ours[0]);
    assert!(ours[3].contains("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"), "{}", ours[3]);
    drop(srv);
    let dir = common::tmpdir("enable-fail-real");
    let Some(redis) = common::RealRedis::start(&dir, &["--appendonly", "no", "--enable-debug-command", "yes"]) else { return };
    let real = failing_enable(&mut redis.raw(), &dir);
    drop(redis);
    assert_eq!(ours, real);
    let _ = std::fs::remove_dir_all(&dir);
}
