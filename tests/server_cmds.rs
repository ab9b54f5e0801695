//! The server's own commands over the wire: INFO, CONFIG, COMMAND, SLOWLOG, LATENCY,
//! DEBUG, MEMORY, TIME, SHUTDOWN, rename-command.
mod common;
use common::Server;

fn info(con: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(con).unwrap()
}

/// One reply line, CRLF included.
fn read_line(c: &mut common::Raw) -> String {
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        line.extend(c.read_n(1));
    }
    String::from_utf8(line).unwrap()
}

/// INFO over a raw RESP2 connection.
fn raw_info(c: &mut common::Raw, section: &str) -> String {
    c.cmd(&[b"INFO", section.as_bytes()]);
    let head = read_line(c);
    let n: usize = head[1..head.len() - 2].parse().unwrap();
    let body = c.read_n(n + 2);
    String::from_utf8(body[..n].to_vec()).unwrap()
}

fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
}

#[test]
fn info_has_what_clients_parse() {
    let srv = Server::start(&[]);
    let mut con = srv.client();
    let all = info(&mut con, "everything");
    assert_eq!(field(&all, "redis_version").as_deref(), Some("7.0.15"));
    assert_eq!(field(&all, "arch_bits").as_deref(), Some("64"));
    assert_eq!(field(&all, "cluster_enabled").as_deref(), Some("0"));
    assert_eq!(field(&all, "role").as_deref(), Some("master"));
    assert_eq!(field(&all, "tcp_port"), Some(srv.port.to_string()));
    for f in [
        "used_memory",
        "used_cpu_user",
        "total_commands_processed",
        "connected_clients",
        "maxmemory_policy",
    ] {
        assert!(field(&all, f).is_some(), "missing {f}");
    }
    // Default sections leave out commandstats / latencystats; names are case-insensitive.
    let default: String = redis::cmd("INFO").query(&mut con).unwrap();
    assert!(!default.contains("rejected_calls") && default.contains("# Keyspace"));
    let cs = info(&mut con, "commandSTATS");
    assert!(cs.starts_with("# Commandstats\r\n") && cs.contains("cmdstat_info:calls="));
    assert!(!cs.contains("used_memory"));
    let raw: String = redis::cmd("INFO")
        .arg("nosuchsection")
        .query(&mut con)
        .unwrap();
    assert_eq!(raw, "");
}

#[test]
fn info_sections_are_joined_like_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n");
    c.roundtrip(
        &[b"INFO", b"keyspace"],
        b"$44\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n",
    );
    c.roundtrip(&[b"INFO", b"cluster", b"keyspace"], b"$76\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n");
}

#[test]
fn commandstats_errorstats_and_resetstat() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    c.roundtrip(
        &[b"SADD", b"k", b"x"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"GET"],
        b"-ERR wrong number of arguments for 'config|get' command\r\n",
    );
    // Over the raw connection: the redis crate's connection set-up adds errors of its own.
    let es = raw_info(&mut c, "errorstats");
    assert!(
        es.contains("errorstat_WRONGTYPE:count=1\r\n") && es.contains("errorstat_ERR:count=1\r\n"),
        "{es}"
    );
    let mut con = srv.client();
    let cs = info(&mut con, "commandstats");
    assert!(cs.contains("cmdstat_set:calls=1,usec="), "{cs}");
    assert!(cs.contains(",rejected_calls=0,failed_calls=1\r\n"), "{cs}");
    assert!(
        cs.contains(
            "cmdstat_config|get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
        ),
        "{cs}"
    );
    let ls = info(&mut con, "latencystats");
    assert!(ls.contains("latency_percentiles_usec_set:p50="), "{ls}");
    c.roundtrip(&[b"CONFIG", b"RESETSTAT"], b"+OK\r\n");
    let cs = info(&mut con, "commandstats");
    assert!(!cs.contains("cmdstat_set:"), "{cs}");
    assert_eq!(raw_info(&mut c, "errorstats"), "# Errorstats\r\n");
    let st = info(&mut con, "stats");
    assert_eq!(field(&st, "total_error_replies").as_deref(), Some("0"));
}

