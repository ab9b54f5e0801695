//! Shared harness for integration tests: start a real `ferrodis-server` on a free port,
//! talk to it with raw RESP bytes (byte-exact checks) or the `redis` client crate, and
//! stop it by PID when the test ends.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub port: u16,
    pub child: Child,
    pub dir: std::path::PathBuf,
}

/// A port nobody listens on right now (bind to :0 and release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A new empty directory under the system temp dir, unique to this process and call.
pub fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ferrodis-{}-{}-{}", name, std::process::id(), free_port()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Server {
    /// Start with the test-friendly defaults plus `args` (`["--maxclients", "10"]`), and
    /// wait until the dataset is loaded (PING no longer answers -LOADING).
    pub fn start(args: &[&str]) -> Server {
        Server::start_opts(args, true)
    }

    /// As `start`, with `dir` as its working directory, which the server then owns (Drop
    /// removes it; `std::mem::forget` the server to keep the files for a restart).
    pub fn start_owning(dir: &std::path::Path, args: &[&str]) -> Server {
        let mut all = vec!["--dir", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut s = Server::start(&all);
        let _ = std::fs::remove_dir_all(&s.dir);
        s.dir = dir.to_path_buf();
        s
    }

    /// As `start`, but return as soon as the server answers at all (possibly -LOADING).
    pub fn start_loading(args: &[&str]) -> Server {
        Server::start_opts(args, false)
    }

    fn start_opts(args: &[&str], wait_loaded: bool) -> Server {
        for _ in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!("ferrodis-test-{}-{}", std::process::id(), port));
            std::fs::create_dir_all(&dir).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--dir"])
                .arg(&dir)
                .args(["--enable-debug-command", "yes"])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start ferrodis-server");
            let mut s = Server { port, child, dir };
            let deadline = Instant::now() + Duration::from_secs(if wait_loaded { 120 } else { 10 });
            while Instant::now() < deadline {
                if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
                    let _ = c.write_all(b"PING\r\n");
                    let mut b = [0u8; 64];
                    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    match c.read(&mut b) {
                        Ok(n) if n > 0 && !(wait_loaded && b.starts_with(b"-LOADING")) => return s,
                        _ => {}
                    }
                }
                if let Ok(Some(_)) = s.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = s.child.kill();
        }
        panic!("server did not start");
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap().get_connection().unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw RESP connection.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw { s }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Send a command as a multibulk.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        let mut b = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            b.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            b.extend_from_slice(a);
            b.extend_from_slice(b"\r\n");
        }
        self.send(&b);
    }

    /// Read until exactly `expected.len()` bytes arrived (or timeout) and compare.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "reply mismatch"
        );
    }

    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut got = vec![0u8; n];
        let mut off = 0;
        while off < n {
            match self.s.read(&mut got[off..]) {
                Ok(0) => break,
                Ok(k) => off += k,
                Err(e) => panic!("read: {e} after {:?}", String::from_utf8_lossy(&got[..off])),
            }
        }
        got.truncate(off);
        got
    }

    /// Send a command and compare the reply bytes.
    pub fn roundtrip(&mut self, args: &[&[u8]], expected: &[u8]) {
        self.cmd(args);
        self.expect(expected);
    }

    /// Send each command and compare its reply, in order.
    pub fn script(&mut self, steps: &[(&[&[u8]], &[u8])]) {
        for (args, want) in steps {
            self.roundtrip(args, want);
        }
    }

    /// True if the server closed the connection (EOF) within the timeout.
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1024];
        loop {
            match self.s.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

impl Raw {
    /// Read one line up to and including CRLF.
    pub fn read_until_crlf(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            match self.s.read(&mut b) {
                Ok(1) => line.push(b[0]),
                _ => break,
            }
        }
        line
    }

    /// Send a command and return its bulk string reply as text.
    pub fn bulk_text(&mut self, args: &[&[u8]]) -> String {
        self.cmd(args);
        String::from_utf8(self.read_bulk().expect("a bulk reply")).unwrap()
    }

    /// The value of `field` in `INFO section`, trimmed; None when INFO does not show it.
    pub fn info_field(&mut self, section: &str, field: &str) -> Option<String> {
        let info = self.bulk_text(&[b"INFO", section.as_bytes()]);
        info.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(|v| v.trim().to_string()))
    }

    /// Wait up to `secs` until no AOF rewrite is in progress or scheduled.
    pub fn wait_aof_rewrite(&mut self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.info_field("persistence", "aof_rewrite_in_progress").as_deref() != Some("0")
            || self.info_field("persistence", "aof_rewrite_scheduled").as_deref() != Some("0")
        {
            assert!(Instant::now() < deadline, "AOF rewrite did not finish");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whatever arrives within `ms` milliseconds.
    pub fn read_for(&mut self, ms: u64) -> Vec<u8> {
        self.s.set_read_timeout(Some(Duration::from_millis(ms))).unwrap();
        let mut out = Vec::new();
        let mut b = [0u8; 4096];
        while let Ok(n) = self.s.read(&mut b) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&b[..n]);
        }
        self.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        out
    }

    /// Read one complete reply (any RESP2/RESP3 type), as raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = self.read_until_crlf();
        let n: i64 = if out.len() > 2 { String::from_utf8_lossy(&out[1..out.len() - 2]).parse().unwrap_or(-1) } else { -1 };
        match out.first() {
            Some(b'$') | Some(b'=') | Some(b'!') if n >= 0 => {
                let k = n as usize + 2;
                out.extend(self.read_n(k));
            }
            Some(b'*') | Some(b'~') | Some(b'>') | Some(b'%') | Some(b'|') if n > 0 => {
                let k = n as usize * if matches!(out[0], b'%' | b'|') { 2 } else { 1 };
                for _ in 0..k {
                    let r = self.read_reply();
                    out.extend(r);
                }
            }
            _ => {}
        }
        out
    }

    /// Send a command and return its complete reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.cmd(args);
        self.read_reply()
    }

    /// Read a bulk string reply (None for a null bulk).
    pub fn read_bulk(&mut self) -> Option<Vec<u8>> {
        let h = self.read_until_crlf();
        assert!(h.first() == Some(&b'$'), "not a bulk: {:?}", String::from_utf8_lossy(&h));
        let n: i64 = String::from_utf8_lossy(&h[1..h.len() - 2]).parse().unwrap();
        if n < 0 {
            return None;
        }
        let mut v = self.read_n(n as usize + 2);
        v.truncate(n as usize);
        Some(v)
    }
}

