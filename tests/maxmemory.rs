//! maxmemory through raw RESP: eviction per policy, -OOM for deny-oom commands when
//! nothing can be evicted, no eviction while clients are paused.
mod common;
use common::{Raw, Server};

fn info_field(c: &mut Raw, section: &str, name: &str) -> String {
    c.info_field(section, name).unwrap_or_default()
}

fn fill(c: &mut Raw, n: usize, prefix: &str, ttl: bool) {
    for i in 0..n {
        let k = format!("{prefix}{i}");
        if ttl {
            c.roundtrip(&[b"SET", k.as_bytes(), &[b'x'; 1000], b"EX", b"1000"], b"+OK\r\n");
        } else {
            c.roundtrip(&[b"SET", k.as_bytes(), &[b'x'; 1000]], b"+OK\r\n");
        }
    }
}

#[test]
fn noeviction_refuses_denyoom_commands_only() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"1"], b"+OK\r\n");
    let oom: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    c.roundtrip(&[b"SET", b"k2", b"v"], oom);
    c.roundtrip(&[b"GET", b"k"], b"$1\r\nv\r\n");
    c.roundtrip(&[b"DEL", b"k"], b":1\r\n");
    // anything queued into a transaction is refused, and EXEC then fails
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"k"], oom);
    c.roundtrip(&[b"EXEC"], b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), "0");
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"k2", b"v"], b"+OK\r\n");
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl() {
    let srv = Server::start(&["--maxmemory-policy", "volatile-ttl"]);
    let mut c = srv.raw();
    fill(&mut c, 50, "keep", false);
    fill(&mut c, 50, "vol", true);
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":50\r\n");
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), "50");
    c.roundtrip(&[b"EXISTS", b"keep0", b"keep49", b"vol0"], b":2\r\n");
    // nothing volatile is left: writes are refused
    c.roundtrip(&[b"SET", b"x", b"y"], b"-OOM command not allowed when used memory > 'maxmemory'.\r\n");
}

#[test]
fn allkeys_policies_bring_memory_under_the_limit() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        let srv = Server::start(&["--maxmemory-policy", policy]);
        let mut c = srv.raw();
        fill(&mut c, 2000, "k", false);
        let used: u64 = info_field(&mut c, "memory", "used_memory").parse().unwrap();
        let limit = used - 500_000;
        c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", limit.to_string().as_bytes()], b"+OK\r\n");
        c.roundtrip(&[b"PING"], b"+PONG\r\n");
        let evicted: u64 = info_field(&mut c, "stats", "evicted_keys").parse().unwrap();
        assert!(evicted >= 300 && evicted < 2000, "{policy}: evicted {evicted}");
        let used: u64 = info_field(&mut c, "memory", "used_memory").parse().unwrap();
        assert!(used <= limit + 100_000, "{policy}: used {used} limit {limit}");
        // new writes still succeed (older keys make room); the SET may leave memory just
        // over the limit again, and the next command's eviction pass may then pick the new
        // key itself, except under LRU, where it is the most recently used
        c.roundtrip(&[b"SET", b"new", &[b'x'; 1000]], b"+OK\r\n");
        if policy == "allkeys-lru" {
            c.roundtrip(&[b"EXISTS", b"new"], b":1\r\n");
        }
    }
}

#[test]
fn no_eviction_while_clients_are_paused() {
    let srv = Server::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut c = srv.raw();
    fill(&mut c, 10, "k", false);
    c.roundtrip(&[b"CLIENT", b"PAUSE", b"100000", b"WRITE"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":10\r\n");
    c.roundtrip(&[b"GET", b"k0"], format!("$1000\r\n{}\r\n", "x".repeat(1000)).as_bytes());
    c.roundtrip(&[b"CLIENT", b"UNPAUSE"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":0\r\n");
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), "10");
}

/// The keyspace table does not grow while the new table would take memory over
/// maxmemory (Redis's dictExpandAllowed): growing it would only evict keys.
#[test]
fn table_growth_does_not_evict() {
    // (no latency histograms: each command's first call would allocate one)
    let srv = Server::start(&["--maxmemory-policy", "allkeys-random", "--latency-tracking", "no"]);
    let mut c = srv.raw();
    let mut pipe = Vec::new();
    for i in 0..4096 {
        let k = format!("key:{i}");
        pipe.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nx\r\n", k.len()).as_bytes());
    }
    c.send(&pipe);
    c.expect(&b"+OK\r\n".repeat(4096));
    let used: u64 = info_field(&mut c, "memory", "used_memory").parse().unwrap();
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", (used + 10 * 1024).to_string().as_bytes()], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"k1", b"v1"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"k2", b"v2"], b"+OK\r\n");
    c.roundtrip(&[b"DBSIZE"], b":4098\r\n");
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), "0");
}
