//! Bit commands against a real server, byte-exact (replies checked against Redis 7.0.15).
mod common;
use common::Server;

const SYNTAX: &[u8] = b"-ERR syntax error\r\n";

#[test]
fn setbit_getbit() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let bad_offset: &[u8] = b"-ERR bit offset is not an integer or out of range\r\n";
    let bad_bit: &[u8] = b"-ERR bit is not an integer or out of range\r\n";
    c.script(&[
        (&[b"SETBIT", b"b", b"1", b"1"], b":0\r\n"),
        (&[b"GET", b"b"], b"$1\r\n@\r\n"),
        (&[b"SETBIT", b"b", b"1", b"0"], b":1\r\n"),
        (&[b"SETBIT", b"b", b"-1", b"1"], bad_offset),
        (&[b"SETBIT", b"b", b"4294967296", b"1"], bad_offset),
        (&[b"SETBIT", b"b", b"0", b"2"], bad_bit),
        (&[b"SETBIT", b"b", b"0", b"-1"], bad_bit),
        (&[b"SETBIT", b"b", b"0", b"x"], bad_bit),
        (&[b"SET", b"i", b"1"], b"+OK\r\n"),
        (&[b"SETBIT", b"i", b"6", b"1"], b":0\r\n"),
        (&[b"GET", b"i"], b"$1\r\n3\r\n"),
        (&[b"SET", b"i", b"1"], b"+OK\r\n"),
        (&[b"GETBIT", b"i", b"2"], b":1\r\n"),
        (&[b"GETBIT", b"i", b"10000"], b":0\r\n"),
        (&[b"GETBIT", b"nokey", b"0"], b":0\r\n"),
        (&[b"SETBIT", b"far", b"23", b"1"], b":0\r\n"),
        (&[b"GET", b"far"], b"$3\r\n\x00\x00\x01\r\n"),
    ]);
}

#[test]
fn wrong_type_over_the_wire() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let wrongtype: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    c.script(&[
        (&[b"LPUSH", b"l", b"foo"], b":1\r\n"),
        (&[b"SET", b"s", b"1"], b"+OK\r\n"),
        (&[b"SETBIT", b"l", b"0", b"1"], wrongtype),
        (&[b"BITOP", b"xor", b"d", b"s", b"l", b"nokey"], wrongtype),
        (&[b"BITFIELD", b"l", b"INCRBY", b"u2", b"0", b"1"], wrongtype),
        (&[b"BITFIELD_RO", b"l", b"INCRBY", b"u2", b"0", b"1"], b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"),
        (&[b"GET", b"d"], b"$-1\r\n"),
    ]);
}

#[test]
fn bitcount_ranges_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.script(&[
        (&[b"SET", b"s", b"foobar"], b"+OK\r\n"),
        (&[b"BITCOUNT", b"s"], b":26\r\n"),
        (&[b"BITCOUNT", b"s", b"1", b"-2"], b":18\r\n"),
        (&[b"BITCOUNT", b"s", b"-2", b"1"], b":0\r\n"),
        (&[b"BITCOUNT", b"s", b"10", b"14", b"BIT"], b":4\r\n"),
        (&[b"BITCOUNT", b"s", b"3", b"-34", b"bit"], b":7\r\n"),
        (&[b"BITCOUNT", b"s", b"0", b"1000", b"byte"], b":26\r\n"),
        (&[b"BITCOUNT", b"s", b"0"], SYNTAX),
        (&[b"BITCOUNT", b"s", b"0", b"1", b"hello"], SYNTAX),
        (&[b"BITCOUNT", b"s", b"0", b"1", b"bit", b"x"], SYNTAX),
        // Negative start > end answers 0 before the unit is even looked at.
        (&[b"BITCOUNT", b"s", b"-6", b"-7", b"hello"], b":0\r\n"),
        (&[b"BITCOUNT", b"s", b"a", b"1"], b"-ERR value is not an integer or out of range\r\n"),
        // A missing key is 0 whatever the arguments.
        (&[b"BITCOUNT", b"nokey", b"x"], b":0\r\n"),
        (&[b"SET", b"i", b"123"], b"+OK\r\n"),
        (&[b"BITCOUNT", b"i"], b":10\r\n"),
        (&[b"SET", b"e", b""], b"+OK\r\n"),
        (&[b"BITCOUNT", b"e", b"0", b"-1", b"bit"], b":0\r\n"),
    ]);
}

