//! Transactions: MULTI/EXEC/DISCARD/WATCH through raw RESP, and EXEC's atomicity against
//! concurrent writers on other connections.
mod common;
use common::Server;

#[test]
fn queue_exec_discard_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"EXEC"], b"-ERR EXEC without MULTI\r\n");
    c.roundtrip(&[b"DISCARD"], b"-ERR DISCARD without MULTI\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"-ERR MULTI calls can not be nested\r\n");
    c.roundtrip(&[b"SET", b"a", b"1"], b"+QUEUED\r\n");
    c.roundtrip(&[b"INCR", b"a"], b"+QUEUED\r\n");
    c.roundtrip(&[b"GET", b"a"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
    // a rejected command aborts the whole transaction
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"a", b"9"], b"+QUEUED\r\n");
    c.roundtrip(&[b"GET"], b"-ERR wrong number of arguments for 'get' command\r\n");
    c.roundtrip(&[b"EXEC"], b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n2\r\n");
    // runtime errors do not roll back the others
    c.roundtrip(&[b"SET", b"s", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"INCR", b"s"], b"+QUEUED\r\n");
    c.roundtrip(&[b"INCR", b"a"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*2\r\n-ERR value is not an integer or out of range\r\n:3\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"a", b"0"], b"+QUEUED\r\n");
    c.roundtrip(&[b"DISCARD"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n3\r\n");
}

#[test]
fn watch_is_invalidated_by_other_clients_and_flush() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let mut other = srv.raw();
    c.roundtrip(&[b"WATCH", b"w"], b"+OK\r\n");
    other.roundtrip(&[b"SET", b"w", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"w", b"mine"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*-1\r\n");
    c.roundtrip(&[b"GET", b"w"], b"$1\r\nx\r\n");
    // untouched watch: EXEC runs
    c.roundtrip(&[b"WATCH", b"w"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"WATCH", b"w"], b"-ERR WATCH inside MULTI is not allowed\r\n");
    c.roundtrip(&[b"SET", b"w", b"mine"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*1\r\n+OK\r\n");
    // FLUSHDB touches watched keys that exist
    c.roundtrip(&[b"WATCH", b"w"], b"+OK\r\n");
    other.roundtrip(&[b"FLUSHDB"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*-1\r\n");
    // UNWATCH clears
    c.roundtrip(&[b"WATCH", b"w"], b"+OK\r\n");
    other.roundtrip(&[b"SET", b"w", b"y"], b"+OK\r\n");
    c.roundtrip(&[b"UNWATCH"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"w"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*1\r\n$1\r\ny\r\n");
}

#[test]
fn exec_is_atomic_against_concurrent_writers() {
    atomic_exec(&[]);
}

#[test]
fn exec_is_atomic_across_worker_threads() {
    // Several workers and shards: writers run truly in parallel with the EXEC.
    atomic_exec(&["--io-threads", "4"]);
}

fn atomic_exec(args: &[&str]) {
    let srv = Server::start(args);
    let port = srv.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut w = common::Raw::connect(port);
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 20000 {
                    w.roundtrip(&[b"INCR", b"counter"], b":");
                    let _ = w.read_until_crlf();
                    n += 1;
                }
            })
        })
        .collect();
    let mut c = srv.raw();
    let mut seen_progress = false;
    let mut last = None;
    for _ in 0..300 {
        // Within one EXEC, two reads of the counter must see the same value.
        c.roundtrip(&[b"MULTI"], b"+OK\r\n");
        c.roundtrip(&[b"GET", b"counter"], b"+QUEUED\r\n");
        c.roundtrip(&[b"GET", b"counter"], b"+QUEUED\r\n");
        c.cmd(&[b"EXEC"]);
        c.expect(b"*2\r\n");
        let a = c.read_bulk();
        let b = c.read_bulk();
        assert_eq!(a, b, "another client's write ran inside EXEC");
        if last.is_some() && last != a {
            seen_progress = true;
        }
        last = a;
    }
    assert!(seen_progress, "writers did not run concurrently with the transactions");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
}
