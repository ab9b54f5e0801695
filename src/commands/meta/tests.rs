//! Checks against the real server: wire bytes captured by scripts/gen-command-meta.py
//! (testdata.json), and, when the oracle /usr/bin/redis-server is installed, every command's
//! COMMAND INFO / DOCS and a few thousand COMMAND GETKEYSANDFLAGS calls compared live.
//! Redis lists subcommands in random (hash) order; captured and live replies have them
//! sorted by name before comparing, as ours are.

use super::*;
use crate::protocol::ReplyBuf;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

const ORACLE: &str = "/usr/bin/redis-server";

fn everything(_: &str) -> bool {
    true
}

fn info_bytes(m: &CommandMeta, resp: u8) -> Vec<u8> {
    let mut out = ReplyBuf::new(resp);
    write_command_info(&mut out, m, &everything);
    out.buf
}

fn docs_bytes(m: &CommandMeta, resp: u8) -> Vec<u8> {
    let mut out = ReplyBuf::new(resp);
    write_command_docs(&mut out, m, &everything);
    out.buf
}

fn getkeys_bytes(call: &[&[u8]], resp: u8) -> Vec<u8> {
    let mut argv: Vec<&[u8]> = vec![b"COMMAND", b"GETKEYSANDFLAGS"];
    argv.extend_from_slice(call);
    let mut out = ReplyBuf::new(resp);
    reply_getkeys(&mut out, &argv, &everything, true);
    out.buf
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\\r\\n")
}

fn assert_bytes(what: &str, got: &[u8], want: &[u8]) {
    assert!(
        got == want,
        "{what}\n got: {}\nwant: {}",
        show(got),
        show(want)
    );
}

fn testdata() -> Value {
    serde_json::from_str(include_str!("testdata.json")).unwrap()
}

fn lookup_any(name: &str) -> &'static CommandMeta {
    lookup_by_fullname(name.as_bytes(), &everything).unwrap_or_else(|| panic!("no {name}"))
}

// ---------------------------------------------------------------------------------------
// Offline: the captured fixtures.

#[test]
fn table_loads() {
    assert_eq!(all().len(), 240);
    let get = lookup("GeT").unwrap();
    assert_eq!(
        (get.arity, get.first_key, get.last_key, get.step),
        (2, 1, 1, 1)
    );
    assert_eq!(get.flags, ["readonly", "fast"]);
    assert_eq!(get.acl_categories, ["@read", "@string", "@fast"]);
    assert_eq!(get.key_specs[0].begin_search, BeginSearch::Index(1));
    assert_eq!(
        get.key_specs[0].find_keys,
        FindKeys::Range {
            lastkey: 0,
            keystep: 1,
            limit: 0
        }
    );
    let config = lookup("config").unwrap();
    let cget = lookup_sub(config, "GET").unwrap();
    assert_eq!(cget.name, "config|get");
    assert!(std::ptr::eq(cget, lookup_any("CONFIG|get")));
    assert!(lookup_by_fullname(b"get|x", &everything).is_none());
    assert!(lookup_by_fullname(b"config|get|x", &everything).is_none());
    assert!(lookup("nosuch").is_none());
    let xread = lookup("xread").unwrap();
    assert_eq!(
        xread.key_specs[0].begin_search,
        BeginSearch::Keyword {
            keyword: "STREAMS".into(),
            startfrom: 1
        }
    );
    let sort = lookup("sort").unwrap();
    assert_eq!(sort.key_specs[1].begin_search, BeginSearch::Unknown);
    let docs = &lookup("zadd").unwrap().docs;
    assert_eq!(docs.group, "sorted-set");
    assert!(!docs.history.is_empty() && !docs.arguments.is_empty());
}

#[test]
fn info_and_docs_match_captured_bytes() {
    let data = testdata();
    for (kind, write) in [("info", info_bytes as fn(_, _) -> _), ("docs", docs_bytes)] {
        for (name, by_proto) in data[kind].as_object().unwrap() {
            for (proto, want) in by_proto.as_object().unwrap() {
                let got = write(lookup_any(name), proto.parse().unwrap());
                let want = want.as_str().unwrap().as_bytes();
                assert_bytes(&format!("{kind} {name} RESP{proto}"), &got, want);
            }
        }
    }
}

