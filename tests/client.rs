//! CLIENT subcommands and MONITOR through raw RESP: LIST/INFO fields, SETNAME, KILL in
//! every form, PAUSE/UNPAUSE (held clients resume in order), REPLY, NO-EVICT, HELP, and
//! MONITOR lines (quoting, redaction, delivery to monitors on other worker threads).
mod common;
use common::{Raw, Server};
use std::time::{Duration, Instant};

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let pat = format!(" {name}=");
    let at = if line.starts_with(&format!("{name}=")) { 0 } else { line.find(&pat).expect(name) + 1 };
    let v = &line[at + name.len() + 1..];
    v.split(' ').next().unwrap().trim_end()
}

fn id_of(c: &mut Raw) -> u64 {
    c.cmd(&[b"CLIENT", b"ID"]);
    let l = c.read_until_crlf();
    std::str::from_utf8(&l[1..l.len() - 2]).unwrap().parse().unwrap()
}

fn list(c: &mut Raw) -> Vec<String> {
    c.bulk_text(&[b"CLIENT", b"LIST"]).lines().map(str::to_string).collect()
}

fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn client_list_and_info_fields() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let info = c.bulk_text(&[b"CLIENT", b"INFO"]);
    let names: Vec<&str> = info.trim_end().split(' ').map(|kv| kv.split('=').next().unwrap()).collect();
    assert_eq!(
        names.join(" "),
        "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"
    );
    assert!(info.ends_with('\n'));
    assert_eq!(field(&info, "flags"), "N");
    // the query buffer holds exactly this command while it runs
    assert_eq!(field(&info, "qbuf"), "26");
    assert_eq!(field(&info, "argv-mem"), "10");
    assert_eq!(field(&info, "cmd"), "client|info");
    assert_eq!(field(&info, "events"), "r");
    assert_eq!(field(&info, "obl"), "0");
    assert_eq!(field(&info, "user"), "default");
    assert_eq!(field(&info, "redir"), "-1");
    assert_eq!(field(&info, "resp"), "2");
    assert_eq!(field(&info, "laddr"), format!("127.0.0.1:{}", srv.port));
    assert_eq!(field(&info, "addr"), c.s.local_addr().unwrap().to_string());

    c.roundtrip(&[b"SELECT", b"5"], b"+OK\r\n");
    c.roundtrip(&[b"CLIENT", b"SETNAME", b"me"], b"+OK\r\n");
    c.roundtrip(&[b"CLIENT", b"NO-EVICT", b"on"], b"+OK\r\n");
    let mut other = srv.raw();
    other.roundtrip(&[b"PING"], b"+PONG\r\n");
    let my_id = id_of(&mut c);
    let other_id = id_of(&mut other);
    let lines = list(&mut c);
    assert_eq!(lines.len(), 2);
    let mine = lines.iter().find(|l| field(l, "id") == my_id.to_string()).unwrap();
    assert_eq!((field(mine, "db"), field(mine, "name"), field(mine, "flags")), ("5", "me", "e"));
    assert_eq!(field(mine, "cmd"), "client|list");
    let theirs = lines.iter().find(|l| field(l, "id") == other_id.to_string()).unwrap();
    assert_eq!((field(theirs, "qbuf"), field(theirs, "cmd"), field(theirs, "name")), ("0", "client|id", ""));

    let only = c.bulk_text(&[b"CLIENT", b"LIST", b"ID", other_id.to_string().as_bytes(), b"99999"]);
    assert_eq!(only.lines().count(), 1);
    assert!(only.starts_with(&format!("id={other_id} ")));
    assert_eq!(c.bulk_text(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]), "");
    assert_eq!(c.bulk_text(&[b"CLIENT", b"LIST", b"TYPE", b"NORMAL"]).lines().count(), 2);
    c.roundtrip(&[b"CLIENT", b"LIST", b"TYPE", b"foo"], b"-ERR Unknown client type 'foo'\r\n");
    c.roundtrip(&[b"CLIENT", b"LIST", b"ID", b"abc"], b"-ERR Invalid client ID\r\n");
    c.roundtrip(&[b"CLIENT", b"LIST", b"ID"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"CLIENT", b"LIST", b"foo"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"CLIENT", b"NO-EVICT", b"maybe"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"CLIENT", b"ID", b"x"], b"-ERR wrong number of arguments for 'client|id' command\r\n");
    c.roundtrip(&[b"CLIENT"], b"-ERR wrong number of arguments for 'client' command\r\n");
    c.roundtrip(&[b"CLIENT", b"FOO"], b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    // 7.0 has neither CLIENT SETINFO nor NO-TOUCH
    c.roundtrip(&[b"CLIENT", b"SETINFO", b"lib-name", b"x"], b"-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n");
    c.roundtrip(&[b"CLIENT", b"NO-TOUCH", b"on"], b"-ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.\r\n");
}

