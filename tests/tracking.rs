//! Client-side caching (CLIENT TRACKING) through raw RESP bytes: RESP3 push invalidations
//! on the same connection (after the reply that caused them), RESP2 redirection to a
//! `__redis__:invalidate` subscriber, BCAST prefixes with NOLOOP, OPTIN/OPTOUT with
//! CLIENT CACHING, FLUSHALL's null invalidation, a broken redirection, the option errors,
//! the tracking table limit, and the same checks with several io-threads.
mod common;
use common::{Raw, Server};

fn hello3(c: &mut Raw) {
    let r = c.call(&[b"HELLO", b"3"]);
    assert!(r.starts_with(b"%7\r\n"), "HELLO 3: {}", String::from_utf8_lossy(&r));
}

fn client_id(c: &mut Raw) -> String {
    let r = c.call(&[b"CLIENT", b"ID"]);
    String::from_utf8(r[1..r.len() - 2].to_vec()).unwrap()
}

const OK: &[u8] = b"+OK\r\n";

fn push(key: &str) -> Vec<u8> {
    format!(">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n", key.len()).into_bytes()
}

fn message(keys: &[&str]) -> Vec<u8> {
    let mut m = format!("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*{}\r\n", keys.len());
    for k in keys {
        m.push_str(&format!("${}\r\n{k}\r\n", k.len()));
    }
    m.into_bytes()
}

fn resp3_same_connection(srv: &Server) {
    let mut c = srv.raw();
    let mut w = srv.raw();
    hello3(&mut c);
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"on"], OK);
    w.roundtrip(&[b"SET", b"k", b"1"], OK);
    c.roundtrip(&[b"GET", b"k"], b"$1\r\n1\r\n");
    // another client's write reaches the reader as a push, before its next reply
    w.roundtrip(&[b"SET", b"k", b"2"], OK);
    c.cmd(&[b"PING"]);
    c.expect(&push("k"));
    c.expect(b"+PONG\r\n");
    // the key is forgotten after one invalidation
    w.roundtrip(&[b"SET", b"k", b"3"], OK);
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    // its own write: the push follows the reply
    c.roundtrip(&[b"GET", b"k"], b"$1\r\n3\r\n");
    c.cmd(&[b"INCR", b"k"]);
    c.expect(b":4\r\n");
    c.expect(&push("k"));
    // inside MULTI the pushes follow the whole EXEC reply
    c.roundtrip(&[b"GET", b"k"], b"$1\r\n4\r\n");
    c.roundtrip(&[b"MULTI"], OK);
    c.roundtrip(&[b"INCR", b"k"], b"+QUEUED\r\n");
    c.roundtrip(&[b"GET", b"k"], b"+QUEUED\r\n");
    c.cmd(&[b"EXEC"]);
    c.expect(b"*2\r\n:5\r\n$1\r\n5\r\n");
    c.expect(&push("k"));
    // FLUSHALL: a null invalidation, after the reply
    c.cmd(&[b"FLUSHALL"]);
    c.expect(OK);
    c.expect(b">2\r\n$10\r\ninvalidate\r\n_\r\n");
    // NOLOOP: no message about its own writes
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"on", b"NOLOOP"], OK);
    c.roundtrip(&[b"GET", b"n"], b"_\r\n");
    c.roundtrip(&[b"SET", b"n", b"1"], OK);
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn resp3_push_invalidation() {
    let srv = Server::start(&[]);
    resp3_same_connection(&srv);
}

#[test]
fn resp3_push_invalidation_with_io_threads() {
    let srv = Server::start(&["--io-threads", "4"]);
    for _ in 0..3 {
        resp3_same_connection(&srv);
    }
}

