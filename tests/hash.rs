//! Hash commands: byte-exact replies, checked against fixed expectations and, when
//! /usr/bin/redis-server is installed, against the real server command by command.
mod common;
use common::{same_replies, RealRedis, Server};

#[test]
fn replies_match_redis() {
    let srv = Server::start(&[]);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    same_replies(
        &mut srv.raw(),
        &mut real.raw(),
        "hset h a 1 b 2 c hello
         hset h a 5
         hset h x
         hmset h d 4
         hsetnx h a 1
         hsetnx h z 9
         hget h a
         hmget h a b nope
         hmget nokey a
         hgetall h
         hkeys h
         hvals h
         hlen h
         hexists h q
         hstrlen h c
         hstrlen h a
         hdel h a q
         hincrby h b 10
         hincrby h b abc
         hincrby h c 1
         hincrby h n 9223372036854775807
         hincrby h n 1
         hincrbyfloat h f 1.5
         hincrbyfloat h f 0.1
         hincrbyfloat h f abc
         hincrbyfloat h f inf
         hincrbyfloat h c 1
         hincrbyfloat h b 1.25
         hincrbyfloat h3 x 10.5
         hincrbyfloat h3 x -10.5
         hincrbyfloat h3 y 3.0e3
         hgetall h3
         hrandfield nokey
         hrandfield nokey 5
         hrandfield h 0
         hrandfield h -9223372036854775808
         hrandfield h -9223372036854775807 withvalues
         hrandfield h 1 withvaluesx
         hrandfield h 1 withvalues x
         hscan h 0
         hscan h abc
         hscan nokey 0 count 0
         hscan h 0 count 0
         hscan h 0 match b*
         hscan h 0 type string
         set s x
         hget s a
         hset s a b
         hgetall s
         object encoding h
         copy h hc
         hset hc b 99
         hget h b
         hget hc b
         hset h2 f aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
         object encoding h2
         copy h2 h2c
         object encoding h2c
         hgetall h2c
         hdel h b c d z n f x
         hlen h
         hgetall h
         exists h",
    );
}

#[test]
fn empty_hash_is_deleted_and_conversion_keeps_values() {
    let srv = Server::start(&["--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"HSET", b"h", b"f", b"v"], b":1\r\n");
    c.roundtrip(&[b"HDEL", b"h", b"f"], b":1\r\n");
    c.roundtrip(&[b"HLEN", b"h"], b":0\r\n");
    c.roundtrip(&[b"HSET", b"h", b"f", b"v"], b":1\r\n");
    for i in 0..10 {
        let f = format!("field{i}");
        c.roundtrip(&[b"HSET", b"h", f.as_bytes(), f.as_bytes()], b":1\r\n");
    }
    c.roundtrip(&[b"HSET", b"h", b"long", b"a value longer than eight"], b":1\r\n");
    c.roundtrip(&[b"HGET", b"h", b"field7"], b"$6\r\nfield7\r\n");
    c.roundtrip(&[b"HGET", b"h", b"long"], b"$25\r\na value longer than eight\r\n");
    c.roundtrip(&[b"HINCRBYFLOAT", b"h", b"f", b"1"], b"-ERR hash value is not a float\r\n");
    c.roundtrip(&[b"HLEN", b"h"], b":12\r\n");
    c.cmd(&[b"HSCAN", b"h", b"0", b"COUNT", b"100"]);
    let r = c.read_reply();
    assert!(r.starts_with(b"*2\r\n$1\r\n0\r\n*24\r\n"), "{}", String::from_utf8_lossy(&r));
}

#[test]
fn keyspace_events_match_redis() {
    let srv = Server::start(&[]);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    common::same_events(
        srv.port,
        real.port,
        "hset h a 1 b 2
         hsetnx h a 2
         hsetnx h c 3
         hmset h d 4
         hincrby h a 1
         hincrbyfloat h a 1.5
         hincrby h nope x
         hdel h nope
         hdel h a b
         hdel h c d",
    );
}

#[test]
fn resp3_replies_match_redis() {
    let srv = Server::start(&[]);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    common::same_replies_resp3(
        &mut srv.raw(),
        &mut real.raw(),
        "hset h a 1 b 2 c 3
         hgetall h
         hgetall nokey
         hrandfield h 3 withvalues
         hrandfield h 0 withvalues
         hrandfield nokey 2 withvalues
         hget nokey a
         hmget h a nope
         hincrbyfloat h a 0.5
         hscan h 0",
    );
}

#[test]
fn write_stream_matches_redis() {
    common::same_aof(
        "hset h a 1 b 2
         hsetnx h a 5
         hincrby h a 3
         hincrbyfloat h f 1.5
         hincrbyfloat h f 1e2
         hdel h nope
         hdel h a b f",
    );
}