#[test]
fn getkeys_matches_captured_replies() {
    for case in testdata()["getkeys"].as_array().unwrap() {
        let argv: Vec<&[u8]> = case["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().as_bytes())
            .collect();
        if case["expect"]
            .as_str()
            .is_some_and(|e| e.starts_with("ERR wrong number of arguments"))
        {
            continue; // COMMAND GETKEYSANDFLAGS's own arity: the dispatcher's check
        }
        // The structured result, for a readable failure.
        let m = resolve(&argv, &everything).unwrap();
        let result = get_keys(m, &argv);
        if let Ok(keys) = &result {
            let positions: Vec<usize> = keys.iter().map(|k| k.0).collect();
            assert_eq!(key_positions(m, &argv).to_vec(), positions);
        }
        let got: Value = match result {
            Ok(keys) => keys
                .iter()
                .map(|(pos, flags)| {
                    serde_json::json!([std::str::from_utf8(argv[*pos]).unwrap(), flags])
                })
                .collect(),
            Err(e) => e.message().into(),
        };
        assert_eq!(got, case["expect"], "{:?}", case["argv"]);
        for proto in [2, 3] {
            let want = case[format!("resp{proto}")].as_str().unwrap().as_bytes();
            let what = format!("{} RESP{proto}", case["argv"]);
            assert_bytes(&what, &getkeys_bytes(&argv, proto), want);
        }
    }
}

#[test]
fn getkeys_errors_and_positions() {
    let argv: [&[u8]; 6] = [b"eval", b"s", b"2", b"k1", b"k2", b"a"];
    let keys = get_keys(lookup("eval").unwrap(), &argv).unwrap();
    assert_eq!(
        keys,
        vec![
            (3, vec!["RW", "access", "update"]),
            (4, vec!["RW", "access", "update"])
        ]
    );
    let m = lookup("memory")
        .and_then(|m| lookup_sub(m, "usage"))
        .unwrap();
    assert_eq!(
        get_keys(m, &[b"memory", b"usage", b"k"]).unwrap(),
        vec![(2, vec!["RO"])]
    );
    assert_eq!(
        get_keys(lookup("get").unwrap(), &[b"get", b"a", b"b"]),
        Err(GetKeysError::Arity)
    );
    assert_eq!(
        get_keys(lookup("ping").unwrap(), &[b"ping"]),
        Err(GetKeysError::NoKeys)
    );
    assert_eq!(
        get_keys(lookup("lmpop").unwrap(), &[b"lmpop", b"0", b"a", b"left"]),
        Err(GetKeysError::InvalidArgs)
    );
    assert!(!has_keys(lookup("spublish").unwrap()));
    assert!(has_keys(lookup("sort").unwrap()));
}

#[test]
fn listings_follow_the_implemented_filter() {
    let imp = |n: &str| {
        matches!(
            n,
            "get" | "set" | "config" | "config|get" | "command" | "command|list"
        )
    };
    let mut out = ReplyBuf::new(2);
    reply_count(&mut out, &imp);
    assert_eq!(out.buf, b":4\r\n");

    // COMMAND LIST; the stand-in glob only knows "prefix*".
    let list = |args: &[&[u8]]| {
        let argv: Vec<&[u8]> = [&b"command"[..], b"list"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        let prefix = |p: &[u8], s: &[u8]| s.starts_with(&p[..p.len() - 1]);
        let mut out = ReplyBuf::new(2);
        reply_list(&mut out, &argv, &imp, &prefix);
        show(&out.buf)
    };
    let all_listed = "*6\r\n$7\r\ncommand\r\n$12\r\ncommand|list\r\n$6\r\nconfig\r\n\
                      $10\r\nconfig|get\r\n$3\r\nget\r\n$3\r\nset\r\n";
    assert_eq!(list(&[]), show(all_listed.as_bytes()));
    let dangerous = list(&[b"FILTERBY", b"aclcat", b"Dangerous"]);
    assert_eq!(dangerous, show(b"*1\r\n$10\r\nconfig|get\r\n"));
    assert!(list(&[b"filterby", b"pattern", b"co*"]).starts_with("*4\\r\\n"));
    assert_eq!(list(&[b"filterby", b"module", b"m"]), "*0\\r\\n");
    assert_eq!(
        list(&[b"filterby", b"pattern"]),
        show(b"-ERR syntax error\r\n")
    );

    // INFO: unknown and unimplemented names are nulls; unimplemented subcommands are left out.
    let mut out = ReplyBuf::new(3);
    reply_info(
        &mut out,
        &[b"command", b"info", b"config", b"config|set", b"hset"],
        &imp,
    );
    assert!(out.buf.starts_with(b"*3\r\n*10\r\n$6\r\nconfig\r\n"));
    assert!(out.buf.ends_with(b"~0\r\n~0\r\n~0\r\n_\r\n_\r\n"));
    assert_eq!(
        out.buf.windows(10).filter(|w| w == b"config|get").count(),
        1
    );

    // DOCS: unknown names are left out of the map.
    let mut out = ReplyBuf::new(3);
    reply_docs(&mut out, &[b"command", b"docs", b"nosuch", b"get"], &imp);
    assert!(out.buf.starts_with(b"%1\r\n$3\r\nget\r\n%"));

    let mut out = ReplyBuf::new(2);
    reply_getkeys(
        &mut out,
        &[b"command", b"getkeys", b"hset", b"h", b"f", b"v"],
        &imp,
        false,
    );
    assert_eq!(out.buf, b"-ERR Invalid command specified\r\n");
}

// ---------------------------------------------------------------------------------------
// Live: the oracle.

/// A RESP value parsed from `buf`: its byte range and children (maps flat).
struct Resp {
    start: usize,
    header_end: usize,
    end: usize,
    items: Vec<Resp>,
}

impl Resp {
    /// Parse one value at `pos`; None while incomplete.
    fn parse(buf: &[u8], pos: usize) -> Option<Resp> {
        let line_end = pos + buf.get(pos..)?.windows(2).position(|w| w == b"\r\n")?;
        let header_end = line_end + 2;
        let kind = buf[pos];
        let n: i64 = std::str::from_utf8(&buf[pos + 1..line_end])
            .ok()?
            .parse()
            .unwrap_or(0);
        let mut r = Resp {
            start: pos,
            header_end,
            end: header_end,
            items: Vec::new(),
        };
        match kind {
            b'$' | b'=' if n >= 0 => {
                r.end += n as usize + 2;
                if r.end > buf.len() {
                    return None;
                }
            }
            b'*' | b'~' | b'%' | b'>' if n > 0 => {
                for _ in 0..n * if kind == b'%' { 2 } else { 1 } {
                    let item = Resp::parse(buf, r.end)?;
                    r.end = item.end;
                    r.items.push(item);
                }
            }
            _ => {}
        }
        Some(r)
    }

    fn raw<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start..self.end]
    }

    fn text<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let b = &buf[self.header_end..self.end];
        &b[..b.len().saturating_sub(2)]
    }
}

