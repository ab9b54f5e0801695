//! The directive table: one entry per CONFIG-visible directive of Redis 7.0.15
//! (names, aliases, kinds, limits, defaults and flags as the real server has them).

pub const IMMUTABLE: u8 = 1;
pub const PROTECTED: u8 = 2;
pub const SENSITIVE: u8 = 4;
/// CONFIG GET only shows it when asked by its exact name.
pub const HIDDEN: u8 = 8;
/// CONFIG SET refuses it while the dataset is loading.
pub const DENY_LOADING: u8 = 16;
const M: u8 = 0; // modifiable

/// How an integer is written and read.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Num {
    Plain,
    Memory,
    /// Memory value or `N%` (stored negated, as Redis does).
    MemoryPercent,
    Octal,
}

/// The structured directives, each with its own syntax.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyPercentiles,
}

pub type EnumNames = &'static [(&'static str, i32)];

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool(bool),
    /// `unsigned`: bounds compare as u64 (C unsigned types; max -1 = u64::MAX).
    Int {
        min: i64,
        max: i64,
        default: i64,
        num: Num,
        unsigned: bool,
    },
    /// `multi`: several names OR-ed together as bit flags.
    Enum {
        names: EnumNames,
        default: i32,
        multi: bool,
    },
    /// `binary`: an sds value (NULs kept); otherwise a C string.
    Str {
        default: Option<&'static str>,
        empty_is_none: bool,
        binary: bool,
    },
    Special(Special),
}

#[derive(Debug)]
pub struct Def {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
}

