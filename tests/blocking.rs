//! Blocking list pops with real clients on separate connections: FIFO wake-up, several
//! keys, timeouts, clients gone while blocked, keys recreated with another type, pipelined
//! input held back while blocked, CLIENT UNBLOCK.
mod common;
use common::{Raw, Server};
use std::time::{Duration, Instant};

/// Give a command sent on another connection time to reach the server and block.
fn settle() {
    std::thread::sleep(Duration::from_millis(100));
}

fn blocked(c: &mut Raw, args: &[&[u8]]) {
    c.cmd(args);
    settle();
}

#[test]
fn fifo_order_of_waiters() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let mut c = srv.raw();
    let mut p = srv.raw();
    blocked(&mut a, &[b"BLPOP", b"q", b"0"]);
    blocked(&mut b, &[b"BLPOP", b"q", b"0"]);
    blocked(&mut c, &[b"BRPOP", b"q", b"0"]);
    p.roundtrip(&[b"RPUSH", b"q", b"1", b"2"], b":2\r\n");
    a.expect(b"*2\r\n$1\r\nq\r\n$1\r\n1\r\n");
    b.expect(b"*2\r\n$1\r\nq\r\n$1\r\n2\r\n");
    // the key was emptied: the third client still waits
    p.roundtrip(&[b"LLEN", b"q"], b":0\r\n");
    p.roundtrip(&[b"LPUSH", b"q", b"3"], b":1\r\n");
    c.expect(b"*2\r\n$1\r\nq\r\n$1\r\n3\r\n");
    p.roundtrip(&[b"LLEN", b"q"], b":0\r\n");
}

#[test]
fn several_keys_and_data_already_there() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut p = srv.raw();
    blocked(&mut a, &[b"BLPOP", b"k1", b"k2", b"k2", b"0"]);
    p.roundtrip(&[b"RPUSH", b"k2", b"x"], b":1\r\n");
    a.expect(b"*2\r\n$2\r\nk2\r\n$1\r\nx\r\n");
    // data already present: the first non-empty key in argument order wins
    p.roundtrip(&[b"RPUSH", b"k2", b"y"], b":1\r\n");
    p.roundtrip(&[b"RPUSH", b"k1", b"z"], b":1\r\n");
    a.roundtrip(&[b"BLPOP", b"k1", b"k2", b"0"], b"*2\r\n$2\r\nk1\r\n$1\r\nz\r\n");
    a.roundtrip(&[b"BLMPOP", b"0", b"2", b"k1", b"k2", b"LEFT", b"COUNT", b"5"], b"*2\r\n$2\r\nk2\r\n*1\r\n$1\r\ny\r\n");
}

#[test]
fn timeout_is_honoured() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let t = Instant::now();
    a.roundtrip(&[b"BLPOP", b"nothing", b"0.15"], b"*-1\r\n");
    let el = t.elapsed();
    // Deadlines are unix milliseconds taken when the command arrives (as in Redis), so the
    // reply may come up to 1 ms before 150 ms counted from the client's own clock.
    assert!(el >= Duration::from_millis(149) && el < Duration::from_secs(5), "{el:?}");
    let t = Instant::now();
    a.roundtrip(&[b"BLMOVE", b"nothing", b"dst", b"LEFT", b"RIGHT", b"0.01"], b"*-1\r\n");
    assert!(t.elapsed() < Duration::from_secs(5));
    a.roundtrip(&[b"BLPOP", b"x", b"-1"], b"-ERR timeout is negative\r\n");
    a.roundtrip(&[b"BLPOP", b"x", b"abc"], b"-ERR timeout is not a float or out of range\r\n");
    a.roundtrip(&[b"BLPOP", b"x", b"inf"], b"-ERR timeout is negative\r\n");
    a.roundtrip(&[b"BRPOPLPUSH", b"x", b"y", b"nan"], b"-ERR timeout is not a float or out of range\r\n");
}

#[test]
fn client_gone_while_blocked_does_not_eat_data() {
    let srv = Server::start(&[]);
    let mut p = srv.raw();
    {
        let mut a = srv.raw();
        blocked(&mut a, &[b"BLPOP", b"q", b"0"]);
    } // connection closed while blocked
    settle();
    p.roundtrip(&[b"RPUSH", b"q", b"v"], b":1\r\n");
    p.roundtrip(&[b"LLEN", b"q"], b":1\r\n");
}

