//! Process-wide server state shared by every worker thread (`Arc<Server>`).
//!
//! What lives here: the configuration (behind a RwLock; hot values mirrored in atomics
//! in `Hot` so the request path never takes the config lock), the keyspace, the client
//! registry used by CLIENT LIST/KILL and MONITOR, global statistics, the slow log and the
//! latency monitor, and the handles used to wake worker threads.
//!
//! Invariant: nothing here is locked on the per-command path except the shards the
//! command touches (see `keyspace`) and, only when the stream has consumers, the write
//! stream (see `repl`).

use crate::commands::CommandTable;
use crate::config::{ClientClass, Config, ObufLimit};
use crate::keyspace::Keyspace;
use crate::net::client::ClientHandle;
use crate::net::worker::WorkerHandle;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub const REDIS_VERSION: &str = "7.0.15";
pub const FERRODIS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Config values read on hot paths, refreshed after every CONFIG SET.
#[derive(Default)]
pub struct Hot {
    pub proto_max_bulk_len: AtomicI64,
    pub query_buffer_limit: AtomicU64,
    pub maxclients: AtomicU64,
    pub timeout: AtomicU64,
    pub requirepass: RwLock<Option<Vec<u8>>>,
    pub has_password: AtomicBool,
    pub slowlog_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicU64,
    pub latency_threshold: AtomicU64,
    pub hz: AtomicU32,
    pub active_expire: AtomicBool,
    pub obuf: RwLock<[(u64, u64, u64); 3]>,
    /// The hard limits of `obuf` (normal, replica, pubsub), read after every command.
    pub obuf_hard: [AtomicU64; 3],
    pub protected_mode: AtomicBool,
    pub debug_command: RwLock<String>,
    pub tcp_keepalive: AtomicU64,
    pub notify_flags: AtomicU32,
    pub latency_tracking: AtomicBool,
    /// maxmemory-policy as Redis's flag value (see `keyspace::lru::POLICY_FLAG_*`).
    pub maxmemory_policy: AtomicU32,
    /// maxmemory in bytes (0: no limit), read before every command (`evict`).
    pub maxmemory: AtomicU64,
    pub lfu_log_factor: AtomicU32,
    pub lfu_decay_time: AtomicU32,
    /// lazyfree-lazy-user-del / -expire / -server-del.
    pub lazy_user_del: AtomicBool,
    pub lazy_expire: AtomicBool,
    pub lazy_server_del: AtomicBool,
    pub min_replicas_to_write: AtomicI64,
    pub tracking_max_keys: AtomicU64,
}

impl Hot {
    #[inline]
    pub fn active_expire_enabled(&self) -> bool {
        self.active_expire.load(Relaxed)
    }

    /// How key access clocks are kept (LRU or LFU), for `keyspace::lru`.
    #[inline]
    pub fn lru_policy(&self) -> crate::keyspace::lru::Policy {
        crate::keyspace::lru::Policy {
            lfu: self.maxmemory_policy.load(Relaxed) & crate::keyspace::lru::POLICY_FLAG_LFU != 0,
            log_factor: self.lfu_log_factor.load(Relaxed),
            decay_time: self.lfu_decay_time.load(Relaxed),
        }
    }
}

#[derive(Default)]
pub struct Stats {
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_keys: AtomicU64,
    /// f64 bits of the estimated fraction (0..1) of volatile keys already logically
    /// expired (INFO `expired_stale_perc` shows it x100).
    pub expired_stale_perc: AtomicU64,
    pub expired_time_cap_reached_count: AtomicU64,
    /// Microseconds spent in active expiry (INFO `expire_cycle_cpu_milliseconds`).
    pub expire_cycle_us: AtomicU64,
    pub evicted_keys: AtomicU64,
    pub reply_buffer_shrinks: AtomicU64,
    pub reply_buffer_expands: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub total_error_replies: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub client_qbuf_limit_disconnections: AtomicU64,
    pub client_outbuf_limit_disconnections: AtomicU64,
    pub io_reads: AtomicU64,
    pub io_writes: AtomicU64,
}

pub struct SlowlogEntry {
    pub id: u64,
    pub time: i64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: String,
}

#[derive(Default)]
pub struct Slowlog {
    pub next_id: u64,
    pub entries: VecDeque<SlowlogEntry>,
}

#[derive(Default, Clone)]
pub struct LatencyEvent {
    /// (unix seconds, latency ms) samples, at most 160.
    pub samples: VecDeque<(i64, u64)>,
    pub max: u64,
}