#[test]
fn config_set_get_roundtrip_and_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(
        &[b"CONFIG", b"SET", b"maxmemory", b"10mb", b"timeout", b"70"],
        b"+OK\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"GET", b"maxmemory"],
        b"*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"GET", b"timeout"],
        b"*2\r\n$7\r\ntimeout\r\n$2\r\n70\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"SET", b"maxmemory", b"1", b"timeout"],
        b"-ERR syntax error\r\n",
    );
    c.roundtrip(&[b"CONFIG", b"SET", b"daemonize", b"yes"], b"-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config\r\n");
    c.roundtrip(
        &[b"CONFIG", b"FOO"],
        b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"REWRITE"],
        b"-ERR The server is running without a config file\r\n",
    );
    c.cmd(&[b"CONFIG", b"HELP"]);
    c.expect(b"*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>\r\n");
}

#[test]
fn config_set_port_in_use_rolls_back() {
    let srv = Server::start(&[]);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let mut c = srv.raw();
    c.roundtrip(
        &[b"CONFIG", b"SET", b"maxmemory", b"10000001", b"port", busy_port.as_bytes()],
        b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"GET", b"maxmemory"],
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
    );
    let p = srv.port.to_string();
    c.roundtrip(
        &[b"CONFIG", b"GET", b"port"],
        format!("*2\r\n$4\r\nport\r\n${}\r\n{p}\r\n", p.len()).as_bytes(),
    );
    // A free port: the server moves there.
    let new_port = common::free_port();
    c.roundtrip(
        &[b"CONFIG", b"SET", b"port", new_port.to_string().as_bytes()],
        b"+OK\r\n",
    );
    let mut moved = common::Raw::connect(new_port);
    moved.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn loglevel_applies() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"CONFIG", b"SET", b"loglevel", b"warning"], b"+OK\r\n");
    c.roundtrip(
        &[b"CONFIG", b"GET", b"loglevel"],
        b"*2\r\n$8\r\nloglevel\r\n$7\r\nwarning\r\n",
    );
}

