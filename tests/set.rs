//! Set commands: byte-exact replies, against fixed expectations and the real server.
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
        "sadd s 3 1 2 -5 9223372036854775807
         sadd s 2 5
         smembers s
         scard s
         sismember s 1
         sismember s 01
         smismember s 1 7 2
         smismember nokey 1
         srem s 1 9
         srem nokey 1
         sadd t 5 2 100
         sinter s t
         sinter s nokey
         set str x
         sinter nokey str
         sinter str nokey
         sunion s t nokey
         sdiff s t
         sdiff nokey s
         sdiff s s
         sinterstore d s t
         smembers d
         sinterstore d s nokey
         smembers d
         sunionstore d s s
         sdiffstore d nokey s
         sintercard 1 s
         sintercard 0 s
         sintercard x s
         sintercard 3 s t
         sintercard 2 s t limit -1
         sintercard 2 s t limit 1
         sintercard 2 s t foo 1
         smove s t 2
         smove s t 2
         smove nokey t 2
         smove s str 3
         smove str s 3
         smove s s 3
         smove s s 99
         smove s newset 3
         smembers newset
         spop nokey
         spop nokey 3
         spop newset 0
         spop newset -1
         spop newset x
         spop newset 1 2
         sadd p 1 2 3 4 5
         spop p 10
         smembers p
         srandmember nokey
         srandmember nokey 3
         srandmember t 0
         srandmember t -9223372036854775808
         srandmember t 1 2
         sscan s 0
         sscan nokey 0
         sscan s x
         sscan s 0 match 5*
         sadd ints 1 2 3
         object encoding ints
         copy ints intsc
         sadd intsc 4
         smembers ints
         smembers intsc
         sadd ints a
         object encoding ints
         srem ints a
         object encoding ints
         srem ints 1 2 3
         scard ints
         exists ints
         sinterstore d2 s s
         object encoding d2",
    );
}

