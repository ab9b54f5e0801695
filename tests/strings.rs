//! String commands against a real server, byte-exact where the reply form matters
//! (replies and errors checked against Redis 7.0.15).
mod common;
use common::Server;
use std::time::Duration;

#[test]
fn set_option_combinations_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let syntax: &[u8] = b"-ERR syntax error\r\n";
    let bad_expire: &[u8] = b"-ERR invalid expire time in 'set' command\r\n";
    c.script(&[
        (&[b"SET", b"foo", b"bar", b"nx", b"xx"], syntax),
        (&[b"SET", b"foo", b"bar", b"ex"], syntax),
        (&[b"SET", b"foo", b"bar", b"ex", b"10", b"px", b"10"], syntax),
        (&[b"SET", b"foo", b"bar", b"keepttl", b"ex", b"10"], syntax),
        (&[b"SET", b"foo", b"bar", b"ex", b"10", b"keepttl"], syntax),
        (&[b"SET", b"foo", b"bar", b"persist"], syntax),
        (&[b"SET", b"foo", b"bar", b"bogus"], syntax),
        (&[b"SET", b"foo", b"bar", b"ex", b"0"], bad_expire),
        (&[b"SET", b"foo", b"bar", b"ex", b"-1"], bad_expire),
        (&[b"SET", b"foo", b"bar", b"ex", b"9223372036854776"], bad_expire),
        (&[b"SET", b"foo", b"bar", b"px", b"9223372036854775807"], bad_expire),
        (&[b"SET", b"foo", b"bar", b"ex", b"abc"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"SETEX", b"foo", b"0", b"v"], b"-ERR invalid expire time in 'setex' command\r\n"),
        (&[b"PSETEX", b"foo", b"-5", b"v"], b"-ERR invalid expire time in 'psetex' command\r\n"),
        (&[b"GETEX", b"foo"], b"$-1\r\n"),
        // Expire arguments are checked before GET and the lookup.
        (&[b"SET", b"foo", b"bar", b"ex", b"10", b"ex", b"20"], b"+OK\r\n"),
        (&[b"SET", b"foo", b"bar", b"pxat", b"9223372036854775807"], b"+OK\r\n"),
        (&[b"SET", b"foo", b"x", b"nx"], b"$-1\r\n"),
        (&[b"SET", b"nokey", b"x", b"xx"], b"$-1\r\n"),
        (&[b"SET", b"foo", b"baz", b"get", b"nx"], b"$3\r\nbar\r\n"),
        (&[b"SET", b"foo", b"baz", b"GET", b"xx", b"get"], b"$3\r\nbar\r\n"),
        (&[b"SET", b"new", b"v", b"get", b"xx"], b"$-1\r\n"),
        (&[b"GET", b"new"], b"$-1\r\n"),
        (&[b"SET", b"new", b"v", b"get", b"nx"], b"$-1\r\n"),
        (&[b"GET", b"new"], b"$1\r\nv\r\n"),
        (&[b"SETNX", b"new", b"w"], b":0\r\n"),
        (&[b"SETNX", b"new2", b"w"], b":1\r\n"),
        (&[b"GETSET", b"new2", b"z"], b"$1\r\nw\r\n"),
        (&[b"GETSET", b"new3", b"z"], b"$-1\r\n"),
        (&[b"GETDEL", b"new3"], b"$1\r\nz\r\n"),
        (&[b"GETDEL", b"new3"], b"$-1\r\n"),
        (&[b"GETEX", b"new2", b"persist", b"ex", b"10"], syntax),
        (&[b"GETEX", b"new2", b"ex", b"10", b"persist"], syntax),
        (&[b"GETEX", b"new2", b"ex", b"0"], b"-ERR invalid expire time in 'getex' command\r\n"),
        (&[b"GETEX", b"nokey", b"ex", b"abc"], b"$-1\r\n"),
        // An absolute time in the past deletes the key (after replying its value).
        (&[b"GETEX", b"new2", b"exat", b"1"], b"$1\r\nz\r\n"),
        (&[b"GET", b"new2"], b"$-1\r\n"),
    ]);
}