#[test]
fn bitpos_ranges() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.script(&[
        (&[b"BITPOS", b"nokey", b"0"], b":0\r\n"),
        (&[b"BITPOS", b"nokey", b"1"], b":-1\r\n"),
        (&[b"BITPOS", b"nokey", b"2"], b"-ERR The bit argument must be 1 or 0.\r\n"),
        (&[b"SET", b"e", b""], b"+OK\r\n"),
        (&[b"BITPOS", b"e", b"0"], b":-1\r\n"),
        (&[b"SET", b"s", b"\xff\xff\xff"], b"+OK\r\n"),
        // Without an end the string counts as zero-padded on the right.
        (&[b"BITPOS", b"s", b"0"], b":24\r\n"),
        (&[b"BITPOS", b"s", b"0", b"1"], b":24\r\n"),
        (&[b"BITPOS", b"s", b"0", b"7"], b":-1\r\n"),
        (&[b"BITPOS", b"s", b"0", b"7", b"bit"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"BITPOS", b"s", b"0", b"0", b"-1"], b":-1\r\n"),
        (&[b"BITPOS", b"s", b"0", b"5"], b":-1\r\n"),
        (&[b"SET", b"s", b"\x00\xff\x00"], b"+OK\r\n"),
        (&[b"BITPOS", b"s", b"1", b"0", b"-1"], b":8\r\n"),
        (&[b"BITPOS", b"s", b"1", b"2", b"-1"], b":-1\r\n"),
        (&[b"BITPOS", b"s", b"0", b"8", b"8", b"bit"], b":-1\r\n"),
        (&[b"BITPOS", b"s", b"0", b"8", b"-1", b"bit"], b":16\r\n"),
        (&[b"BITPOS", b"s", b"1", b"3", b"-1", b"bit"], b":8\r\n"),
        (&[b"BITPOS", b"s", b"0", b"-3", b"-1", b"bit"], b":21\r\n"),
        (&[b"BITPOS", b"s", b"0", b"0", b"-1", b"x"], SYNTAX),
        (&[b"BITPOS", b"s", b"0", b"3", b"abc", b"x"], SYNTAX),
        (&[b"BITPOS", b"s", b"0", b"3", b"abc"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"BITPOS", b"s", b"0", b"0", b"-1", b"bit", b"x"], SYNTAX),
    ]);
    // Long runs: the first set bit after 27 zero bytes.
    let mut long = vec![0u8; 27];
    long.push(0xf0);
    c.roundtrip(&[b"SET", b"l", &long], b"+OK\r\n");
    for start in [&b"0"[..], b"1", b"5", b"8"] {
        c.roundtrip(&[b"BITPOS", b"l", b"1", start], b":216\r\n");
    }
    c.roundtrip(&[b"BITPOS", b"l", b"1", b"65", b"-1", b"bit"], b":216\r\n");
}

#[test]
fn bitop_operations() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.script(&[
        (&[b"MSET", b"a", b"\x01\x02\xff\xff", b"b", b"\x01\x02\xff"], b"+OK\r\n"),
        (&[b"BITOP", b"AND", b"r", b"a", b"b"], b":4\r\n"),
        (&[b"GET", b"r"], b"$4\r\n\x01\x02\xff\x00\r\n"),
        (&[b"BITOP", b"or", b"r", b"a", b"b"], b":4\r\n"),
        (&[b"GET", b"r"], b"$4\r\n\x01\x02\xff\xff\r\n"),
        (&[b"BITOP", b"xor", b"r", b"a", b"b"], b":4\r\n"),
        (&[b"GET", b"r"], b"$4\r\n\x00\x00\x00\xff\r\n"),
        (&[b"BITOP", b"not", b"a", b"a"], b":4\r\n"),
        (&[b"GET", b"a"], b"$4\r\n\xfe\xfd\x00\x00\r\n"),
        (&[b"BITOP", b"not", b"r", b"a", b"b"], b"-ERR BITOP NOT must be called with a single source key.\r\n"),
        (&[b"BITOP", b"nand", b"r", b"a"], SYNTAX),
        (&[b"MSET", b"x", b"1", b"y", b"2"], b"+OK\r\n"),
        (&[b"BITOP", b"xor", b"d", b"x", b"y", b"x"], b":1\r\n"),
        (&[b"GET", b"d"], b"$1\r\n2\r\n"),
        // Empty result: the destination is deleted.
        (&[b"BITOP", b"and", b"d", b"nokey1", b"nokey2"], b":0\r\n"),
        (&[b"GET", b"d"], b"$-1\r\n"),
    ]);
    // Long inputs of different lengths against a straightforward model.
    let a: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    let b: Vec<u8> = (0..777u32).map(|i| (i * 13 + 1) as u8).collect();
    c.roundtrip(&[b"MSET", b"la", &a, b"lb", &b], b"+OK\r\n");
    let at = |v: &Vec<u8>, i: usize| v.get(i).copied().unwrap_or(0);
    for (op, f) in [(&b"AND"[..], (|x, y| x & y) as fn(u8, u8) -> u8), (b"OR", |x, y| x | y), (b"XOR", |x, y| x ^ y)] {
        let want: Vec<u8> = (0..1000).map(|i| f(at(&a, i), at(&b, i))).collect();
        c.roundtrip(&[b"BITOP", op, b"dst", b"la", b"lb", b"nokey"], b":1000\r\n");
        c.roundtrip(&[b"GET", b"dst"], &[&b"$1000\r\n"[..], &if op == b"AND" { vec![0; 1000] } else { want }, b"\r\n"].concat());
    }
}

