//! Expected texts below were taken from a real redis-server 7.0.15.
//! Tests never change the working directory (it is the `dir` value).

use super::*;
use std::path::PathBuf;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn start_err(list: &[&str]) -> String {
    Config::from_args(&args(list)).unwrap_err()
}

fn temp_dir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferrodis-config-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_file(dir: &std::path::Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

fn get1(cfg: &Config, name: &str) -> String {
    let found = cfg.get(name.as_bytes());
    assert_eq!(found.len(), 1, "{name}: {found:?}");
    found[0].1.clone()
}

fn set1(cfg: &mut Config, name: &str, value: &str) -> Result<Vec<String>, String> {
    cfg.set(&[(name.as_bytes(), value.as_bytes())])
}

fn loaded(text: &str) -> Config {
    let mut cfg = Config::default();
    cfg.load_str(text, "test").unwrap();
    cfg
}

#[test]
fn defaults_match_redis() {
    let cfg = Config::default();
    assert_eq!(
        cfg.get(b"*").len(),
        192,
        "every visible name and alias, like redis 7.0.15"
    );
    for (name, value) in [
        ("save", "3600 1 300 100 60 10000"),
        (
            "client-output-buffer-limit",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        ),
        ("bind", "127.0.0.1 -::1"),
        ("protected-mode", "yes"),
        ("port", "6379"),
        ("maxmemory", "0"),
        ("maxmemory-policy", "noeviction"),
        ("notify-keyspace-events", ""),
        ("oom-score-adj-values", "0 200 800"),
        ("latency-tracking-info-percentiles", "50 99 99.9"),
        ("list-max-ziplist-size", "-2"),
        ("unixsocketperm", "0"),
        ("proto-max-bulk-len", "536870912"),
        ("enable-debug-command", "no"),
        ("replicaof", ""),
        ("syslog-facility", "local0"),
        ("shutdown-on-sigint", "default"),
        ("tls-auth-clients", "yes"),
        ("proc-title-template", "{title} {listen-addr} {server-mode}"),
    ] {
        assert_eq!(get1(&cfg, name), value, "{name}");
    }
    assert_eq!(
        cfg.save_params()[0],
        SaveParam {
            seconds: 3600,
            changes: 1
        }
    );
    assert_eq!(
        cfg.obuf_limit(ClientClass::Replica),
        ObufLimit {
            hard: 256 << 20,
            soft: 64 << 20,
            soft_seconds: 60
        }
    );
    assert_eq!(cfg.get_i64("databases"), 16);
    assert!(!cfg.get_bool("appendonly") && cfg.requirepass().is_none());
    assert_eq!(cfg.config_file(), None);
}

#[test]
fn startup_errors_are_exact() {
    let header = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n";
    assert_eq!(
        start_err(&["--portt", "6379"]),
        format!("{header}Reading the configuration file, at line 2\n>>> 'portt \"6379\"'\nBad directive or wrong number of arguments\n")
    );
    assert_eq!(
        start_err(&["--port", "abc"]),
        format!("{header}Reading the configuration file, at line 2\n>>> 'port \"abc\"'\nargument couldn't be parsed into an integer\n")
    );
    assert_eq!(
        start_err(&["--port", "1", "--port"]),
        format!("{header}Reading the configuration file, at line 3\n>>> 'port'\nwrong number of arguments\n")
    );
    assert!(start_err(&["--maxmemory", "1x"])
        .ends_with(">>> 'maxmemory \"1x\"'\nargument must be a memory value\n"));
    assert!(start_err(&["--loglevel", "bad"])
        .ends_with("argument(s) must be one of the following: debug, verbose, notice, warning\n"));
    assert!(start_err(&["--daemonize", "maybe"]).ends_with("argument must be 'yes' or 'no'\n"));
    assert!(start_err(&["--save", "10"]).ends_with(">>> 'save \"10\"'\nInvalid save parameters\n"));
    // The option after a name-only option is taken as its value.
    assert!(start_err(&["--port", "--loglevel", "debug"]).ends_with("wrong number of arguments\n"));
    assert_eq!(
        start_err(&["--logfile", "/nonexistent-dir/x.log"]),
        format!("{header}Can't open the log file: No such file or directory\n")
    );
    assert_eq!(
        start_err(&["--cluster-enabled", "yes", "--replicaof", "1.2.3.4", "5"]),
        format!("{header}replicaof directive not allowed in cluster mode\n")
    );
}

#[test]
fn file_errors_and_line_numbers() {
    let dir = temp_dir();
    let bad = write_file(&dir, "bad.conf", "port 17902\n# comment\n\nportt 6379\n");
    assert!(start_err(&[&bad])
        .ends_with("at line 4\n>>> 'portt 6379'\nBad directive or wrong number of arguments\n"));
    // Options run on after the file's lines (plus one joining newline).
    let ok = write_file(&dir, "ok.conf", "port 17902\n# comment\n");
    assert!(start_err(&[&ok, "--port", "x"]).contains("at line 4\n>>> 'port \"x\"'\n"));
    let quotes = write_file(&dir, "q.conf", "port 1\nrequirepass \"abc\n");
    assert!(start_err(&[&quotes]).ends_with(
        "at line 2\n>>> 'requirepass \"abc'\nUnbalanced quotes in configuration line\n"
    ));
    // A missing file is a log line (pid, role, time) ending with the reason.
    let missing = start_err(&["/nonexistent-dir/x.conf"]);
    assert!(missing.ends_with(" # Fatal error, can't open config file '/nonexistent-dir/x.conf': No such file or directory\n"));
    assert!(missing.starts_with(&format!("{}:C ", std::process::id())));
    let inc = write_file(&dir, "inc.conf", "include /nonexistent-dir/y.conf\n");
    assert!(start_err(&[&inc]).contains("can't open config file '/nonexistent-dir/y.conf'"));
    // An error inside an included file names the included file's line.
    let inner = write_file(&dir, "inner.conf", "hz 5\nbogus 1\n");
    let outer = write_file(
        &dir,
        "outer.conf",
        &format!("port 1\nport 2\ninclude {inner}\n"),
    );
    assert!(start_err(&[&outer]).contains("at line 2\n>>> 'bogus 1'\n"));
    for (text, err) in [
        ("port 1 # trailing comment", "wrong number of arguments"),
        ("user", "Bad directive or wrong number of arguments"),
        ("include", "Bad directive or wrong number of arguments"),
        ("foo.bar", "Module config specified without value"),
        (
            "sentinel monitor x 1 2 3",
            "sentinel directive while not in sentinel mode",
        ),
        (
            "unixsocketperm 800",
            "argument couldn't be parsed as an octal number",
        ),
        (
            "unixsocketperm 1000",
            "argument must be between 0 and 777 inclusive",
        ),
        (
            "io-threads 200",
            "argument must be between 1 and 128 inclusive",
        ),
        ("dir /nonexistent-dir", "No such file or directory"),
        ("replicaof 1.2.3.4 99999", "Invalid master port"),
        (
            "shutdown-on-sigint save nosave",
            "shutdown options SAVE and NOSAVE can't be used simultaneously",
        ),
        (
            "maxmemory-clients 101%",
            "percentage argument must be less or equal to 100",
        ),
        ("\"", "Unbalanced quotes in configuration line"),
    ] {
        let e = Config::default().load_str(text, "t").unwrap_err();
        assert!(e.ends_with(&format!("{err}\n")), "{text}: {e}");
    }
}

#[test]
fn command_line_forms() {
    let cfg = Config::from_args(&args(&["--port", "1", "--save"])).unwrap();
    assert_eq!(get1(&cfg, "save"), "", "a trailing --save means save \"\"");
    let cfg = Config::from_args(&args(&["--save", "--port", "7"])).unwrap();
    assert_eq!((get1(&cfg, "save").as_str(), cfg.get_i64("port")), ("", 7));
    let cfg = Config::from_args(&args(&["--save", "100", "1", "200", "2", "--Port", "9"])).unwrap();
    assert_eq!(
        (get1(&cfg, "save").as_str(), cfg.get_i64("port")),
        ("100 1 200 2", 9)
    );
    let cfg = Config::from_args(&args(&["--save", "", "--save", "60", "5"])).unwrap();
    assert_eq!(get1(&cfg, "save"), "60 5");
    let cfg = Config::from_args(&args(&[
        "--port 6380",
        "--client-output-buffer-limit",
        "pubsub 1 2 3",
    ]))
    .unwrap();
    assert_eq!(cfg.get_i64("port"), 6380);
    assert_eq!(
        cfg.obuf_limit(ClientClass::Pubsub),
        ObufLimit {
            hard: 1,
            soft: 2,
            soft_seconds: 3
        }
    );
    let cfg = Config::from_args(&args(&["--requirepass", "a\"b\\c \x01"])).unwrap();
    assert_eq!(cfg.requirepass().unwrap(), b"a\"b\\c \x01");
    let dir = temp_dir();
    let file = write_file(&dir, "c.conf", "maxmemory 1mb\nhz 5");
    let cfg = Config::from_args(&args(&[&file, "--hz", "6"])).unwrap();
    assert_eq!(
        (cfg.get_i64("maxmemory"), cfg.get_i64("hz")),
        (1 << 20, 6),
        "options override the file"
    );
    assert_eq!(cfg.config_file(), Some(file.as_str()));
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        absolute_path("x.conf"),
        cwd.join("x.conf").to_string_lossy()
    );
    assert_eq!(
        absolute_path("../y.conf"),
        cwd.parent().unwrap().join("y.conf").to_string_lossy()
    );
}

