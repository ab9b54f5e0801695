//! Smoke tests of the server foundation through raw RESP and the redis crate.
mod common;
use common::Server;

#[test]
fn ping_set_get_raw_bytes() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    c.roundtrip(&[b"SET", b"k", b"v\x00\xff"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"k"], b"$3\r\nv\x00\xff\r\n");
    c.roundtrip(&[b"GET", b"missing"], b"$-1\r\n");
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
}

#[test]
fn unknown_command_and_arity_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"FOO", b"a", b"b"], b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    c.roundtrip(&[b"GET"], b"-ERR wrong number of arguments for 'get' command\r\n");
}

#[test]
fn redis_crate_client() {
    let srv = Server::start(&[]);
    let mut con = srv.client();
    let _: () = redis::cmd("SET").arg("n").arg(41).query(&mut con).unwrap();
    let n: i64 = redis::cmd("INCR").arg("n").query(&mut con).unwrap();
    assert_eq!(n, 42);
}