#[test]
fn wrong_type_over_the_wire() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let wrongtype: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    c.script(&[
        (&[b"RPUSH", b"l", b"waffle"], b":1\r\n"),
        (&[b"SET", b"l", b"bar", b"GET"], wrongtype),
        (&[b"SET", b"l", b"bar", b"GET", b"NX"], wrongtype),
        (&[b"GETEX", b"l", b"EX", b"10"], wrongtype),
        (&[b"INCRBYFLOAT", b"l", b"1"], wrongtype),
        (&[b"SETRANGE", b"l", b"0", b"x"], wrongtype),
        (&[b"RPOP", b"l"], b"$6\r\nwaffle\r\n"),
        (&[b"RPUSH", b"l", b"x"], b":1\r\n"),
        (&[b"MGET", b"l", b"nokey"], b"*2\r\n$-1\r\n$-1\r\n"),
        (&[b"SET", b"l", b"bar", b"XX"], b"+OK\r\n"),
        (&[b"GET", b"l"], b"$3\r\nbar\r\n"),
    ]);
}

#[test]
fn ttl_options_take_effect() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.script(&[
        (&[b"SET", b"a", b"1", b"PX", b"100"], b"+OK\r\n"),
        (&[b"SET", b"b", b"1", b"PX", b"100"], b"+OK\r\n"),
        (&[b"SET", b"b", b"2", b"KEEPTTL"], b"+OK\r\n"),
        (&[b"SET", b"c", b"1", b"PX", b"100"], b"+OK\r\n"),
        (&[b"SET", b"c", b"2"], b"+OK\r\n"),
        (&[b"PSETEX", b"d", b"100", b"1"], b"+OK\r\n"),
        (&[b"SET", b"e", b"1", b"PX", b"100"], b"+OK\r\n"),
        (&[b"GETEX", b"e", b"PERSIST"], b"$1\r\n1\r\n"),
        (&[b"SET", b"f", b"1"], b"+OK\r\n"),
        (&[b"GETEX", b"f", b"PX", b"100"], b"$1\r\n1\r\n"),
        (&[b"SET", b"g", b"1", b"PX", b"100"], b"+OK\r\n"),
        (&[b"INCRBYFLOAT", b"g", b"1"], b"$1\r\n2\r\n"),
    ]);
    std::thread::sleep(Duration::from_millis(300));
    c.roundtrip(
        &[b"MGET", b"a", b"b", b"c", b"d", b"e", b"f", b"g"],
        b"*7\r\n$-1\r\n$-1\r\n$1\r\n2\r\n$-1\r\n$1\r\n1\r\n$-1\r\n$-1\r\n",
    );
}

#[test]
fn mset_msetnx() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.script(&[
        (&[b"MSET", b"a", b"1", b"b"], b"-ERR wrong number of arguments for 'mset' command\r\n"),
        (&[b"MSETNX", b"a", b"1", b"b"], b"-ERR wrong number of arguments for 'msetnx' command\r\n"),
        (&[b"MSET", b"a", b"1", b"b", b"x\r\ny"], b"+OK\r\n"),
        (&[b"MSETNX", b"c", b"1", b"a", b"2"], b":0\r\n"),
        (&[b"MGET", b"c", b"a", b"b"], b"*3\r\n$-1\r\n$1\r\n1\r\n$4\r\nx\r\ny\r\n"),
        (&[b"MSETNX", b"c", b"1", b"c", b"2"], b":1\r\n"),
        (&[b"GET", b"c"], b"$1\r\n2\r\n"),
    ]);
}

