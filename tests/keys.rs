//! Keyspace commands end to end: byte-exact replies and errors (as Redis 7.0.15 sends
//! them), keyspace events, databases (MOVE / COPY / SWAPDB / FLUSH*), and the SCAN
//! guarantee under concurrent writes, with one shard and with many (io-threads).
mod common;
use common::Server;
use std::collections::HashSet;

fn bulk(b: &[u8]) -> Vec<u8> {
    let mut v = format!("${}\r\n", b.len()).into_bytes();
    v.extend_from_slice(b);
    v.extend_from_slice(b"\r\n");
    v
}

fn pmessage(pattern: &str, channel: &str, msg: &str) -> Vec<u8> {
    let mut v = b"*4\r\n".to_vec();
    for p in ["pmessage", pattern, channel, msg] {
        v.extend(bulk(p.as_bytes()));
    }
    v
}

#[test]
fn generic_commands_byte_exact() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"MSET", b"a", b"1", b"b", b"2", b"c", b"3"], b"+OK\r\n");
    c.roundtrip(&[b"EXISTS", b"a", b"a", b"nokey"], b":2\r\n");
    c.roundtrip(&[b"TYPE", b"a"], b"+string\r\n");
    c.roundtrip(&[b"TYPE", b"nokey"], b"+none\r\n");
    c.roundtrip(&[b"TOUCH", b"a", b"nokey", b"b"], b":2\r\n");
    c.roundtrip(&[b"DEL", b"a", b"a", b"nokey"], b":1\r\n");
    c.roundtrip(&[b"UNLINK", b"b"], b":1\r\n");
    c.roundtrip(&[b"DEL"], b"-ERR wrong number of arguments for 'del' command\r\n");
    c.roundtrip(&[b"DBSIZE"], b":1\r\n");
    c.roundtrip(&[b"KEYS", b"*"], b"*1\r\n$1\r\nc\r\n");
    c.roundtrip(&[b"KEYS", b"x*"], b"*0\r\n");
    c.roundtrip(&[b"RANDOMKEY"], b"$1\r\nc\r\n");
    c.roundtrip(&[b"SCAN", b"0"], b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n");
    // the empty key: KEYS * and SCAN MATCH * list it, a glob that needs a byte does not
    c.roundtrip(&[b"SET", b"", b"e"], b"+OK\r\n");
    c.roundtrip(&[b"KEYS", b"?"], b"*1\r\n$1\r\nc\r\n");
    c.roundtrip(&[b"SCAN", b"0", b"MATCH", b"**"], b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n");
    c.roundtrip(&[b"DEL", b""], b":1\r\n");
    c.roundtrip(&[b"FLUSHDB"], b"+OK\r\n");
    c.roundtrip(&[b"RANDOMKEY"], b"$-1\r\n");
    c.roundtrip(&[b"FLUSHDB", b"bogus"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"FLUSHALL", b"SYNC"], b"+OK\r\n");
}

#[test]
fn scan_arguments_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    for bad in [&b"abc"[..], b" 1", b"1 ", b"18446744073709551616"] {
        c.roundtrip(&[b"SCAN", bad], b"-ERR invalid cursor\r\n");
    }
    // strtoul semantics: "", "+N" and "-N" (wrapping) are cursors
    c.roundtrip(&[b"SCAN", b""], b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
    // -1 is the last cursor of any table: one bucket visited, then done
    let (next, _): (u64, Vec<String>) = redis::cmd("SCAN").arg("-1").query(&mut srv.client()).unwrap();
    assert_eq!(next, 0);
    c.roundtrip(&[b"SCAN", b"0", b"COUNT", b"0"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"SCAN", b"0", b"COUNT", b"x"], b"-ERR value is not an integer or out of range\r\n");
    c.roundtrip(&[b"SCAN", b"0", b"MATCH"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"SCAN", b"0", b"FOO", b"bar"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"SCAN", b"0", b"TYPE", b"list"], b"*2\r\n$1\r\n0\r\n*0\r\n");
    c.roundtrip(&[b"SCAN", b"0", b"type", b"STRING", b"match", b"k*", b"count", b"100"], b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
}

#[test]
fn rename_and_renamenx() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"{t}a", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"{t}b", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"PEXPIRE", b"{t}a", b"100000"], b":1\r\n");
    c.roundtrip(&[b"RENAMENX", b"{t}a", b"{t}b"], b":0\r\n");
    c.roundtrip(&[b"RENAME", b"{t}a", b"{t}b"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"{t}b"], b"$1\r\n1\r\n");
    c.roundtrip(&[b"EXISTS", b"{t}a"], b":0\r\n");
    let ttl: i64 = redis::cmd("PTTL").arg("{t}b").query(&mut srv.client()).unwrap();
    assert!((90000..=100000).contains(&ttl), "{ttl}");
    c.roundtrip(&[b"RENAMENX", b"{t}b", b"{t}c"], b":1\r\n");
    c.roundtrip(&[b"RENAME", b"{t}c", b"{t}c"], b"+OK\r\n");
    c.roundtrip(&[b"RENAMENX", b"{t}c", b"{t}c"], b":0\r\n");
    c.roundtrip(&[b"RENAME", b"nokey", b"nokey"], b"-ERR no such key\r\n");
    c.roundtrip(&[b"RENAMENX", b"nokey", b"x"], b"-ERR no such key\r\n");
}