#[test]
fn intsets_convert_past_the_limit_and_pop_propagates_nothing_wrong() {
    let srv = Server::start(&["--set-max-intset-entries", "4"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SADD", b"s", b"5", b"1", b"3"], b":3\r\n");
    c.roundtrip(&[b"SMEMBERS", b"s"], b"*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n");
    c.roundtrip(&[b"SADD", b"s", b"7", b"9"], b":2\r\n");
    c.roundtrip(&[b"SCARD", b"s"], b":5\r\n");
    c.roundtrip(&[b"SISMEMBER", b"s", b"9"], b":1\r\n");
    // Members of every size survive the small -> table conversions.
    let long = vec![b'x'; 100];
    c.roundtrip(&[b"SADD", b"s", &long], b":1\r\n");
    c.roundtrip(&[b"SISMEMBER", b"s", &long], b":1\r\n");
    for i in 0..300 {
        c.roundtrip(&[b"SADD", b"big", format!("m{i}").as_bytes()], b":1\r\n");
    }
    c.roundtrip(&[b"SCARD", b"big"], b":300\r\n");
    c.cmd(&[b"SPOP", b"big", b"299"]);
    let r = c.read_reply();
    assert!(r.starts_with(b"*299\r\n"));
    c.roundtrip(&[b"SCARD", b"big"], b":1\r\n");
    c.roundtrip(&[b"SPOP", b"s", b"100"], b"*6\r\n");
    for _ in 0..6 {
        let _ = c.read_reply();
    }
    c.roundtrip(&[b"SCARD", b"s"], b":0\r\n");
    // a few pops from a large set: distinct members, all gone from the set
    let members: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    let mut sadd: Vec<&[u8]> = vec![b"SADD", b"large"];
    sadd.extend(members.iter().map(|m| m.as_bytes()));
    c.roundtrip(&sadd, b":2000\r\n");
    c.roundtrip(&[b"SPOP", b"large", b"10"], b"*10\r\n");
    let popped: std::collections::HashSet<Vec<u8>> = (0..10).map(|_| c.read_bulk().unwrap()).collect();
    assert_eq!(popped.len(), 10);
    for m in &popped {
        c.roundtrip(&[b"SISMEMBER", b"large", m], b":0\r\n");
    }
    c.roundtrip(&[b"SCARD", b"large"], b":1990\r\n");
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
        "sadd s 1 2 3
         sadd s 1
         srem s 9
         srem s 1
         smove s t 2
         smove s t 9
         sadd t 3
         smove s t 3
         sadd a x y
         sadd b y
         sinterstore i a b
         sunionstore u a b
         sdiffstore d a b
         sdiffstore d b a
         sinterstore nope a missing
         spop b
         spop a 0
         spop a 5
         sadd p 1
         spop p 1",
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
        "sadd s 3 1 2
         smembers s
         smembers nokey
         sinter s s
         sunion s nokey
         sdiff s nokey
         smismember s 1 9
         spop nokey
         spop nokey 2
         spop s 0
         srandmember nokey
         srandmember nokey 2
         sadd one 7
         spop one 5",
    );
}

#[test]
fn multi_key_commands_across_shards() {
    // several worker threads: keys live in different shards unless hash-tagged
    let srv = Server::start(&["--io-threads", "4"]);
    let dir = srv.dir.join("real");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    same_replies(
        &mut srv.raw(),
        &mut real.raw(),
        "sadd a 1 2 3 x
         sadd b 2 3 4 y
         sadd c 3 x
         sinter a b c
         sinterstore d a b
         smembers d
         sunionstore e a b c
         scard e
         sdiffstore f a b c
         smembers f
         smove a b x
         smove a zz 1
         sintercard 3 a b c
         zadd z1 1 a 2 b
         zadd z2 3 b 4 c
         zunionstore z3 2 z1 z2
         zrange z3 0 -1 withscores
         zinterstore z4 3 z1 z2 a
         zmpop 3 nokey z9 z2 max count 1
         bzpopmin nokey z1 0
         bzmpop 0 2 nokey z1 min",
    );
}

#[test]
fn write_stream_matches_redis() {
    common::same_aof(
        "sadd s 1 2 3
         sadd s 1
         srem s 9
         srem s 1
         smove s t 2
         smove s t 9
         sadd o x
         spop o
         sadd p x y
         spop p 5
         spop p 0
         sinterstore i s t
         sunionstore u s t
         sdiffstore d s t
         sinterstore d s nokey",
    );
}

#[test]
fn collections_survive_save_and_restart_with_their_encodings() {
    let dir = std::env::temp_dir().join(format!("ferrodis-coll-rdb-{}", common::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = ["--dir", dir.to_str().unwrap()];
    let script = "sadd ints 5 1 3
                  sadd strs a b 1
                  zadd z 1.5 a -inf b 2 c
                  hset h f v n 12
                  object encoding ints
                  object encoding strs
                  object encoding big
                  object encoding z
                  object encoding zbig
                  object encoding h
                  object encoding hbig
                  smembers ints
                  scard big
                  zrange z 0 -1 withscores
                  zrange zbig 0 2 withscores
                  hgetall h
                  hlen hbig";
    let run = |c: &mut common::Raw| -> Vec<Vec<u8>> {
        script.lines().map(|l| c.call(&l.trim().split(' ').map(str::as_bytes).collect::<Vec<_>>())).collect()
    };
    let before = {
        let srv = Server::start(&args);
        let mut c = srv.raw();
        for i in 0..600 {
            c.call(&[b"SADD", b"big", i.to_string().as_bytes()]);
            c.call(&[b"ZADD", b"zbig", i.to_string().as_bytes(), format!("m{i}").as_bytes()]);
            c.call(&[b"HSET", b"hbig", format!("f{i}").as_bytes(), b"v"]);
        }
        let r = run(&mut c);
        c.roundtrip(&[b"SAVE"], b"+OK\r\n");
        r
    };
    let srv = Server::start(&args);
    let after = run(&mut srv.raw());
    assert_eq!(after[..4], [b":0\r\n"; 4], "the data was loaded");
    assert_eq!(after[4..], before[4..]);
    assert_eq!(before[6], b"$9\r\nhashtable\r\n");
    assert_eq!(before[8], b"$8\r\nskiplist\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}