#[test]
fn client_setname_getname() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"CLIENT", b"GETNAME"], b"$-1\r\n");
    c.roundtrip(&[b"CLIENT", b"SETNAME", b"foo bar"], b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    c.roundtrip(&[b"CLIENT", b"SETNAME", b"a\x7f"], b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    c.roundtrip(&[b"CLIENT", b"SETNAME", b"~name!"], b"+OK\r\n");
    c.roundtrip(&[b"CLIENT", b"GETNAME"], b"$6\r\n~name!\r\n");
    c.roundtrip(&[b"CLIENT", b"SETNAME", b""], b"+OK\r\n");
    c.roundtrip(&[b"CLIENT", b"GETNAME"], b"$-1\r\n");
}

#[test]
fn client_help_lists_the_subcommands() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.cmd(&[b"CLIENT", b"HELP"]);
    assert_eq!(c.read_until_crlf(), b"*48\r\n");
    assert_eq!(c.read_until_crlf(), b"+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n");
    let rest: Vec<Vec<u8>> = (0..47).map(|_| c.read_until_crlf()).collect();
    assert_eq!(rest.last().unwrap(), b"+    Prints this help.\r\n");
}

#[test]
fn client_kill_forms() {
    let srv = Server::start(&["--io-threads", "3"]);
    let mut me = srv.raw();
    me.roundtrip(&[b"CLIENT", b"KILL", b"1.2.3.4:5"], b"-ERR No such client\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"ID", b"0"], b"-ERR client-id should be greater than 0\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"ID", b"x"], b"-ERR client-id should be greater than 0\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"TYPE", b"x"], b"-ERR Unknown client type 'x'\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"USER", b"nobody"], b"-ERR No such user 'nobody'\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"SKIPME", b"maybe"], b"-ERR syntax error\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"ID", b"5", b"TYPE"], b"-ERR syntax error\r\n");
    // MAXAGE came with Redis 7.4
    me.roundtrip(&[b"CLIENT", b"KILL", b"MAXAGE", b"10"], b"-ERR syntax error\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL"], b"-ERR wrong number of arguments for 'client|kill' command\r\n");

    // old form: by address
    let mut a = srv.raw();
    let addr = a.s.local_addr().unwrap().to_string();
    a.roundtrip(&[b"PING"], b"+PONG\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", addr.as_bytes()], b"+OK\r\n");
    assert!(a.closed());
    // by id, on any worker thread; the victim is gone from CLIENT LIST at once
    let mut b = srv.raw();
    let bid = id_of(&mut b);
    me.roundtrip(&[b"CLIENT", b"KILL", b"ID", bid.to_string().as_bytes()], b":1\r\n");
    assert!(!list(&mut me).iter().any(|l| field(l, "id") == bid.to_string()));
    assert!(b.closed());
    // ADDR, LADDR, TYPE, USER filters
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    let caddr = c.s.local_addr().unwrap().to_string();
    me.roundtrip(&[b"CLIENT", b"KILL", b"ADDR", caddr.as_bytes(), b"TYPE", b"pubsub"], b":0\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"LADDR", b"1.1.1.1:1"], b":0\r\n");
    let laddr = format!("127.0.0.1:{}", srv.port);
    me.roundtrip(&[b"CLIENT", b"KILL", b"ADDR", caddr.as_bytes(), b"LADDR", laddr.as_bytes(), b"USER", b"default"], b":1\r\n");
    assert!(c.closed());
    // SKIPME yes (default) spares the caller; SKIPME no kills it after the reply
    let mut others: Vec<Raw> = (0..4).map(|_| srv.raw()).collect();
    for o in others.iter_mut() {
        o.roundtrip(&[b"PING"], b"+PONG\r\n");
    }
    me.roundtrip(&[b"CLIENT", b"KILL", b"TYPE", b"normal"], b":4\r\n");
    for o in others.iter_mut() {
        assert!(o.closed());
    }
    assert_eq!(list(&mut me).len(), 1);
    let mut x = srv.raw();
    x.roundtrip(&[b"PING"], b"+PONG\r\n");
    me.roundtrip(&[b"CLIENT", b"KILL", b"TYPE", b"normal", b"SKIPME", b"no"], b":2\r\n");
    assert!(me.closed());
    assert!(x.closed());
    srv.raw().roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn client_reply_modes() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.send(b"CLIENT REPLY OFF\r\nPING a\r\nPING b\r\nCLIENT REPLY ON\r\nPING c\r\n");
    c.expect(b"+OK\r\n$1\r\nc\r\n");
    c.send(b"CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\n");
    c.expect(b"$1\r\nb\r\n");
    c.send(b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n");
    c.expect(b"+OK\r\n+PONG\r\n");
    c.roundtrip(&[b"CLIENT", b"REPLY", b"maybe"], b"-ERR syntax error\r\n");
    // errors are silenced too
    c.send(b"CLIENT REPLY OFF\r\nNOSUCHCMD\r\nCLIENT REPLY ON\r\n");
    c.expect(b"+OK\r\n");
}

fn has_flag_b(c: &mut Raw, id: u64) -> bool {
    let l = c.bulk_text(&[b"CLIENT", b"LIST", b"ID", id.to_string().as_bytes()]);
    field(&l, "flags").contains('b')
}

/// Held clients resume in the order they were held (per worker thread; with the default
/// single worker, globally as in Redis).
#[test]
fn client_pause_write_holds_writes_and_resumes_in_order() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"-1"], b"-ERR timeout is negative\r\n");
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"abc"], b"-ERR timeout is not an integer or out of range\r\n");
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"10", b"foo"], b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n");
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"100000", b"WRITE"], b"+OK\r\n");
    let mut r = srv.raw();
    r.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
    r.roundtrip(&[b"PING"], b"+PONG\r\n");
    // syntax errors are answered at once
    r.roundtrip(&[b"SET", b"k"], b"-ERR wrong number of arguments for 'set' command\r\n");
    let mut writers: Vec<(Raw, u64)> = Vec::new();
    for v in [b"1", b"2", b"3"] {
        let mut w = srv.raw();
        let id = id_of(&mut w);
        w.cmd(&[b"SET", b"k", v]);
        wait_for(|| has_flag_b(&mut admin, id), "a held writer");
        writers.push((w, id));
    }
    r.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
    // a new pause never shortens or relaxes the current one
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"1", b"WRITE"], b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(50));
    r.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
    admin.roundtrip(&[b"CLIENT", b"UNPAUSE"], b"+OK\r\n");
    for (w, _) in writers.iter_mut() {
        w.expect(b"+OK\r\n");
    }
    r.roundtrip(&[b"GET", b"k"], b"$1\r\n3\r\n");
    let ids: Vec<u64> = writers.iter().map(|w| w.1).collect();
    for id in ids {
        assert!(!has_flag_b(&mut admin, id));
    }
}