#[test]
fn key_recreated_with_another_type() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let mut p = srv.raw();
    blocked(&mut a, &[b"BLPOP", b"k", b"0"]);
    // a string under the key does not wake the list waiter; a list later does
    p.roundtrip(&[b"SET", b"k", b"foo"], b"+OK\r\n");
    p.roundtrip(&[b"DEL", b"k"], b":1\r\n");
    p.roundtrip(&[b"RPUSH", b"k", b"v"], b":1\r\n");
    a.expect(b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    // BRPOPLPUSH whose destination became a string gets WRONGTYPE and leaves the element
    blocked(&mut b, &[b"BRPOPLPUSH", b"src", b"dst", b"0"]);
    p.roundtrip(&[b"SET", b"dst", b"x"], b"+OK\r\n");
    p.roundtrip(&[b"RPUSH", b"src", b"e"], b":1\r\n");
    b.expect(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    p.roundtrip(&[b"LRANGE", b"src", b"0", b"-1"], b"*1\r\n$1\r\ne\r\n");
}

#[test]
fn pipelined_commands_wait_for_the_blocked_one() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut p = srv.raw();
    a.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\nPING\r\n");
    settle();
    p.roundtrip(&[b"RPUSH", b"q", b"v"], b":1\r\n");
    a.expect(b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n+PONG\r\n");
}

#[test]
fn chained_moves_and_circular() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let mut p = srv.raw();
    blocked(&mut a, &[b"BLMOVE", b"l1", b"l2", b"RIGHT", b"LEFT", b"0"]);
    blocked(&mut b, &[b"BLMOVE", b"l2", b"l3", b"LEFT", b"RIGHT", b"0"]);
    p.roundtrip(&[b"RPUSH", b"l1", b"foo"], b":1\r\n");
    a.expect(b"$3\r\nfoo\r\n");
    b.expect(b"$3\r\nfoo\r\n");
    p.roundtrip(&[b"LRANGE", b"l3", b"0", b"-1"], b"*1\r\n$3\r\nfoo\r\n");
    p.roundtrip(&[b"LLEN", b"l2"], b":0\r\n");
    // circular: the element ends up back in the first list
    blocked(&mut a, &[b"BRPOPLPUSH", b"c1", b"c2", b"0"]);
    blocked(&mut b, &[b"BRPOPLPUSH", b"c2", b"c1", b"0"]);
    p.roundtrip(&[b"RPUSH", b"c1", b"x"], b":1\r\n");
    a.expect(b"$1\r\nx\r\n");
    b.expect(b"$1\r\nx\r\n");
    p.roundtrip(&[b"LRANGE", b"c1", b"0", b"-1"], b"*1\r\n$1\r\nx\r\n");
}

#[test]
fn blmpop_waiters_served_per_key_in_order() {
    let srv = Server::start(&[]);
    let mut c1 = srv.raw();
    let mut c2 = srv.raw();
    let mut p = srv.raw();
    blocked(&mut c1, &[b"BLMPOP", b"0", b"2", b"b1", b"b2", b"LEFT", b"COUNT", b"1"]);
    blocked(&mut c2, &[b"BLMPOP", b"0", b"2", b"b1", b"b2", b"RIGHT", b"COUNT", b"10"]);
    p.roundtrip(&[b"LPUSH", b"b1", b"a", b"b", b"c"], b":3\r\n");
    c1.expect(b"*2\r\n$2\r\nb1\r\n*1\r\n$1\r\nc\r\n");
    c2.expect(b"*2\r\n$2\r\nb1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
}

#[test]
fn inside_multi_blocking_pops_do_not_block() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"RPUSH", b"x", b"a"], b":1\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"BLPOP", b"x", b"0"], b"+QUEUED\r\n");
    c.roundtrip(&[b"BLPOP", b"x", b"0"], b"+QUEUED\r\n");
    c.roundtrip(&[b"BLMOVE", b"x", b"y", b"LEFT", b"LEFT", b"0"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*3\r\n*2\r\n$1\r\nx\r\n$1\r\na\r\n*-1\r\n$-1\r\n");
}

#[test]
fn transaction_serves_waiters_after_exec_only() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut p = srv.raw();
    blocked(&mut a, &[b"BLPOP", b"l", b"0"]);
    // pushed and deleted in one transaction: nobody is woken
    p.roundtrip(&[b"MULTI"], b"+OK\r\n");
    p.roundtrip(&[b"LPUSH", b"l", b"a"], b"+QUEUED\r\n");
    p.roundtrip(&[b"DEL", b"l"], b"+QUEUED\r\n");
    p.roundtrip(&[b"EXEC"], b"*2\r\n:1\r\n:1\r\n");
    // three pushes in one transaction: the waiter sees the state after EXEC
    p.roundtrip(&[b"MULTI"], b"+OK\r\n");
    for v in [b"a", b"b", b"c"] {
        p.roundtrip(&[b"LPUSH", b"l", v], b"+QUEUED\r\n");
    }
    p.roundtrip(&[b"EXEC"], b"*3\r\n:1\r\n:2\r\n:3\r\n");
    a.expect(b"*2\r\n$1\r\nl\r\n$1\r\nc\r\n");
}

