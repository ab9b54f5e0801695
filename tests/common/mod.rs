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

impl Server {
    /// Start with the test-friendly defaults plus `args` (`["--maxclients", "10"]`).
    pub fn start(args: &[&str]) -> Server {
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
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
                    let _ = c.write_all(b"PING\r\n");
                    let mut b = [0u8; 64];
                    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    if matches!(c.read(&mut b), Ok(n) if n > 0) {
                        return s;
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

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
