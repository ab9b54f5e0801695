//! Connection commands and settings through raw RESP, byte for byte as Redis 7.0.15:
//! PING/ECHO/SELECT/QUIT, HELLO, AUTH + requirepass, RESET, timeout, maxclients,
//! tcp-keepalive.
mod common;
use common::{Raw, Server};
use std::time::{Duration, Instant};

fn hello_map(resp3: bool, proto: u8, id: u64) -> Vec<u8> {
    let head = if resp3 { "%7".to_string() } else { "*14".to_string() };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    .into_bytes()
}

fn client_id(c: &mut Raw) -> u64 {
    c.cmd(&[b"CLIENT", b"ID"]);
    let l = c.read_until_crlf();
    std::str::from_utf8(&l[1..l.len() - 2]).unwrap().parse().unwrap()
}

#[test]
fn ping_echo_select_quit() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    c.roundtrip(&[b"PING", b"a\r\nb"], b"$4\r\na\r\nb\r\n");
    c.roundtrip(&[b"PING", b"a", b"b"], b"-ERR wrong number of arguments for 'ping' command\r\n");
    c.roundtrip(&[b"ECHO", b"\x00\xff"], b"$2\r\n\x00\xff\r\n");
    c.roundtrip(&[b"ECHO"], b"-ERR wrong number of arguments for 'echo' command\r\n");
    c.roundtrip(&[b"SELECT", b"15"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"16"], b"-ERR DB index is out of range\r\n");
    c.roundtrip(&[b"SELECT", b"-1"], b"-ERR DB index is out of range\r\n");
    c.roundtrip(&[b"SELECT", b"x"], b"-ERR value is not an integer or out of range\r\n");
    c.roundtrip(&[b"SELECT", b"4294967296"], b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
    c.roundtrip(&[b"SET", b"k", b"in15"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
    // nothing pipelined after QUIT runs
    c.send(b"QUIT\r\nSET k after-quit\r\n");
    c.expect(b"+OK\r\n");
    assert!(c.closed());
    let mut c = srv.raw();
    c.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
}

#[test]
fn hello_replies_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let id = client_id(&mut c);
    c.roundtrip(&[b"HELLO"], &hello_map(false, 2, id));
    c.roundtrip(&[b"HELLO", b"3"], &hello_map(true, 3, id));
    // RESP3 now: a null is `_`
    c.roundtrip(&[b"GET", b"nokey"], b"_\r\n");
    c.roundtrip(&[b"HELLO", b"2", b"SETNAME", b"conn1"], &hello_map(false, 2, id));
    c.roundtrip(&[b"CLIENT", b"GETNAME"], b"$5\r\nconn1\r\n");
    c.roundtrip(&[b"HELLO", b"1"], b"-NOPROTO unsupported protocol version\r\n");
    c.roundtrip(&[b"HELLO", b"4"], b"-NOPROTO unsupported protocol version\r\n");
    c.roundtrip(&[b"HELLO", b"x"], b"-ERR Protocol version is not an integer or out of range\r\n");
    c.roundtrip(&[b"HELLO", b"3", b"AUTH"], b"-ERR Syntax error in HELLO option 'AUTH'\r\n");
    c.roundtrip(&[b"HELLO", b"3", b"foo"], b"-ERR Syntax error in HELLO option 'foo'\r\n");
    c.roundtrip(&[b"HELLO", b"3", b"setname", b"a b"], b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    c.roundtrip(&[b"HELLO", b"3", b"AUTH", b"nouser", b"x"], b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    // failed HELLOs left the protocol alone
    c.roundtrip(&[b"GET", b"nokey"], b"$-1\r\n");
    // the default user without a password accepts any password
    c.roundtrip(&[b"HELLO", b"3", b"AUTH", b"default", b"whatever"], &hello_map(true, 3, id));
}

#[test]
fn auth_without_password_configured() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(
        &[b"AUTH", b"x"],
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    );
    c.roundtrip(&[b"AUTH", b"default", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"AUTH", b"bob", b"x"], b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.roundtrip(&[b"AUTH", b"a", b"b", b"c"], b"-ERR syntax error\r\n");
}

#[test]
fn requirepass_auth_flow() {
    let srv = Server::start(&["--requirepass", "s3cret"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"-NOAUTH Authentication required.\r\n");
    c.roundtrip(&[b"HELLO", b"3"], b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n");
    c.roundtrip(&[b"AUTH", b"wrong"], b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.roundtrip(&[b"AUTH", b"default", b"wrong"], b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.roundtrip(&[b"GET", b"k"], b"-NOAUTH Authentication required.\r\n");
    c.roundtrip(&[b"AUTH", b"s3cret"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    // a failed AUTH does not log an authenticated client out
    c.roundtrip(&[b"AUTH", b"nope"], b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.roundtrip(&[b"PING"], b"+PONG\r\n");

    let mut d = srv.raw();
    d.cmd(&[b"HELLO", b"2", b"AUTH", b"default", b"s3cret"]);
    let reply = d.read_for(300);
    let id = client_id(&mut d);
    assert_eq!(reply, hello_map(false, 2, id));

    let mut e = srv.raw();
    e.roundtrip(&[b"AUTH", b"default", b"s3cret"], b"+OK\r\n");
    e.roundtrip(&[b"PING"], b"+PONG\r\n");

    // RESET logs out when the default user has a password
    e.roundtrip(&[b"RESET"], b"+RESET\r\n");
    e.roundtrip(&[b"PING"], b"-NOAUTH Authentication required.\r\n");
}

#[test]
fn unauthenticated_request_limits() {
    let srv = Server::start(&["--requirepass", "pw"]);
    let mut c = srv.raw();
    c.send(b"*11\r\n");
    c.expect(b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(c.closed());
    let mut c = srv.raw();
    c.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n");
    c.expect(b"-ERR Protocol error: unauthenticated bulk length\r\n");
    assert!(c.closed());
    // the limits only hold before authentication
    let mut c = srv.raw();
    c.roundtrip(&[b"AUTH", b"pw"], b"+OK\r\n");
    let big = vec![b'x'; 20000];
    c.roundtrip(&[b"ECHO", &big], &[format!("${}\r\n", big.len()).as_bytes(), &big, b"\r\n"].concat());
    let many: Vec<&[u8]> = std::iter::once(&b"MGET"[..]).chain(std::iter::repeat_n(&b"k"[..], 11)).collect();
    c.cmd(&many);
    c.expect(&[&b"*11\r\n"[..], &b"$-1\r\n".repeat(11)].concat());
}

#[test]
fn requirepass_set_at_runtime() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"CONFIG", b"SET", b"requirepass", b"pw"], b"+OK\r\n");
    // connections authenticated before keep working
    admin.roundtrip(&[b"PING"], b"+PONG\r\n");
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"-NOAUTH Authentication required.\r\n");
    c.roundtrip(&[b"AUTH", b"pw"], b"+OK\r\n");
    admin.roundtrip(&[b"CONFIG", b"SET", b"requirepass", b""], b"+OK\r\n");
    let mut d = srv.raw();
    d.roundtrip(&[b"PING"], b"+PONG\r\n");
    d.roundtrip(
        &[b"AUTH", b"pw"],
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    );
}

#[test]
fn reset_restores_a_fresh_connection() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.cmd(&[b"HELLO", b"3", b"SETNAME", b"n1"]);
    assert!(c.read_for(200).starts_with(b"%7\r\n"));
    c.roundtrip(&[b"SELECT", b"3"], b"+OK\r\n");
    c.send(b"CLIENT REPLY OFF\r\n");
    c.roundtrip(&[b"RESET"], b"+RESET\r\n");
    c.roundtrip(&[b"CLIENT", b"GETNAME"], b"$-1\r\n");
    c.roundtrip(&[b"SET", b"k", b"db0"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"3"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
    let info = c.bulk_text(&[b"CLIENT", b"INFO"]);
    assert!(info.contains(" db=3 ") && info.contains(" resp=2\n"), "{info}");
    // a transaction is discarded
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"k", b"queued"], b"+QUEUED\r\n");
    c.roundtrip(&[b"RESET"], b"+RESET\r\n");
    c.roundtrip(&[b"EXEC"], b"-ERR EXEC without MULTI\r\n");
    // a MONITOR stops being one
    c.roundtrip(&[b"MONITOR"], b"+OK\r\n");
    c.roundtrip(&[b"RESET"], b"+RESET\r\n");
    let mut d = srv.raw();
    d.roundtrip(&[b"PING"], b"+PONG\r\n");
    // no MONITOR line for d's PING, no "Replica can't interact" error
    c.roundtrip(&[b"GET", b"k"], b"$3\r\ndb0\r\n");
}

#[test]
fn http_requests_are_dropped_without_reply() {
    let srv = Server::start(&[]);
    for req in [&b"POST / HTTP/1.1\r\nHost: x\r\n\r\n"[..], b"PING\r\nHost: evil\r\nPING\r\n"] {
        let mut c = srv.raw();
        c.send(req);
        assert_eq!(c.read_for(2000), b"", "{:?}", String::from_utf8_lossy(req));
    }
    srv.raw().roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let srv = Server::start(&["--timeout", "1"]);
    let mut idle = srv.raw();
    idle.roundtrip(&[b"PING"], b"+PONG\r\n");
    let mut busy = srv.raw();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(3500) {
        busy.roundtrip(&[b"PING"], b"+PONG\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(idle.closed(), "idle client still open");
    busy.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn maxclients_rejects_extra_connections() {
    let srv = Server::start(&["--maxclients", "3"]);
    std::thread::sleep(Duration::from_millis(100)); // the start-up probe is gone
    let mut keep: Vec<Raw> = (0..3).map(|_| srv.raw()).collect();
    for c in keep.iter_mut() {
        c.roundtrip(&[b"PING"], b"+PONG\r\n");
    }
    let mut extra = srv.raw();
    extra.expect(b"-ERR max number of clients reached\r\n");
    assert!(extra.closed());
    keep.pop();
    std::thread::sleep(Duration::from_millis(100));
    srv.raw().roundtrip(&[b"PING"], b"+PONG\r\n");
}

/// The kernel's view of the server side of our connection: is a keepalive timer armed?
/// (/proc/net/tcp `tr` column: 2 = keepalive timer.)
fn server_side_timer(server_port: u16, client_port: u16) -> Option<u32> {
    let tab = std::fs::read_to_string("/proc/net/tcp").ok()?;
    for line in tab.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let port = |s: &str| u16::from_str_radix(s.rsplit(':').next()?, 16).ok();
        if port(f[1]) == Some(server_port) && port(f[2]) == Some(client_port) {
            return f[5].split(':').next().and_then(|t| t.parse().ok());
        }
    }
    None
}

#[test]
fn tcp_keepalive_is_armed_on_accepted_sockets() {
    for (setting, expect) in [("300", 2), ("0", 0)] {
        let srv = Server::start(&["--tcp-keepalive", setting]);
        let mut c = srv.raw();
        c.roundtrip(&[b"PING"], b"+PONG\r\n");
        let me = c.s.local_addr().unwrap().port();
        assert_eq!(server_side_timer(srv.port, me), Some(expect), "tcp-keepalive {setting}");
    }
}
