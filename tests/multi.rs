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

const BUSY: &[u8] = b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

/// MULTI sent while another client's script is busy is accepted (allow-busy); a command
/// refused with -BUSY while queueing dooms the transaction, and after SCRIPT KILL the
/// server serves everyone again: the EXEC fails with EXECABORT and nothing ran.
#[test]
fn busy_script_flags_the_transaction_being_queued() {
    let srv = Server::start(&["--busy-reply-threshold", "50"]);
    let mut runner = srv.raw();
    let mut other = srv.raw();
    let mut tx = srv.raw();
    other.roundtrip(&[b"SET", b"xx", b"1"], b"+OK\r\n");
    runner.cmd(&[b"EVAL", b"while true do end", b"0"]);
    assert_eq!(other.wait_busy(), BUSY);
    tx.roundtrip(&[b"MULTI"], b"+OK\r\n");
    tx.roundtrip(&[b"INCR", b"xx"], BUSY);
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
    runner.read_until_crlf();
    // served again, still in the (doomed) transaction
    tx.roundtrip(&[b"INCR", b"xx"], b"+QUEUED\r\n");
    tx.roundtrip(&[b"EXEC"], b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    tx.roundtrip(&[b"PING", b"asdf"], b"$4\r\nasdf\r\n");
    other.roundtrip(&[b"GET", b"xx"], b"$1\r\n1\r\n");
    runner.roundtrip(&[b"PING"], b"+PONG\r\n");
    // refused commands count as rejected calls
    let stats = other.bulk_text(&[b"INFO", b"commandstats"]);
    assert!(stats.contains("cmdstat_incr:calls=0,") && stats.contains("rejected_calls=1,"), "{stats}");
}

/// EXEC refused because a script is busy ends the transaction with EXECABORT (and drops
/// the WATCHes): none of the queued commands runs, before or after SCRIPT KILL.
#[test]
fn exec_refused_while_busy_discards_the_transaction() {
    exec_refused_while_busy(&[]);
}

/// The same with the clients spread over several workers (the script runs on one of
/// them, the others answer -BUSY without the shard locks).
#[test]
fn exec_refused_while_busy_with_several_workers() {
    exec_refused_while_busy(&["--io-threads", "4"]);
}

fn exec_refused_while_busy(extra: &[&str]) {
    let mut args = vec!["--busy-reply-threshold", "50"];
    args.extend_from_slice(extra);
    let srv = Server::start(&args);
    let mut runner = srv.raw();
    let mut other = srv.raw();
    let mut tx = srv.raw();
    other.roundtrip(&[b"SET", b"xx", b"1"], b"+OK\r\n");
    tx.roundtrip(&[b"WATCH", b"w"], b"+OK\r\n");
    tx.roundtrip(&[b"MULTI"], b"+OK\r\n");
    tx.roundtrip(&[b"INCR", b"xx"], b"+QUEUED\r\n");
    runner.cmd(&[b"EVAL", b"while true do end", b"0"]);
    other.wait_busy();
    tx.roundtrip(
        &[b"EXEC"],
        b"-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n",
    );
    // no longer in MULTI: refused like any other command while busy
    tx.roundtrip(&[b"PING"], BUSY);
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
    runner.read_until_crlf();
    tx.roundtrip(&[b"PING", b"asdf"], b"$4\r\nasdf\r\n");
    other.roundtrip(&[b"GET", b"xx"], b"$1\r\n1\r\n");
    // the WATCH of w went with the transaction
    other.roundtrip(&[b"SET", b"w", b"changed"], b"+OK\r\n");
    tx.roundtrip(&[b"MULTI"], b"+OK\r\n");
    tx.roundtrip(&[b"INCR", b"xx"], b"+QUEUED\r\n");
    tx.roundtrip(&[b"EXEC"], b"*1\r\n:2\r\n");
    let errs = other.bulk_text(&[b"INFO", b"errorstats"]);
    assert!(errs.contains("errorstat_EXECABORT:count=1"), "{errs}");
}

/// Over maxmemory, queueing a command is refused with -OOM and dooms the transaction;
/// DISCARD and EXEC are still served; EXEC of only read commands runs, EXEC of a
/// transaction with a deny-oom command fails with EXECABORT.
#[test]
fn maxmemory_checks_while_queueing_and_at_exec() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let mut admin = srv.raw();
    const OOM: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    c.roundtrip(&[b"SET", b"x", b"value"], b"+OK\r\n");
    // queued before the limit, EXEC after
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"x"], b"+QUEUED\r\n");
    c.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    admin.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"EXEC"], b"*2\r\n$5\r\nvalue\r\n+PONG\r\n");
    admin.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"x", b"1"], b"+QUEUED\r\n");
    admin.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"1"], b"+OK\r\n");
    c.roundtrip(
        &[b"EXEC"],
        b"-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n",
    );
    c.roundtrip(&[b"GET", b"x"], b"$5\r\nvalue\r\n");
    // while over the limit: plain writes refused, reads served, queueing refused
    c.roundtrip(&[b"SET", b"y", b"1"], OOM);
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"x"], OOM);
    c.roundtrip(&[b"DISCARD"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], OOM);
    admin.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"x", b"2"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    c.roundtrip(&[b"GET", b"x"], b"$5\r\nvalue\r\n");
}

