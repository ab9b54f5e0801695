//! HyperLogLog: the stored strings are byte-identical to Redis 7.0.15's (values recorded
//! from redis-server), counts match, errors are Redis's.
mod common;
use common::Server;

fn sha1(b: &[u8]) -> String {
    sha1_smol::Sha1::from(b).digest().to_string()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn representation_is_redis_byte_for_byte() {
    let srv = Server::start(&[]);
    let mut con = srv.client();
    let q = |con: &mut redis::Connection, args: &[&str]| -> redis::Value {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query(con).unwrap()
    };
    let _ = q(&mut con, &["PFADD", "h", "a", "b", "c"]);
    let got: Vec<u8> = redis::cmd("GET").arg("h").query(&mut con).unwrap();
    assert_eq!(got, hex("48594c4c01000000000000000000008060f38050b1844bfb80425a"));

    let mut add = redis::cmd("PFADD");
    add.arg("d");
    for i in 0..3000 {
        add.arg(format!("e{i}"));
    }
    let _: i64 = add.query(&mut con).unwrap();
    let n: i64 = redis::cmd("PFCOUNT").arg("d").query(&mut con).unwrap();
    assert_eq!(n, 2979);
    let enc: String = redis::cmd("PFDEBUG").arg("ENCODING").arg("d").query(&mut con).unwrap();
    assert_eq!(enc, "dense");
    let d: Vec<u8> = redis::cmd("GET").arg("d").query(&mut con).unwrap();
    assert_eq!(sha1(&d), "dd640a880ffefbaabc92371fff4b1b0974887003");

    let mut add = redis::cmd("PFADD");
    add.arg("s2");
    for i in 0..200 {
        add.arg(format!("x{i}"));
    }
    let _: i64 = add.query(&mut con).unwrap();
    let n: i64 = redis::cmd("PFCOUNT").arg("s2").query(&mut con).unwrap();
    assert_eq!(n, 198);
    let s2: Vec<u8> = redis::cmd("GET").arg("s2").query(&mut con).unwrap();
    assert_eq!(sha1(&s2), "a254e13ab1249cb605a083203855527d212a62c8");
    let n: i64 = redis::cmd("PFCOUNT").arg("d").arg("s2").arg("h").query(&mut con).unwrap();
    assert_eq!(n, 3182);
    let _: () = redis::cmd("PFMERGE").arg("m").arg("s2").arg("h").query(&mut con).unwrap();
    let n: i64 = redis::cmd("PFCOUNT").arg("m").query(&mut con).unwrap();
    assert_eq!(n, 201);
    let m: Vec<u8> = redis::cmd("GET").arg("m").query(&mut con).unwrap();
    assert_eq!(sha1(&m), "1a46990ce1e960ac50dc5db2f8e092ff5ae8c502");

    // a copy written back with SET is still a working HLL
    let _: () = redis::cmd("SET").arg("copy").arg(&d).query(&mut con).unwrap();
    let n: i64 = redis::cmd("PFCOUNT").arg("copy").query(&mut con).unwrap();
    assert_eq!(n, 2979);
}

#[test]
fn errors_match_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"s", b"foo"], b"+OK\r\n");
    c.roundtrip(&[b"PFADD", b"s", b"a"], b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n");
    c.roundtrip(&[b"PFCOUNT", b"s"], b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n");
    c.roundtrip(&[b"SET", b"n", b"123"], b"+OK\r\n");
    c.roundtrip(&[b"PFADD", b"n", b"a"], b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n");
    c.roundtrip(&[b"LPUSH", b"l", b"a"], b":1\r\n");
    c.roundtrip(&[b"PFMERGE", b"l"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    c.roundtrip(&[b"PFDEBUG", b"GETREG", b"nokey"], b"-ERR The specified key does not exist\r\n");
    c.roundtrip(&[b"PFADD", b"h"], b":1\r\n");
    c.roundtrip(&[b"PFADD", b"h"], b":0\r\n");
    c.roundtrip(&[b"PFDEBUG", b"foo", b"h"], b"-ERR Unknown PFDEBUG subcommand 'foo'\r\n");
    c.roundtrip(&[b"PFDEBUG", b"Encoding", b"h", b"x"], b"-ERR wrong number of arguments for 'pfdebug' command\r\n");
    c.roundtrip(&[b"PFDEBUG", b"DECODE", b"h"], b"$7\r\nZ:16384\r\n");
    c.roundtrip(&[b"PFDEBUG", b"TODENSE", b"h"], b":1\r\n");
    c.roundtrip(&[b"PFDEBUG", b"TODENSE", b"h"], b":0\r\n");
    c.roundtrip(&[b"PFDEBUG", b"DECODE", b"h"], b"-ERR HLL encoding is not sparse\r\n");
    // a sparse HLL whose opcodes do not cover the registers
    c.roundtrip(&[b"SET", b"bad", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00"], b"+OK\r\n");
    c.roundtrip(&[b"PFCOUNT", b"bad"], b"-INVALIDOBJ Corrupted HLL object detected\r\n");
    c.roundtrip(&[b"PFADD", b"bad", b"a", b"b", b"c"], b"-INVALIDOBJ Corrupted HLL object detected\r\n");
}