#[test]
fn resp2_redirect_to_subscriber() {
    let srv = Server::start(&["--io-threads", "2"]);
    let mut sub = srv.raw();
    let sid = client_id(&mut sub);
    sub.roundtrip(&[b"SUBSCRIBE", b"__redis__:invalidate"], b"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n");
    let mut c = srv.raw();
    let mut w = srv.raw();
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"on", b"REDIRECT", sid.as_bytes()], OK);
    c.roundtrip(&[b"CLIENT", b"GETREDIR"], format!(":{sid}\r\n").as_bytes());
    let info = c.call(&[b"CLIENT", b"INFO"]);
    let info = String::from_utf8_lossy(&info);
    assert!(info.contains(" flags=t ") && info.contains(&format!(" redir={sid} ")), "{info}");
    c.roundtrip(&[b"MGET", b"a", b"b"], b"*2\r\n$-1\r\n$-1\r\n");
    w.roundtrip(&[b"SET", b"b", b"1"], OK);
    sub.expect(&message(&["b"]));
    w.roundtrip(&[b"SET", b"c", b"1"], OK); // not read: no message
    w.roundtrip(&[b"DEL", b"a"], b":0\r\n"); // nothing deleted: no change
    w.roundtrip(&[b"SET", b"a", b"1"], OK);
    sub.expect(&message(&["a"]));
    // FLUSHDB: a null invalidation (RESP2 null, the tracking client's protocol)
    w.roundtrip(&[b"FLUSHDB"], OK);
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
    let stats = w.bulk_text(&[b"INFO", b"clients"]);
    assert!(stats.contains("tracking_clients:1\r\n"), "{stats}");
    // the target goes away: the RESP3 tracking client is told, flags show R
    hello3(&mut c);
    c.roundtrip(&[b"GET", b"x"], b"_\r\n");
    sub.roundtrip(&[b"QUIT"], OK);
    assert!(sub.closed());
    w.roundtrip(&[b"SET", b"x", b"1"], OK);
    c.cmd(&[b"PING"]);
    c.expect(format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{sid}\r\n").as_bytes());
    c.expect(b"+PONG\r\n");
    let info = c.call(&[b"CLIENT", b"INFO"]); // a verbatim string in RESP3
    let info = String::from_utf8_lossy(&info);
    assert!(info.contains(" flags=tR "), "{info}");
    c.roundtrip(
        &[b"CLIENT", b"TRACKINGINFO"],
        format!("%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n$8\r\nredirect\r\n:{sid}\r\n$8\r\nprefixes\r\n*0\r\n")
            .as_bytes(),
    );
    // RESET turns tracking off
    c.roundtrip(&[b"RESET"], b"+RESET\r\n");
    c.roundtrip(&[b"CLIENT", b"GETREDIR"], b":-1\r\n");
    let stats = w.bulk_text(&[b"INFO", b"clients"]);
    assert!(stats.contains("tracking_clients:0\r\n"), "{stats}");
}

#[test]
fn bcast_prefixes_and_noloop() {
    let srv = Server::start(&[]);
    let mut sub = srv.raw();
    let sid = client_id(&mut sub);
    sub.call(&[b"SUBSCRIBE", b"__redis__:invalidate"]);
    let mut c = srv.raw();
    let mut w = srv.raw();
    c.roundtrip(
        &[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"REDIRECT", sid.as_bytes(), b"PREFIX", b"user:", b"PREFIX", b"obj:", b"NOLOOP"],
        OK,
    );
    let info = c.bulk_text(&[b"CLIENT", b"INFO"]);
    assert!(info.contains(" flags=tB "), "{info}");
    // one message per prefix for the keys one command changed, keys sorted
    w.roundtrip(&[b"MSET", b"user:2", b"a", b"user:1", b"b", b"obj:9", b"c", b"other", b"d"], OK);
    let m1 = sub.read_reply();
    let m2 = sub.read_reply();
    let mut got = [m1, m2];
    got.sort();
    let mut want = [message(&["obj:9"]), message(&["user:1", "user:2"])];
    want.sort();
    assert_eq!(got, want);
    // NOLOOP: its own writes are left out
    c.roundtrip(&[b"SET", b"user:3", b"x"], OK);
    w.roundtrip(&[b"SET", b"user:4", b"x"], OK);
    sub.expect(&message(&["user:4"]));
    let stats = w.bulk_text(&[b"INFO", b"stats"]);
    assert!(stats.contains("tracking_total_prefixes:2\r\n"), "{stats}");
    // prefixes must not overlap, BCAST cannot be switched on the fly
    c.roundtrip(
        &[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"PREFIX", b"use"],
        b"-ERR Prefix 'use' overlaps with an existing prefix 'user:'. Prefixes for a single client must not overlap.\r\n",
    );
    c.roundtrip(
        &[b"CLIENT", b"TRACKING", b"on"],
        b"-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n",
    );
    c.roundtrip(
        &[b"CLIENT", b"TRACKINGINFO"],
        format!("*6\r\n$5\r\nflags\r\n*3\r\n$2\r\non\r\n$5\r\nbcast\r\n$6\r\nnoloop\r\n$8\r\nredirect\r\n:{sid}\r\n$8\r\nprefixes\r\n*2\r\n$4\r\nobj:\r\n$5\r\nuser:\r\n").as_bytes(),
    );
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"off"], OK);
    let stats = w.bulk_text(&[b"INFO", b"stats"]);
    assert!(stats.contains("tracking_total_prefixes:0\r\n"), "{stats}");
    w.roundtrip(&[b"SET", b"user:5", b"x"], OK);
    sub.roundtrip(&[b"PING"], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn optin_optout_caching() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let mut w = srv.raw();
    hello3(&mut c);
    c.roundtrip(
        &[b"CLIENT", b"CACHING", b"yes"],
        b"-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n",
    );
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"on", b"OPTIN"], OK);
    c.roundtrip(&[b"GET", b"a"], b"_\r\n"); // not cached: not tracked
    c.roundtrip(&[b"CLIENT", b"CACHING", b"yes"], OK);
    c.roundtrip(
        &[b"CLIENT", b"TRACKINGINFO"],
        b"%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n",
    );
    c.roundtrip(&[b"GET", b"b"], b"_\r\n"); // tracked
    c.roundtrip(&[b"GET", b"c"], b"_\r\n"); // CACHING applied to one command only
    w.roundtrip(&[b"MSET", b"a", b"1", b"b", b"1", b"c", b"1"], OK);
    c.cmd(&[b"PING"]);
    c.expect(&push("b"));
    c.expect(b"+PONG\r\n");
    c.roundtrip(
        &[b"CLIENT", b"TRACKING", b"on", b"OPTOUT"],
        b"-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.\r\n",
    );
    c.roundtrip(&[b"CLIENT", b"CACHING", b"no"], b"-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n");
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"off"], OK);
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"on", b"OPTOUT"], OK);
    c.roundtrip(&[b"CLIENT", b"CACHING", b"no"], OK);
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n1\r\n"); // excluded
    c.roundtrip(&[b"GET", b"b"], b"$1\r\n1\r\n"); // tracked again
    w.roundtrip(&[b"MSET", b"a", b"2", b"b", b"2"], OK);
    c.cmd(&[b"PING"]);
    c.expect(&push("b"));
    c.expect(b"+PONG\r\n");
}