impl Def {
    /// Takes several arguments (split on spaces by CONFIG SET).
    pub fn multi_arg(&self) -> bool {
        match self.kind {
            Kind::Enum { multi, .. } => multi,
            Kind::Special(s) => !matches!(s, Special::Dir | Special::NotifyKeyspaceEvents),
            _ => false,
        }
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LMAX: i64 = i64::MAX;

const fn al(alias: &'static str) -> Option<&'static str> {
    if alias.is_empty() {
        None
    } else {
        Some(alias)
    }
}
const fn boolean(name: &'static str, alias: &'static str, flags: u8, default: bool) -> Def {
    Def {
        name,
        alias: al(alias),
        flags,
        kind: Kind::Bool(default),
    }
}
#[allow(clippy::too_many_arguments)] // one table row
const fn numeric(
    name: &'static str,
    alias: &'static str,
    flags: u8,
    min: i64,
    max: i64,
    default: i64,
    num: Num,
    unsigned: bool,
) -> Def {
    Def {
        name,
        alias: al(alias),
        flags,
        kind: Kind::Int {
            min,
            max,
            default,
            num,
            unsigned,
        },
    }
}
const fn int(
    name: &'static str,
    alias: &'static str,
    flags: u8,
    min: i64,
    max: i64,
    default: i64,
) -> Def {
    numeric(name, alias, flags, min, max, default, Num::Plain, false)
}
const fn uint(name: &'static str, flags: u8, min: i64, max: i64, default: i64) -> Def {
    numeric(name, "", flags, min, max, default, Num::Plain, true)
}
const fn mem(
    name: &'static str,
    alias: &'static str,
    min: i64,
    max: i64,
    default: i64,
    unsigned: bool,
) -> Def {
    numeric(name, alias, M, min, max, default, Num::Memory, unsigned)
}
const fn string(
    name: &'static str,
    alias: &'static str,
    flags: u8,
    default: Option<&'static str>,
    empty_is_none: bool,
) -> Def {
    Def {
        name,
        alias: al(alias),
        flags,
        kind: Kind::Str {
            default,
            empty_is_none,
            binary: false,
        },
    }
}
const fn secret(name: &'static str) -> Def {
    Def {
        name,
        alias: None,
        flags: SENSITIVE,
        kind: Kind::Str {
            default: None,
            empty_is_none: true,
            binary: true,
        },
    }
}
const fn enumeration(name: &'static str, flags: u8, names: EnumNames, default: i32) -> Def {
    Def {
        name,
        alias: None,
        flags,
        kind: Kind::Enum {
            names,
            default,
            multi: false,
        },
    }
}
/// Several names OR-ed together, default 0.
const fn flag_set(name: &'static str, names: EnumNames) -> Def {
    Def {
        name,
        alias: None,
        flags: M,
        kind: Kind::Enum {
            names,
            default: 0,
            multi: true,
        },
    }
}
const fn special(name: &'static str, alias: &'static str, flags: u8, s: Special) -> Def {
    Def {
        name,
        alias: al(alias),
        flags,
        kind: Kind::Special(s),
    }
}
/// A string that is empty (unset) by default.
const fn opt(name: &'static str, flags: u8) -> Def {
    string(name, "", flags, None, true)
}

const YES_NO_LOCAL: EnumNames = &[("no", 0), ("yes", 1), ("local", 2)];
const SHUTDOWN_ON_SIG: EnumNames = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
const SYSLOG_FACILITIES: EnumNames = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const MAXMEMORY_POLICIES: EnumNames = &[
    ("volatile-lru", 1),
    ("volatile-lfu", 258),
    ("volatile-random", 768),
    ("volatile-ttl", 512),
    ("allkeys-lru", 1029),
    ("allkeys-lfu", 1286),
    ("allkeys-random", 1540),
    ("noeviction", 1792),
];
pub const SHUTDOWN_SAVE: i32 = 1;
pub const SHUTDOWN_NOSAVE: i32 = 2;

#[rustfmt::skip]
pub static TABLE: &[Def] = &[
    // Booleans
    boolean("rdbchecksum", "", IMMUTABLE, true),
    boolean("daemonize", "", IMMUTABLE, false),
    boolean("io-threads-do-reads", "", IMMUTABLE, false),
    boolean("always-show-logo", "", IMMUTABLE, false),
    boolean("protected-mode", "", M, true),
    boolean("rdbcompression", "", M, true),
    boolean("rdb-del-sync-files", "", M, false),
    boolean("activerehashing", "", M, true),
    boolean("stop-writes-on-bgsave-error", "", M, true),
    boolean("set-proc-title", "", IMMUTABLE, true),
    boolean("dynamic-hz", "", M, true),
    boolean("lazyfree-lazy-eviction", "", M, false),
    boolean("lazyfree-lazy-expire", "", M, false),
    boolean("lazyfree-lazy-server-del", "", M, false),
    boolean("lazyfree-lazy-user-del", "", M, false),
    boolean("lazyfree-lazy-user-flush", "", M, false),
    boolean("repl-disable-tcp-nodelay", "", M, false),
    boolean("repl-diskless-sync", "", M, true),
    boolean("aof-rewrite-incremental-fsync", "", M, true),
    boolean("no-appendfsync-on-rewrite", "", M, false),
    boolean("cluster-require-full-coverage", "", M, true),
    boolean("rdb-save-incremental-fsync", "", M, true),
    boolean("aof-load-truncated", "", M, true),
    boolean("aof-use-rdb-preamble", "", M, true),
    boolean("aof-timestamp-enabled", "", M, false),
    boolean("cluster-replica-no-failover", "cluster-slave-no-failover", M, false),
    boolean("replica-lazy-flush", "slave-lazy-flush", M, false),
    boolean("replica-serve-stale-data", "slave-serve-stale-data", M, true),
    boolean("replica-read-only", "slave-read-only", M, true),
    boolean("replica-ignore-maxmemory", "slave-ignore-maxmemory", M, true),
    boolean("jemalloc-bg-thread", "", M, true),
    boolean("activedefrag", "", M, false),
    boolean("syslog-enabled", "", IMMUTABLE, false),
    boolean("cluster-enabled", "", IMMUTABLE, false),
    boolean("appendonly", "", DENY_LOADING, false),
    boolean("cluster-allow-reads-when-down", "", M, false),
    boolean("cluster-allow-pubsubshard-when-down", "", M, true),
    boolean("crash-log-enabled", "", M, true),
    boolean("crash-memcheck-enabled", "", M, true),
    boolean("use-exit-on-panic", "", HIDDEN, false),
    boolean("disable-thp", "", IMMUTABLE, true),
    boolean("cluster-allow-replica-migration", "", M, true),
    boolean("replica-announced", "", M, true),
    boolean("latency-tracking", "", M, true),
    boolean("aof-disable-auto-gc", "", M, false),
    boolean("replica-ignore-disk-write-errors", "", M, false),
    // Strings
    string("aclfile", "", IMMUTABLE, Some(""), false),
    opt("unixsocket", IMMUTABLE),
    opt("pidfile", IMMUTABLE),
    string("replica-announce-ip", "slave-announce-ip", M, None, true),
    string("masteruser", "", SENSITIVE, None, true),
    opt("cluster-announce-ip", M),
    string("cluster-config-file", "", IMMUTABLE, Some("nodes.conf"), false),
    opt("cluster-announce-hostname", M),
    string("syslog-ident", "", IMMUTABLE, Some("redis"), false),
    string("dbfilename", "", PROTECTED, Some("dump.rdb"), false),
    string("appendfilename", "", IMMUTABLE, Some("appendonly.aof"), false),
    string("appenddirname", "", IMMUTABLE, Some("appendonlydir"), false),
    opt("server_cpulist", IMMUTABLE),
    opt("bio_cpulist", IMMUTABLE),
    opt("aof_rewrite_cpulist", IMMUTABLE),
    opt("bgsave_cpulist", IMMUTABLE),
    string("ignore-warnings", "", M, Some(""), false),
    string("proc-title-template", "", M, Some("{title} {listen-addr} {server-mode}"), false),
    opt("bind-source-addr", M),
    string("logfile", "", IMMUTABLE, Some(""), false),
    secret("masterauth"),
    secret("requirepass"),
    // Enums
    enumeration("supervised", IMMUTABLE, &[("upstart", 3), ("systemd", 2), ("auto", 1), ("no", 0)], 0),
    enumeration("syslog-facility", IMMUTABLE, SYSLOG_FACILITIES, 128),
    enumeration("repl-diskless-load", DENY_LOADING, &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)], 0),
    enumeration("loglevel", M, &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)], 2),
    enumeration("maxmemory-policy", M, MAXMEMORY_POLICIES, 1792),
    enumeration("appendfsync", M, &[("everysec", 2), ("always", 1), ("no", 0)], 2),
    enumeration("oom-score-adj", M, &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)], 0),
    enumeration("acl-pubsub-default", M, &[("allchannels", 8), ("resetchannels", 0)], 0),
    enumeration("sanitize-dump-payload", M, &[("no", 0), ("yes", 1), ("clients", 2)], 0),
    enumeration("enable-protected-configs", IMMUTABLE, YES_NO_LOCAL, 0),
    enumeration("enable-debug-command", IMMUTABLE, YES_NO_LOCAL, 0),
    enumeration("enable-module-command", IMMUTABLE, YES_NO_LOCAL, 0),
    enumeration("cluster-preferred-endpoint-type", M, &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)], 0),
    enumeration("propagation-error-behavior", M, &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)], 0),
    flag_set("shutdown-on-sigint", SHUTDOWN_ON_SIG),
    flag_set("shutdown-on-sigterm", SHUTDOWN_ON_SIG),
    // Integers
    int("databases", "", IMMUTABLE, 1, INT_MAX, 16),
    int("port", "", M, 0, 65535, 6379),
    int("io-threads", "", IMMUTABLE, 1, 128, 1),
    int("auto-aof-rewrite-percentage", "", M, 0, INT_MAX, 100),
    int("cluster-replica-validity-factor", "cluster-slave-validity-factor", M, 0, INT_MAX, 10),
    int("list-max-listpack-size", "list-max-ziplist-size", M, INT_MIN, INT_MAX, -2),
    int("tcp-keepalive", "", M, 0, INT_MAX, 300),
    int("cluster-migration-barrier", "", M, 0, INT_MAX, 1),
    int("active-defrag-cycle-min", "", M, 1, 99, 1),
    int("active-defrag-cycle-max", "", M, 1, 99, 25),
    int("active-defrag-threshold-lower", "", M, 0, 1000, 10),
    int("active-defrag-threshold-upper", "", M, 0, 1000, 100),
    int("lfu-log-factor", "", M, 0, INT_MAX, 10),
    int("lfu-decay-time", "", M, 0, INT_MAX, 1),
    int("replica-priority", "slave-priority", M, 0, INT_MAX, 100),
    int("repl-diskless-sync-delay", "", M, 0, INT_MAX, 5),
    int("maxmemory-samples", "", M, 1, INT_MAX, 5),
    int("maxmemory-eviction-tenacity", "", M, 0, 100, 10),
    int("timeout", "", M, 0, INT_MAX, 0),
    int("replica-announce-port", "slave-announce-port", M, 0, 65535, 0),
    int("tcp-backlog", "", IMMUTABLE, 0, INT_MAX, 511),
    int("cluster-port", "", IMMUTABLE, 0, 65535, 0),
    int("cluster-announce-bus-port", "", M, 0, 65535, 0),
    int("cluster-announce-port", "", M, 0, 65535, 0),
    int("cluster-announce-tls-port", "", M, 0, 65535, 0),
    int("repl-timeout", "", M, 1, INT_MAX, 60),
    int("repl-ping-replica-period", "repl-ping-slave-period", M, 1, INT_MAX, 10),
    int("list-compress-depth", "", M, 0, INT_MAX, 0),
    int("rdb-key-save-delay", "", HIDDEN, INT_MIN, INT_MAX, 0),
    int("key-load-delay", "", HIDDEN, INT_MIN, INT_MAX, 0),
    int("active-expire-effort", "", M, 1, 10, 1),
    int("hz", "", M, 0, INT_MAX, 10),
    int("min-replicas-to-write", "min-slaves-to-write", M, 0, INT_MAX, 0),
    int("min-replicas-max-lag", "min-slaves-max-lag", M, 0, INT_MAX, 10),
    int("watchdog-period", "", HIDDEN, 0, INT_MAX, 0),
    int("shutdown-timeout", "", M, 0, INT_MAX, 10),
    int("repl-diskless-sync-max-replicas", "", M, 0, INT_MAX, 0),
    uint("maxclients", M, 1, UINT_MAX, 10000),
    numeric("unixsocketperm", "", IMMUTABLE, 0, 0o777, 0, Num::Octal, true),
    uint("socket-mark-id", IMMUTABLE, 0, UINT_MAX, 0),
    uint("active-defrag-max-scan-fields", M, 1, LMAX, 1000),
    uint("slowlog-max-len", M, 0, LMAX, 128),
    uint("acllog-max-len", M, 0, LMAX, 128),
    int("busy-reply-threshold", "lua-time-limit", M, 0, LMAX, 5000),
    int("cluster-node-timeout", "", M, 0, LMAX, 15000),
    int("slowlog-log-slower-than", "", M, -1, LMAX, 10000),
    int("latency-monitor-threshold", "", M, 0, LMAX, 0),
    mem("proto-max-bulk-len", "", 1024 * 1024, LMAX, 512 * 1024 * 1024, false),
    int("stream-node-max-entries", "", M, 0, LMAX, 100),
    mem("repl-backlog-size", "", 1, LMAX, 1024 * 1024, false),
    mem("maxmemory", "", 0, -1, 0, true),
    mem("cluster-link-sendbuf-limit", "", 0, -1, 0, true),
    numeric("hash-max-listpack-entries", "hash-max-ziplist-entries", M, 0, LMAX, 512, Num::Plain, true),
    uint("set-max-intset-entries", M, 0, LMAX, 512),
    numeric("zset-max-listpack-entries", "zset-max-ziplist-entries", M, 0, LMAX, 128, Num::Plain, true),
    mem("active-defrag-ignore-bytes", "", 1, LMAX, 100 << 20, true),
    mem("hash-max-listpack-value", "hash-max-ziplist-value", 0, LMAX, 64, true),
    mem("stream-node-max-bytes", "", 0, LMAX, 4096, true),
    mem("zset-max-listpack-value", "zset-max-ziplist-value", 0, LMAX, 64, true),
    mem("hll-sparse-max-bytes", "", 0, LMAX, 3000, true),
    uint("tracking-table-max-keys", M, 0, LMAX, 1_000_000),
    mem("client-query-buffer-limit", "", 1024 * 1024, LMAX, 1024 * 1024 * 1024, true),
    numeric("maxmemory-clients", "", M, -100, LMAX, 0, Num::MemoryPercent, false),
    int("repl-backlog-ttl", "", M, 0, LMAX, 3600),
    mem("auto-aof-rewrite-min-size", "", 0, LMAX, 64 * 1024 * 1024, false),
    int("loading-process-events-interval-bytes", "", HIDDEN, 1024, INT_MAX, 2 * 1024 * 1024),
    // TLS
    int("tls-port", "", M, 0, 65535, 0),
    int("tls-session-cache-size", "", M, 0, INT_MAX, 20 * 1024),
    int("tls-session-cache-timeout", "", M, 0, INT_MAX, 300),
    boolean("tls-cluster", "", M, false),
    boolean("tls-replication", "", M, false),
    enumeration("tls-auth-clients", M, &[("no", 0), ("yes", 1), ("optional", 2)], 1),
    boolean("tls-prefer-server-ciphers", "", M, false),
    boolean("tls-session-caching", "", M, true),
    opt("tls-cert-file", M),
    opt("tls-key-file", M),
    opt("tls-key-file-pass", M),
    opt("tls-client-cert-file", M),
    opt("tls-client-key-file", M),
    opt("tls-client-key-file-pass", M),
    opt("tls-dh-params-file", M),
    opt("tls-ca-cert-file", M),
    opt("tls-ca-cert-dir", M),
    opt("tls-protocols", M),
    opt("tls-ciphers", M),
    opt("tls-ciphersuites", M),
    // Special syntax
    special("dir", "", PROTECTED | DENY_LOADING, Special::Dir),
    special("save", "", M, Special::Save),
    special("client-output-buffer-limit", "", M, Special::ClientOutputBufferLimit),
    special("oom-score-adj-values", "", M, Special::OomScoreAdjValues),
    special("notify-keyspace-events", "", M, Special::NotifyKeyspaceEvents),
    special("bind", "", M, Special::Bind),
    special("replicaof", "slaveof", IMMUTABLE, Special::ReplicaOf),
    special("latency-tracking-info-percentiles", "", M, Special::LatencyPercentiles),
];

/// Index of a directive by name or alias (case-insensitive), and whether the
/// alias was the name used.
pub fn lookup(name: &[u8]) -> Option<(usize, bool)> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static INDEX: OnceLock<HashMap<&'static str, (usize, bool)>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = HashMap::new();
        for (i, d) in TABLE.iter().enumerate() {
            m.insert(d.name, (i, false));
            if let Some(a) = d.alias {
                m.insert(a, (i, true));
            }
        }
        m
    });
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    index.get(lower.as_str()).copied()
}