#[test]
fn command_count_matches_list_and_getkeys() {
    let srv = Server::start(&[]);
    let mut con = srv.client();
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    let list: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(&mut con).unwrap();
    let top = list.iter().filter(|n| !n.contains('|')).count() as i64;
    assert_eq!(count, top);
    assert!(list.contains(&"config|get".to_string()) && list.contains(&"slowlog|get".to_string()));
    let mut c = srv.raw();
    c.roundtrip(
        &[b"COMMAND", b"GETKEYS", b"SET", b"k", b"v"],
        b"*1\r\n$1\r\nk\r\n",
    );
    c.roundtrip(
        &[b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", b"slowlog|l*"],
        b"*1\r\n$11\r\nslowlog|len\r\n",
    );
    c.roundtrip(&[b"COMMAND", b"INFO", b"get|key"], b"*1\r\n$-1\r\n");
}

#[test]
fn slowlog_records_trims_and_redacts() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(
        &[b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"],
        b"+OK\r\n",
    );
    c.roundtrip(&[b"SLOWLOG", b"RESET"], b"+OK\r\n");
    c.roundtrip(&[b"CONFIG", b"SET", b"masterauth", b"secret"], b"+OK\r\n");
    c.roundtrip(&[b"SLOWLOG", b"LEN"], b":2\r\n");
    let mut con = srv.client();
    // The newest entry is SLOWLOG LEN itself.
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(2)
        .query(&mut con)
        .unwrap();
    let redis::Value::Array(e) = &entries[1] else {
        panic!("{entries:?}")
    };
    assert_eq!(e.len(), 6);
    let args: Vec<String> = redis::from_redis_value(&e[3]).unwrap();
    assert_eq!(args, ["CONFIG", "SET", "masterauth", "(redacted)"]);
    let long = vec![b'A'; 129];
    c.roundtrip(&[b"SLOWLOG", b"RESET"], b"+OK\r\n");
    c.roundtrip(
        &[b"ECHO", &long],
        format!("$129\r\n{}\r\n", "A".repeat(129)).as_bytes(),
    );
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(1)
        .query(&mut con)
        .unwrap();
    let redis::Value::Array(e) = &entries[0] else {
        panic!()
    };
    let args: Vec<String> = redis::from_redis_value(&e[3]).unwrap();
    assert_eq!(args[1], format!("{}... (1 more bytes)", "A".repeat(128)));
    c.roundtrip(
        &[b"SLOWLOG", b"GET", b"-2"],
        b"-ERR count should be greater than or equal to -1\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"SET", b"slowlog-log-slower-than", b"-1"],
        b"+OK\r\n",
    );
    c.roundtrip(&[b"SLOWLOG", b"RESET"], b"+OK\r\n");
    c.roundtrip(&[b"PING"], b"+PONG\r\n");
    c.roundtrip(&[b"SLOWLOG", b"LEN"], b":0\r\n");
}

#[test]
fn latency_events_and_histogram() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"LATENCY", b"LATEST"], b"*0\r\n");
    c.roundtrip(
        &[b"LATENCY", b"GRAPH", b"command"],
        b"-ERR No samples available for event 'command'\r\n",
    );
    c.roundtrip(
        &[b"CONFIG", b"SET", b"latency-monitor-threshold", b"50"],
        b"+OK\r\n",
    );
    c.roundtrip(&[b"DEBUG", b"SLEEP", b"0.1"], b"+OK\r\n");
    let mut con = srv.client();
    let latest: Vec<(String, i64, i64, i64)> =
        redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].0, "command");
    assert!(latest[0].2 >= 100 && latest[0].3 >= 100);
    let hist: Vec<(i64, i64)> = redis::cmd("LATENCY")
        .arg("HISTORY")
        .arg("command")
        .query(&mut con)
        .unwrap();
    assert_eq!(hist.len(), 1);
    c.roundtrip(&[b"CONFIG", b"RESETSTAT"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"a", b"b"], b"+OK\r\n");
    c.cmd(&[b"LATENCY", b"HISTOGRAM", b"set", b"nosuch"]);
    c.expect(b"*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n*2\r\n");
    let bucket = read_line(&mut c);
    assert!(bucket.starts_with(':'), "{bucket}");
    assert_eq!(read_line(&mut c), ":1\r\n");
    c.roundtrip(&[b"LATENCY", b"RESET"], b":1\r\n");
    c.roundtrip(
        &[b"LATENCY", b"HELP", b"x"],
        b"-ERR wrong number of arguments for 'latency|help' command\r\n",
    );
}