#[test]
fn databases_move_copy_swapdb() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    c.roundtrip(&[b"MOVE", b"k", b"0"], b"-ERR source and destination objects are the same\r\n");
    c.roundtrip(&[b"MOVE", b"k", b"16"], b"-ERR DB index is out of range\r\n");
    c.roundtrip(&[b"MOVE", b"k", b"x"], b"-ERR value is not an integer or out of range\r\n");
    c.roundtrip(&[b"MOVE", b"nokey", b"1"], b":0\r\n");
    c.roundtrip(&[b"MOVE", b"k", b"1"], b":1\r\n");
    c.roundtrip(&[b"SET", b"k", b"again"], b"+OK\r\n");
    c.roundtrip(&[b"MOVE", b"k", b"1"], b":0\r\n");
    c.roundtrip(&[b"COPY", b"k", b"k"], b"-ERR source and destination objects are the same\r\n");
    c.roundtrip(&[b"COPY", b"k", b"k2", b"DB"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"COPY", b"k", b"k2", b"DB", b"99"], b"-ERR DB index is out of range\r\n");
    c.roundtrip(&[b"COPY", b"k", b"k2", b"FOO"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"COPY", b"nokey", b"k2"], b":0\r\n");
    c.roundtrip(&[b"COPY", b"k", b"k", b"DB", b"1"], b":0\r\n");
    c.roundtrip(&[b"COPY", b"k", b"k", b"DB", b"1", b"REPLACE"], b":1\r\n");
    c.roundtrip(&[b"SET", b"k", b"changed"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"k"], b"$5\r\nagain\r\n");
    c.roundtrip(&[b"SWAPDB", b"0", b"x"], b"-ERR invalid second DB index\r\n");
    c.roundtrip(&[b"SWAPDB", b"x", b"0"], b"-ERR invalid first DB index\r\n");
    c.roundtrip(&[b"SWAPDB", b"0", b"16"], b"-ERR DB index is out of range\r\n");
    c.roundtrip(&[b"SWAPDB", b"0", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"k"], b"$7\r\nchanged\r\n");
    c.roundtrip(&[b"FLUSHDB", b"ASYNC"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":0\r\n");
    c.roundtrip(&[b"SELECT", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":1\r\n");
    c.roundtrip(&[b"FLUSHALL"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":0\r\n");
}

#[test]
fn object_subcommands() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"n", b"100"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"big", b"123456"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"s", b"hello"], b"+OK\r\n");
    c.roundtrip(&[b"OBJECT", b"ENCODING", b"n"], b"$3\r\nint\r\n");
    c.roundtrip(&[b"OBJECT", b"ENCODING", b"s"], b"$6\r\nembstr\r\n");
    c.roundtrip(&[b"OBJECT", b"ENCODING", b"nokey"], b"$-1\r\n");
    c.roundtrip(&[b"OBJECT", b"REFCOUNT", b"n"], b":2147483647\r\n");
    c.roundtrip(&[b"OBJECT", b"REFCOUNT", b"big"], b":1\r\n");
    c.roundtrip(&[b"OBJECT", b"IDLETIME", b"s"], b":0\r\n");
    c.roundtrip(&[b"OBJECT", b"FREQ", b"s"], b"-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lfu"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"f", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"OBJECT", b"FREQ", b"f"], b":5\r\n");
    c.roundtrip(&[b"OBJECT", b"IDLETIME", b"f"], b"-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n");
    c.roundtrip(&[b"OBJECT", b"FOO", b"f"], b"-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n");
    c.roundtrip(&[b"OBJECT", b"ENCODING"], b"-ERR wrong number of arguments for 'object|encoding' command\r\n");
    let mut help = b"*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n".to_vec();
    for l in [
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ] {
        help.extend(format!("+{l}\r\n").into_bytes());
    }
    c.roundtrip(&[b"OBJECT", b"HELP"], &help);
}