/// One COMMAND INFO entry's bytes with the subcommand entries sorted by name.
fn canonical_info(buf: &[u8], entry: &Resp) -> Vec<u8> {
    let mut out = buf[entry.start..entry.header_end].to_vec();
    for item in &entry.items[..9] {
        out.extend_from_slice(item.raw(buf));
    }
    let subs = &entry.items[9];
    out.extend_from_slice(&buf[subs.start..subs.header_end]);
    let mut sorted: Vec<&Resp> = subs.items.iter().collect();
    sorted.sort_by_key(|s| s.items[0].text(buf));
    for s in sorted {
        out.extend(canonical_info(buf, s));
    }
    out
}

/// One COMMAND DOCS value's bytes with the subcommands map sorted by name.
fn canonical_docs(buf: &[u8], docs: &Resp) -> Vec<u8> {
    let mut out = buf[docs.start..docs.header_end].to_vec();
    for kv in docs.items.chunks(2) {
        out.extend_from_slice(kv[0].raw(buf));
        if kv[0].text(buf) != b"subcommands" {
            out.extend_from_slice(kv[1].raw(buf));
            continue;
        }
        let subs = &kv[1];
        out.extend_from_slice(&buf[subs.start..subs.header_end]);
        let mut pairs: Vec<&[Resp]> = subs.items.chunks(2).collect();
        pairs.sort_by_key(|p| p[0].text(buf));
        for p in pairs {
            out.extend_from_slice(p[0].raw(buf));
            out.extend(canonical_docs(buf, &p[1]));
        }
    }
    out
}