#[test]
fn quoting_repeats_and_multi_directives() {
    let cfg = loaded(
        "requirepass \"a\\x41\\n\"\nmasterauth 'it\\'s'\n  MAXMEMORY   1mb  \r\nmaxmemory 2mb\n",
    );
    assert_eq!(cfg.requirepass().unwrap(), b"aA\n");
    assert_eq!(cfg.masterauth().unwrap(), b"it's");
    assert_eq!(cfg.get_i64("maxmemory"), 2 << 20, "last one wins");
    let cfg = loaded("save 100 1\nsave 200 2\n");
    assert_eq!(
        cfg.save_params(),
        [
            SaveParam {
                seconds: 100,
                changes: 1
            },
            SaveParam {
                seconds: 200,
                changes: 2
            }
        ]
    );
    let cfg = loaded("save 100 1\nsave \"\"\nsave 5 5\n");
    assert_eq!(get1(&cfg, "save"), "5 5");
    assert_eq!(get1(&loaded("save \"100 1 200 2\""), "save"), "100 1 200 2");
    let cfg = loaded(
        "bind \"127.0.0.1 ::1\"\nslaveof 10.0.0.1 6380\nlist-max-ziplist-entries 5\nsentinel\n",
    );
    assert_eq!(cfg.bind_addrs(), ["127.0.0.1", "::1"]);
    assert_eq!(cfg.replicaof(), Some(("10.0.0.1".to_string(), 6380)));
    assert_eq!(get1(&cfg, "replicaof"), "10.0.0.1 6380");
    assert_eq!(loaded("replicaof no one").replicaof(), None);
    let cfg = loaded(
        "user alice on >pw ~*\nuser bob off\nloadmodule /m.so a b\nmymod.opt 1 2\nmymod.opt 3\n",
    );
    assert_eq!(cfg.users(), ["alice on >pw ~*", "bob off"]);
    assert_eq!(cfg.load_modules(), [vec!["/m.so", "a", "b"]]);
    assert_eq!(
        cfg.module_configs(),
        [("mymod.opt".to_string(), "3".to_string())]
    );
    let dir = temp_dir();
    let inc = write_file(&dir, "inc-1.conf", "hz 11\n");
    write_file(&dir, "inc-2.conf", "hz 12\n");
    assert_eq!(loaded(&format!("include {inc}")).get_i64("hz"), 11);
    let pattern = dir.join("inc-*.conf");
    assert_eq!(
        loaded(&format!("include {}", pattern.display())).get_i64("hz"),
        12,
        "globbed, in order"
    );
    assert_eq!(
        loaded("include /nonexistent-dir/*.conf\nhz 13").get_i64("hz"),
        13,
        "no match is fine"
    );
    assert_eq!(loaded("hz 1000").get_i64("hz"), 500, "hz is clamped");
    assert_eq!(loaded("hz 0").get_i64("hz"), 1);
}