#[test]
fn append_strlen_ranges() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.script(&[
        (&[b"APPEND", b"k", b"12"], b":2\r\n"),
        (&[b"APPEND", b"k", b"34"], b":4\r\n"),
        (&[b"INCR", b"k"], b":1235\r\n"),
        (&[b"STRLEN", b"k"], b":4\r\n"),
        (&[b"STRLEN", b"nokey"], b":0\r\n"),
        (&[b"SET", b"n", b"-555"], b"+OK\r\n"),
        (&[b"STRLEN", b"n"], b":4\r\n"),
        (&[b"SET", b"s", b"Hello World"], b"+OK\r\n"),
        (&[b"GETRANGE", b"s", b"-4", b"-1"], b"$4\r\norld\r\n"),
        (&[b"GETRANGE", b"s", b"5", b"3"], b"$0\r\n\r\n"),
        (&[b"GETRANGE", b"s", b"-1", b"-5"], b"$0\r\n\r\n"),
        (&[b"SUBSTR", b"s", b"0", b"4294967297"], b"$11\r\nHello World\r\n"),
        (&[b"GETRANGE", b"n", b"1", b"-1"], b"$3\r\n555\r\n"),
        (&[b"GETRANGE", b"nokey", b"0", b"-1"], b"$0\r\n\r\n"),
        (&[b"GETRANGE", b"s", b"0", b"x"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"SETRANGE", b"s", b"-1", b"x"], b"-ERR offset is out of range\r\n"),
        (&[b"SETRANGE", b"nokey", b"5", b""], b":0\r\n"),
        (&[b"GET", b"nokey"], b"$-1\r\n"),
        (&[b"SETRANGE", b"s", b"0", b""], b":11\r\n"),
        (&[b"SETRANGE", b"n", b"6", b"x"], b":7\r\n"),
        (&[b"GET", b"n"], b"$7\r\n-555\x00\x00x\r\n"),
        (&[b"SETRANGE", b"new", b"1", b"foo"], b":4\r\n"),
        (&[b"GET", b"new"], b"$4\r\n\x00foo\r\n"),
    ]);
    let too_big: &[u8] = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    c.roundtrip(&[b"SETRANGE", b"s", b"536870908", b"world"], too_big);
    c.roundtrip(&[b"SETRANGE", b"other", b"9223372036854775807", b"A"], too_big);
    c.roundtrip(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"1048576"], b"+OK\r\n");
    c.roundtrip(&[b"APPEND", b"s", &vec![b'x'; 1048576 - 11]], b":1048576\r\n");
    c.roundtrip(&[b"APPEND", b"s", b"y"], too_big);
}

#[test]
fn incr_family_errors_and_limits() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let not_int: &[u8] = b"-ERR value is not an integer or out of range\r\n";
    c.script(&[
        (&[b"INCR", b"x"], b":1\r\n"),
        (&[b"DECRBY", b"x", b"17179869185"], b":-17179869184\r\n"),
        (&[b"INCRBY", b"x", b"abc"], not_int),
        (&[b"DECRBY", b"x", b"-9223372036854775808"], b"-ERR decrement would overflow\r\n"),
        (&[b"SET", b"m", b"9223372036854775807"], b"+OK\r\n"),
        (&[b"INCR", b"m"], b"-ERR increment or decrement would overflow\r\n"),
        (&[b"SET", b"m", b"-9223372036854775808"], b"+OK\r\n"),
        (&[b"DECR", b"m"], b"-ERR increment or decrement would overflow\r\n"),
        (&[b"SET", b"sp", b" 11"], b"+OK\r\n"),
        (&[b"INCR", b"sp"], not_int),
        (&[b"SET", b"lead", b"011"], b"+OK\r\n"),
        (&[b"INCR", b"lead"], not_int),
        (&[b"SETRANGE", b"raw", b"0", b"41"], b":2\r\n"),
        (&[b"INCRBY", b"raw", b"-42"], b":-1\r\n"),
        (&[b"GET", b"raw"], b"$2\r\n-1\r\n"),
    ]);
}