#[test]
fn bitfield_overflow_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let bad_type: &[u8] =
        b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
    c.script(&[
        (&[b"BITFIELD", b"bits", b"SET", b"i8", b"0", b"255", b"SET", b"i8", b"0", b"100", b"GET", b"i8", b"0"], b"*3\r\n:0\r\n:-1\r\n:100\r\n"),
        (&[b"BITFIELD", b"bits", b"SET", b"u8", b"#0", b"100"], b"*1\r\n:100\r\n"),
        (&[b"BITFIELD", b"bits", b"OVERFLOW", b"WRAP", b"INCRBY", b"u8", b"#0", b"257"], b"*1\r\n:101\r\n"),
        (&[b"BITFIELD", b"bits", b"OVERFLOW", b"SAT", b"INCRBY", b"u8", b"#0", b"257"], b"*1\r\n:255\r\n"),
        (&[b"BITFIELD", b"bits", b"OVERFLOW", b"SAT", b"INCRBY", b"i8", b"#0", b"-255"], b"*1\r\n:-128\r\n"),
        (
            &[b"BITFIELD", b"bits", b"OVERFLOW", b"FAIL", b"INCRBY", b"u8", b"#0", b"-255", b"SET", b"u8", b"#1", b"7", b"GET", b"u16", b"0"],
            b"*3\r\n$-1\r\n:0\r\n:32775\r\n",
        ),
        (&[b"BITFIELD", b"bits", b"OVERFLOW", b"SAT", b"SET", b"u8", b"0", b"-1"], b"*1\r\n:128\r\n"),
        (&[b"BITFIELD", b"bits", b"GET", b"u8", b"0"], b"*1\r\n:255\r\n"),
        (&[b"BITFIELD", b"w", b"SET", b"i64", b"0", b"-1", b"INCRBY", b"i64", b"0", b"-9223372036854775808"], b"*2\r\n:0\r\n:9223372036854775807\r\n"),
        (&[b"BITFIELD", b"w", b"OVERFLOW", b"SAT", b"INCRBY", b"i64", b"0", b"9223372036854775807"], b"*1\r\n:9223372036854775807\r\n"),
        (&[b"BITFIELD", b"w", b"OVERFLOW", b"FAIL", b"INCRBY", b"i64", b"0", b"1"], b"*1\r\n$-1\r\n"),
        (&[b"BITFIELD", b"w", b"OVERFLOW", b"WRAP", b"INCRBY", b"i64", b"0", b"1"], b"*1\r\n:-9223372036854775808\r\n"),
        (&[b"BITFIELD", b"u", b"SET", b"u63", b"1", b"9223372036854775807", b"OVERFLOW", b"WRAP", b"INCRBY", b"u63", b"1", b"100"], b"*2\r\n:0\r\n:99\r\n"),
        (&[b"BITFIELD", b"bits"], b"*0\r\n"),
        (&[b"BITFIELD", b"nokey", b"GET", b"i16", b"100"], b"*1\r\n:0\r\n"),
        (&[b"GET", b"nokey"], b"$-1\r\n"),
        (&[b"BITFIELD", b"bits", b"GET", b"u64", b"0"], bad_type),
        (&[b"BITFIELD", b"bits", b"GET", b"i65", b"0"], bad_type),
        (&[b"BITFIELD", b"bits", b"GET", b"x8", b"0"], bad_type),
        (&[b"BITFIELD", b"bits", b"GET", b"u8", b"#"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"BITFIELD", b"bits", b"GET", b"u8", b"4294967296"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"BITFIELD", b"bits", b"SET", b"u8", b"0", b"x"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"BITFIELD", b"bits", b"OVERFLOW", b"MAYBE"], b"-ERR Invalid OVERFLOW type specified\r\n"),
        (&[b"BITFIELD", b"bits", b"GET", b"u8"], SYNTAX),
        (&[b"BITFIELD", b"bits", b"FOO", b"u8", b"0"], SYNTAX),
        (&[b"SET", b"m", b"x"], b"+OK\r\n"),
        (&[b"BITFIELD", b"m", b"SET", b"i8", b"0", b"10", b"SET", b"i8", b"64", b"10", b"INCRBY", b"i8", b"10", b"99900"], b"*3\r\n:120\r\n:0\r\n:60\r\n"),
        (&[b"BITFIELD_RO", b"m", b"GET", b"u8", b"0", b"GET", b"i4", b"64"], b"*2\r\n:10\r\n:0\r\n"),
        (&[b"BITFIELD_RO", b"m", b"SET", b"u8", b"0", b"1"], b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"),
        (&[b"BITFIELD_RO", b"m"], b"*0\r\n"),
    ]);
}