pub struct Server {
    pub config: RwLock<Config>,
    pub hot: Hot,
    pub keyspace: Keyspace,
    pub table: CommandTable,
    pub clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    pub nclients: AtomicUsize,
    pub next_client_id: AtomicU64,
    pub stats: Stats,
    /// Per command-error-prefix counters (INFO errorstats).
    pub error_stats: Mutex<BTreeMap<String, u64>>,
    pub started: Instant,
    pub start_unix: i64,
    pub workers: OnceLock<Vec<Arc<WorkerHandle>>>,
    pub shutdown_requested: AtomicBool,
    /// A shutdown waits for lagging replicas: writes are held (`crate::shutdown`).
    pub shutdown_pause: AtomicBool,
    pub monitors: Mutex<Vec<Arc<ClientHandle>>>,
    pub monitor_count: AtomicUsize,
    pub slowlog: Mutex<Slowlog>,
    pub latency: Mutex<BTreeMap<String, LatencyEvent>>,
    pub dirty: AtomicU64,
    pub lastsave: AtomicI64,
    /// CLIENT PAUSE: unix ms until which clients are paused (0 = not paused), and whether
    /// every command is held (ALL) or only those that may be replicated (WRITE).
    pub pause_until: AtomicI64,
    pub pause_all: AtomicBool,
    pub run_id: String,
    pub tcp_port: AtomicU32,
    pub executable: String,
    pub stat_peak_memory: AtomicU64,
    pub cron_loops: AtomicU64,
    /// State of the server commands (INFO metrics, replication ids, DEBUG switches).
    pub introspect: crate::commands::server_cmds::Introspect,
    pub pubsub: crate::pubsub::PubSub,
    /// Lua scripting engines, script cache, function libraries, the running script.
    pub scripting: crate::scripting::Scripting,
    pub persist: crate::persist::PersistState,
    /// The ordered stream of write effects (AOF, replicas).
    pub wstream: crate::wstream::WriteStream,
    /// The replica side of replication (REPLICAOF).
    pub repl: crate::replica::ReplicaState,
    /// The append-only file, when enabled.
    pub aof: crate::persist::aof::Aof,
    /// A weak reference to the `Arc` this server lives in (for background threads).
    pub me: OnceLock<std::sync::Weak<Server>>,
    /// Clients blocked by BLPOP & co (see `crate::blocking`).
    pub blocking: crate::blocking::Registry,
    /// ACL users, rules and log (`crate::acl`).
    pub acl: crate::acl::Acl,
    /// Client-side caching tables (see `crate::tracking`).
    pub tracking: crate::tracking::Tracking,
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Unix time in ms of a monotonic reading (`util::clock::mono_ns`), without another clock
/// read: the dispatcher reads the clock once per command and uses that reading both for
/// the command's duration and as its notion of "now" (expiry). The offset between the
/// monotonic and the wall clock is re-taken by `resync_clock` (every cron tick), so a
/// wall-clock step is followed within one tick, and slewing drifts by microseconds at
/// most in between.
pub fn ms_at(mono_ns: u64) -> i64 {
    let mut off = CLOCK_OFFSET_US.load(std::sync::atomic::Ordering::Relaxed);
    if off == i64::MIN {
        off = resync_clock();
    }
    ((mono_ns / 1000) as i64 + off).div_euclid(1000)
}

/// Re-take the wall-clock offset used by `ms_at` (and re-anchor the command clock);
/// returns the offset.
pub fn resync_clock() -> i64 {
    crate::util::clock::recalibrate();
    let mono = crate::util::clock::mono_us() as i64;
    let off = now_us() - mono;
    CLOCK_OFFSET_US.store(off, std::sync::atomic::Ordering::Relaxed);
    off
}

static CLOCK_OFFSET_US: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MIN);

pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..n).map(|_| format!("{:x}", r.gen_range(0..16u8))).collect()
}

