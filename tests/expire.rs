//! Key expiry end to end: the EXPIRE / TTL family byte for byte (options, overflow
//! errors, past deadlines), lazy expiry on access, and active expiry removing keys that
//! nobody reads (with one shard and with many).
mod common;
use common::Server;
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn int(con: &mut redis::Connection, args: &[&str]) -> i64 {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap()
}

#[test]
fn expire_options_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"foo", b"bar"], b"+OK\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"100", b"NX", b"XX"], b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"100", b"nx", b"gt"], b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"100", b"GT", b"LT"], b"-ERR GT and LT options at the same time are not compatible\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"100", b"XX", b"AB"], b"-ERR Unsupported option AB\r\n");
    // options are checked before the time argument
    c.roundtrip(&[b"EXPIRE", b"foo", b"abc", b"AB"], b"-ERR Unsupported option AB\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b""], b"-ERR value is not an integer or out of range\r\n");
    for (cmd, t) in [
        (&b"EXPIRE"[..], &b"9223370399119966"[..]),
        (b"EXPIRE", b"9223372036854776"),
        (b"EXPIRE", b"-9223372036854776"),
        (b"PEXPIRE", b"9223372036854770000"),
        (b"EXPIREAT", b"9223372036854776"),
    ] {
        let name = String::from_utf8_lossy(cmd).to_lowercase();
        c.roundtrip(&[cmd, b"foo", t], format!("-ERR invalid expire time in '{name}' command\r\n").as_bytes());
    }
    c.roundtrip(&[b"TTL", b"foo"], b":-1\r\n");
    c.roundtrip(&[b"EXPIRE", b"nokey", b"100"], b":0\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"100", b"XX"], b":0\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"100", b"GT"], b":0\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"100", b"NX"], b":1\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"200", b"NX"], b":0\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"200", b"LT"], b":0\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"50", b"LT", b"XX"], b":1\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"60", b"GT"], b":1\r\n");
    c.roundtrip(&[b"TTL", b"foo"], b":60\r\n");
    c.roundtrip(&[b"PERSIST", b"foo"], b":1\r\n");
    c.roundtrip(&[b"PERSIST", b"foo"], b":0\r\n");
    c.roundtrip(&[b"PERSIST", b"nokey"], b":0\r\n");
    c.roundtrip(&[b"TTL", b"foo"], b":-1\r\n");
    c.roundtrip(&[b"PTTL", b"foo"], b":-1\r\n");
    c.roundtrip(&[b"EXPIRETIME", b"foo"], b":-1\r\n");
    c.roundtrip(&[b"PEXPIRETIME", b"nokey"], b":-2\r\n");
    c.roundtrip(&[b"TTL", b"nokey"], b":-2\r\n");
    // a deadline far away works; a past one (or a negative TTL) deletes the key
    c.roundtrip(&[b"PEXPIREAT", b"foo", b"9223372036854770000"], b":1\r\n");
    c.roundtrip(&[b"EXPIRETIME", b"foo"], b":9223372036854770\r\n");
    c.roundtrip(&[b"EXPIRE", b"foo", b"-10", b"LT"], b":1\r\n");
    c.roundtrip(&[b"EXISTS", b"foo"], b":0\r\n");
    c.roundtrip(&[b"SET", b"foo", b"bar"], b"+OK\r\n");
    c.roundtrip(&[b"PEXPIREAT", b"foo", b"-9223372036854770000"], b":1\r\n");
    c.roundtrip(&[b"TTL", b"foo"], b":-2\r\n");
}

#[test]
fn ttl_family_values() {
    let srv = Server::start(&[]);
    let mut con = srv.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let at = now_ms() / 1000 + 1000;
    assert_eq!(int(&mut con, &["EXPIREAT", "k", &at.to_string()]), 1);
    assert_eq!(int(&mut con, &["EXPIRETIME", "k"]), at);
    assert_eq!(int(&mut con, &["PEXPIRETIME", "k"]), at * 1000);
    let ttl = int(&mut con, &["TTL", "k"]);
    assert!((998..=1000).contains(&ttl), "{ttl}");
    assert_eq!(int(&mut con, &["PEXPIRE", "k", "1900"]), 1);
    let pttl = int(&mut con, &["PTTL", "k"]);
    assert!((1500..=1900).contains(&pttl), "{pttl}");
    // seconds are rounded to the nearest: 1.5 to 1.9 s left reads as 2
    assert_eq!(int(&mut con, &["TTL", "k"]), 2);
    let pat = now_ms() + 100_000;
    assert_eq!(int(&mut con, &["PEXPIREAT", "k", &pat.to_string()]), 1);
    assert_eq!(int(&mut con, &["PEXPIRETIME", "k"]), pat);
}

#[test]
fn lazy_expiry_on_access() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"MSET", b"a", b"1", b"b", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"PEXPIRE", b"a", b"50"], b":1\r\n");
    c.roundtrip(&[b"PEXPIRE", b"b", b"50"], b":1\r\n");
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n1\r\n");
    std::thread::sleep(Duration::from_millis(120));
    c.roundtrip(&[b"GET", b"a"], b"$-1\r\n");
    // an expired key cannot be brought back by EXPIRE, nor renamed
    c.roundtrip(&[b"EXPIRE", b"b", b"100"], b":0\r\n");
    c.roundtrip(&[b"RENAME", b"b", b"c"], b"-ERR no such key\r\n");
    c.roundtrip(&[b"DBSIZE"], b":0\r\n");
}

fn active_expiry_removes_unread_keys(srv: &Server) {
    let mut con = srv.client();
    let t0 = Instant::now();
    for chunk in 0..10 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            let k = format!("vol:{}", chunk * 100 + i);
            pipe.cmd("SET").arg(&k).arg("x").ignore();
            pipe.cmd("PEXPIRE").arg(&k).arg(1000).ignore();
        }
        let _: () = pipe.query(&mut con).unwrap();
    }
    let _: () = redis::cmd("SET").arg("persistent").arg("x").query(&mut con).unwrap();
    if t0.elapsed() < Duration::from_millis(900) {
        assert_eq!(int(&mut con, &["DBSIZE"]), 1001);
    }
    while int(&mut con, &["DBSIZE"]) > 1 {
        assert!(t0.elapsed() < Duration::from_secs(5), "active expiry too slow: {} keys left", int(&mut con, &["DBSIZE"]));
        std::thread::sleep(Duration::from_millis(50));
    }
    // nobody read them: the cron removed them within about a second of their deadline
    assert!(t0.elapsed() < Duration::from_millis(3000), "{:?}", t0.elapsed());
    assert_eq!(int(&mut con, &["EXISTS", "persistent"]), 1);
}

#[test]
fn active_expiry_one_shard() {
    active_expiry_removes_unread_keys(&Server::start(&[]));
}

#[test]
fn active_expiry_many_shards() {
    active_expiry_removes_unread_keys(&Server::start(&["--io-threads", "4"]));
}

#[test]
fn active_expiry_publishes_expired_events() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"Ex"], b"+OK\r\n");
    let mut sub = srv.raw();
    sub.roundtrip(&[b"SUBSCRIBE", b"__keyevent@0__:expired"], b"*3\r\n$9\r\nsubscribe\r\n$22\r\n__keyevent@0__:expired\r\n:1\r\n");
    c.roundtrip(&[b"SET", b"gone", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"PEXPIRE", b"gone", b"10"], b":1\r\n");
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$4\r\ngone\r\n");
}