/// Random strings, ranges and bitfield operations: every reply equal to the real
/// redis-server 7.0.15's (skipped when it is not installed).
#[test]
fn same_as_redis_fuzz() {
    let dir = std::env::temp_dir().join(format!("ferrodis-bitops-fuzz-{}", common::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(redis) = common::RealRedis::start(&dir, &[]) else { return };
    let srv = Server::start(&[]);
    let (mut ours, mut real) = (srv.raw(), redis.raw());
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..300 {
        let len = rnd(40) as usize;
        // Runs of 0x00 / 0xff with some noise, so that BITPOS has long stretches to skip.
        let fill = if rnd(2) == 0 { 0u8 } else { 0xff };
        let s: Vec<u8> = (0..len).map(|_| if rnd(6) == 0 { rnd(256) as u8 } else { fill }).collect();
        let ends = ["-1", "0", "3", "-5", "17", "100", "-100"];
        let (a, b) = (rnd(60) as i64 - 20, rnd(60) as i64 - 20);
        let (a, b) = (a.to_string(), b.to_string());
        let unit = ["BIT", "BYTE", "bit"][rnd(3) as usize];
        let bit = ["0", "1"][rnd(2) as usize];
        let end = ends[rnd(ends.len() as u64) as usize];
        let ty = format!("{}{}", ["i", "u"][rnd(2) as usize], 1 + rnd(63));
        let off = rnd(400).to_string();
        let val = (rnd(1 << 20) as i64 - (1 << 19)).to_string();
        let ow = ["WRAP", "SAT", "FAIL"][rnd(3) as usize];
        let cmds: Vec<Vec<&[u8]>> = vec![
            vec![b"SET", b"k", &s],
            vec![b"BITCOUNT", b"k"],
            vec![b"BITCOUNT", b"k", a.as_bytes(), b.as_bytes()],
            vec![b"BITCOUNT", b"k", a.as_bytes(), b.as_bytes(), unit.as_bytes()],
            vec![b"BITPOS", b"k", bit.as_bytes()],
            vec![b"BITPOS", b"k", bit.as_bytes(), a.as_bytes()],
            vec![b"BITPOS", b"k", bit.as_bytes(), a.as_bytes(), end.as_bytes()],
            vec![b"BITPOS", b"k", bit.as_bytes(), a.as_bytes(), end.as_bytes(), unit.as_bytes()],
            vec![b"GETRANGE", b"k", a.as_bytes(), end.as_bytes()],
            vec![b"BITFIELD", b"k", b"OVERFLOW", ow.as_bytes(), b"INCRBY", ty.as_bytes(), off.as_bytes(), val.as_bytes()],
            vec![b"BITFIELD", b"k", b"OVERFLOW", ow.as_bytes(), b"SET", ty.as_bytes(), off.as_bytes(), val.as_bytes()],
            vec![b"BITFIELD_RO", b"k", b"GET", ty.as_bytes(), off.as_bytes()],
            vec![b"SETBIT", b"k", off.as_bytes(), bit.as_bytes()],
            vec![b"BITOP", b"XOR", b"d", b"k", b"d"],
            vec![b"GET", b"d"],
        ];
        for args in &cmds {
            let (x, y) = (real.call(args), ours.call(args));
            assert_eq!(
                String::from_utf8_lossy(&y),
                String::from_utf8_lossy(&x),
                "round {round}: {:?}",
                args.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