#[test]
fn keyspace_events() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEAnm"], b"+OK\r\n");
    let mut sub = srv.raw();
    sub.roundtrip(&[b"PSUBSCRIBE", b"__keyevent@*"], b"*3\r\n$10\r\npsubscribe\r\n$12\r\n__keyevent@*\r\n:1\r\n");
    for cmd in [
        &[&b"SET"[..], b"a", b"1"][..],
        &[b"EXPIRE", b"a", b"100"],
        &[b"PERSIST", b"a"],
        &[b"RENAME", b"a", b"b"],
        &[b"COPY", b"b", b"c", b"DB", b"2"],
        &[b"MOVE", b"b", b"3"],
        &[b"EXISTS", b"nokey"],
        &[b"OBJECT", b"ENCODING", b"nokey"],
        &[b"SET", b"x", b"1"],
        &[b"PEXPIRE", b"x", b"-1"],
    ] {
        c.cmd(cmd);
    }
    let p = "__keyevent@*";
    let mut want = Vec::new();
    for (db, ev, key) in [
        (0, "new", "a"),
        (0, "set", "a"),
        (0, "expire", "a"),
        (0, "persist", "a"),
        (0, "new", "b"),
        (0, "rename_from", "a"),
        (0, "rename_to", "b"),
        (2, "new", "c"),
        (2, "copy_to", "c"),
        (3, "new", "b"),
        (0, "move_from", "b"),
        (3, "move_to", "b"),
        (0, "keymiss", "nokey"),
        (0, "new", "x"),
        (0, "set", "x"),
        (0, "del", "x"),
    ] {
        want.extend(pmessage(p, &format!("__keyevent@{db}__:{ev}"), key));
    }
    sub.expect(&want);
}

/// Every key present for the whole iteration is returned, while other keys come and go.
fn scan_guarantee(srv: &Server) {
    let mut con = srv.client();
    let stable: Vec<String> = (0..3000).map(|i| format!("stable:{i}")).collect();
    for chunk in stable.chunks(500) {
        let mut cmd = redis::cmd("MSET");
        for k in chunk {
            cmd.arg(k).arg("v");
        }
        let _: () = cmd.query(&mut con).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let mut w = srv.client();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // grow (forcing rehashes), then delete older churn keys (forcing shrinks)
                let mut cmd = redis::cmd("MSET");
                for j in 0..50 {
                    cmd.arg(format!("churn:{}", i * 50 + j)).arg("x");
                }
                let _: () = cmd.query(&mut w).unwrap();
                if i >= 20 {
                    let mut del = redis::cmd("DEL");
                    for j in 0..50 {
                        del.arg(format!("churn:{}", (i - 20) * 50 + j));
                    }
                    let _: i64 = del.query(&mut w).unwrap();
                }
                i += 1;
            }
        })
    };
    let mut seen = HashSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(20).query(&mut con).unwrap();
        seen.extend(keys);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let missing: Vec<&String> = stable.iter().filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "{} stable keys missed, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
}

#[test]
fn scan_guarantee_under_writes_one_shard() {
    scan_guarantee(&Server::start(&[]));
}

#[test]
fn scan_guarantee_under_writes_many_shards() {
    scan_guarantee(&Server::start(&["--io-threads", "4"]));
}