#[test]
fn client_unpause_releases_clients_on_every_worker() {
    let srv = Server::start(&["--io-threads", "3"]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"100000", b"WRITE"], b"+OK\r\n");
    let mut held: Vec<Raw> = Vec::new();
    for i in 0..6 {
        let mut w = srv.raw();
        let id = id_of(&mut w);
        w.cmd(&[b"SET", format!("k{i}").as_bytes(), b"v"]);
        wait_for(|| has_flag_b(&mut admin, id), "a held writer");
        held.push(w);
    }
    admin.roundtrip(&[b"CLIENT", b"UNPAUSE"], b"+OK\r\n");
    for w in held.iter_mut() {
        w.expect(b"+OK\r\n");
    }
    admin.roundtrip(&[b"MGET", b"k0", b"k5"], b"*2\r\n$1\r\nv\r\n$1\r\nv\r\n");
}

#[test]
fn client_pause_all_holds_everything_until_timeout() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"500"], b"+OK\r\n");
    let start = Instant::now();
    let mut c = srv.raw();
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    assert!(start.elapsed() >= Duration::from_millis(400), "{:?}", start.elapsed());
    // as in Redis 7.0, PAUSE ALL also holds CLIENT UNPAUSE from other clients
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"400", b"ALL"], b"+OK\r\n");
    let start = Instant::now();
    c.roundtrip(&[b"CLIENT", b"UNPAUSE"], b"+OK\r\n");
    assert!(start.elapsed() >= Duration::from_millis(300), "{:?}", start.elapsed());
    // an end time past the clock's range does not pause at all
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"9223372036854775807"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn monitor_lines_and_redaction() {
    let srv = Server::start(&["--io-threads", "2"]);
    let mut m = srv.raw();
    m.roundtrip(&[b"MONITOR"], b"+OK\r\n");
    // a second MONITOR is ignored, without a reply
    m.send(b"MONITOR\r\n");
    let mut c = srv.raw();
    let caddr = c.s.local_addr().unwrap().to_string();
    c.roundtrip(&[b"SET", b"k\x00", b"a\"b\\\r\n\xff"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n");
    c.roundtrip(&[b"AUTH", b"pw"], b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n");
    c.roundtrip(&[b"AUTH", b"u", b"pw"], b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.cmd(&[b"HELLO", b"2", b"AUTH", b"u", b"pw", b"SETNAME", b"x"]);
    c.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    // admin commands are not shown
    c.roundtrip(&[b"CLIENT", b"KILL", b"1.1.1.1:1"], b"-ERR No such client\r\n");
    c.roundtrip(&[b"ECHO", b"done"], b"$4\r\ndone\r\n");
    let expected = [
        format!(r#"[0 {caddr}] "SET" "k\x00" "a\"b\\\r\n\xff""#),
        format!(r#"[2 {caddr}] "SELECT" "2""#),
        format!(r#"[2 {caddr}] "AUTH" "(redacted)""#),
        format!(r#"[2 {caddr}] "AUTH" "(redacted)" "(redacted)""#),
        format!(r#"[2 {caddr}] "HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "x""#),
        format!(r#"[2 {caddr}] "ECHO" "done""#),
    ];
    for want in expected {
        let line = String::from_utf8(m.read_until_crlf()).unwrap();
        let (ts, rest) = line.split_once(' ').unwrap();
        assert!(ts.starts_with('+') && ts.len() == 18 && ts.as_bytes()[11] == b'.', "{line}");
        assert_eq!(rest, format!("{want}\r\n"));
    }
    // a monitor cannot touch the keyspace; its own commands come after their replies
    m.roundtrip(&[b"GET", b"k"], b"-ERR Replica can't interact with the keyspace\r\n");
    m.cmd(&[b"PING"]);
    assert_eq!(m.read_until_crlf(), b"+PONG\r\n");
    assert!(m.read_until_crlf().ends_with(b"\"PING\"\r\n"));
    // QUIT is not shown to the client that quits
    m.send(b"QUIT\r\n");
    assert_eq!(m.read_for(300), b"+OK\r\n");
    // the monitor is gone: nothing breaks for others
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn monitor_fans_out_to_every_worker() {
    let srv = Server::start(&["--io-threads", "4"]);
    let mut monitors: Vec<Raw> = (0..4).map(|_| srv.raw()).collect();
    for m in monitors.iter_mut() {
        m.roundtrip(&[b"MONITOR"], b"+OK\r\n");
    }
    let mut c = srv.raw();
    for i in 0..50 {
        c.roundtrip(&[b"ECHO", i.to_string().as_bytes()], format!("${}\r\n{i}\r\n", i.to_string().len()).as_bytes());
    }
    for m in monitors.iter_mut() {
        for i in 0..50 {
            let l = String::from_utf8(m.read_until_crlf()).unwrap();
            assert!(l.ends_with(&format!("\"ECHO\" \"{i}\"\r\n")), "{l}");
        }
    }
}

/// CLIENT PAUSE WRITE holds what may replicate (PFCOUNT, PUBLISH, scripts that may write,
/// EXEC of such commands) and lets read-only scripts run; all held replies come after
/// CLIENT UNPAUSE.
#[test]
fn client_pause_write_holds_may_replicate_commands_and_write_scripts() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"PFADD", b"hll", b"a"], b":1\r\n");
    admin.cmd(&[
        b"FUNCTION",
        b"LOAD",
        b"#!lua name=lib\nredis.register_function{function_name='ro', callback=function() return 'ro' end, flags={'no-writes'}}\nredis.register_function('rw', function() return 'rw' end)",
    ]);
    admin.expect(b"$3\r\nlib\r\n");
    // queued before the pause (queueing a write is held too, as in Redis)
    let mut in_multi = srv.raw();
    let multi_id = id_of(&mut in_multi);
    in_multi.roundtrip(&[b"MULTI"], b"+OK\r\n");
    in_multi.roundtrip(&[b"EVAL", b"#!lua\nreturn 12", b"0"], b"+QUEUED\r\n");
    admin.roundtrip(&[b"CLIENT", b"PAUSE", b"100000", b"WRITE"], b"+OK\r\n");

    // read-only scripts run at once
    let mut r = srv.raw();
    r.roundtrip(&[b"EVAL", b"#!lua flags=no-writes\nreturn 7", b"0"], b":7\r\n");
    r.roundtrip(&[b"EVAL_RO", b"return 8", b"0"], b":8\r\n");
    r.roundtrip(&[b"FCALL", b"ro", b"0"], b"$2\r\nro\r\n");
    r.roundtrip(&[b"MULTI"], b"+OK\r\n");
    r.roundtrip(&[b"EVAL", b"#!lua flags=no-writes\nreturn 9", b"0"], b"+QUEUED\r\n");
    r.roundtrip(&[b"EXEC"], b"*1\r\n:9\r\n");
    // a script may not call a may-replicate command in read-only mode
    r.roundtrip(
        &[b"EVAL_RO", b"return redis.call('publish','ch','msg')", b"0"],
        b"-ERR Write commands are not allowed from read-only scripts. script: 182a3b6a9baccb64fbda951faab9575c9707d126, on @user_script:1.\r\n",
    );


    let held: Vec<(&[&[u8]], &[u8])> = vec![
        (&[b"PFCOUNT", b"hll"], b":1\r\n"),
        (&[b"PUBLISH", b"foo", b"bar"], b":0\r\n"),
        (&[b"EVAL", b"return 1", b"0"], b":1\r\n"),
        (&[b"EVAL", b"#!lua\nreturn 2", b"0"], b":2\r\n"),
        (&[b"FCALL", b"rw", b"0"], b"$2\r\nrw\r\n"),
        (&[b"EXEC"], b"*1\r\n:12\r\n"),
    ];
    let mut clients = Vec::new();
    for (i, (args, _)) in held.iter().enumerate() {
        let (mut c, id) = if args[0] == b"EXEC" {
            (std::mem::replace(&mut in_multi, srv.raw()), multi_id)
        } else {
            let mut c = srv.raw();
            let id = id_of(&mut c);
            (c, id)
        };
        c.cmd(args);
        wait_for(|| has_flag_b(&mut admin, id), "a held client");
        let info = admin.bulk_text(&[b"INFO", b"clients"]);
        assert!(info.contains(&format!("blocked_clients:{}\r\n", i + 1)), "{info}");
        clients.push(c);
    }
    std::thread::sleep(Duration::from_millis(50));
    for c in clients.iter_mut() {
        assert!(c.read_for(10).is_empty(), "a held client got a reply while paused");
    }
    admin.roundtrip(&[b"CLIENT", b"UNPAUSE"], b"+OK\r\n");
    for (c, (_, want)) in clients.iter_mut().zip(&held) {
        c.expect(want);
    }
}

/// The query buffer keeps its size after a big command (CLIENT LIST qbuf-free) and the
/// cron trims it: down to the recent peak while the client is active, to nothing once it
/// is idle for more than 2 s (Redis's clientsCronResizeQueryBuffer).
#[test]
fn query_buffer_is_trimmed_by_the_cron() {
    let srv = Server::start(&["--hz", "100"]);
    let mut admin = srv.raw();
    let mut c = srv.raw();
    let id = id_of(&mut c);
    let qbuf_total = |admin: &mut Raw| -> usize {
        let l = admin.bulk_text(&[b"CLIENT", b"LIST", b"ID", id.to_string().as_bytes()]);
        field(&l, "qbuf").parse::<usize>().unwrap() + field(&l, "qbuf-free").parse::<usize>().unwrap()
    };
    c.roundtrip(&[b"SET", b"x", &vec![b'A'; 400_000]], b"+OK\r\n");
    let big = qbuf_total(&mut admin);
    assert!(big > 32768, "{big}");
    // active client: trimmed towards its recent peak, not to zero
    let start = Instant::now();
    loop {
        c.roundtrip(&[b"SET", b"x", b"small"], b"+OK\r\n");
        let now = qbuf_total(&mut admin);
        if now < big {
            assert!(now > 0);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(2), "query buffer not trimmed: {now}");
        std::thread::sleep(Duration::from_millis(10));
    }
    // idle client: freed
    wait_for(|| qbuf_total(&mut admin) == 0, "the idle client's query buffer freed");
}

/// Reply buffers follow their peak (Redis's clientsCronResizeOutputBuffer): an idle
/// client's shrinks to 1 KiB, one receiving big replies grows back to 16 KiB.
#[test]
fn reply_buffer_follows_its_peak() {
    let srv = Server::start(&["--hz", "100"]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"DEBUG", b"REPLYBUFFER", b"PEAK-RESET-TIME", b"100"], b"+OK\r\n");
    let mut c = srv.raw();
    let id = id_of(&mut c);
    let rbs = |admin: &mut Raw| -> usize {
        let l = admin.bulk_text(&[b"CLIENT", b"LIST", b"ID", id.to_string().as_bytes()]);
        field(&l, "rbs").parse().unwrap()
    };
    wait_for(|| (1024..2046).contains(&rbs(&mut admin)), "the idle client's reply buffer shrunk");
    let info = admin.bulk_text(&[b"INFO", b"stats"]);
    assert!(!info.contains("reply_buffer_shrinks:0\r\n"), "{info}");
    admin.roundtrip(&[b"SET", b"bigval", &vec![b'x'; 32768]], b"+OK\r\n");
    admin.roundtrip(&[b"DEBUG", b"REPLYBUFFER", b"PEAK-RESET-TIME", b"never"], b"+OK\r\n");
    let want = format!("$32768\r\n{}\r\n", "x".repeat(32768));
    wait_for(
        || {
            c.roundtrip(&[b"GET", b"bigval"], want.as_bytes());
            (16384..32768).contains(&rbs(&mut admin))
        },
        "the busy client's reply buffer grown",
    );
    admin.roundtrip(&[b"DEBUG", b"REPLYBUFFER", b"PEAK-RESET-TIME", b"reset"], b"+OK\r\n");
    admin.roundtrip(&[b"DEBUG", b"REPLYBUFFER", b"PEAK-RESET-TIME", b"x"], b"-ERR value is not an integer or out of range\r\n");
}