/// min-replicas-to-write set after a write was queued: EXEC fails with NOREPLICAS.
#[test]
fn exec_with_writes_needs_enough_replicas() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let mut admin = srv.raw();
    c.roundtrip(&[b"SET", b"xx", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"INCR", b"xx"], b"+QUEUED\r\n");
    admin.roundtrip(&[b"CONFIG", b"SET", b"min-replicas-to-write", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"EXEC"], b"-EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write.\r\n");
    // reads are still served
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"xx"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*1\r\n$1\r\n1\r\n");
    c.roundtrip(&[b"INCR", b"xx"], b"-NOREPLICAS Not enough good replicas to write.\r\n");
}

/// SWAPDB leaves a WATCH alone when the watched key's logical state does not change:
/// an expired key replaced with nothing, nothing replaced with an expired key.
#[test]
fn swapdb_and_watched_stale_keys() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"x", b"foo", b"PX", b"1"], b"+OK\r\n");
    std::thread::sleep(std::time::Duration::from_millis(5));
    c.roundtrip(&[b"WATCH", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"SWAPDB", b"0", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*1\r\n+PONG\r\n");
    // db 0 now holds the stale x; db 1 nothing: swap back while watching x in db 1
    c.roundtrip(&[b"WATCH", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"SWAPDB", b"0", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*1\r\n+PONG\r\n");
    // a live key coming in does touch it
    c.roundtrip(&[b"SELECT", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"x", b"live"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"WATCH", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"SWAPDB", b"0", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*-1\r\n");
}

/// WATCH, UNWATCH and DISCARD are served while a script is busy (allow-busy): a key
/// watched then still fails the EXEC when it is written afterwards, and not otherwise.
#[test]
fn watch_and_unwatch_while_a_script_is_busy() {
    let srv = Server::start(&["--busy-reply-threshold", "50"]);
    let mut runner = srv.raw();
    let mut other = srv.raw();
    let mut a = srv.raw();
    let mut b = srv.raw();
    b.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n");
    runner.cmd(&[b"EVAL", b"while true do end", b"0"]);
    other.wait_busy();
    a.roundtrip(&[b"WATCH", b"k", b"j"], b"+OK\r\n");
    b.roundtrip(&[b"UNWATCH"], b"+OK\r\n");
    b.roundtrip(&[b"MULTI"], b"+OK\r\n");
    b.roundtrip(&[b"DISCARD"], b"+OK\r\n");
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
    runner.read_until_crlf();
    // nothing written since: EXEC runs
    a.roundtrip(&[b"MULTI"], b"+OK\r\n");
    a.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    a.roundtrip(&[b"EXEC"], b"*1\r\n+PONG\r\n");
    // written since: EXEC fails; b no longer watches k
    a.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n");
    runner.cmd(&[b"EVAL", b"while true do end", b"0"]);
    other.wait_busy();
    a.roundtrip(&[b"WATCH", b"j"], b"+OK\r\n");
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
    runner.read_until_crlf();
    other.roundtrip(&[b"SET", b"k", b"1"], b"+OK\r\n");
    a.roundtrip(&[b"MULTI"], b"+OK\r\n");
    a.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    a.roundtrip(&[b"EXEC"], b"*-1\r\n");
    b.roundtrip(&[b"MULTI"], b"+OK\r\n");
    b.roundtrip(&[b"PING"], b"+QUEUED\r\n");
    b.roundtrip(&[b"EXEC"], b"*1\r\n+PONG\r\n");
}

/// The AOF replay is not refused by maxmemory or min-replicas-to-write (Redis loads the
/// file without those checks), transactions included.
#[test]
fn aof_replay_ignores_maxmemory_and_min_replicas() {
    let srv = Server::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"INCR", b"a"], b"+QUEUED\r\n");
    c.roundtrip(&[b"INCR", b"a"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*2\r\n:2\r\n:3\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"min-replicas-to-write", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"maxmemory", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"DEBUG", b"LOADAOF"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n3\r\n");
    c.roundtrip(&[b"INCR", b"a"], b"-OOM command not allowed when used memory > 'maxmemory'.\r\n");
}

/// With several workers, a command that arrives while a script is starting on another
/// worker must not block behind the script's locks: it is served, or refused with -BUSY
/// once the script is busy. SCRIPT KILL always gets through.
#[test]
fn commands_never_wait_behind_a_busy_script_on_another_worker() {
    let srv = Server::start(&["--busy-reply-threshold", "50", "--io-threads", "4"]);
    for _ in 0..20 {
        let mut runner = srv.raw();
        let mut other = srv.raw();
        let mut killer = srv.raw();
        runner.cmd(&[b"EVAL", b"while true do end", b"0"]);
        other.cmd(&[b"PING"]);
        let reply = other.read_until_crlf();
        assert!(reply == b"+PONG\r\n" || reply == BUSY, "{:?}", String::from_utf8_lossy(&reply));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let r = killer.call(&[b"SCRIPT", b"KILL"]);
            if r == b"+OK\r\n" {
                break;
            }
            assert!(r.starts_with(b"-NOTBUSY"), "{:?}", String::from_utf8_lossy(&r));
            assert!(std::time::Instant::now() < deadline, "the script never started");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
        runner.read_until_crlf();
    }
}
