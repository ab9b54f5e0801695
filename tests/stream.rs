//! Streams: replies compared byte for byte with a real redis-server 7.0.15 (when
//! installed), blocking XREAD / XREADGROUP, propagation and persistence.
mod common;
use common::{same_replies, same_replies_resp3, RealRedis, Server};

const BASICS: &str = "
xadd s 1-1 a 1 b 2
xadd s 1-2 a 3 b 4
xadd s 1-* a 5
xadd s 5 c 6
xadd s 1-1 a 1
xadd s 0-0 a 1
xadd s 0 a 1
xadd s abc a 1
xadd s 10-1 a
xadd s MAXLEN 2 20-1 a 1
xlen s
xrange s - +
xrevrange s + -
xrange s (20-1 +
xrange s - + COUNT 0
xrange s - + COUNT 1
xrange s 1 1
xrange s (1 +
xrange s (18446744073709551615-18446744073709551615 +
xrange s - (0-0
xrange s - + count
xrange nokey - +
xadd s NOMKSTREAM 30-1 x y
xadd nk NOMKSTREAM 30-1 x y
exists nk
type s
object encoding s
xdel s 30-1 1-1 999
xdel s bad
xlen s
set str x
xadd str * a 1
xlen str
xrange str - +
del s
xadd s MAXLEN ~ 5 LIMIT 10 1-1 a 1
xadd s MAXLEN 5 LIMIT 10 1-1 a 1
xadd s MAXLEN 5 MINID 1 1-1 a 1
xadd s LIMIT 10 1-1 a 1
xadd s MAXLEN -1 1-1 a 1
xtrim s
xtrim s LIMIT 2
xtrim s MAXLEN 1
xtrim s MINID ~ 1
xtrim s foo 1
xadd s 18446744073709551615-18446744073709551615 a 1
xadd s * a 1
xsetid s 1-1
xsetid s 18446744073709551615-18446744073709551615 ENTRIESADDED 0
xsetid s 18446744073709551615-18446744073709551615 ENTRIESADDED 5 MAXDELETEDID 3-3
xsetid nokey 1-1
xsetid s 1-1 MAXDELETEDID 2-2
xsetid s 1-1 ENTRIESADDED -1
";

const GROUPS: &str = "
xgroup create s g $
xgroup create s g $ MKSTREAM
xgroup create s g $ MKSTREAM
xgroup create s g2 0 ENTRIESREAD 5
xgroup create s g3 0 ENTRIESREAD -5
xgroup create s g4 0 FOO
xgroup help
xgroup foo s g
xgroup setid s nog 0
xgroup createconsumer s g c1
xgroup createconsumer s g c1
xgroup createconsumer s nog c1
xadd s 1-1 a 1
xadd s 2-1 a 2
xadd s 3-1 a 3 b 4
xreadgroup GROUP g c1 COUNT 1 STREAMS s >
xreadgroup GROUP g c2 STREAMS s >
xreadgroup GROUP g c2 STREAMS s >
xreadgroup GROUP g c2 STREAMS s 0
xreadgroup GROUP g c1 STREAMS s 0-0
xreadgroup GROUP nog c1 STREAMS s >
xreadgroup GROUP g c1 STREAMS s $
xread STREAMS s >
xread STREAMS s 0
xread COUNT 1 STREAMS s 0
xread STREAMS s $
xread STREAMS s s2 0 0
xread STREAMS s 0 0
xread GROUP g c STREAMS s 0
xread NOACK STREAMS s 0
xreadgroup STREAMS s 0
xinfo groups s
xinfo consumers s nog
xpending s g
xpending nokey g
xpending s nog
xack s g 1-1 9-9
xack s g bad
xack s nog 1-1
xpending s g
xdel s 2-1
xreadgroup GROUP g c2 STREAMS s 0
xclaim s g c3 0 2-1 3-1 JUSTID
xclaim s g c3 0 3-1 RETRYCOUNT 7
xclaim s g c3 0 3-1 FOO
xclaim s g c3 abc 3-1
xclaim s nog c3 0 3-1
xautoclaim s g c4 0 0
xautoclaim s g c4 0 0 COUNT 0
xautoclaim s g c4 0 0 JUSTID
xautoclaim s nog c4 0 0
xgroup delconsumer s g c4
xgroup delconsumer s g c4
xpending s g
xinfo groups s
xgroup setid s g 0 ENTRIESREAD 0
xinfo groups s
xgroup setid s g $
xinfo groups s
xgroup destroy s g
xgroup destroy s g
xinfo help
xinfo stream nokey
xinfo foo s
xinfo stream s foo
xinfo stream s full count
xreadgroup GROUP g2 c NOACK STREAMS s >
xinfo groups s
";

fn pair() -> Option<(Server, RealRedis, std::path::PathBuf)> {
    let dir = common::tmpdir("pair");
    let real = RealRedis::start(&dir, &[])?;
    Some((Server::start(&[]), real, dir))
}

#[test]
fn basic_commands_match_redis() {
    let Some((srv, real, _d)) = pair() else { return };
    same_replies(&mut srv.raw(), &mut real.raw(), BASICS);
}

#[test]
fn consumer_groups_match_redis() {
    let Some((srv, real, _d)) = pair() else { return };
    same_replies(&mut srv.raw(), &mut real.raw(), GROUPS);
}

#[test]
fn resp3_replies_match_redis() {
    let Some((srv, real, _d)) = pair() else { return };
    same_replies_resp3(
        &mut srv.raw(),
        &mut real.raw(),
        "xadd s 1-1 a 1
         xgroup create s g 0
         xreadgroup GROUP g c STREAMS s >
         xread STREAMS s 0
         xinfo groups s
         xinfo stream s
         xread STREAMS nokey 0",
    );
}

#[test]
fn blocking_reads_are_woken_in_order() {
    let srv = Server::start(&[]);
    let mut p = srv.raw();
    let mut a = srv.raw();
    let mut b = srv.raw();
    p.call(&[b"XADD", b"s", b"1-1", b"f", b"v"]);
    a.cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    b.cmd(&[b"XREAD", b"BLOCK", b"0", b"COUNT", b"1", b"STREAMS", b"other", b"s", b"0", b"$"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.call(&[b"XADD", b"s", b"2-1", b"f", b"w"]);
    let expect: &[u8] = b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nf\r\n$1\r\nw\r\n";
    assert_eq!(a.read_reply(), expect);
    assert_eq!(b.read_reply(), expect);
    // timeout: a null array
    assert_eq!(a.call(&[b"XREAD", b"BLOCK", b"50", b"STREAMS", b"s", b"$"]), b"*-1\r\n");
    // inside MULTI it does not block
    a.call(&[b"MULTI"]);
    a.call(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    assert_eq!(a.call(&[b"EXEC"]), b"*1\r\n*-1\r\n");
}

#[test]
fn blocked_readgroup_errors_when_stream_or_group_goes() {
    let srv = Server::start(&[]);
    let mut p = srv.raw();
    let mut a = srv.raw();
    p.call(&[b"XGROUP", b"CREATE", b"s", b"g", b"$", b"MKSTREAM"]);
    a.cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.call(&[b"XGROUP", b"DESTROY", b"s", b"g"]);
    assert_eq!(a.read_reply(), b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    p.call(&[b"XGROUP", b"CREATE", b"s", b"g", b"$"]);
    a.cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.call(&[b"DEL", b"s"]);
    assert_eq!(a.read_reply(), b"-UNBLOCKED the stream key no longer exists\r\n");
    // served: the entry goes to the consumer's PEL
    p.call(&[b"XGROUP", b"CREATE", b"s", b"g", b"$", b"MKSTREAM"]);
    a.cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.call(&[b"XADD", b"s", b"5-5", b"k", b"v"]);
    assert_eq!(a.read_reply(), b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-5\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(p.call(&[b"XPENDING", b"s", b"g"]), b"*4\r\n:1\r\n$3\r\n5-5\r\n$3\r\n5-5\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n");
}

/// A reply with XINFO's radix-tree-nodes count blanked (our tree is not a radix tree).
fn blank_rax_nodes(r: &[u8]) -> String {
    let s = String::from_utf8_lossy(r).into_owned();
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find("radix-tree-nodes\r\n:") {
        let (a, b) = rest.split_at(i + "radix-tree-nodes\r\n:".len());
        out.push_str(a);
        out.push('N');
        rest = &b[b.find("\r\n").unwrap()..];
    }
    out.push_str(rest);
    out
}

const POPULATE: &str = "
config set stream-node-max-entries 7
xadd s 1-1 name alice n 1
xadd s 1-2 name bob n 22222
xadd s 2-0 other field
xadd s 3-5 name carol n -7 extra 3.5
";

const CHECK: &[&str] = &[
    "xinfo stream s full",
    "xinfo stream s",
    "xinfo groups s",
    "xrange s - +",
    "xrevrange s + - count 3",
    "xpending s g1",
    "xlen s",
    "debug digest-value s",
    "type s",
    "object encoding s",
];

fn populate(c: &mut common::Raw) {
    for l in POPULATE.lines().filter(|l| !l.is_empty()) {
        c.call(&l.split(' ').map(str::as_bytes).collect::<Vec<_>>());
    }
    for i in 0..60 {
        let id = format!("{}-{}", 10 + i, i % 3);
        let v = "x".repeat(i * 7);
        c.call(&[b"XADD", b"s", id.as_bytes(), b"name", format!("u{i}").as_bytes(), b"blob", v.as_bytes()]);
    }
    for l in [
        "xdel s 1-2 15-2 16-0",
        "xgroup create s g1 0",
        "xgroup create s g2 $",
        "xgroup createconsumer s g2 idle",
        "xreadgroup group g1 c1 count 10 streams s >",
        "xreadgroup group g1 c2 count 5 streams s >",
        "xack s g1 1-1 2-0",
        "xdel s 10-0",
        "xgroup create s g3 5 ENTRIESREAD 3",
    ] {
        c.call(&l.split(' ').map(str::as_bytes).collect::<Vec<_>>());
    }
}

fn compare(ours: &mut common::Raw, real: &mut common::Raw) {
    for l in CHECK {
        let args: Vec<&[u8]> = l.split(' ').map(str::as_bytes).collect();
        assert_eq!(blank_rax_nodes(&ours.call(&args)), blank_rax_nodes(&real.call(&args)), "reply to `{l}`");
    }
}

#[test]
fn rdb_written_by_redis_loads_and_ours_loads_in_redis() {
    // Redis -> ferrodis
    let dir = common::tmpdir("rdb-a");
    let Some(real) = RealRedis::start(&dir, &["--dbfilename", "dump.rdb", "--enable-debug-command", "yes"]) else { return };
    let mut r = real.raw();
    populate(&mut r);
    assert_eq!(r.call(&[b"SAVE"]), b"+OK\r\n");
    let d = dir.to_str().unwrap();
    let ours = Server::start(&["--dir", d, "--dbfilename", "dump.rdb"]);
    compare(&mut ours.raw(), &mut r);
    // ferrodis -> Redis
    let dir2 = common::tmpdir("rdb-b");
    let mut o = ours.raw();
    assert_eq!(o.call(&[b"SAVE"]), b"+OK\r\n");
    std::fs::copy(dir.join("dump.rdb"), dir2.join("dump.rdb")).unwrap();
    let real2 = RealRedis::start(&dir2, &["--dbfilename", "dump.rdb", "--enable-debug-command", "yes"]).unwrap();
    compare(&mut o, &mut real2.raw());
    // DUMP / RESTORE both ways
    let payload = r.call(&[b"DUMP", b"s"]);
    let body_start = payload.iter().position(|&b| b == b'\n').unwrap() + 1;
    let body = &payload[body_start..payload.len() - 2];
    assert_eq!(o.call(&[b"RESTORE", b"s2", b"0", body]), b"+OK\r\n");
    assert_eq!(o.call(&[b"XRANGE", b"s2", b"-", b"+"]), r.call(&[b"XRANGE", b"s", b"-", b"+"]));
}
