//! Pub/Sub through raw RESP: subscribe confirmations, message delivery across
//! connections, patterns, RESP2 subscribed-mode restrictions, a flooded subscriber.
mod common;
use common::Server;

#[test]
fn subscribe_publish_pattern() {
    let srv = Server::start(&[]);
    let mut sub = srv.raw();
    sub.roundtrip(&[b"SUBSCRIBE", b"news", b"sport"], b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n");
    let mut psub = srv.raw();
    psub.roundtrip(&[b"PSUBSCRIBE", b"n*"], b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n");
    let mut p = srv.raw();
    p.roundtrip(&[b"PUBLISH", b"news", b"hi"], b":2\r\n");
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    psub.expect(b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    p.roundtrip(&[b"PUBSUB", b"NUMSUB", b"news", b"x"], b"*4\r\n$4\r\nnews\r\n:1\r\n$1\r\nx\r\n:0\r\n");
    p.roundtrip(&[b"PUBSUB", b"NUMPAT"], b":1\r\n");
    sub.roundtrip(&[b"GET", b"x"], b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    sub.roundtrip(&[b"UNSUBSCRIBE"], b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:0\r\n");
    sub.roundtrip(&[b"UNSUBSCRIBE"], b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    sub.roundtrip(&[b"GET", b"x"], b"$-1\r\n");
    drop(psub);
    std::thread::sleep(std::time::Duration::from_millis(100));
    p.roundtrip(&[b"PUBLISH", b"news", b"again"], b":0\r\n");
}

#[test]
fn resp3_push_to_self_comes_before_reply() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.cmd(&[b"HELLO", b"3"]);
    let _ = c.read_n(1); // the HELLO map; drained below via a PING round trip
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut buf = [0u8; 4096];
    use std::io::Read;
    c.s.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    let _ = c.s.read(&mut buf);
    c.s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    c.roundtrip(&[b"SUBSCRIBE", b"me"], b">3\r\n$9\r\nsubscribe\r\n$2\r\nme\r\n:1\r\n");
    c.roundtrip(&[b"PUBLISH", b"me", b"x"], b">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$1\r\nx\r\n:1\r\n");
}

#[test]
fn keyspace_events() {
    let srv = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = srv.raw();
    sub.roundtrip(&[b"PSUBSCRIBE", b"__keyevent@0__:del"], b"*3\r\n$10\r\npsubscribe\r\n$18\r\n__keyevent@0__:del\r\n:1\r\n");
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    c.roundtrip(&[b"DEL", b"k"], b":1\r\n");
    sub.expect(b"*4\r\n$8\r\npmessage\r\n$18\r\n__keyevent@0__:del\r\n$18\r\n__keyevent@0__:del\r\n$1\r\nk\r\n");
}

#[test]
fn flooded_subscriber_is_dropped_and_server_keeps_serving() {
    let srv = Server::start(&["--client-output-buffer-limit", "pubsub 256kb 128kb 1"]);
    let mut sub = srv.raw();
    sub.roundtrip(&[b"SUBSCRIBE", b"flood"], b"*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n");
    // The subscriber never reads again. Publish ~8 MB.
    let mut p = srv.raw();
    let payload = vec![b'x'; 8192];
    let mut receivers_seen_zero = false;
    for _ in 0..1000 {
        p.cmd(&[b"PUBLISH", b"flood", &payload]);
        let r = p.read_n(4);
        if r == b":0\r\n" {
            receivers_seen_zero = true;
            break;
        }
    }
    assert!(receivers_seen_zero, "the flooded subscriber was never disconnected");
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
}

/// CLIENT REPLY OFF / SKIP silence command replies but not push messages: subscribe and
/// unsubscribe confirmations and messages still arrive (Redis's CLIENT_PUSHING).
#[test]
fn reply_off_and_skip_do_not_silence_pubsub_pushes() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.cmd(&[b"HELLO", b"3"]);
    let _ = c.read_reply();
    c.cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    c.roundtrip(&[b"SUBSCRIBE", b"channel"], b">3\r\n$9\r\nsubscribe\r\n$7\r\nchannel\r\n:1\r\n");
    c.roundtrip(&[b"PSUBSCRIBE", b"ch*"], b">3\r\n$10\r\npsubscribe\r\n$3\r\nch*\r\n:2\r\n");
    // its own command replies stay silent
    c.cmd(&[b"SET", b"k", b"v"]);
    let mut p = srv.raw();
    p.roundtrip(&[b"PUBLISH", b"channel", b"hello"], b":2\r\n");
    c.expect(b">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$5\r\nhello\r\n");
    c.expect(b">4\r\n$8\r\npmessage\r\n$3\r\nch*\r\n$7\r\nchannel\r\n$5\r\nhello\r\n");
    // publishing to itself: the message arrives, the PUBLISH reply does not
    c.cmd(&[b"PUBLISH", b"channel", b"me"]);
    c.expect(b">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$2\r\nme\r\n");
    c.expect(b">4\r\n$8\r\npmessage\r\n$3\r\nch*\r\n$7\r\nchannel\r\n$2\r\nme\r\n");
    c.roundtrip(&[b"UNSUBSCRIBE", b"channel"], b">3\r\n$11\r\nunsubscribe\r\n$7\r\nchannel\r\n:1\r\n");
    c.roundtrip(&[b"PUNSUBSCRIBE"], b">3\r\n$12\r\npunsubscribe\r\n$3\r\nch*\r\n:0\r\n");
    c.cmd(&[b"CLIENT", b"REPLY", b"ON"]);
    c.expect(b"+OK\r\n");
    assert_eq!(p.bulk_text(&[b"GET", b"k"]), "v");
}

/// The TCL "Keyspace notifications" cases: a RESP2 subscriber that silenced its replies
/// with CLIENT REPLY OFF / SKIP still gets its PSUBSCRIBE confirmation and the events.
#[test]
fn keyspace_notifications_reach_a_silenced_subscriber() {
    let srv = Server::start(&[]);
    let mut r = srv.client();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("KA").query(&mut r).unwrap();
    let mut sub = srv.raw();
    sub.cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    sub.roundtrip(&[b"PSUBSCRIBE", b"*"], b"*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
    let _: () = redis::cmd("SET").arg("foo").arg("bar").query(&mut r).unwrap();
    sub.expect(b"*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$18\r\n__keyspace@0__:foo\r\n$3\r\nset\r\n");

    let _: () = redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("EA").query(&mut r).unwrap();
    let mut sub2 = srv.raw();
    sub2.cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
    sub2.roundtrip(&[b"PSUBSCRIBE", b"*"], b"*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
    let _: () = redis::cmd("SET").arg("foo").arg("baz").query(&mut r).unwrap();
    sub2.expect(b"*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$18\r\n__keyevent@0__:set\r\n$3\r\nfoo\r\n");
}

/// An evicted key is announced as `evicted` (class `e`): CONFIG SET maxmemory under the
/// current usage evicts at once.
#[test]
fn evicted_keyevent() {
    let srv = Server::start(&["--notify-keyspace-events", "Ee", "--maxmemory-policy", "allkeys-lru"]);
    let mut sub = srv.raw();
    sub.roundtrip(&[b"PSUBSCRIBE", b"*"], b"*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
    let mut c = srv.raw();
    c.roundtrip(&[b"SELECT", b"9"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"foo", b"bar"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"1"], b"+OK\r\n");
    sub.expect(b"*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$22\r\n__keyevent@9__:evicted\r\n$3\r\nfoo\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"EXISTS", b"foo"], b":0\r\n");
}