#[test]
fn multi_shard_keyspace_commands() {
    let srv = Server::start(&["--io-threads", "4"]);
    let mut c = srv.raw();
    let mut con = srv.client();
    for i in 0..200 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(i).query(&mut con).unwrap();
    }
    c.roundtrip(&[b"DBSIZE"], b":200\r\n");
    let keys: Vec<String> = redis::cmd("KEYS").arg("k1*").query(&mut con).unwrap();
    assert_eq!(keys.len(), 111);
    // keys in different shards
    c.roundtrip(&[b"RENAME", b"k1", b"other"], b"+OK\r\n");
    c.roundtrip(&[b"COPY", b"other", b"k1"], b":1\r\n");
    c.roundtrip(&[b"DEL", b"k2", b"k3", b"other"], b":3\r\n");
    c.roundtrip(&[b"DBSIZE"], b":198\r\n");
    let mut seen = HashSet::new();
    for _ in 0..2000 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
        seen.insert(k);
    }
    assert!(seen.len() > 150, "RANDOMKEY reaches every shard: {}", seen.len());
    c.roundtrip(&[b"SWAPDB", b"0", b"5"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":0\r\n");
    c.roundtrip(&[b"SELECT", b"5"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":198\r\n");
    c.roundtrip(&[b"FLUSHALL", b"ASYNC"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":0\r\n");
}

#[test]
fn flushall_with_save_points_writes_the_empty_rdb() {
    let srv = Server::start(&["--save", "3600 1"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    let rdb = srv.dir.join("dump.rdb");
    assert!(!rdb.exists());
    c.roundtrip(&[b"FLUSHALL"], b"+OK\r\n");
    assert!(rdb.exists(), "FLUSHALL saves right away when save points are configured");
    c.roundtrip(&[b"DBSIZE"], b":0\r\n");
}

fn info_field(c: &mut common::Raw, section: &str, field: &str) -> u64 {
    c.info_field(section, field).unwrap_or_else(|| panic!("no {field} in INFO {section}")).parse().unwrap()
}

fn wait_lazyfree_done(c: &mut common::Raw) {
    let t = std::time::Instant::now();
    while info_field(c, "memory", "lazyfree_pending_objects") != 0 {
        assert!(t.elapsed().as_secs() < 5, "lazyfree never finished");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// UNLINK frees a value in the background only when freeing it is worth it (Redis's
/// free effort above 64: hashtable elements, list chunks, stream nodes and consumer
/// groups), `lazyfreed_objects` counts those and CONFIG RESETSTAT zeroes it; the memory of
/// a big set sent in one command comes back after UNLINK.
#[test]
fn unlink_lazy_free_effort_and_memory() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let orig = info_field(&mut c, "memory", "used_memory");
    let members: Vec<Vec<u8>> = (0..100_000).map(|i: u32| i.to_string().into_bytes()).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"myset"];
    args.extend(members.iter().map(|m| m.as_slice()));
    c.roundtrip(&args, b":100000\r\n");
    let peak = info_field(&mut c, "memory", "used_memory");
    assert!(peak > orig + 1_000_000, "{orig} -> {peak}");
    c.roundtrip(&[b"UNLINK", b"myset"], b":1\r\n");
    wait_lazyfree_done(&mut c);
    // the set's memory is back at once; the big query buffer the SADD needed is trimmed by
    // the client cron (as Redis's clientsCronResizeQueryBuffer), within a few ticks
    let t = std::time::Instant::now();
    let mut after = info_field(&mut c, "memory", "used_memory");
    while after >= orig * 2 && t.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        after = info_field(&mut c, "memory", "used_memory");
    }
    assert!(after < peak && after < orig * 2, "orig {orig}, peak {peak}, after {after}");
    assert_eq!(info_field(&mut c, "memory", "lazyfreed_objects"), 1);
    c.roundtrip(&[b"CONFIG", b"RESETSTAT"], b"+OK\r\n");
    assert_eq!(info_field(&mut c, "memory", "lazyfreed_objects"), 0);
    // a small stream whose group was destroyed: freed in place
    c.call(&[b"XADD", b"s", b"*", b"a", b"b"]);
    c.roundtrip(&[b"XGROUP", b"CREATE", b"s", b"g", b"$"], b"+OK\r\n");
    c.roundtrip(&[b"XGROUP", b"DESTROY", b"s", b"g"], b":1\r\n");
    c.roundtrip(&[b"UNLINK", b"s"], b":1\r\n");
    // a list of 100 short elements is one chunk; a 200-member small set is a hashtable
    for i in 0..100 {
        c.call(&[b"RPUSH", b"l", i.to_string().as_bytes()]);
        c.call(&[b"SADD", b"hs", format!("m{i}").as_bytes(), format!("n{i}").as_bytes()]);
    }
    c.roundtrip(&[b"UNLINK", b"l"], b":1\r\n");
    wait_lazyfree_done(&mut c);
    assert_eq!(info_field(&mut c, "memory", "lazyfreed_objects"), 0);
    c.roundtrip(&[b"UNLINK", b"hs"], b":1\r\n");
    // a stream of many nodes with a group and a pending entry: in the background
    c.roundtrip(&[b"CONFIG", b"SET", b"stream-node-max-entries", b"5"], b"+OK\r\n");
    for i in 0..500 {
        c.call(&[b"XADD", b"st", b"*", b"f", i.to_string().as_bytes()]);
    }
    c.roundtrip(&[b"XGROUP", b"CREATE", b"st", b"g", b"0"], b"+OK\r\n");
    c.call(&[b"XREADGROUP", b"GROUP", b"g", b"alice", b"COUNT", b"1", b"STREAMS", b"st", b">"]);
    c.roundtrip(&[b"UNLINK", b"st"], b":1\r\n");
    wait_lazyfree_done(&mut c);
    assert_eq!(info_field(&mut c, "memory", "lazyfreed_objects"), 2);
}
