//! SORT / SORT_RO against replies recorded from Redis 7.0.15 (byte-exact), and a
//! randomized comparison with the real redis-server when it is installed.
mod common;
use common::{check_replies, Server};

#[test]
fn replies_match_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let cases: &[(&str, &[u8])] = &[
        ("rpush l 3 1 2 10 -5 2.5", b":6\r\n"),
        ("sort l", b"*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\n2.5\r\n$1\r\n3\r\n$2\r\n10\r\n"),
        ("sort l desc", b"*6\r\n$2\r\n10\r\n$1\r\n3\r\n$3\r\n2.5\r\n$1\r\n2\r\n$1\r\n1\r\n$2\r\n-5\r\n"),
        ("sort l alpha", b"*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$3\r\n2.5\r\n$1\r\n3\r\n"),
        ("sort l limit 1 2", b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
        ("sort l limit 1 x", b"-ERR value is not an integer or out of range\r\n"),
        ("sort l limit 1", b"-ERR syntax error\r\n"),
        ("sort l foo", b"-ERR syntax error\r\n"),
        ("mset w_3 30 w_1 10 w_2 20 w_10 5 w_-5 100 w_2.5 1", b"+OK\r\n"),
        ("sort l by w_*", b"*6\r\n$3\r\n2.5\r\n$2\r\n10\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n-5\r\n"),
        ("sort l by w_* get # get w_*", b"*12\r\n$3\r\n2.5\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n5\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$2\r\n20\r\n$1\r\n3\r\n$2\r\n30\r\n$2\r\n-5\r\n$3\r\n100\r\n"),
        ("sort l by nosort desc", b"*6\r\n$3\r\n2.5\r\n$2\r\n-5\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n3\r\n"),
        ("sort l by nosort limit 2 3", b"*3\r\n$1\r\n2\r\n$2\r\n10\r\n$2\r\n-5\r\n"),
        ("hset h_3 f c", b":1\r\n"),
        ("hset h_1 f a", b":1\r\n"),
        ("sort l by h_*->f alpha get h_*->f", b"*6\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$1\r\na\r\n$1\r\nc\r\n"),
        ("sort l get h_*-> get nothing", b"*12\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"),
        ("sort l by w_* store dst", b":6\r\n"),
        ("lrange dst 0 -1", b"*6\r\n$3\r\n2.5\r\n$2\r\n10\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n-5\r\n"),
        ("sort l by w_* limit 100 5 store dst", b":0\r\n"),
        ("exists dst", b":0\r\n"),
        ("rpush bad 1 x 3", b":3\r\n"),
        ("sort bad", b"-ERR One or more scores can't be converted into double\r\n"),
        ("sort bad alpha", b"*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\nx\r\n"),
        ("sadd s 5 3 9 1", b":4\r\n"),
        ("sort s", b"*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n9\r\n"),
        ("sort s desc limit 0 2", b"*2\r\n$1\r\n9\r\n$1\r\n5\r\n"),
        ("sort s by nosort store dst2", b":4\r\n"),
        ("lrange dst2 0 -1", b"*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n9\r\n"),
        ("zadd z 1 a 2 b 3 c", b":3\r\n"),
        ("sort z by nosort desc", b"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"),
        ("sort z alpha", b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        ("sort_ro l store x", b"-ERR syntax error\r\n"),
        ("sort_ro l limit 0 2", b"*2\r\n$2\r\n-5\r\n$1\r\n1\r\n"),
        ("set str x", b"+OK\r\n"),
        ("sort str", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("sort nokey", b"*0\r\n"),
        ("sort nokey store dst3", b":0\r\n"),
    ];
    check_replies(&mut c, cases);
}

/// Lists of numbers and words sorted every way (no BY+ALPHA ties, whose order Redis
/// leaves to its partial quicksort).
#[test]
fn random_sorts_match_real_redis() {
    use rand::{Rng, SeedableRng};
    let srv = Server::start(&[]);
    let Some(real) = common::RealRedis::start(&srv.dir, &[]) else { return };
    let (mut ours, mut theirs) = (srv.raw(), real.raw());
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    let words = ["1", "2", "10", "-3", "2.5", "3e2", "007", "42", "-0.5", "100", "x", "b", "a"];
    let mut script = String::new();
    for _ in 0..100 {
        script.push_str(&format!("RPUSH l {}\n", words[rng.gen_range(0..words.len())]));
    }
    for w in words {
        script.push_str(&format!("SET w_{w} {}\nHSET h_{w} f {}\n", rng.gen_range(-50..50), rng.gen_range(0..9)));
    }
    let opts = ["", "DESC", "ALPHA", "ALPHA DESC", "BY w_*", "BY h_*->f DESC", "BY nosort", "BY nosort DESC LIMIT 3 7"];
    for o in opts {
        for lim in ["", "LIMIT 0 5", "LIMIT 10 20", "LIMIT -1 3"] {
            if o.contains("nosort") && !lim.is_empty() {
                continue;
            }
            let src = if o.contains("ALPHA") { "l" } else { "n" };
            script.push_str(&format!("SORT {src} {o} {lim} GET # GET w_* GET h_*->f\n"));
            script.push_str(&format!("SORT {src} {o} {lim} STORE dst\nLRANGE dst 0 -1\n"));
        }
        if o.is_empty() {
            // `n`: the numeric elements of `l`
            script.push_str("SORT l BY nosort GET #\n");
            for w in &words[..10] {
                script.push_str(&format!("RPUSH n {w}\n"));
            }
        }
    }
    let script: String = script.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n").collect();
    common::same_replies(&mut ours, &mut theirs, &script);
}