#[test]
fn debug_subcommands() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(
        &[b"DEBUG", b"PROTOCOL", b"bignum"],
        b"$37\r\n1234567999999999999999999999999999999\r\n",
    );
    c.roundtrip(
        &[b"DEBUG", b"PROTOCOL", b"map"],
        b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
    );
    c.roundtrip(
        &[b"DEBUG", b"PROTOCOL", b"push"],
        b"-ERR RESP2 is not supported by this command\r\n",
    );
    c.roundtrip(
        &[b"DEBUG", b"FOO"],
        b"-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP.\r\n",
    );
    c.roundtrip(&[b"DEBUG", b"OBJECT", b"nokey"], b"-ERR no such key\r\n");
    c.roundtrip(
        &[b"DEBUG", b"DIGEST"],
        b"+0000000000000000000000000000000000000000\r\n",
    );
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    // Digests of Redis 7.0.15 for the same data.
    c.roundtrip(
        &[b"DEBUG", b"DIGEST"],
        b"+264ccf65edec66bccfa7cc659414ccca432057d2\r\n",
    );
    c.roundtrip(&[b"DEBUG", b"DIGEST-VALUE", b"k", b"x"], b"*2\r\n+d79ee9fe5d5ad902d7f6620efc3b07b75ddd742f\r\n+0000000000000000000000000000000000000000\r\n");
    c.cmd(&[b"DEBUG", b"OBJECT", b"k"]);
    let line = read_line(&mut c);
    assert!(
        line.starts_with("+Value at:0x")
            && line.contains(" refcount:1 encoding:embstr serializedlength:2 lru:"),
        "{line}"
    );
    c.roundtrip(&[b"DEBUG", b"POPULATE", b"3", b"key", b"10"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"key:2"], b"$10\r\nvalue:2\x00\x00\x00\r\n");
    c.roundtrip(&[b"DBSIZE"], b":4\r\n");
    c.roundtrip(
        &[b"DEBUG", b"POPULATE", b"-1"],
        b"-ERR value is out of range, must be positive\r\n",
    );
    c.roundtrip(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"DEBUG", b"SLEEP", b"0"], b"+OK\r\n");
    c.roundtrip(
        &[b"DEBUG", b"RELOAD", b"BAD"],
        b"-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n",
    );
}

#[test]
fn debug_is_gated() {
    let srv = Server::start(&["--enable-debug-command", "no"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"DEBUG", b"HELP"], b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n");
    let local = Server::start(&["--enable-debug-command", "local"]);
    local
        .raw()
        .roundtrip(&[b"DEBUG", b"SLEEP", b"0"], b"+OK\r\n");
}

#[test]
fn memory_time_lastsave() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"MEMORY", b"USAGE", b"nokey"], b"$-1\r\n");
    c.roundtrip(
        &[b"MEMORY", b"USAGE", b"k", b"SAMPLES", b"-1"],
        b"-ERR syntax error\r\n",
    );
    let mut con = srv.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let n: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert!(n > 0);
    let stats: Vec<redis::Value> = redis::cmd("MEMORY").arg("STATS").query(&mut con).unwrap();
    assert_eq!(stats.len(), 2 * 28);
    let t: (String, String) = redis::cmd("TIME").query(&mut con).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((t.0.parse::<i64>().unwrap() - now).abs() < 5);
    let last: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    assert!(last <= now && last > now - 60);
}

#[test]
fn shutdown_errors_and_exit() {
    let mut srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(
        &[b"SHUTDOWN", b"ABORT"],
        b"-ERR No shutdown in progress.\r\n",
    );
    c.roundtrip(&[b"SHUTDOWN", b"NOSAVE", b"SAVE"], b"-ERR syntax error\r\n");
    c.roundtrip(&[b"SHUTDOWN", b"FOO"], b"-ERR syntax error\r\n");
    c.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(c.closed());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!srv.is_alive());
}

#[test]
fn rename_command_at_startup() {
    let srv = Server::start(&[
        "--rename-command",
        "flushdb",
        "badger",
        "--rename-command",
        "lastsave",
        "",
    ]);
    let mut c = srv.raw();
    c.roundtrip(
        &[b"FLUSHDB"],
        b"-ERR unknown command 'FLUSHDB', with args beginning with: \r\n",
    );
    c.roundtrip(&[b"BADGER"], b"+OK\r\n");
    c.roundtrip(
        &[b"LASTSAVE"],
        b"-ERR unknown command 'LASTSAVE', with args beginning with: \r\n",
    );
}