#[test]
fn rename_command_checks_the_command_table() {
    set_command_lookup(|name| [&b"get"[..], b"set", b"flushall", b"config"].contains(&name));
    let cfg = loaded("rename-command FLUSHALL \"\"\nrename-command config cfg\n");
    assert_eq!(
        cfg.rename_commands(),
        [
            ("FLUSHALL".into(), "".into()),
            ("config".into(), "cfg".into())
        ]
    );
    let err = |t: &str| Config::default().load_str(t, "t").unwrap_err();
    assert!(err("rename-command nosuchcmd foo").ends_with("No such command in rename-command\n"));
    assert!(err("rename-command get set").ends_with("Target command name already exists\n"));
    assert!(err("rename-command get x\nrename-command get y")
        .ends_with("No such command in rename-command\n"));
    assert!(
        loaded("rename-command get get\nrename-command get x\nrename-command set get")
            .rename_commands()
            .len()
            == 3
    );
    assert!(err("rename-command a").ends_with("Bad directive or wrong number of arguments\n"));
}

#[test]
fn memory_units_and_percent() {
    let mut cfg = Config::default();
    for (value, bytes) in [
        ("1k", 1000),
        ("1kb", 1024),
        ("1KB", 1024),
        ("2m", 2_000_000),
        ("2mb", 2 << 20),
        ("1g", 1_000_000_000),
        ("1Gb", 1 << 30),
        ("", 0),
        ("5b", 5),
    ] {
        set1(&mut cfg, "maxmemory", value).unwrap();
        assert_eq!(cfg.get_i64("maxmemory"), bytes, "{value}");
        assert_eq!(get1(&cfg, "maxmemory"), bytes.to_string());
    }
    set1(&mut cfg, "maxmemory", "18446744073709551615").unwrap();
    assert_eq!(get1(&cfg, "maxmemory"), "18446744073709551615");
    set1(&mut cfg, "maxmemory-clients", "10%").unwrap();
    assert_eq!(get1(&cfg, "maxmemory-clients"), "10%");
    let failed = |name: &str, why: &str| {
        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
    };
    assert_eq!(
        set1(&mut cfg, "maxmemory", "-1").unwrap_err(),
        failed("maxmemory", "argument must be a memory value")
    );
    assert_eq!(
        set1(&mut cfg, "maxmemory", "1x").unwrap_err(),
        failed("maxmemory", "argument must be a memory value")
    );
    assert_eq!(
        set1(&mut cfg, "maxmemory-clients", "-5%").unwrap_err(),
        failed(
            "maxmemory-clients",
            "argument must be a memory or percent value"
        )
    );
    assert_eq!(
        set1(&mut cfg, "maxmemory-clients", "200%").unwrap_err(),
        failed(
            "maxmemory-clients",
            "percentage argument must be less or equal to 100"
        )
    );
    assert_eq!(
        set1(&mut cfg, "proto-max-bulk-len", "10").unwrap_err(),
        failed(
            "proto-max-bulk-len",
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        )
    );
}