#[test]
fn incrbyfloat_formatting_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let not_float: &[u8] = b"-ERR value is not a valid float\r\n";
    let nan_inf: &[u8] = b"-ERR increment would produce NaN or Infinity\r\n";
    let one_41th = format!("{}", 1.0f64 / 41.0);
    let minus_one_41th = format!("-{one_41th}");
    c.script(&[
        (&[b"INCRBYFLOAT", b"f", b"10.5"], b"$4\r\n10.5\r\n"),
        (&[b"INCRBYFLOAT", b"f", b"0.1"], b"$4\r\n10.6\r\n"),
        (&[b"INCRBYFLOAT", b"f", b"-10.6"], b"$1\r\n0\r\n"),
        (&[b"INCRBYFLOAT", b"f", b"5.0e3"], b"$4\r\n5000\r\n"),
        (&[b"INCRBYFLOAT", b"f", b"1.23456789012345678901234567890"], b"$22\r\n5001.23456789012345691\r\n"),
        (&[b"SET", b"big", b"17179869184"], b"+OK\r\n"),
        (&[b"INCRBYFLOAT", b"big", b"1.5"], b"$13\r\n17179869185.5\r\n"),
        (&[b"INCRBYFLOAT", b"z", one_41th.as_bytes()], b"$19\r\n0.02439024390243902\r\n"),
        (&[b"INCRBYFLOAT", b"z", minus_one_41th.as_bytes()], b"$1\r\n0\r\n"),
        (&[b"INCRBYFLOAT", b"z", b"abc"], not_float),
        (&[b"INCRBYFLOAT", b"z", b" 1"], not_float),
        (&[b"INCRBYFLOAT", b"z", b"nan"], not_float),
        (&[b"INCRBYFLOAT", b"z", b"1e5000"], not_float),
        (&[b"INCRBYFLOAT", b"z", b"+inf"], nan_inf),
        (&[b"SET", b"nul", b"1\x002"], b"+OK\r\n"),
        (&[b"INCRBYFLOAT", b"nul", b"1"], not_float),
        (&[b"SET", b"sp", b"11 "], b"+OK\r\n"),
        (&[b"INCRBYFLOAT", b"sp", b"1"], not_float),
    ]);
    // 1e4000 is not exact in a long double: "%.17Lf" shows its 4000 digits.
    c.roundtrip(&[b"INCRBYFLOAT", b"huge", b"1e4000"], b"$4000\r\n99999999999999999999654638730996237849");
    let rest = c.read_n(4000 - 38 + 2);
    assert!(rest.ends_with(b"72729951206648276349901340672\r\n"));
    c.roundtrip(&[b"INCRBYFLOAT", b"max", b"1e4932"], b"$4933\r\n1000000000000000000006018949387963891323837774");
    c.read_n(4933 - 46 + 2);
    c.roundtrip(&[b"INCRBYFLOAT", b"max", b"1e4932"], nan_inf);
}

#[test]
fn lcs_replies() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"MSET", b"a", b"ohmytext", b"b", b"mynewtext"], b"+OK\r\n");
    c.script(&[
        (&[b"LCS", b"a", b"b"], b"$6\r\nmytext\r\n"),
        (&[b"LCS", b"a", b"b", b"LEN"], b":6\r\n"),
        (
            &[b"LCS", b"a", b"b", b"IDX"],
            b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
        ),
        (
            &[b"LCS", b"a", b"b", b"IDX", b"MINMATCHLEN", b"4", b"WITHMATCHLEN"],
            b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
        ),
        (&[b"LCS", b"nokey", b"b", b"IDX"], b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
        (&[b"LCS", b"a", b"b", b"IDX", b"LEN"], b"-ERR If you want both the length and indexes, please just use IDX.\r\n"),
        (&[b"LCS", b"a", b"b", b"MINMATCHLEN"], b"-ERR syntax error\r\n"),
        (&[b"LCS", b"a", b"b", b"MINMATCHLEN", b"x"], b"-ERR value is not an integer or out of range\r\n"),
    ]);
    c.roundtrip(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"1048576"], b"+OK\r\n");
    c.roundtrip(&[b"MSET", b"x", &vec![b'x'; 1000], b"y", &vec![b'y'; 1000]], b"+OK\r\n");
    c.roundtrip(
        &[b"LCS", b"x", b"y"],
        b"-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n",
    );
}

/// Keyspace events and their order, as a PSUBSCRIBEd client sees them.
#[test]
fn keyspace_events() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEAn"], b"+OK\r\n");
    let mut sub = srv.raw();
    sub.roundtrip(&[b"PSUBSCRIBE", b"__keyevent@0__:*"], b"*3\r\n$10\r\npsubscribe\r\n$16\r\n__keyevent@0__:*\r\n:1\r\n");
    let steps: &[(&[&[u8]], &[&str])] = &[
        (&[b"SET", b"k", b"v", b"EX", b"100"], &["new", "set", "expire"]),
        (&[b"APPEND", b"k", b"w"], &["append"]),
        (&[b"SETRANGE", b"k", b"0", b"x"], &["setrange"]),
        (&[b"INCRBYFLOAT", b"f", b"1"], &["new", "incrbyfloat"]),
        (&[b"INCRBY", b"f", b"1"], &["incrby"]),
        (&[b"GETEX", b"f", b"PX", b"1000"], &["expire"]),
        (&[b"GETEX", b"f", b"PERSIST"], &["persist"]),
        (&[b"GETDEL", b"f"], &["del"]),
        (&[b"MSET", b"a", b"1", b"k", b"2"], &["new", "set", "set"]),
        (&[b"GETSET", b"a", b"3"], &["set"]),
    ];
    for (args, events) in steps {
        c.cmd(args);
        let key = std::str::from_utf8(args[1]).unwrap();
        let mut keys = vec![key; events.len()];
        if args[0] == b"MSET" {
            keys = vec!["a", "a", "k"];
        }
        for (ev, key) in events.iter().zip(keys) {
            let chan = format!("__keyevent@0__:{ev}");
            sub.expect(
                format!("*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n${}\r\n{chan}\r\n${}\r\n{key}\r\n", chan.len(), key.len())
                    .as_bytes(),
            );
        }
    }
}

