//! Sorted set commands: byte-exact replies, against fixed expectations and the real server,
//! in both encodings (listpack, and skiplist by setting the listpack limits to 0).
mod common;
use common::{same_replies, RealRedis, Server};

const SCRIPT: &str = "
    zadd z 1 a 2 b 3 c
    zadd z nx xx 1 a
    zadd z gt lt 1 a
    zadd z nx gt 1 a
    zadd z incr 1 a 2 b
    zadd z 1
    zadd z x a
    zadd z nan a
    zadd z incr 5 a
    zadd z incr inf a
    zadd z incr -inf a
    zadd z ch 10 a 20 b 4 d
    zadd z xx ch 1 new
    zadd z gt ch 5 a 30 b
    zadd z lt incr 1 a
    zadd z gt incr -1 b
    zadd nokey xx 1 a
    zadd nokey xx incr 1 a
    zrange z 0 -1 withscores
    zincrby z 2.5 c
    zincrby z nx c
    zcard z
    zscore z c
    zmscore z a nope c
    zrank z a
    zrevrank z a
    zadd z 0.1 f 1e300 g -inf h +inf i 1.1 j
    zrange z 0 -1 withscores
    zrange z 0 -1 withscores rev
    zrange z -2 -1
    zrange z 5 2
    zrange z 0 1 limit 0 1
    zrange z 0 1 bylex withscores
    zrange z (1 10 byscore withscores
    zrange z 10 (1 byscore rev withscores
    zrange z -inf +inf byscore limit 1 2
    zrange z -inf +inf byscore limit -1 2
    zrange z -inf +inf byscore limit 1 -1
    zrange z +inf -inf byscore rev limit 1 2
    zrange z x 1 byscore
    zrangebyscore z -inf +inf byscore
    zrangebyscore z 1 5 limit 0 2 withscores
    zrevrangebyscore z 5 1 withscores
    zrevrange z 0 1 withscores
    zadd l 0 a 0 b 0 c 0 d 0 e
    zrangebylex l [b (d
    zrevrangebylex l [d [b limit 1 1
    zrangebylex l b d
    zrange l [d [b bylex rev
    zlexcount l [b (e
    zcount z (1 5
    zcount z a b
    zrem z a nope
    zremrangebyrank z 0 0
    zremrangebyscore z -inf (0
    zremrangebylex l [a [b
    zrange z 0 -1 withscores
    zrangestore dst z 0 -1
    zrange dst 0 -1 withscores
    zrangestore dst nokey 0 -1
    zrangestore dst l [c + bylex limit 0 2
    zrange dst 0 -1 withscores
    zadd u1 1 a 2 b 3 c
    zadd u2 4 b 5 c 6 d
    sadd sset a d x
    zunion 2 u1 u2 weights 2 3 withscores
    zunion 2 u1 u2 aggregate min withscores
    zunion 3 u1 u2 sset withscores
    zinter 3 u1 u2 sset withscores
    zinter 2 u1 u2 aggregate max withscores
    zdiff 2 u1 u2 withscores
    zunion 0 u1
    zunion 3 u1 u2
    zunion 2 u1 u2 weights 1 x
    zunion 2 u1 u2 aggregate foo
    set str x
    zunion 2 u1 str
    zunionstore out 2 u1 u2
    zrange out 0 -1 withscores
    zinterstore out 2 u1 u2 weights 1 2 aggregate max
    zrange out 0 -1 withscores
    zdiffstore out 2 u1 u2
    zinterstore out 2 nokey u1
    zrange out 0 -1
    zintercard 2 u1 u2 limit 1
    zintercard 2 u1 u2 limit -1
    zadd inf1 inf a
    zadd inf2 -inf a
    zunion 2 inf1 inf2 withscores
    zunion 2 inf1 inf2 weights 0 1 withscores
    zpopmin u1
    zpopmax u1 5
    zpopmin nokey
    zpopmin u2 0
    zpopmin u2 -1
    zadd m1 1 a 2 b 3 c
    zmpop 1 m1 min
    zmpop 2 nokey m1 max count 10
    zmpop 2 nokey nokey2 min
    zmpop 0 m1 min
    zmpop 1 m1 min count 0
    zmpop 1 str min
    zrandmember nokey 5
    zrandmember u2 0
    zrandmember u2 -9223372036854775807 withscores
    zscan nokey 0
    zadd neg 1.1 y
    zscore neg y
    zincrby neg 0.2 y
    object encoding neg
    copy neg negc
    zadd negc 5 y
    zscore neg y
    zscore negc y
    object encoding negc
    zunionstore enc 1 neg
    object encoding enc
    zrangestore enc neg 0 -1
    object encoding enc
    exists m1
";

fn against_redis(limits: &[&str], extra: &str) {
    let srv = Server::start(limits);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, limits) else { return };
    same_replies(&mut srv.raw(), &mut real.raw(), &format!("{SCRIPT}\n{extra}"));
}

#[test]
fn listpack_replies_match_redis() {
    // listpacks keep (score, member) order, so ZSCAN's order is Redis's too
    against_redis(&[], "zscan u2 0\nzscan u2 0 match d*");
}

#[test]
fn skiplist_replies_match_redis() {
    against_redis(&["--zset-max-listpack-entries", "0"], "");
}

#[test]
fn fixed_replies() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"ZADD", b"z", b"0.1", b"a", b"-inf", b"b"], b":2\r\n");
    c.roundtrip(&[b"ZSCORE", b"z", b"a"], b"$19\r\n0.10000000000000001\r\n");
    c.roundtrip(&[b"ZRANGE", b"z", b"0", b"0", b"WITHSCORES"], b"*2\r\n$1\r\nb\r\n$4\r\n-inf\r\n");
    c.roundtrip(&[b"ZINCRBY", b"z", b"+inf", b"b"], b"-ERR resulting score is not a number (NaN)\r\n");
    c.roundtrip(&[b"ZADD", b"z", b"NX", b"XX", b"1", b"a"], b"-ERR XX and NX options at the same time are not compatible\r\n");
    c.roundtrip(
        &[b"ZADD", b"z", b"GT", b"LT", b"1", b"a"],
        b"-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
    );
    c.roundtrip(&[b"ZRANGEBYSCORE", b"z", b"(x", b"1"], b"-ERR min or max is not a float\r\n");
    c.roundtrip(&[b"ZRANGEBYLEX", b"z", b"a", b"[b"], b"-ERR min or max not valid string range item\r\n");
    c.roundtrip(&[b"ZPOPMIN", b"z"], b"*2\r\n$1\r\nb\r\n$4\r\n-inf\r\n");
    c.roundtrip(&[b"ZMPOP", b"1", b"z", b"MAX"], b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$19\r\n0.10000000000000001\r\n");
    c.roundtrip(&[b"ZCARD", b"z"], b":0\r\n");
}

#[test]
fn large_sorted_sets_keep_order_and_ranks() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let n = 3000;
    for i in 0..n {
        let (s, m) = (((i * 7919) % n).to_string(), format!("m{i}"));
        c.roundtrip(&[b"ZADD", b"z", s.as_bytes(), m.as_bytes()], b":1\r\n");
    }
    c.roundtrip(&[b"ZCARD", b"z"], b":3000\r\n");
    // score (i*7919)%3000 is a permutation of 0..3000, so rank == score
    for i in (0..n).step_by(97) {
        let m = format!("m{i}");
        let rank = ((i * 7919) % n).to_string();
        c.roundtrip(&[b"ZRANK", b"z", m.as_bytes()], format!(":{rank}\r\n").as_bytes());
    }
    c.roundtrip(&[b"ZCOUNT", b"z", b"(100", b"200"], b":100\r\n");
    c.roundtrip(&[b"ZREMRANGEBYSCORE", b"z", b"1000", b"+inf"], b":2000\r\n");
    c.roundtrip(&[b"ZRANGE", b"z", b"999", b"-1", b"WITHSCORES"], b"*2\r\n$4\r\nm321\r\n$3\r\n999\r\n");
    c.roundtrip(&[b"ZREVRANK", b"z", b"m321"], b":0\r\n");
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
        "zadd z 1 a 2 b 3 c 4 d 5 e
         zadd z 1 a
         zadd z nx 9 a
         zincrby z 1 a
         zadd z incr 1 a
         zrem z nope
         zrem z a
         zremrangebyrank z 0 0
         zremrangebyscore z 3 3
         zremrangebylex z - +
         zadd u 1 a 2 b
         zunionstore o 1 u
         zinterstore o 1 u
         zdiffstore o 1 u
         zdiffstore o 2 u u
         zrangestore r u 0 0
         zrangestore r u 5 9
         zpopmin u
         zpopmax u 2
         zadd m 1 a
         zmpop 1 m min count 5
         zpopmin missing",
    );
}

#[test]
fn blocking_pops() {
    blocking_pops_with(&[]);
    blocking_pops_with(&["--io-threads", "4"]);
}

fn blocking_pops_with(args: &[&str]) {
    let srv = Server::start(args);
    let (mut a, mut b) = (srv.raw(), srv.raw());
    // served at once when a zset exists (RESP2: key, member, score)
    b.roundtrip(&[b"ZADD", b"z", b"1", b"a", b"2", b"b"], b":2\r\n");
    a.roundtrip(&[b"BZPOPMAX", b"none", b"z", b"0"], b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n");
    // blocks until ZADD creates the key
    a.cmd(&[b"BZPOPMIN", b"q", b"0"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    b.roundtrip(&[b"ZADD", b"q", b"5", b"x"], b":1\r\n");
    a.expect(b"*3\r\n$1\r\nq\r\n$1\r\nx\r\n$1\r\n5\r\n");
    b.roundtrip(&[b"EXISTS", b"q"], b":0\r\n");
    a.cmd(&[b"BZMPOP", b"0", b"2", b"w1", b"w2", b"MAX", b"COUNT", b"5"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    b.roundtrip(&[b"ZADD", b"w2", b"1", b"m", b"2", b"n"], b":2\r\n");
    a.expect(b"*2\r\n$2\r\nw2\r\n*2\r\n*2\r\n$1\r\nn\r\n$1\r\n2\r\n*2\r\n$1\r\nm\r\n$1\r\n1\r\n");
    // timeouts reply a null array; MULTI never blocks
    a.roundtrip(&[b"BZPOPMIN", b"none", b"0.05"], b"*-1\r\n");
    a.roundtrip(&[b"BZMPOP", b"0.05", b"1", b"none", b"MIN"], b"*-1\r\n");
    a.roundtrip(&[b"MULTI"], b"+OK\r\n");
    a.roundtrip(&[b"BZPOPMIN", b"none", b"0"], b"+QUEUED\r\n");
    a.roundtrip(&[b"EXEC"], b"*1\r\n*-1\r\n");
    a.roundtrip(&[b"BZPOPMIN", b"z", b"-1"], b"-ERR timeout is negative\r\n");
    a.roundtrip(&[b"BZMPOP", b"0", b"1", b"z", b"FOO"], b"-ERR syntax error\r\n");
    b.roundtrip(&[b"SET", b"str", b"x"], b"+OK\r\n");
    a.roundtrip(&[b"BZPOPMIN", b"str", b"0"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
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
        "zadd z 1 a 2.5 b inf c -inf d 0.1 e
         zscore z b
         zscore z c
         zscore z e
         zscore z nope
         zmscore z a nope d
         zincrby z 1 a
         zadd z incr 1 a
         zadd z xx incr 1 new
         zrange z 0 -1 withscores
         zrange z 0 1
         zrangebyscore z -inf +inf withscores limit 1 2
         zrevrange z 0 1 withscores
         zunion 1 z withscores
         zinter 1 z withscores
         zdiff 1 z withscores
         zrandmember z 5 withscores
         zrandmember nokey 5 withscores
         zpopmin z
         zpopmin z 2
         zpopmax z 1
         zpopmin nokey
         zpopmin nokey 2
         zmpop 1 z min
         zmpop 1 nokey min
         zadd y 1 a 2 b
         bzpopmin y 0
         bzmpop 0 1 y max count 3
         zscan nokey 0",
    );
}

#[test]
fn write_stream_matches_redis() {
    common::same_aof(
        "zadd z 1 a 2 b 3 c 4 d 5 e 6 f
         zadd z 1 a
         zincrby z 1.5 a
         zadd z incr 1 a
         zrem z nope
         zremrangebyrank z 100 200
         zpopmin z
         zpopmax z 1
         zpopmin z 0
         zpopmin nokey
         zmpop 1 z min count 1
         bzpopmin z 0
         bzmpop 0 1 z max count 10
         zadd y 1 a 2 b
         zrangestore r y 0 0
         zunionstore u 1 y
         zinterstore i 1 nokey",
    );
}
