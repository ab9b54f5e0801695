//! List commands against replies recorded from Redis 7.0.15 (byte-exact), plus chunked
//! lists (small list-max-listpack-size) checked element by element.
mod common;
use common::{check_replies, Server};

#[test]
fn replies_and_errors_match_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let cases: &[(&str, &[u8])] = &[
        ("rpush l a b c 1 2 3", b":6\r\n"),
        ("lpop l 0", b"*0\r\n"),
        ("lpop l -1", b"-ERR value is out of range, must be positive\r\n"),
        ("lpop l abc", b"-ERR value is out of range, must be positive\r\n"),
        ("lpop l 1 2", b"-ERR wrong number of arguments for 'lpop' command\r\n"),
        ("lpop nokey", b"$-1\r\n"),
        ("lpop nokey 2", b"*-1\r\n"),
        ("rpop l 2", b"*2\r\n$1\r\n3\r\n$1\r\n2\r\n"),
        ("lrange l 0 -1", b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n1\r\n"),
        ("lrange l 5 1", b"*0\r\n"),
        ("lrange l -100 100", b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n1\r\n"),
        ("lrange l x 1", b"-ERR value is not an integer or out of range\r\n"),
        ("lrange nokey 0 1", b"*0\r\n"),
        ("lindex l 100", b"$-1\r\n"),
        ("lindex l x", b"-ERR value is not an integer or out of range\r\n"),
        ("lindex nokey x", b"$-1\r\n"),
        ("lset nokey 0 a", b"-ERR no such key\r\n"),
        ("lset l 10 a", b"-ERR index out of range\r\n"),
        ("lset l x a", b"-ERR value is not an integer or out of range\r\n"),
        ("linsert l middle a b", b"-ERR syntax error\r\n"),
        ("linsert l before zz b", b":-1\r\n"),
        ("linsert nokey before a b", b":0\r\n"),
        ("lpos l b rank 0", b"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
        ("lpos l b count -1", b"-ERR COUNT can't be negative\r\n"),
        ("lpos l b maxlen -2", b"-ERR MAXLEN can't be negative\r\n"),
        ("lpos l b count abc", b"-ERR COUNT can't be negative\r\n"),
        ("lpos l b foo", b"-ERR syntax error\r\n"),
        ("lpos l b rank", b"-ERR syntax error\r\n"),
        ("lpos nokey b", b"$-1\r\n"),
        ("lpos nokey b count 0", b"*0\r\n"),
        ("lmpop 0 l left", b"-ERR numkeys should be greater than 0\r\n"),
        ("lmpop abc l left", b"-ERR numkeys should be greater than 0\r\n"),
        ("lmpop 2 l left", b"-ERR syntax error\r\n"),
        ("lmpop 1 l up", b"-ERR syntax error\r\n"),
        ("lmpop 1 l left count 0", b"-ERR count should be greater than 0\r\n"),
        ("lmpop 1 l left count 1 count 1", b"-ERR syntax error\r\n"),
        ("lmpop 1 nokey left", b"*-1\r\n"),
        ("blmpop 0 1 l left count -1", b"-ERR count should be greater than 0\r\n"),
        ("set s x", b"+OK\r\n"),
        ("lpush s a", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("llen s", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("lmove l s left right", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("lmove s l left right", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("lmove l l up left", b"-ERR syntax error\r\n"),
        ("rpoplpush nokey l", b"$-1\r\n"),
        ("blpop s 1", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("lrange l 0 -1", b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n1\r\n"),
        ("lpushx nokey a", b":0\r\n"),
        ("lrem l x a", b"-ERR value is not an integer or out of range\r\n"),
    ];
    check_replies(&mut c, cases);
}

#[test]
fn chunked_list_matches_a_model() {
    let srv = Server::start(&["--list-max-listpack-size", "3"]);
    let mut con = srv.client();
    let mut model: std::collections::VecDeque<String> = Default::default();
    for i in 0..200 {
        let v = if i % 7 == 0 { format!("s{i}") } else { (i * 37 - 500).to_string() };
        if i % 3 == 0 {
            let _: i64 = redis::cmd("LPUSH").arg("l").arg(&v).query(&mut con).unwrap();
            model.push_front(v);
        } else {
            let _: i64 = redis::cmd("RPUSH").arg("l").arg(&v).query(&mut con).unwrap();
            model.push_back(v);
        }
    }
    let all: Vec<String> = redis::cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut con).unwrap();
    assert_eq!(all, Vec::from(model.clone()));
    for i in [0usize, 1, 50, 99, 100, 150, 199] {
        let v: String = redis::cmd("LINDEX").arg("l").arg(i).query(&mut con).unwrap();
        assert_eq!(v, model[i]);
        let back: String = redis::cmd("LINDEX").arg("l").arg(-(i as i64) - 1).query(&mut con).unwrap();
        assert_eq!(back, model[model.len() - 1 - i]);
    }
    let n: i64 = redis::cmd("LINSERT").arg("l").arg("AFTER").arg(&model[120]).arg("new").query(&mut con).unwrap();
    model.insert(121, "new".into());
    assert_eq!(n as usize, model.len());
    let _: () = redis::cmd("LSET").arg("l").arg(-3).arg("set").query(&mut con).unwrap();
    let len = model.len();
    model[len - 3] = "set".into();
    let _: () = redis::cmd("LTRIM").arg("l").arg(5).arg(-6).query(&mut con).unwrap();
    model.drain(..5);
    model.truncate(model.len() - 5);
    let rev: Vec<String> = redis::cmd("RPOP").arg("l").arg(10).query(&mut con).unwrap();
    let expect: Vec<String> = (0..10).map(|_| model.pop_back().unwrap()).collect();
    assert_eq!(rev, expect);
    let all: Vec<String> = redis::cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut con).unwrap();
    assert_eq!(all, Vec::from(model));
}