impl Server {
    pub fn new(config: Config, nshards: usize) -> Server {
        crate::util::clock::init();
        let ndbs = config.get_i64("databases").max(1) as usize;
        let table = CommandTable::build_renamed(&config.rename_commands());
        let acl = crate::acl::Acl::new(&table);
        let srv = Server {
            keyspace: Keyspace::new(ndbs, nshards),
            table,
            acl,
            hot: Hot::default(),
            config: RwLock::new(config),
            clients: Mutex::new(BTreeMap::new()),
            nclients: AtomicUsize::new(0),
            next_client_id: AtomicU64::new(1),
            stats: Stats::default(),
            error_stats: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
            start_unix: now_ms() / 1000,
            workers: OnceLock::new(),
            shutdown_requested: AtomicBool::new(false),
            shutdown_pause: AtomicBool::new(false),
            monitors: Mutex::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            slowlog: Mutex::new(Slowlog::default()),
            latency: Mutex::new(BTreeMap::new()),
            dirty: AtomicU64::new(0),
            lastsave: AtomicI64::new(now_ms() / 1000),
            pause_until: AtomicI64::new(0),
            pause_all: AtomicBool::new(false),
            run_id: random_hex(40),
            tcp_port: AtomicU32::new(0),
            executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            stat_peak_memory: AtomicU64::new(0),
            cron_loops: AtomicU64::new(0),
            introspect: Default::default(),
            pubsub: Default::default(),
            scripting: crate::scripting::Scripting::new(),
            persist: crate::persist::PersistState::new(),
            wstream: Default::default(),
            repl: Default::default(),
            aof: Default::default(),
            me: OnceLock::new(),
            blocking: Default::default(),
            tracking: Default::default(),
        };
        srv.hot.active_expire.store(true, Relaxed);
        srv.refresh_hot();
        srv
    }

    /// Mirror hot config values into atomics (call after any config change).
    pub fn refresh_hot(&self) {
        let c = self.config.read();
        crate::types::set_limits(&c);
        let h = &self.hot;
        h.proto_max_bulk_len.store(c.get_i64("proto-max-bulk-len"), Relaxed);
        h.query_buffer_limit.store(c.get_i64("client-query-buffer-limit") as u64, Relaxed);
        h.maxclients.store(c.get_i64("maxclients") as u64, Relaxed);
        h.timeout.store(c.get_i64("timeout") as u64, Relaxed);
        let pass = c.requirepass();
        crate::acl::LOG_MAX_LEN.store(c.get_i64("acllog-max-len").max(0) as u64, Relaxed);
        crate::acl::PUBSUB_DEFAULT_ALL.store(c.get_i64("acl-pubsub-default") != 0, Relaxed);
        // requirepass is the default user's password (Redis's ACLUpdateDefaultUserPassword)
        self.acl.sync_requirepass(pass.clone());
        h.has_password.store(self.acl.default_needs_auth(), Relaxed);
        *h.requirepass.write() = pass;
        h.slowlog_slower_than.store(c.get_i64("slowlog-log-slower-than"), Relaxed);
        h.slowlog_max_len.store(c.get_i64("slowlog-max-len") as u64, Relaxed);
        h.latency_threshold.store(c.get_i64("latency-monitor-threshold") as u64, Relaxed);
        h.hz.store(c.get_i64("hz").clamp(1, 500) as u32, Relaxed);
        h.protected_mode.store(c.get_bool("protected-mode"), Relaxed);
        *h.debug_command.write() = c.get_str("enable-debug-command");
        h.tcp_keepalive.store(c.get_i64("tcp-keepalive") as u64, Relaxed);
        h.notify_flags.store(c.notify_keyspace_events(), Relaxed);
        h.latency_tracking.store(c.get_bool("latency-tracking"), Relaxed);
        self.wstream.set_timestamps(c.get_bool("aof-timestamp-enabled"));
        self.wstream.set_backlog_size(c.get_i64("repl-backlog-size"));
        h.maxmemory_policy.store(c.get_i64("maxmemory-policy") as u32, Relaxed);
        let maxmemory = c.get_i64("maxmemory").max(0) as u64;
        h.maxmemory.store(maxmemory, Relaxed);
        crate::evict::set_limit(maxmemory);
        if maxmemory > 0 {
            // CONFIG SET maxmemory (or -policy) under the current usage evicts at once
            crate::evict::schedule();
        }
        h.lfu_log_factor.store(c.get_i64("lfu-log-factor").clamp(0, u32::MAX as i64) as u32, Relaxed);
        h.lfu_decay_time.store(c.get_i64("lfu-decay-time").clamp(0, u32::MAX as i64) as u32, Relaxed);
        h.lazy_user_del.store(c.get_bool("lazyfree-lazy-user-del"), Relaxed);
        h.lazy_expire.store(c.get_bool("lazyfree-lazy-expire"), Relaxed);
        h.lazy_server_del.store(c.get_bool("lazyfree-lazy-server-del"), Relaxed);
        h.min_replicas_to_write.store(c.get_i64("min-replicas-to-write"), Relaxed);
        h.tracking_max_keys.store(c.get_i64("tracking-table-max-keys").max(0) as u64, Relaxed);
        let o = |cl| {
            let ObufLimit { hard, soft, soft_seconds } = c.obuf_limit(cl);
            (hard, soft, soft_seconds)
        };
        let limits = [o(ClientClass::Normal), o(ClientClass::Replica), o(ClientClass::Pubsub)];
        for (a, l) in h.obuf_hard.iter().zip(&limits) {
            a.store(l.0, Relaxed);
        }
        *h.obuf.write() = limits;
    }

