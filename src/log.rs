//! Logging in Redis's format: `PID:ROLE DD Mon YYYY HH:MM:SS.mmm <level> message`, where the
//! level mark is `.` debug, `-` verbose, `*` notice, `#` warning. Goes to `logfile`, or
//! stdout when it is empty. Tools and the TCL suite grep these lines, so the format matters.

use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static SINK: Mutex<Option<std::fs::File>> = Mutex::new(None);
static ROLE: AtomicU8 = AtomicU8::new(b'M');

pub fn set_level(name: &str) {
    let l = match name {
        "debug" => Level::Debug,
        "verbose" => Level::Verbose,
        "warning" => Level::Warning,
        _ => Level::Notice,
    };
    LEVEL.store(l as u8, Relaxed);
}

pub fn set_role(c: u8) {
    ROLE.store(c, Relaxed);
}

/// Send logs to `path` (empty: stdout). Returns an error text if it cannot be opened.
pub fn set_file(path: &str) -> Result<(), String> {
    if path.is_empty() {
        *SINK.lock() = None;
        return Ok(());
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("Can't open the log file: {e}"))?;
    *SINK.lock() = Some(f);
    Ok(())
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    let ms = now.subsec_millis();
    let mut buf = [0u8; 64];
    // SAFETY: localtime_r writes into tm; strftime writes at most buf.len() bytes.
    let n = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        libc::strftime(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), c"%d %b %Y %H:%M:%S".as_ptr(), &tm)
    };
    format!("{}.{:03}", String::from_utf8_lossy(&buf[..n]), ms)
}

pub fn log(level: Level, msg: &str) {
    if (level as u8) < LEVEL.load(Relaxed) {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!("{}:{} {} {} {}\n", std::process::id(), ROLE.load(Relaxed) as char, timestamp(), mark, msg);
    let mut sink = SINK.lock();
    match sink.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(line.as_bytes());
            let _ = o.flush();
        }
    }
}

/// A raw line without the prefix (the start-up banner).
pub fn raw(text: &str) {
    let mut sink = SINK.lock();
    match sink.as_mut() {
        Some(f) => {
            let _ = f.write_all(text.as_bytes());
        }
        None => {
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
}

pub fn notice(msg: &str) {
    log(Level::Notice, msg)
}
pub fn warning(msg: &str) {
    log(Level::Warning, msg)
}
pub fn verbose(msg: &str) {
    log(Level::Verbose, msg)
}
pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}