/// Deterministic string/bit commands whose replies, events and write stream are compared
/// with the real redis-server 7.0.15 (skipped when it is not installed).
const DIFF_SCRIPT: &str = "
SET a 1 PXAT 4000000000000
SET b 2 EXAT 4000000000 GET
SET c 3 GET
SET c 3 get NX
SET n 5 XX GET
GETSET c 4
INCRBYFLOAT f 1.5
INCRBYFLOAT f 0.1
GETEX a PXAT 4000000000001
GETEX a PERSIST
GETEX a PERSIST
GETEX a
GETDEL b
GETDEL b
GETEX c EXAT 1
SETRANGE s 0 xyz
SETRANGE s 10 q
APPEND s tail
SETBIT s 3 1
SETBIT s 3 1
BITFIELD s INCRBY u8 0 1 OVERFLOW FAIL INCRBY i4 4 100 GET u16 0
BITFIELD_RO s GET i8 8
BITOP NOT t s
BITOP AND t nokey
MSET x 1 y 2
MSETNX x 1 z 2
MSETNX z 1 w 2
APPEND x 2
INCR x
DECRBY x 20
INCRBY y -5
SETNX x 1
SETNX v 1
LCS s t
LCS x y IDX WITHMATCHLEN
LCS s t IDX MINMATCHLEN 2
BITCOUNT s 1 -1 BIT
BITPOS s 0 2
STRLEN s
GETRANGE s -3 -1
MGET a b c x y nokey
";

#[test]
fn same_as_redis_replies_resp2_and_resp3() {
    let dir = std::env::temp_dir().join(format!("ferrodis-strings-diff-{}", common::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(redis) = common::RealRedis::start(&dir, &[]) else { return };
    let srv = Server::start(&[]);
    common::same_replies(&mut srv.raw(), &mut redis.raw(), DIFF_SCRIPT);
    for c in [srv.raw(), redis.raw()].iter_mut() {
        assert_eq!(c.call(&[b"FLUSHALL"]), b"+OK\r\n");
    }
    common::same_replies_resp3(&mut srv.raw(), &mut redis.raw(), DIFF_SCRIPT);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_as_redis_keyspace_events() {
    let dir = std::env::temp_dir().join(format!("ferrodis-strings-ev-{}", common::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(redis) = common::RealRedis::start(&dir, &[]) else { return };
    let srv = Server::start(&[]);
    common::same_events(srv.port, redis.port, DIFF_SCRIPT);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the write stream gets (relative expires made absolute, GET options dropped,
/// INCRBYFLOAT as SET ... KEEPTTL, GETDEL as DEL...): the AOF of both servers.
#[test]
fn same_as_redis_write_stream() {
    let cmds: Vec<Vec<&[u8]>> = DIFF_SCRIPT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| line.split(' ').map(str::as_bytes).collect())
        .collect();
    let Some(redis) = common::aof_after(true, &cmds) else { return };
    let aofs = [redis, common::aof_after(false, &cmds).unwrap()];
    for rewritten in ["PXAT $13 4000000000000", "KEEPTTL", "PEXPIREAT", "PERSIST", "DEL $1 b", "DEL $1 c"] {
        assert!(aofs[0].contains(rewritten), "redis's AOF has {rewritten}: {}", aofs[0]);
    }
    assert_eq!(aofs[1], aofs[0], "AOF (left: ours, right: redis)");
}