/// The real redis-server, for interop tests (None when it is not installed).
pub struct RealRedis {
    pub child: Child,
    pub port: u16,
}

impl RealRedis {
    /// Start /usr/bin/redis-server in `dir` with `args`; None if it is not installed.
    pub fn start(dir: &std::path::Path, args: &[&str]) -> Option<RealRedis> {
        let bin = std::path::Path::new("/usr/bin/redis-server");
        if !bin.exists() {
            eprintln!("redis-server not installed: interop check skipped");
            return None;
        }
        let port = free_port();
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let r = RealRedis { child, port };
        // ready = answers PING with PONG (not -LOADING)
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                let mut b = [0u8; 64];
                if c.write_all(b"PING\r\n").is_ok() && matches!(c.read(&mut b), Ok(n) if b[..n].starts_with(b"+PONG")) {
                    return Some(r);
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

/// Run each command line (split on spaces) on both servers and assert byte-equal replies.
pub fn same_replies(ours: &mut Raw, real: &mut Raw, script: &str) {
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let (a, b) = (real.call(&args), ours.call(&args));
        assert_eq!(String::from_utf8_lossy(&b), String::from_utf8_lossy(&a), "reply to `{line}`");
    }
}

/// `same_replies` on RESP3 connections (HELLO 3 first on both).
pub fn same_replies_resp3(ours: &mut Raw, real: &mut Raw, script: &str) {
    for c in [&mut *ours, &mut *real] {
        let r = c.call(&[b"HELLO", b"3"]);
        assert!(r.starts_with(b"%"), "HELLO 3: {}", String::from_utf8_lossy(&r));
    }
    same_replies(ours, real, script);
}

/// Run the script on a fresh redis-server and a fresh ferrodis, both with `appendonly yes`,
/// and assert the AOFs (what the write stream got) are byte-equal. False when
/// redis-server is not installed.
pub fn same_aof(script: &str) -> bool {
    let cmds: Vec<Vec<&[u8]>> =
        script.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| l.split(' ').map(str::as_bytes).collect()).collect();
    let Some(redis) = aof_after(true, &cmds) else { return false };
    let ours = aof_after(false, &cmds).unwrap();
    assert_eq!(ours, redis, "AOF (left: ours, right: redis)");
    true
}

/// Run the script on both servers with every keyspace event enabled and assert that a
/// PSUBSCRIBEd client of each receives the same keyevent notifications, in order.
pub fn same_events(ours: u16, real: u16, script: &str) {
    let mut streams = Vec::new();
    for port in [real, ours] {
        let mut c = Raw::connect(port);
        let mut sub = Raw::connect(port);
        assert_eq!(c.call(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"]), b"+OK\r\n");
        sub.call(&[b"PSUBSCRIBE", b"__keyevent@*"]);
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            c.call(&args);
        }
        c.call(&[b"SADD", b"end-of-script", b"x"]);
        let mut events = Vec::new();
        loop {
            let m = sub.read_reply();
            if m.ends_with(b"$13\r\nend-of-script\r\n") {
                break;
            }
            events.push(String::from_utf8_lossy(&m).replace("\r\n", " "));
        }
        streams.push(events);
    }
    assert!(streams[0].len() > 3, "redis sent events: {:?}", streams[0]);
    assert_eq!(streams[1], streams[0], "keyspace events (left: ours, right: redis)");
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run each (space-separated command, recorded reply) pair and assert the raw reply bytes.
pub fn check_replies(c: &mut Raw, cases: &[(&str, &[u8])]) {
    for (cmd, expected) in cases {
        let args: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
        let got = c.call(&args);
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expected), "reply to `{cmd}`");
    }
}

impl Raw {
    /// PING until the reply is a -BUSY error (a script passed busy-reply-threshold);
    /// returns that reply line. Panics after 10 seconds.
    pub fn wait_busy(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.cmd(&[b"PING"]);
            let line = self.read_until_crlf();
            if line.starts_with(b"-BUSY") {
                return line;
            }
            assert!(Instant::now() < deadline, "the script never got busy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Start redis-server (`real`) or ferrodis with the AOF on (appendfsync always), send
/// `cmds`, and return the incremental AOF as text (CRLF shown as spaces). None when the
/// real server is wanted but not installed.
pub fn aof_after(real: bool, cmds: &[Vec<&[u8]>]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("ferrodis-aof-diff-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let (_redis, _srv, mut c);
    if real {
        let r = RealRedis::start(&dir, &args)?;
        c = r.raw();
        _redis = Some(r);
    } else {
        let s = Server::start(&[&["--dir", dir.to_str().unwrap()][..], &args].concat());
        c = s.raw();
        _srv = Some(s);
    }
    for args in cmds {
        c.call(args);
    }
    std::thread::sleep(Duration::from_millis(200));
    let aof = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some(String::from_utf8_lossy(&aof).replace("\r\n", " "))
}