#[test]
fn config_get_patterns() {
    let cfg = Config::default();
    let names = |p: &[u8]| {
        let mut v: Vec<String> = cfg.get(p).into_iter().map(|(k, _)| k).collect();
        v.sort();
        v
    };
    assert_eq!(names(b"MAX*").len(), 6);
    assert_eq!(names(b"*ziplist*").len(), 5);
    assert_eq!(
        names(b"slave-*").len(),
        7,
        "aliases are listed under their own names"
    );
    assert_eq!(names(b"h[a-z]"), ["hz"]);
    assert_eq!(
        cfg.get(b"PORT"),
        [("PORT".to_string(), "6379".to_string())],
        "exact names keep the asker's spelling"
    );
    assert!(
        names(b"use-exit*").is_empty(),
        "hidden configs need their exact name"
    );
    assert_eq!(names(b"use-exit-on-panic"), ["use-exit-on-panic"]);
    assert!(names(b"nonexistent").is_empty() && names(b"").is_empty());
    let many = cfg.get_many(&[
        b"port",
        b"PORT",
        b"p*",
        b"slave-priority",
        b"replica-priority",
    ]);
    assert_eq!(
        many.len(),
        8,
        "duplicates dropped case-insensitively: {many:?}"
    );
}

#[test]
fn config_set_errors_are_exact() {
    let mut cfg = Config::default();
    let mut set = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        cfg.set(&pairs).map_err(|e| {
            e.replace(
                "ERR CONFIG SET failed (possibly related to argument ",
                "FAILED ",
            )
        })
    };
    assert_eq!(
        set(&[("daemonize", "yes")]).unwrap_err(),
        "FAILED 'daemonize') - can't set immutable config"
    );
    assert_eq!(
        set(&[("DAEMONIZE", "yes")]).unwrap_err(),
        "FAILED 'DAEMONIZE') - can't set immutable config"
    );
    assert_eq!(
        set(&[("dir", "/tmp")]).unwrap_err(),
        "FAILED 'dir') - can't set protected config"
    );
    assert_eq!(
        set(&[("dbfilename", "x")]).unwrap_err(),
        "FAILED 'dbfilename') - can't set protected config"
    );
    assert_eq!(
        set(&[("foo", "bar")]).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set(&[("foo", "1"), ("daemonize", "yes")]).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set(&[("daemonize", "yes"), ("foo", "1")]).unwrap_err(),
        "FAILED 'daemonize') - can't set immutable config"
    );
    assert_eq!(
        set(&[("port", "1"), ("PORT", "2")]).unwrap_err(),
        "FAILED 'PORT') - duplicate parameter"
    );
    assert!(
        set(&[("slave-priority", "5"), ("replica-priority", "6")]).is_ok(),
        "an alias is not a duplicate"
    );
    assert_eq!(
        set(&[("maxmemory-eviction-tenacity", "101")]).unwrap_err(),
        "FAILED 'maxmemory-eviction-tenacity') - argument must be between 0 and 100 inclusive"
    );
    assert_eq!(
        set(&[("maxclients", "0")]).unwrap_err(),
        "FAILED 'maxclients') - argument must be between 1 and 4294967295 inclusive"
    );
    assert_eq!(
        set(&[("port", "01")]).unwrap_err(),
        "FAILED 'port') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        set(&[("protected-mode", "maybe")]).unwrap_err(),
        "FAILED 'protected-mode') - argument must be 'yes' or 'no'"
    );
    assert_eq!(
        set(&[("SLAVE-PRIORITY", "x")]).unwrap_err(),
        "FAILED 'slave-priority') - argument couldn't be parsed into an integer",
        "value errors name the registered (alias) name"
    );
    assert_eq!(
        set(&[("appendfsync", "x")]).unwrap_err(),
        "FAILED 'appendfsync') - argument(s) must be one of the following: everysec, always, no"
    );
    assert_eq!(
        set(&[("save", "100  1")]).unwrap_err(),
        "FAILED 'save') - Invalid save parameters"
    );
    assert_eq!(
        set(&[("notify-keyspace-events", "Ab")]).unwrap_err(),
        "FAILED 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    );
    assert_eq!(
        set(&[("client-output-buffer-limit", "master 1 2 3")]).unwrap_err(),
        "FAILED 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."
    );
    assert_eq!(
        set(&[("latency-tracking-info-percentiles", "101")]).unwrap_err(),
        "FAILED 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
    );
    assert_eq!(
        set(&[("cluster-announce-hostname", "a_b")]).unwrap_err(),
        "FAILED 'cluster-announce-hostname') - Hostnames may only contain alphanumeric characters, hyphens or dots"
    );
    assert_eq!(
        set(&[("proc-title-template", "{nope}")]).unwrap_err(),
        "FAILED 'proc-title-template') - template format is invalid or contains unknown variables"
    );
    assert!(set(&[("activedefrag", "yes")])
        .unwrap_err()
        .starts_with("FAILED 'activedefrag') - Active defragmentation cannot be enabled"));
}

