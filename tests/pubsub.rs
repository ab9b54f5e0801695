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