    /// Wrap in an `Arc` and remember it (background threads need an owned handle).
    pub fn into_arc(self) -> Arc<Server> {
        let a = Arc::new(self);
        let _ = a.me.set(Arc::downgrade(&a));
        a
    }

    /// The `Arc` this server lives in.
    pub fn arc(&self) -> Arc<Server> {
        self.me.get().and_then(|w| w.upgrade()).expect("server created with into_arc")
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Record an error reply for INFO errorstats (the prefix is the first word).
    pub fn count_error(&self, msg: &str) {
        self.stats.total_error_replies.fetch_add(1, Relaxed);
        let prefix = msg.split(' ').next().unwrap_or("ERR");
        let mut es = self.error_stats.lock();
        if let Some(v) = es.get_mut(prefix) {
            *v += 1;
        } else if es.len() < 128 {
            es.insert(prefix.to_string(), 1);
        }
    }

    /// Add a latency sample if it crosses the threshold (LATENCY monitor).
    #[inline]
    pub fn latency_add(&self, event: &str, ms: u64) {
        let th = self.hot.latency_threshold.load(Relaxed);
        if th == 0 || ms < th {
            return;
        }
        self.latency_record(event, ms);
    }

    #[cold]
    fn latency_record(&self, event: &str, ms: u64) {
        let now = now_ms() / 1000;
        let mut l = self.latency.lock();
        let ev = l.entry(event.to_string()).or_default();
        if let Some(last) = ev.samples.back_mut() {
            if last.0 == now {
                last.1 = last.1.max(ms);
                ev.max = ev.max.max(ms);
                return;
            }
        }
        ev.samples.push_back((now, ms));
        if ev.samples.len() > 160 {
            ev.samples.pop_front();
        }
        ev.max = ev.max.max(ms);
    }

    /// The server is in its common state, where a plain command from a plain client needs
    /// none of the dispatcher's refusals, holds or side paths (`dispatch::lean_command`):
    /// no tracking clients, no script running, no maxmemory or min-replicas limit, not a
    /// replica, not starting or loading, not paused, no MONITOR.
    #[inline]
    pub fn dispatch_quiet(&self) -> bool {
        self.tracking.clients() == 0
            && !self.scripting.is_running()
            && self.hot.maxmemory.load(Relaxed) == 0
            && self.hot.min_replicas_to_write.load(Relaxed) == 0
            && !self.repl.is_replica()
            && !self.persist.starting.load(Relaxed)
            && !self.persist.loading.load(Relaxed)
            && !self.shutdown_pause.load(Relaxed)
            && (self.pause_until.load(Relaxed) == 0 || self.paused().is_none())
            && self.monitor_count.load(Relaxed) == 0
    }

    /// Is a CLIENT PAUSE in effect? Some(true) when every command is held, Some(false)
    /// when only writes are.
    /// A shutdown waiting for its replicas holds the writes too.
    #[inline]
    pub fn paused(&self) -> Option<bool> {
        let until = self.pause_until.load(Relaxed);
        if until == 0 || now_ms() >= until {
            return if self.shutdown_pause.load(Relaxed) { Some(false) } else { None };
        }
        Some(self.pause_all.load(Relaxed))
    }

    /// Take a client out of the registry (CLIENT LIST / KILL, MONITOR, connected_clients).
    /// Returns false if it was already out: whoever removes it first does the accounting.
    pub fn unregister_client(&self, h: &ClientHandle) -> bool {
        if self.clients.lock().remove(&h.id).is_none() {
            return false;
        }
        if h.has_flag(crate::net::client::cflags::MONITOR) {
            let mut m = self.monitors.lock();
            m.retain(|x| x.id != h.id);
            self.monitor_count.store(m.len(), Relaxed);
        }
        self.nclients.fetch_sub(1, Relaxed);
        true
    }

    pub fn wake_all_workers(&self) {
        if let Some(ws) = self.workers.get() {
            for w in ws {
                w.wake();
            }
        }
    }
}

/// Process resident set size in bytes (from /proc/self/statm).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// Process CPU times (user, sys) in seconds.
pub fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage fills the struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        (t(ru.ru_utime), t(ru.ru_stime))
    }
}