/// The oracle on a free loopback port, killed (by its PID) when dropped.
struct Oracle {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Oracle {
    fn start() -> Option<Oracle> {
        if !std::path::Path::new(ORACLE).exists() {
            eprintln!("{ORACLE} not installed: live comparison skipped");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!(
            "ferrodis-meta-oracle-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(ORACLE)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let oracle = Oracle { child, port, dir };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(oracle);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("the oracle did not start on port {port}");
    }

    fn connect(&self, resp: u8) -> Client {
        let mut c = Client {
            sock: TcpStream::connect(("127.0.0.1", self.port)).unwrap(),
            buf: Vec::new(),
        };
        if resp == 3 {
            c.call(&[b"HELLO", b"3"]);
        }
        c
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Client {
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Send a command; the reply's bytes.
    fn call(&mut self, argv: &[&[u8]]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            req.extend(format!("${}\r\n", a.len()).bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.sock.write_all(&req).unwrap();
        loop {
            if let Some(r) = Resp::parse(&self.buf, 0) {
                return self.buf.drain(..r.end).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.sock.read(&mut chunk).unwrap();
            assert!(n > 0, "the oracle closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn every_command() -> impl Iterator<Item = &'static CommandMeta> {
    all()
        .iter()
        .flat_map(|m| std::iter::once(m).chain(&m.subcommands))
}

#[test]
fn live_info_docs_count_list() {
    let Some(oracle) = Oracle::start() else {
        return;
    };
    for resp in [2, 3] {
        let mut c = oracle.connect(resp);
        for m in every_command() {
            // (subcommand, the entry's index in the reply, canonical form, ours)
            type Check = (
                &'static str,
                usize,
                fn(&[u8], &Resp) -> Vec<u8>,
                fn(&CommandMeta, u8) -> Vec<u8>,
            );
            let checks: [Check; 2] = [
                ("INFO", 0, canonical_info, info_bytes),
                ("DOCS", 1, canonical_docs, docs_bytes),
            ];
            for (sub, at, canonical, ours) in checks {
                let reply = c.call(&[b"COMMAND", sub.as_bytes(), m.name.as_bytes()]);
                let want = canonical(&reply, &Resp::parse(&reply, 0).unwrap().items[at]);
                assert_bytes(
                    &format!("{sub} {} RESP{resp}", m.name),
                    &ours(m, resp),
                    &want,
                );
            }
        }
        let mut out = ReplyBuf::new(resp);
        reply_count(&mut out, &everything);
        assert_eq!(c.call(&[b"COMMAND", b"COUNT"]), out.buf);
    }
    let mut c = oracle.connect(2);
    let reply = c.call(&[b"COMMAND", b"LIST"]);
    let top = Resp::parse(&reply, 0).unwrap();
    let mut want: Vec<&[u8]> = top.items.iter().map(|i| i.text(&reply)).collect();
    want.sort();
    let mut got: Vec<&[u8]> = every_command().map(|m| m.name.as_bytes()).collect();
    got.sort();
    assert_eq!(got, want);
}

/// Arguments for generated GETKEYSANDFLAGS calls: keywords that steer key finding, counts,
/// and plain words.
const WORDS: &[&str] = &[
    "k",
    "x",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "2x",
    "",
    "store",
    "STOREDIST",
    "streams",
    "keys",
    "get",
    "set",
    "incrby",
    "overflow",
    "limit",
    "by",
    "count",
    "block",
    "group",
    "noack",
    "auth",
    "auth2",
    "copy",
    "replace",
    "weights",
    "left",
    "u8",
    " 2",
    "+1",
    "99999999999",
    "4294967298",
];

#[test]
fn live_getkeys_generated_calls() {
    let Some(oracle) = Oracle::start() else {
        return;
    };
    let mut c2 = oracle.connect(2);
    let mut c3 = oracle.connect(3);
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n
    };
    let mut checked = 0;
    for m in every_command() {
        if !has_keys(m) {
            continue;
        }
        let prefix: Vec<&[u8]> = m.name.split('|').map(str::as_bytes).collect();
        // Most calls go to the commands whose keys depend on the arguments.
        let tries = if m.has_flag("movablekeys") { 1000 } else { 60 };
        for _ in 0..tries {
            let mut argv = prefix.clone();
            for _ in 0..next(9) {
                argv.push(WORDS[next(WORDS.len())].as_bytes());
            }
            let mut req: Vec<&[u8]> = vec![b"COMMAND", b"GETKEYSANDFLAGS"];
            req.extend_from_slice(&argv);
            for (c, resp) in [(&mut c2, 2), (&mut c3, 3)] {
                let want = c.call(&req);
                if want.starts_with(b"-ERR wrong number of arguments for 'command|") {
                    continue;
                }
                let what = argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a))
                    .collect::<Vec<_>>();
                assert_bytes(
                    &format!("{what:?} RESP{resp}"),
                    &getkeys_bytes(&argv, resp),
                    &want,
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 40_000, "{checked}");
}
