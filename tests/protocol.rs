//! Bad input on the wire: each case gets Redis 7.0.15's exact error (or a clean close),
//! and the server keeps serving other clients with bounded memory. Also the query and
//! output buffer limits.
mod common;
use common::{Raw, Server};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Resident memory of the server process, in bytes (/proc/PID/statm).
fn rss(srv: &Server) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/statm", srv.pid())).unwrap();
    s.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 4096
}

/// Send `input`, expect exactly `reply` and then the connection closed.
fn rejected(srv: &Server, input: &[u8], reply: &[u8]) {
    let mut c = srv.raw();
    c.send(input);
    c.expect(reply);
    assert!(c.closed(), "still open after {:?}", String::from_utf8_lossy(input));
}

#[test]
fn malformed_requests_get_redis_errors_and_a_close() {
    let srv = Server::start(&[]);
    rejected(&srv, b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n");
    rejected(&srv, b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n");
    rejected(&srv, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n");
    rejected(&srv, b"*1\r\n\xff\r\n", b"-ERR Protocol error: expected '$', got '\xff'\r\n");
    rejected(&srv, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    rejected(&srv, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    rejected(&srv, b"*1\r\n$1099511627776\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    rejected(&srv, b"*1\r\n$blabla\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    rejected(&srv, b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n");
    // pipelined replies before the bad request are still delivered
    rejected(&srv, b"PING\r\n*1\r\n$-1\r\n", b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    srv.raw().roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn harmless_oddities_are_accepted_like_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    // empty lines, *0 and negative counts are skipped
    c.send(b"\r\n\n*0\r\n*-10\r\n  PING  \n");
    c.expect(b"+PONG\r\n");
    // the two bytes after a bulk are not checked
    c.send(b"*2\r\n$4\r\nECHO\r\n$3\r\nabcde\r\n");
    c.expect(b"$3\r\nabc\r\n");
    // inline: only space, \t, \r, \n end a bare word
    c.send(b"ECHO a\x0bb\r\n");
    c.expect(b"$3\r\na\x0bb\r\n");
    c.send(b"ECHO \"q\\x41\\n\" 'x'\r\n");
    c.expect(b"-ERR wrong number of arguments for 'echo' command\r\n");
    c.send(b"ECHO \"q\\x41\\n\"\r\n");
    c.expect(b"$3\r\nqA\n\r\n");
    // unknown command names are echoed byte for byte, cut at a NUL like %s
    c.send(b"\xff\xfe\r\n");
    c.expect(b"-ERR unknown command '\xff\xfe', with args beginning with: \r\n");
    c.cmd(&[b"a\x00b", b"x\x00y", b"z"]);
    c.expect(b"-ERR unknown command 'a', with args beginning with: 'x' 'z' \r\n");
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn a_nul_hides_the_line_end_until_the_line_is_too_long() {
    // Redis looks for the terminator with strchr, which stops at a NUL
    let srv = Server::start(&[]);
    for (prefix, err) in [
        (&b"\x00"[..], &b"-ERR Protocol error: too big inline request\r\n"[..]),
        (b"*\x00", b"-ERR Protocol error: too big mbulk count string\r\n"),
        (b"$\x00", b"-ERR Protocol error: too big inline request\r\n"),
        (b"*1\r\n\x00", b"-ERR Protocol error: too big bulk count string\r\n"),
    ] {
        let mut c = srv.raw();
        c.send(prefix);
        let line = [vec![b'A'; 1024], b"\r\n".to_vec()].concat();
        for _ in 0..70 {
            let _ = c.s.write_all(&line);
        }
        c.expect(err);
        assert!(c.closed());
    }
}

#[test]
fn oversized_headers_and_inline_lines() {
    let srv = Server::start(&[]);
    let before = rss(&srv);
    // an unterminated 1 MiB inline line
    let mut c = srv.raw();
    let _ = c.s.write_all(&vec![b'a'; 1 << 20]);
    c.expect(b"-ERR Protocol error: too big inline request\r\n");
    assert!(c.closed());
    rejected(&srv, &[b"*".as_slice(), &vec![b'9'; 70000]].concat(), b"-ERR Protocol error: too big mbulk count string\r\n");
    rejected(&srv, &[b"*1\r\n$".as_slice(), &vec![b'9'; 70000]].concat(), b"-ERR Protocol error: too big bulk count string\r\n");
    srv.raw().roundtrip(&[b"PING"], b"+PONG\r\n");
    assert!(rss(&srv) < before + (32 << 20), "rss grew from {before} to {}", rss(&srv));
}

#[test]
fn huge_declared_sizes_cost_only_what_is_sent() {
    let srv = Server::start(&[]);
    let before = rss(&srv);
    let mut held = Vec::new();
    for _ in 0..20 {
        // a multibulk of 2^31-1 args, and a 512 MB bulk, both barely started
        let mut a = srv.raw();
        a.send(b"*2147483647\r\n$3\r\nSET\r\n");
        let mut b = srv.raw();
        b.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\nabc");
        held.push(a);
        held.push(b);
    }
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    let grown = rss(&srv).saturating_sub(before);
    assert!(grown < 32 << 20, "rss grew by {grown}");
    drop(held);
    c.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
}

#[test]
fn half_sent_commands_and_connection_churn() {
    let srv = Server::start(&[]);
    let mut probe = srv.raw();
    let count = |p: &mut Raw| p.bulk_text(&[b"CLIENT", b"LIST"]).lines().count();
    for part in [&b"*3\r\n$3\r\nSET\r\n$1\r\nk"[..], b"*2\r\n$3\r\nGET", b"SET k v", b"*1\r\n$4\r\nPI"] {
        let mut c = srv.raw();
        c.send(part);
    }
    for _ in 0..1000 {
        let s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        drop(s);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&mut probe) != 1 {
        assert!(Instant::now() < deadline, "connections left: {}", count(&mut probe));
        std::thread::sleep(Duration::from_millis(50));
    }
    probe.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
}

#[test]
fn garbage_does_not_hurt_other_clients() {
    let srv = Server::start(&["--io-threads", "2"]);
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut good = srv.raw();
    for round in 0..200 {
        let mut c = srv.raw();
        let len = (next() % 4096) as usize;
        let mut junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // sometimes look like RESP to get past the first byte
        if round % 3 == 0 && !junk.is_empty() {
            junk[0] = b'*';
        }
        let _ = c.s.write_all(&junk);
        drop(c);
        if round % 20 == 0 {
            good.roundtrip(&[b"PING"], b"+PONG\r\n");
        }
    }
    good.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    good.roundtrip(&[b"GET", b"k"], b"$1\r\nv\r\n");
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let srv = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut c = srv.raw();
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut closed = false;
    for _ in 0..40 {
        if c.s.write_all(&chunk).is_err() {
            closed = true;
            break;
        }
    }
    assert!(closed || c.closed());
    let mut d = srv.raw();
    d.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
    // under the limit is fine
    let v = vec![b'y'; 900_000];
    d.roundtrip(&[b"SET", b"k", &v], b"+OK\r\n");
}

#[test]
fn output_buffer_limit_closes_a_client_that_does_not_read() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"CONFIG", b"SET", b"client-output-buffer-limit", b"normal 1mb 0 0"], b"+OK\r\n");
    admin.roundtrip(&[b"SET", b"big", &vec![b'v'; 100_000]], b"+OK\r\n");
    let before = rss(&srv);
    let mut c = srv.raw();
    c.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let get = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(1000);
    let _ = c.s.write_all(&get);
    // 100 MB of replies were asked for; the server gives up after ~1 MB plus socket buffers
    let mut got = 0usize;
    let mut b = vec![0u8; 1 << 16];
    loop {
        match c.s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    assert!(got < 20_000_000, "read {got} bytes before the close");
    admin.roundtrip(&[b"PING"], b"+PONG\r\n");
    assert!(rss(&srv) < before + (64 << 20));
    // under the limit (Redis too closes a client whose pipelined replies pass it at once)
    let mut r = srv.raw();
    r.send(&b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(5));
    for _ in 0..5 {
        assert_eq!(r.read_n(100_000 + 11).len(), 100_011);
    }
}
