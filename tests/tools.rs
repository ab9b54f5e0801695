//! ferrodis-check-rdb and ferrodis-check-aof on files a real server wrote.
mod common;
use common::Server;
use std::process::Command;

#[test]
fn check_tools_accept_good_files_and_fix_a_truncated_aof() {
    let dir = std::env::temp_dir().join(format!("ferrodis-tools-{}-{}", std::process::id(), common::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    {
        let srv = Server::start(&["--dir", dir.to_str().unwrap(), "--appendonly", "yes", "--appendfsync", "always"]);
        let mut c = srv.raw();
        c.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n");
        c.roundtrip(&[b"SET", b"b", b"2"], b"+OK\r\n");
        c.roundtrip(&[b"SAVE"], b"+OK\r\n");
    }
    let rdb = Command::new(env!("CARGO_BIN_EXE_ferrodis-check-rdb")).arg(dir.join("dump.rdb")).output().unwrap();
    assert!(rdb.status.success(), "{}", String::from_utf8_lossy(&rdb.stdout));
    assert!(String::from_utf8_lossy(&rdb.stdout).contains("[info] 2 keys read"));

    let manifest = dir.join("appendonlydir/appendonly.aof.manifest");
    let ok = Command::new(env!("CARGO_BIN_EXE_ferrodis-check-aof")).arg(&manifest).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    // damage the tail of the incr file
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let good_len = std::fs::metadata(&incr).unwrap().len();
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(&incr).unwrap().write_all(b"*2\r\n$3\r\nDEL\r\n$5\r\nab").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_ferrodis-check-aof")).arg(&manifest).output().unwrap();
    assert!(!bad.status.success());
    let fixed = Command::new(env!("CARGO_BIN_EXE_ferrodis-check-aof")).arg("--fix").arg(&manifest).output().unwrap();
    assert!(fixed.status.success(), "{}", String::from_utf8_lossy(&fixed.stdout));
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good_len);
    // a damaged rdb is reported with its offset
    let mut data = std::fs::read(dir.join("dump.rdb")).unwrap();
    let n = data.len();
    data[n - 3] ^= 0xff;
    std::fs::write(dir.join("bad.rdb"), &data).unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_ferrodis-check-rdb")).arg(dir.join("bad.rdb")).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("RDB ERROR DETECTED"));
    let _ = std::fs::remove_dir_all(&dir);
}