#[test]
fn config_set_context_rules() {
    let mut cfg = loaded("enable-protected-configs local");
    let cwd = std::env::current_dir().unwrap();
    let pair: [(&[u8], &[u8]); 1] = [(b"dir", cwd.as_os_str().as_encoded_bytes())];
    assert!(cfg
        .set(&pair)
        .unwrap_err()
        .ends_with("can't set protected config"));
    let local = SetContext {
        local_client: true,
        loading: false,
    };
    assert_eq!(
        cfg.set_with(&pair, local),
        Ok(vec![]),
        "same directory: nothing changed"
    );
    assert_eq!(
        cfg.set_with(&[(b"dir", b"/nonexistent-dir")], local)
            .unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    assert_eq!(std::env::current_dir().unwrap(), cwd);
    let loading = SetContext {
        local_client: false,
        loading: true,
    };
    assert_eq!(
        cfg.set_with(&[(b"appendonly", b"yes")], loading)
            .unwrap_err(),
        "LOADING Redis is loading the dataset in memory"
    );
    assert!(cfg.set_with(&[(b"maxmemory", b"1mb")], loading).is_ok());
}

#[test]
fn config_set_is_atomic() {
    let mut cfg = Config::default();
    let before = cfg.get(b"*");
    let generation = cfg.generation();
    let err = cfg
        .set(&[
            (b"maxmemory", b"10mb"),
            (b"save", b"1 1"),
            (b"bind", b"1.2.3.4"),
            (b"hz", b"x"),
        ])
        .unwrap_err();
    assert_eq!(err, "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer");
    assert_eq!(cfg.get(b"*"), before, "nothing changed");
    assert_eq!(cfg.generation(), generation);
    let changed = cfg
        .set(&[
            (b"maxmemory", b"10mb"),
            (b"slave-priority", b"7"),
            (b"hz", b"10"),
        ])
        .unwrap();
    assert_eq!(
        changed,
        ["maxmemory", "replica-priority"],
        "primary names of values that changed"
    );
    assert_eq!(cfg.generation(), generation + 1);
    assert_eq!(cfg.get_i64("replica-priority"), 7);
}

#[test]
fn special_values_round_trip() {
    let mut cfg = Config::default();
    for (name, value, shown) in [
        ("notify-keyspace-events", "KEA", "AKE"),
        ("notify-keyspace-events", "mEKx$g", "g$xKEm"),
        ("notify-keyspace-events", "", ""),
        ("oom-score-adj", "relative", "yes"),
        ("shutdown-on-sigint", "now save", "save now"),
        ("shutdown-on-sigterm", "default nosave", "nosave"),
        (
            "client-output-buffer-limit",
            "slave 1k 2kb 3 pubsub 4 5 6",
            "normal 0 0 0 slave 1000 2048 3 pubsub 4 5 6",
        ),
        ("oom-score-adj-values", "1 2 3", "1 2 3"),
        (
            "latency-tracking-info-percentiles",
            "1.5 99.99 100",
            "1.5 99.99 100",
        ),
        ("latency-tracking-info-percentiles", "", ""),
        ("bind", "", ""),
        ("bind", "1.2.3.4 ::1", "1.2.3.4 ::1"),
        ("save", "", ""),
        ("save", "100 1 200 2", "100 1 200 2"),
        ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
        ("hz", "1000", "500"),
        ("repl-backlog-size", "100", "16384"),
        ("masteruser", "", ""),
    ] {
        set1(&mut cfg, name, value).unwrap_or_else(|e| panic!("{name} {value}: {e}"));
        assert_eq!(get1(&cfg, name), shown, "{name} {value}");
    }
    assert_eq!(cfg.notify_keyspace_events(), 0);
    assert_eq!(cfg.bind_addrs(), ["1.2.3.4", "::1"]);
    assert_eq!(cfg.oom_score_adj_values(), [1, 2, 3]);
}

#[test]
fn rewrite_keeps_structure() {
    let dir = temp_dir();
    let original = "# Top comment\nport 17951\n\nsave 900 1\nsave 300 10\nSLAVE-PRIORITY 50\nmaxmemory 1gb\n# middle comment\n\n\n\
list-max-ziplist-entries 5\nreplica-announce-ip \"se\\\"cret\"\nhash-max-ziplist-entries 100\nhash-max-listpack-entries 200\n  loglevel notice  \n\
timeout 0\nrename-command flushall \"\"\nbind 127.0.0.1\nclient-output-buffer-limit pubsub 1mb 2mb 3\nrequirepass foo\n";
    let path = write_file(&dir, "redis.conf", original);
    let mut cfg = Config::from_args(std::slice::from_ref(&path)).unwrap();
    let pairs: [(&[u8], &[u8]); 7] = [
        (b"maxmemory", b"2mb"),
        (b"notify-keyspace-events", b"Kx"),
        (b"client-output-buffer-limit", b"pubsub 1 2 3"),
        (b"maxmemory-clients", b"5%"),
        (b"masteruser", b"a b\x01"),
        (b"save", b"100 1"),
        (b"requirepass", b""),
    ];
    cfg.set(&pairs).unwrap();
    cfg.rewrite().unwrap();
    let cwd = text::repr(
        std::env::current_dir()
            .unwrap()
            .as_os_str()
            .as_encoded_bytes(),
    );
    let expected = format!(
        "# Top comment\nport 17951\n\nsave 100 1\n\nreplica-priority 50\nmaxmemory 2mb\n# middle comment\n\n# ??? list-max-ziplist-entries 5\n\
replica-announce-ip \"se\\\"cret\"\nhash-max-listpack-entries 200\n\nloglevel notice\ntimeout 0\nrename-command flushall \"\"\nbind 127.0.0.1\n\
client-output-buffer-limit normal 0 0 0\n\n# Generated by CONFIG REWRITE\nmasteruser \"a b\\x01\"\nmaxmemory-clients 5%\n\
dir {cwd}\nclient-output-buffer-limit pubsub 1 2 3\nnotify-keyspace-events \"xK\"\nlatency-tracking-info-percentiles 50 99 99.9\n\
user default on nopass ~* &* +@all\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    // Loading the rewritten file gives the same configuration, and so does
    // rewriting that (the text moves: Redis reuses old lines class by class).
    let reloaded = Config::from_args(std::slice::from_ref(&path)).unwrap();
    assert_eq!(reloaded.get(b"*"), cfg.get(b"*"));
    reloaded.rewrite().unwrap();
    assert_eq!(
        Config::from_args(std::slice::from_ref(&path))
            .unwrap()
            .get(b"*"),
        cfg.get(b"*")
    );
    assert_eq!(
        Config::default().rewrite().unwrap_err(),
        "ERR The server is running without a config file"
    );
}

#[test]
fn rewrite_of_missing_or_signed_file() {
    let dir = temp_dir();
    let path = dir.join("new.conf").to_string_lossy().into_owned();
    let cfg = Config {
        config_file: Some(path.clone()),
        ..Config::default()
    };
    cfg.rewrite().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# Generated by CONFIG REWRITE\ndir "),
        "{text}"
    );
    assert!(
        text.contains("\nsave 3600 1\nsave 300 100\nsave 60 10000\n") && !text.contains("bind"),
        "{text}"
    );
    let signed = write_file(
        &dir,
        "signed.conf",
        "port 1\n# Generated by CONFIG REWRITE\n",
    );
    let cfg = Config::from_args(std::slice::from_ref(&signed)).unwrap();
    cfg.rewrite().unwrap();
    let text = std::fs::read_to_string(&signed).unwrap();
    assert!(
        text.starts_with("port 1\n# Generated by CONFIG REWRITE\n\ndir "),
        "{text}"
    );
    assert_eq!(text.matches("Generated").count(), 1);
}
