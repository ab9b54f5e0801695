//! `ferrodis-check-aof [--fix] <manifest|file.aof>`: verify an append-only file, or every file
//! a Redis 7 manifest names, like redis-check-aof. `--fix` truncates a damaged tail of the
//! last file (an incomplete command, or a MULTI without its EXEC). Exit 0 if valid (or fixed).

use ferrodis::persist::aof::Manifest;
use ferrodis::protocol::parse::{Limits, Parsed, RequestParser};
use std::path::{Path, PathBuf};

/// Scan RESP commands; returns (bytes that are complete, lines in them, error text).
fn scan_aof(data: &[u8]) -> (usize, usize, Option<String>) {
    let mut p = RequestParser::new();
    let limits = Limits { max_bulk_len: i64::MAX, unauthenticated: false };
    let mut ok_up_to = 0;
    let mut in_multi = false;
    let lines = |upto: usize| data[..upto].iter().filter(|&&c| c == b'\n').count();
    loop {
        if p.pos() < data.len() && data[p.pos()] != b'*' {
            return (ok_up_to, lines(ok_up_to), Some(format!("Bad file format reading the append only file at offset {}", p.pos())));
        }
        match p.next(data, &limits) {
            Parsed::Command => {
                let name = p.args.first().map(|r| data[r.clone()].to_ascii_lowercase()).unwrap_or_default();
                if name == b"multi" {
                    if in_multi {
                        return (ok_up_to, lines(ok_up_to), Some("Unexpected MULTI".into()));
                    }
                    in_multi = true;
                } else if name == b"exec" {
                    if !in_multi {
                        return (ok_up_to, lines(ok_up_to), Some("Unexpected EXEC".into()));
                    }
                    in_multi = false;
                }
                if !in_multi {
                    ok_up_to = p.pos();
                }
            }
            Parsed::Empty => {}
            Parsed::Incomplete => {
                if p.pos() >= data.len() && !p.in_progress() && !in_multi {
                    return (data.len(), lines(data.len()), None);
                }
                let why = if in_multi { "Reached EOF before reading EXEC for MULTI" } else { "Unexpected EOF reading RESP" };
                return (ok_up_to, lines(ok_up_to), Some(why.into()));
            }
            Parsed::Error(e) => return (ok_up_to, lines(ok_up_to), Some(String::from_utf8_lossy(&e).into_owned())),
        }
    }
}

/// Check one file; with `fix` truncate it. Returns true if valid afterwards.
fn check_file(path: &Path, fix: bool, may_fix: bool) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            println!("Cannot open file {}: {e}", path.display());
            return false;
        }
    };
    if data.starts_with(b"REDIS") {
        println!("[offset 0] Checking RDB file {name}");
        let mut sink = |_: usize, _: Vec<u8>, _: ferrodis::keyspace::Value, _: Option<i64>, _: ferrodis::persist::LoadedClock| {};
        return match ferrodis::persist::load_stream(&data[..], &mut sink, 0) {
            Ok(st) => {
                println!("[offset {}] \\o/ RDB looks OK! \\o/", data.len());
                println!("[info] {} keys read", st.keys + st.expired);
                println!("RDB preamble is OK, proceeding with AOF tail...");
                true
            }
            Err(e) => {
                println!("--- RDB ERROR DETECTED ---");
                println!("[offset {}] {}", e.offset, e.msg);
                false
            }
        };
    }
    let (ok_up_to, ok_lines, err) = scan_aof(&data);
    println!(
        "AOF analyzed: filename={}, size={}, ok_up_to={}, ok_up_to_line={}, diff={}",
        name,
        data.len(),
        ok_up_to,
        ok_lines,
        data.len() - ok_up_to
    );
    match err {
        None => true,
        Some(e) => {
            println!("0x{:>16x}: {e}", ok_up_to);
            if fix && may_fix {
                println!("This will shrink the AOF {} from {} bytes, with {} bytes, to {} bytes", name, data.len(), data.len() - ok_up_to, ok_up_to);
                match std::fs::OpenOptions::new().write(true).open(path).and_then(|f| {
                    f.set_len(ok_up_to as u64)?;
                    f.sync_all()
                }) {
                    Ok(()) => {
                        println!("Successfully truncated AOF {name}");
                        true
                    }
                    Err(e) => {
                        println!("Failed to truncate AOF {name}: {e}");
                        false
                    }
                }
            } else {
                println!("AOF {name} is not valid. Use the --fix option to try fixing it.");
                false
            }
        }
    }
}

fn main() {
    ferrodis::log::set_level("warning");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (fix, file) = match args.as_slice() {
        [f] => (false, f.clone()),
        [flag, f] if flag == "--fix" => (true, f.clone()),
        _ => {
            eprintln!("Usage: ferrodis-check-aof [--fix|--truncate-to-timestamp $timestamp] <AOF-file-or-manifest>");
            std::process::exit(1);
        }
    };
    let path = PathBuf::from(&file);
    let ok = if file.ends_with(".manifest") {
        println!("Start checking Multi Part AOF");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                println!("Cannot open manifest {file}: {e}");
                std::process::exit(1);
            }
        };
        let m = match Manifest::parse(&text) {
            Ok(m) => m,
            Err(e) => {
                println!("Invalid AOF manifest file format: {e}");
                std::process::exit(1);
            }
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let files: Vec<_> = m.base.iter().chain(m.incrs.iter()).collect();
        let mut all_ok = true;
        for (i, f) in files.iter().enumerate() {
            let last = i + 1 == files.len();
            all_ok &= check_file(&dir.join(&f.name), fix, last);
        }
        if all_ok {
            println!("All AOF files and manifest are valid");
        }
        all_ok
    } else {
        let ok = check_file(&path, fix, true);
        if ok {
            println!("AOF is valid");
        }
        ok
    };
    std::process::exit(if ok { 0 } else { 1 });
}