#[test]
fn slowlog_records_blocked_command_when_served() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"], b"+OK\r\n");
    let mut blocked = srv.raw();
    blocked.cmd(&[b"BLPOP", b"l", b"0"]);
    // Wait until it is blocked.
    for _ in 0..200 {
        let info = raw_info(&mut c, "clients");
        if field(&info, "blocked_clients").as_deref() == Some("1") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"LPUSH", b"l", b"foo"], b"+QUEUED\r\n");
    c.roundtrip(&[b"SLOWLOG", b"RESET"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*2\r\n:1\r\n+OK\r\n");
    blocked.expect(b"*2\r\n$1\r\nl\r\n$3\r\nfoo\r\n");
    let mut con = srv.client();
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG").arg("GET").query(&mut con).unwrap();
    let redis::Value::Array(e) = &entries[0] else { panic!("{entries:?}") };
    let args: Vec<String> = redis::from_redis_value(&e[3]).unwrap();
    assert_eq!(args, ["BLPOP", "l", "0"]);
}

#[test]
fn debug_loadaof_reloads_the_aof() {
    let srv = Server::start(&["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"SET", b"foo", b"bar", b"EX", b"100"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"foo", b"bar2", b"KEEPTTL"], b"+OK\r\n");
    c.roundtrip(&[b"SELECT", b"3"], b"+OK\r\n");
    c.roundtrip(&[b"RPUSH", b"l", b"a", b"b"], b":2\r\n");
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"INCR", b"n"], b"+QUEUED\r\n");
    c.roundtrip(&[b"INCR", b"n"], b"+QUEUED\r\n");
    c.roundtrip(&[b"EXEC"], b"*2\r\n:1\r\n:2\r\n");
    // Something not in the AOF must disappear: the keyspace is emptied first.
    c.roundtrip(&[b"CONFIG", b"SET", b"appendonly", b"no"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"gone", b"1"], b"+OK\r\n");
    c.roundtrip(&[b"DEBUG", b"LOADAOF"], b"+OK\r\n");
    c.roundtrip(&[b"EXISTS", b"gone"], b":0\r\n");
    c.roundtrip(&[b"GET", b"n"], b"$1\r\n2\r\n");
    c.roundtrip(&[b"LRANGE", b"l", b"0", b"-1"], b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    c.roundtrip(&[b"SELECT", b"0"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"foo"], b"$4\r\nbar2\r\n");
    let ttl = c.call(&[b"TTL", b"foo"]);
    assert!(ttl == b":100\r\n" || ttl == b":99\r\n", "{}", String::from_utf8_lossy(&ttl));
}

/// Errors of commands inside EXEC and of redis.call in scripts count once, against the
/// command that failed (INFO errorstats, total_error_replies, failed_calls), as in Redis.
#[test]
fn errorstats_for_errors_inside_exec_and_scripts() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"a", b"b"], b"+QUEUED\r\n");
    c.roundtrip(&[b"AUTH", b"a"], b"+QUEUED\r\n");
    c.roundtrip(&[b"INCR", b"a"], b"+QUEUED\r\n");
    c.cmd(&[b"EXEC"]);
    let exec = String::from_utf8(c.read_reply()).unwrap();
    assert!(exec.starts_with("*3\r\n+OK\r\n-ERR AUTH"), "{exec}");
    c.roundtrip(&[b"EXEC"], b"-ERR EXEC without MULTI\r\n");
    c.cmd(&[b"EVAL", b"return redis.call('incr','a')", b"0"]);
    assert!(c.read_reply().starts_with(b"-ERR value is not an integer"));
    c.cmd(&[b"EVAL", b"return redis.pcall('incr','a')", b"0"]);
    assert!(c.read_reply().starts_with(b"-ERR value is not an integer"));
    let info = c.bulk_text(&[b"INFO", b"ALL"]);
    let has = |s: &str| info.lines().any(|l| l.starts_with(s));
    assert!(has("errorstat_ERR:count=5"), "{info}");
    assert!(has("total_error_replies:5"), "{info}");
    for (cmd, failed) in [("auth", 1), ("incr", 3), ("exec", 1), ("eval", 2)] {
        let line = info.lines().find(|l| l.starts_with(&format!("cmdstat_{cmd}:"))).unwrap();
        assert!(line.ends_with(&format!("failed_calls={failed}")), "{line}");
    }
}