#[test]
fn tracking_option_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    common::check_replies(
        &mut c,
        &[
            ("CLIENT TRACKING on PREFIX x", b"-ERR PREFIX option requires BCAST mode to be enabled\r\n"),
            ("CLIENT TRACKING on BCAST OPTIN", b"-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n"),
            ("CLIENT TRACKING on OPTIN OPTOUT", b"-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n"),
            ("CLIENT TRACKING on REDIRECT 999999", b"-ERR The client ID you want redirect to does not exist\r\n"),
            ("CLIENT TRACKING on REDIRECT x", b"-ERR value is not an integer or out of range\r\n"),
            ("CLIENT TRACKING maybe", b"-ERR syntax error\r\n"),
            ("CLIENT TRACKING on REDIRECT", b"-ERR syntax error\r\n"),
            ("CLIENT TRACKING", b"-ERR wrong number of arguments for 'client|tracking' command\r\n"),
            (
                "CLIENT TRACKING on BCAST PREFIX ab PREFIX a",
                b"-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.\r\n",
            ),
            ("CLIENT GETREDIR", b":-1\r\n"),
            (
                "CLIENT TRACKINGINFO",
                b"*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n",
            ),
            ("CLIENT TRACKING on BCAST", b"+OK\r\n"),
            (
                "CLIENT TRACKINGINFO",
                b"*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*1\r\n$0\r\n\r\n",
            ),
        ],
    );
}

#[test]
fn table_limit_and_expiry_invalidate() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let mut w = srv.raw();
    hello3(&mut c);
    c.roundtrip(&[b"CLIENT", b"TRACKING", b"on"], OK);
    for i in 0..5 {
        let k = format!("k{i}");
        c.roundtrip(&[b"GET", k.as_bytes()], b"_\r\n");
    }
    let stats = w.bulk_text(&[b"INFO", b"stats"]);
    assert!(stats.contains("tracking_total_keys:5\r\n") && stats.contains("tracking_total_items:5\r\n"), "{stats}");
    // over the limit: keys are invalidated (pushes before the next reply) until under it
    w.roundtrip(&[b"CONFIG", b"SET", b"tracking-table-max-keys", b"2"], OK);
    c.cmd(&[b"PING"]);
    let mut evicted = 0;
    loop {
        let r = c.read_reply();
        if r == b"+PONG\r\n" {
            break;
        }
        assert!(r.starts_with(b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk"), "{}", String::from_utf8_lossy(&r));
        evicted += 1;
    }
    assert_eq!(evicted, 3);
    w.roundtrip(&[b"CONFIG", b"SET", b"tracking-table-max-keys", b"0"], OK);
    // a tracked key that expires is invalidated (active expiry)
    w.roundtrip(&[b"SET", b"e", b"1", b"PX", b"50"], OK);
    c.roundtrip(&[b"GET", b"e"], b"$1\r\n1\r\n");
    let r = c.read_reply();
    assert_eq!(String::from_utf8_lossy(&r), String::from_utf8_lossy(&push("e")));
}

#[test]
fn served_blocked_client_gets_its_push_after_the_reply() {
    for threads in ["1", "3"] {
        let srv = Server::start(&["--io-threads", threads]);
        let mut c = srv.raw();
        let mut w = srv.raw();
        hello3(&mut c);
        w.roundtrip(&[b"RPUSH", b"dst{t}", b"a"], b":1\r\n");
        c.roundtrip(&[b"CLIENT", b"TRACKING", b"on"], OK);
        c.roundtrip(&[b"LRANGE", b"dst{t}", b"0", b"-1"], b"*1\r\n$1\r\na\r\n");
        c.cmd(&[b"BLMOVE", b"src{t}", b"dst{t}", b"LEFT", b"LEFT", b"0"]);
        // wait until it is blocked
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !w.bulk_text(&[b"INFO", b"clients"]).contains("blocked_clients:1\r\n") {
            assert!(std::time::Instant::now() < deadline, "never blocked");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        w.roundtrip(&[b"RPUSH", b"src{t}", b"foo"], b":1\r\n");
        c.expect(b"$3\r\nfoo\r\n");
        c.expect(&push("dst{t}"));
    }
}