#[test]
fn client_killed_while_blocked() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut p = srv.raw();
    let id = a.call(&[b"CLIENT", b"ID"]);
    let id = String::from_utf8_lossy(&id[1..id.len() - 2]).into_owned();
    blocked(&mut a, &[b"BLPOP", b"q", b"0"]);
    p.roundtrip(&[b"CLIENT", b"KILL", b"ID", id.as_bytes()], b":1\r\n");
    assert!(a.closed(), "a killed client's connection is closed");
    // the killed waiter no longer takes what is pushed
    p.roundtrip(&[b"RPUSH", b"q", b"v"], b":1\r\n");
    p.roundtrip(&[b"LLEN", b"q"], b":1\r\n");
    p.roundtrip(&[b"CLIENT", b"KILL", b"ID", id.as_bytes()], b":0\r\n");
}

#[test]
fn several_clients_on_overlapping_keys() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let mut c = srv.raw();
    let mut p = srv.raw();
    blocked(&mut a, &[b"BLPOP", b"k1", b"k2", b"0"]);
    blocked(&mut b, &[b"BLPOP", b"k2", b"k3", b"0"]);
    blocked(&mut c, &[b"BRPOP", b"k3", b"k1", b"0"]);
    // two elements on k3: its two waiters, in the order they blocked; a is not woken
    p.roundtrip(&[b"RPUSH", b"k3", b"x", b"y"], b":2\r\n");
    b.expect(b"*2\r\n$2\r\nk3\r\n$1\r\nx\r\n");
    c.expect(b"*2\r\n$2\r\nk3\r\n$1\r\ny\r\n");
    assert!(a.read_for(150).is_empty(), "a waits on k1/k2 only");
    // b and c are no longer waiting on their other keys: k2 goes to a, k1 stays
    p.roundtrip(&[b"RPUSH", b"k2", b"z"], b":1\r\n");
    a.expect(b"*2\r\n$2\r\nk2\r\n$1\r\nz\r\n");
    p.roundtrip(&[b"RPUSH", b"k1", b"w"], b":1\r\n");
    p.roundtrip(&[b"LRANGE", b"k1", b"0", b"-1"], b"*1\r\n$1\r\nw\r\n");
    assert!(b.read_for(100).is_empty() && c.read_for(100).is_empty());
}

#[test]
fn zset_waiter_ignores_a_list_under_its_key() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let mut p = srv.raw();
    blocked(&mut a, &[b"BZPOPMIN", b"z", b"0"]);
    // the key becomes a list: the zset waiter stays blocked, the list is left alone
    p.roundtrip(&[b"RPUSH", b"z", b"x"], b":1\r\n");
    assert!(a.read_for(150).is_empty(), "a list does not wake BZPOPMIN");
    p.roundtrip(&[b"LLEN", b"z"], b":1\r\n");
    // deleted and recreated as a zset: now it is served
    p.roundtrip(&[b"DEL", b"z"], b":1\r\n");
    p.roundtrip(&[b"ZADD", b"z", b"1", b"m"], b":1\r\n");
    a.expect(b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n$1\r\n1\r\n");
    p.roundtrip(&[b"EXISTS", b"z"], b":0\r\n");
    // a list waiter whose key becomes a zset times out normally
    b.cmd(&[b"BLPOP", b"w", b"0.3"]);
    settle();
    p.roundtrip(&[b"ZADD", b"w", b"1", b"a"], b":1\r\n");
    b.expect(b"*-1\r\n");
    p.roundtrip(&[b"ZCARD", b"w"], b":1\r\n");
}
