//! Server commands: INFO, CONFIG, TIME, LASTSAVE, SHUTDOWN, MEMORY; the state they keep
//! (`Introspect`: instantaneous metrics, replication ids, DEBUG switches); and the hooks
//! other modules call (cron sampling, `used_memory`).

use super::introspection::{cmd_histogram, cmd_totals, commands_in_order, reset_cmd_stats};
use super::{arg_i64, eq_ic, reply_help, Ctx, Registration, SYNTAX_ERR};
use crate::config::SetContext;
use crate::keyspace::LockSet;
use crate::log;
use crate::net::client::cflags;
use crate::server::{now_ms, now_us, rss_bytes, Server, FERRODIS_VERSION, REDIS_VERSION};
use parking_lot::Mutex;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

pub const COMMANDS: &[Registration] = &[
    ("info", info, 0),
    ("config|get", config_get, 0),
    ("config|set", config_set, 0),
    ("config|resetstat", config_resetstat, 0),
    ("config|rewrite", config_rewrite, 0),
    ("config|help", config_help, 0),
    ("time", time, 0),
    ("lastsave", lastsave, 0),
    ("shutdown", shutdown, 0),
    ("memory|usage", memory_usage, 0),
    ("memory|stats", memory_stats, 0),
    ("memory|doctor", memory_doctor, 0),
    ("memory|malloc-stats", memory_malloc_stats, 0),
    ("memory|purge", memory_purge, 0),
    ("memory|help", memory_help, 0),
    ("lolwut", lolwut, 0),
];

/// LOLWUT [VERSION v] [...]: the 7.0 output (the version line, a verbatim string). The
/// art of versions 5 and 6 is not drawn: they get the same line.
fn lolwut(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() >= 3 && eq_ic(argv[1], "version") && arg_i64(ctx, argv[2]).is_none() {
        return;
    }
    ctx.out.verbatim(format!("Redis ver. {REDIS_VERSION}\n").as_bytes(), "txt");
}

// ---------------------------------------------------------------------------------------
// State

/// INFO's instantaneous_* metrics: a rate sampled every 100 ms, averaged over 16 samples
/// (Redis trackInstantaneousMetric / getInstantaneousMetric).
#[derive(Default, Clone, Copy)]
struct Metric {
    samples: [u64; 16],
    idx: usize,
    last_time: i64,
    last_count: u64,
}

impl Metric {
    fn track(&mut self, count: u64, now: i64) {
        let dt = now - self.last_time;
        let rate = if dt > 0 {
            count.saturating_sub(self.last_count) * 1000 / dt as u64
        } else {
            0
        };
        self.samples[self.idx] = rate;
        self.idx = (self.idx + 1) % self.samples.len();
        self.last_time = now;
        self.last_count = count;
    }

    fn get(&self) -> u64 {
        self.samples.iter().sum::<u64>() / self.samples.len() as u64
    }
}

const M_OPS: usize = 0;
const M_NET_IN: usize = 1;
const M_NET_OUT: usize = 2;

pub struct Introspect {
    metrics: Mutex<[Metric; 3]>,
    /// master_replid / master_replid2 (INFO replication, DEBUG CHANGE-REPL-ID).
    pub replid: Mutex<(String, String)>,
    /// used_memory right after start-up (INFO used_memory_startup).
    pub startup_memory: AtomicU64,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD: list elements at least this big get their own node.
    pub quicklist_packed_threshold: AtomicU64,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION.
    pub skip_checksum_validation: AtomicBool,
    /// DEBUG PAUSE-CRON: the server cron does nothing while set.
    pub cron_paused: AtomicBool,
    /// DEBUG REPLYBUFFER PEAK-RESET-TIME (ms; -1 = never) and RESIZING: how the client
    /// cron sizes reply buffers (`net::worker`).
    pub reply_peak_reset_ms: std::sync::atomic::AtomicI64,
    pub reply_resizing: AtomicBool,
}

/// Redis's REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME.
pub const REPLY_PEAK_RESET_DEFAULT_MS: i64 = 5000;

fn random_hex40() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(r.gen_range(0..16), 16).unwrap())
        .collect()
}

impl Default for Introspect {
    fn default() -> Self {
        Introspect {
            metrics: Mutex::new(
                [Metric {
                    last_time: now_ms(),
                    ..Default::default()
                }; 3],
            ),
            replid: Mutex::new((random_hex40(), "0".repeat(40))),
            startup_memory: AtomicU64::new(0),
            quicklist_packed_threshold: AtomicU64::new(1 << 30),
            skip_checksum_validation: AtomicBool::new(false),
            cron_paused: AtomicBool::new(false),
            reply_peak_reset_ms: std::sync::atomic::AtomicI64::new(REPLY_PEAK_RESET_DEFAULT_MS),
            reply_resizing: AtomicBool::new(true),
        }
    }
}

impl Introspect {
    /// A new replication id; the secondary one is cleared (Redis changeReplicationId +
    /// clearReplicationId2).
    pub fn change_replication_id(&self) {
        *self.replid.lock() = (random_hex40(), "0".repeat(40));
    }

    fn reset_metrics(&self) {
        *self.metrics.lock() = [Metric {
            last_time: now_ms(),
            ..Default::default()
        }; 3];
    }
}

/// Sample counters for INFO's instantaneous_* fields and the memory peak (called by the
/// cron; samples are taken at most every 100 ms, whatever `hz` is).
pub fn sample_ops(srv: &Server) {
    let now = now_ms();
    let mut m = srv.introspect.metrics.lock();
    if now - m[M_OPS].last_time < 100 {
        return;
    }
    let st = &srv.stats;
    m[M_OPS].track(crate::commands::introspection::total_calls(srv), now);
    m[M_NET_IN].track(st.net_input_bytes.load(Relaxed), now);
    m[M_NET_OUT].track(st.net_output_bytes.load(Relaxed), now);
    drop(m);
    srv.stat_peak_memory.fetch_max(used_memory(), Relaxed);
}

/// Pub/sub counts for INFO stats: (channels, patterns, shard channels).
fn pubsub_counts(srv: &Server) -> (usize, usize, usize) {
    let ps = &srv.pubsub;
    (ps.channels(false, None).len(), ps.numpat(), ps.channels(true, None).len())
}

/// The server's allocated bytes (the counting allocator), or its RSS when the allocator
/// is not installed.
pub fn used_memory() -> u64 {
    match crate::util::alloc::used_memory() {
        0 => rss_bytes(),
        n => n,
    }
}

// ---------------------------------------------------------------------------------------
// INFO

/// Which INFO sections a call asked for (Redis genInfoSectionDict).
struct Sections {
    all: bool,
    everything: bool,
    names: Vec<String>,
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

impl Sections {
    fn parse(args: &[&[u8]]) -> Sections {
        let mut s = Sections {
            all: false,
            everything: false,
            names: Vec::new(),
        };
        if args.is_empty() {
            s.names = DEFAULT_SECTIONS.iter().map(|n| n.to_string()).collect();
        }
        for a in args {
            let n = String::from_utf8_lossy(a).to_ascii_lowercase();
            match n.as_str() {
                "default" => s
                    .names
                    .extend(DEFAULT_SECTIONS.iter().map(|n| n.to_string())),
                "all" => s.all = true,
                "everything" => {
                    s.all = true;
                    s.everything = true
                }
                _ => s.names.push(n),
            }
        }
        s
    }

    fn wants(&self, name: &str) -> bool {
        self.all || self.names.iter().any(|n| n == name)
    }
}

/// Redis bytesToHuman.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (div, unit)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || n < UNITS[i + 1].0 {
            return format!("{:.2}{unit}", n as f64 / *div as f64);
        }
    }
    format!("{n}B")
}

/// INFO field names and values must not break the `name:value\r\n` format.
fn info_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '#' | ':' | '\n' | '\r') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Memory figures shared by INFO memory, MEMORY STATS and MEMORY DOCTOR (a
/// getMemoryOverheadData equivalent).
struct MemOverhead {
    used: u64,
    rss: u64,
    peak: u64,
    startup: u64,
    clients_normal: u64,
    clients_slaves: u64,
    /// Per non-empty db: (index, main table overhead, expires table overhead).
    dbs: Vec<(usize, u64, u64)>,
    overhead: u64,
    dataset: u64,
    keys: u64,
}

impl MemOverhead {
    fn compute(ctx: &Ctx) -> MemOverhead {
        let srv = ctx.srv;
        let used = used_memory();
        let rss = rss_bytes();
        let peak = srv.stat_peak_memory.fetch_max(used, Relaxed).max(used);
        let startup = srv.introspect.startup_memory.load(Relaxed);
        let (mut clients_normal, mut clients_slaves) = (0u64, 0u64);
        for h in srv.clients.lock().values() {
            let mem = (h.omem.load(Relaxed) + h.qbuf.load(Relaxed)) as u64;
            if h.has_flag(cflags::REPLICA) {
                clients_slaves += mem;
            } else {
                clients_normal += mem;
            }
        }
        let mut dbs = Vec::new();
        let mut keys = 0u64;
        for dbi in 0..srv.keyspace.ndbs {
            let (mut n, mut slots, mut expires) = (0u64, 0u64, 0u64);
            for s in ctx.ks.locks.iter() {
                let db = &s.dbs[dbi];
                n += db.len() as u64;
                slots += db.dict.slots() as u64;
                expires += db.expires_len() as u64;
            }
            if n > 0 {
                keys += n;
                // Entry headers and bucket pointers; expire table slots and deadlines.
                dbs.push((dbi, n * 40 + slots * 8, expires * 32));
            }
        }
        let overhead =
            startup + clients_normal + clients_slaves + dbs.iter().map(|d| d.1 + d.2).sum::<u64>();
        MemOverhead {
            used,
            rss,
            peak,
            startup,
            clients_normal,
            clients_slaves,
            dbs,
            overhead,
            dataset: used.saturating_sub(overhead),
            keys,
        }
    }

    fn net_usage(&self) -> u64 {
        self.used.saturating_sub(self.startup).max(1)
    }

    fn dataset_perc(&self) -> f32 {
        self.dataset as f32 * 100.0 / self.net_usage() as f32
    }

    fn peak_perc(&self) -> f32 {
        self.used as f32 * 100.0 / self.peak.max(1) as f32
    }

    fn frag(&self) -> f32 {
        self.rss as f32 / self.used.max(1) as f32
    }
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages.max(0) as u64) * (size.max(0) as u64)
}

fn uname() -> String {
    // SAFETY: uname fills the struct; the fields are NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "Linux".into();
        }
        let f = |b: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(b.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
    }
}

fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage fills the struct.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let f = |tv: libc::timeval| format!("{}.{:06}", tv.tv_sec, tv.tv_usec);
    (f(ru.ru_stime), f(ru.ru_utime))
}

/// The INFO text for the requested sections (Redis genRedisInfoString).
fn gen_info(ctx: &Ctx, want: &Sections) -> String {
    let srv = ctx.srv;
    let mut sections: Vec<String> = Vec::new();
    let cfg = srv.config.read();
    let uptime = srv.uptime_secs();
    if want.wants("server") {
        let mut s = String::from("# Server\r\n");
        let _ = write!(
            s,
            "redis_version:{REDIS_VERSION}\r\nferrodis_version:{FERRODIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
            uname(),
            std::process::id(),
            srv.run_id,
            srv.tcp_port.load(Relaxed),
            now_us(),
            uptime / 86400,
            srv.hot.hz.load(Relaxed),
            cfg.get_i64("hz"),
            (now_ms() / 1000) & 0xFF_FFFF,
            srv.executable,
            cfg.config_file().unwrap_or(""),
        );
        if let Some(deadline) = crate::shutdown::deadline_ms() {
            let _ = write!(s, "shutdown_in_milliseconds:{}\r\n", deadline - now_ms());
        }
        sections.push(s);
    }
    if want.wants("clients") {
        let (mut n, mut blocked, mut tracking, mut replicas, mut max_in, mut max_out) =
            (0, 0, 0, 0, 0, 0);
        for h in srv.clients.lock().values() {
            n += 1;
            blocked += h.has_flag(cflags::BLOCKED) as usize;
            tracking += h.has_flag(cflags::TRACKING) as usize;
            replicas += h.has_flag(cflags::REPLICA) as usize;
            max_in = max_in.max(h.qbuf.load(Relaxed));
            max_out = max_out.max(h.omem.load(Relaxed));
        }
        sections.push(format!(
            "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{max_in}\r\nclient_recent_max_output_buffer:{max_out}\r\nblocked_clients:{blocked}\r\ntracking_clients:{tracking}\r\nclients_in_timeout_table:{blocked}\r\n",
            n - replicas,
            cfg.get_i64("maxclients"),
        ));
    }
    if want.wants("memory") {
        let m = MemOverhead::compute(ctx);
        let maxmemory = cfg.get_i64("maxmemory") as u64;
        let sysmem = total_system_memory();
        let mut s = String::from("# Memory\r\n");
        let _ = write!(
            s,
            "used_memory:{}\r\nused_memory_human:{}\r\nused_memory_rss:{}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{}\r\nused_memory_dataset_perc:{:.2}%\r\n",
            m.used,
            bytes_to_human(m.used),
            m.rss,
            bytes_to_human(m.rss),
            m.peak,
            bytes_to_human(m.peak),
            m.peak_perc(),
            m.overhead,
            m.startup,
            m.dataset,
            m.dataset_perc(),
        );
        let sc = ctx.srv.scripting.memory_info();
        let _ = write!(
            s,
            "allocator_allocated:{}\r\nallocator_active:{}\r\nallocator_resident:{}\r\ntotal_system_memory:{sysmem}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:{}\r\nused_memory_vm_eval:{}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:{}\r\nnumber_of_cached_scripts:{}\r\nnumber_of_functions:{}\r\nnumber_of_libraries:{}\r\nused_memory_vm_functions:{}\r\nused_memory_vm_total:{}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:{}\r\nused_memory_scripts:{}\r\nused_memory_scripts_human:{}\r\nmaxmemory:{maxmemory}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n",
            m.used,
            m.used,
            m.rss,
            bytes_to_human(sysmem),
            sc.vm_eval,
            sc.vm_eval,
            bytes_to_human(sc.vm_eval),
            sc.scripts_eval,
            sc.cached_scripts,
            sc.number_of_functions,
            sc.number_of_libraries,
            sc.vm_functions,
            sc.vm_eval + sc.vm_functions,
            bytes_to_human(sc.vm_eval + sc.vm_functions),
            sc.functions,
            sc.scripts_eval + sc.functions,
            bytes_to_human(sc.scripts_eval + sc.functions),
            bytes_to_human(maxmemory),
            cfg.get_str("maxmemory-policy"),
        );
        let rss_over = m.rss as i64 - m.used as i64;
        let _ = write!(
            s,
            "allocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{rss_over}\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{rss_over}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:{}\r\nmem_total_replication_buffers:{}\r\nmem_clients_slaves:{}\r\nmem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:{}\r\nlazyfreed_objects:{}\r\n",
            m.frag(),
            m.frag(),
            srv.wstream.backlog_info().map_or(0, |b| b.1),
            srv.wstream.pending_replica_bytes(),
            m.clients_slaves,
            m.clients_normal,
            crate::keyspace::lazyfree::PENDING.load(Relaxed),
            crate::keyspace::lazyfree::FREED.load(Relaxed),
        );
        sections.push(s);
    }
    if want.wants("persistence") {
        sections.push(crate::persist::info_section(srv));
    }
    if want.wants("stats") {
        let st = &srv.stats;
        let m = *srv.introspect.metrics.lock();
        let (channels, patterns, shard_channels) = pubsub_counts(srv);
        let mut s = String::from("# Stats\r\n");
        let _ = write!(
            s,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
            st.total_connections.load(Relaxed),
            crate::commands::introspection::total_calls(srv),
            m[M_OPS].get(),
            st.net_input_bytes.load(Relaxed),
            st.net_output_bytes.load(Relaxed),
            m[M_NET_IN].get() as f32 / 1024.0,
            m[M_NET_OUT].get() as f32 / 1024.0,
            st.rejected_connections.load(Relaxed),
            srv.repl.sync_full.load(Relaxed),
            srv.repl.sync_partial_ok.load(Relaxed),
            srv.repl.sync_partial_err.load(Relaxed),
            st.expired_keys.load(Relaxed),
            f64::from_bits(st.expired_stale_perc.load(Relaxed)) * 100.0,
            st.expired_time_cap_reached_count.load(Relaxed),
            st.expire_cycle_us.load(Relaxed) / 1000,
            st.evicted_keys.load(Relaxed),
            st.keyspace_hits.load(Relaxed),
            st.keyspace_misses.load(Relaxed),
        );
        let _ = write!(
            s,
            "pubsub_channels:{channels}\r\npubsub_patterns:{patterns}\r\npubsubshard_channels:{shard_channels}\r\nlatest_fork_usec:{}\r\ntotal_forks:{}\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:{}\r\nreply_buffer_expands:{}\r\n",
            srv.persist.latest_fork_usec.load(Relaxed),
            srv.persist.total_forks.load(Relaxed),
            srv.tracking.total_keys(),
            srv.tracking.total_items(),
            srv.tracking.total_prefixes(),
            st.unexpected_error_replies.load(Relaxed),
            st.total_error_replies.load(Relaxed),
            st.io_reads.load(Relaxed),
            st.io_writes.load(Relaxed),
            st.reply_buffer_shrinks.load(Relaxed),
            st.reply_buffer_expands.load(Relaxed),
        );
        sections.push(s);
    }
    if want.wants("replication") {
        let (id1, id2) = srv.introspect.replid.lock().clone();
        let replicas = srv
            .clients
            .lock()
            .values()
            .filter(|h| h.has_flag(cflags::REPLICA))
            .count();
        let mut slaves = String::new();
        let offset = srv.wstream.offset.load(Relaxed);
        let now_secs = now_ms() / 1000;
        for (i, r) in srv.wstream.replicas().iter().enumerate() {
            let ip = r.client.addr.rsplit_once(':').map_or(r.client.addr.as_str(), |(ip, _)| ip);
            let st = &r.state;
            let _ = write!(
                slaves,
                "slave{i}:ip={ip},port={},state=online,offset={},lag={}\r\n",
                st.listening_port.load(Relaxed),
                st.ack_off.load(Relaxed),
                now_secs - st.ack_time.load(Relaxed),
            );
        }
        let r = &srv.repl;
        let mut role = String::from("role:master\r\n");
        if r.is_replica() {
            let (host, port) = r.master.lock().clone().unwrap_or_default();
            let up = r.link_up.load(Relaxed);
            let now = now_ms();
            let last_io = if up { (now - r.last_io_ms.load(Relaxed)) / 1000 } else { -1 };
            let off = r.offset.load(Relaxed).max(0);
            let read_off = r.read_offset.load(Relaxed).max(off);
            role = format!(
                "role:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{last_io}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{read_off}\r\nslave_repl_offset:{off}\r\n",
                if up { "up" } else { "down" },
                r.sync_in_progress.load(Relaxed) as i32,
            );
            if !up {
                let since = r.down_since_ms.load(Relaxed);
                let secs = if since == 0 { -1 } else { (now - since) / 1000 };
                let _ = write!(role, "master_link_down_since_seconds:{secs}\r\n");
            }
            let _ = write!(
                role,
                "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                cfg.get_i64("replica-priority"),
                cfg.get_bool("replica-read-only") as i32,
                cfg.get_bool("replica-announced") as i32,
            );
        }
        let second = r.second_offset.load(Relaxed);
        // (the stream offset moves only while a backlog exists, as Redis's)
        let backlog = srv.wstream.backlog_info();
        let (to_write, max_lag) = (cfg.get_i64("min-replicas-to-write"), cfg.get_i64("min-replicas-max-lag"));
        if to_write > 0 && max_lag > 0 {
            slaves.insert_str(0, &format!("min_slaves_good_slaves:{}\r\n", srv.wstream.good_replicas(max_lag)));
        }
        sections.push(format!(
            "# Replication\r\n{role}connected_slaves:{replicas}\r\n{slaves}master_failover_state:no-failover\r\nmaster_replid:{id1}\r\nmaster_replid2:{id2}\r\nmaster_repl_offset:{offset}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
            if second > 0 { second } else { -1 },
            backlog.is_some() as u8,
            cfg.get_i64("repl-backlog-size"),
            backlog.map_or(0, |b| b.0),
            backlog.map_or(0, |b| b.1),
        ));
    }
    if want.wants("cpu") {
        let (sys, user) = rusage(libc::RUSAGE_SELF);
        let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
        let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
        sections.push(format!(
            "# CPU\r\nused_cpu_sys:{sys}\r\nused_cpu_user:{user}\r\nused_cpu_sys_children:{csys}\r\nused_cpu_user_children:{cuser}\r\nused_cpu_sys_main_thread:{tsys}\r\nused_cpu_user_main_thread:{tuser}\r\n"
        ));
    }
    if want.wants("module_list") || want.wants("modules") {
        sections.push("# Modules\r\n".into());
    }
    if want.wants("commandstats") {
        let mut s = String::from("# Commandstats\r\n");
        for c in commands_in_order(srv) {
            let t = cmd_totals(srv, c.id);
            if t.calls > 0 || t.failed > 0 || t.rejected > 0 {
                let per_call = if t.calls == 0 {
                    0.0
                } else {
                    t.usec as f32 / t.calls as f32
                };
                let _ = write!(
                    s,
                    "cmdstat_{}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                    info_safe(&c.name),
                    t.calls,
                    t.usec,
                    t.rejected,
                    t.failed
                );
            }
        }
        sections.push(s);
    }
    if want.wants("errorstats") {
        let mut s = String::from("# Errorstats\r\n");
        for (name, count) in srv.error_stats.lock().iter() {
            let _ = write!(s, "errorstat_{}:count={count}\r\n", info_safe(name));
        }
        sections.push(s);
    }
    if want.wants("latencystats") {
        let mut s = String::from("# Latencystats\r\n");
        if srv.hot.latency_tracking.load(Relaxed) {
            let percentiles = cfg.latency_tracking_info_percentiles();
            for c in commands_in_order(srv) {
                let Some(h) = cmd_histogram(srv, c.id) else {
                    continue;
                };
                let parts: Vec<String> = percentiles
                    .iter()
                    .map(|&p| {
                        format!(
                            "p{}={:.3}",
                            trim_double(p),
                            h.value_at_percentile(p) as f64 / 1000.0
                        )
                    })
                    .collect();
                let _ = write!(
                    s,
                    "latency_percentiles_usec_{}:{}\r\n",
                    info_safe(&c.name),
                    parts.join(",")
                );
            }
        }
        sections.push(s);
    }
    if want.wants("cluster") {
        sections.push(format!(
            "# Cluster\r\ncluster_enabled:{}\r\n",
            cfg.get_bool("cluster-enabled") as u8
        ));
    }
    if want.wants("keyspace") {
        let mut s = String::from("# Keyspace\r\n");
        for dbi in 0..srv.keyspace.ndbs {
            let (mut keys, mut expires, mut ttl_weighted) = (0usize, 0usize, 0i128);
            for sh in ctx.ks.locks.iter() {
                let db = &sh.dbs[dbi];
                keys += db.len();
                expires += db.expires_len();
                ttl_weighted += db.avg_ttl as i128 * db.expires_len() as i128;
            }
            if keys > 0 || expires > 0 {
                let avg_ttl = if expires > 0 {
                    ttl_weighted / expires as i128
                } else {
                    0
                };
                let _ = write!(
                    s,
                    "db{dbi}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n"
                );
            }
        }
        sections.push(s);
    }
    sections.join("\r\n")
}

/// printf("%f") with trailing zeros (and a trailing '.') removed: 50 -> "50", 99.9 -> "99.9".
fn trim_double(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let want = Sections::parse(&argv[1..]);
    let text = gen_info(ctx, &want);
    ctx.out.verbatim(text.as_bytes(), "txt");
}

// ---------------------------------------------------------------------------------------
// CONFIG

fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let vals = ctx.srv.config.read().get_many(&argv[2..]);
    ctx.out.map(vals.len());
    for (k, v) in vals {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(&v);
    }
}

fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 != 0 {
        return ctx.out.error(SYNTAX_ERR);
    }
    let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|c| (c[0], c[1])).collect();
    // Secret values never reach MONITOR or the slow log, even when the call fails.
    for (i, (name, _)) in pairs.iter().enumerate() {
        if crate::config::is_sensitive(name) {
            ctx.client.redact_arg(3 + 2 * i);
        }
    }
    let srv = ctx.srv;
    let set_ctx = SetContext {
        local_client: ctx.client.is_local,
        loading: false,
    };
    let old_dir = std::env::current_dir().ok();
    let (backup, changed) = {
        let mut cfg = srv.config.write();
        let backup = cfg.clone();
        match cfg.set_with(&pairs, set_ctx) {
            Ok(changed) => (backup, changed),
            Err(e) => return ctx.out.error(&e),
        }
    };
    if let Err((name, why)) = apply_config(srv, &changed, &mut ctx.ks.locks, ctx.client.in_exec) {
        *srv.config.write() = backup;
        if let Some(dir) = old_dir.filter(|d| std::env::current_dir().ok().as_ref() != Some(d)) {
            let _ = std::env::set_current_dir(dir);
        }
        srv.refresh_hot();
        return ctx.out.error(&format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ));
    }
    srv.refresh_hot();
    ctx.out.ok();
}

/// Side effects of changed directives (Redis's apply functions). Err = (name, reason).
fn apply_config(srv: &Server, changed: &[String], all: &mut LockSet, in_exec: bool) -> Result<(), (String, String)> {
    let has = |n: &str| changed.iter().any(|c| c == n);
    if has("appendonly") || has("appendfsync") {
        crate::persist::aof::apply_config(srv, all, in_exec);
    }
    if has("aof-disable-auto-gc") {
        crate::persist::aof::gc_history(srv);
    }
    if has("loglevel") {
        log::set_level(&srv.config.read().get_str("loglevel"));
    }
    if has("port") || has("bind") {
        let port = srv.config.read().get_i64("port") as u16;
        let fail = |name: &str, why: &str| {
            log::warning(&format!(
                "Failed applying new configuration. Possibly related to new {name} setting. Restoring previous settings."
            ));
            Err((name.to_string(), why.to_string()))
        };
        let listeners = if port == 0 {
            Ok(Vec::new())
        } else {
            crate::net::bind_all(srv, port)
        };
        match listeners {
            Ok(l) => {
                if let Some(w) = srv.workers.get().and_then(|w| w.first()) {
                    w.send(crate::net::worker::WakeMsg::Listeners(l));
                }
                srv.tcp_port.store(port as u32, Relaxed);
            }
            Err(e) => {
                log::warning(&e);
                return if has("port") {
                    fail("port", "Unable to listen on this port. Check server logs.")
                } else {
                    fail("bind", "Failed to bind to specified addresses.")
                };
            }
        }
    }
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let srv = ctx.srv;
    let st = &srv.stats;
    crate::keyspace::lazyfree::FREED.store(0, std::sync::atomic::Ordering::Relaxed);
    for a in [
        &st.total_connections,
        &st.rejected_connections,
        &st.expired_keys,
        &st.expired_stale_perc,
        &st.expired_time_cap_reached_count,
        &st.expire_cycle_us,
        &st.evicted_keys,
        &st.keyspace_hits,
        &st.keyspace_misses,
        &st.net_input_bytes,
        &st.net_output_bytes,
        &st.total_error_replies,
        &st.unexpected_error_replies,
        &st.io_reads,
        &st.io_writes,
        &srv.repl.sync_full,
        &srv.repl.sync_partial_ok,
        &srv.repl.sync_partial_err,
        &srv.persist.total_forks,
        &srv.aof.consecutive_failures,
        &srv.persist.latest_fork_usec,
    ] {
        a.store(0, Relaxed);
    }
    srv.introspect.reset_metrics();
    reset_cmd_stats(srv);
    srv.error_stats.lock().clear();
    ctx.out.ok();
}

fn config_rewrite(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let r = ctx.srv.config.read().rewrite();
    match r {
        Ok(()) => {
            log::warning("CONFIG REWRITE executed with success.");
            ctx.out.ok();
        }
        Err(e) => {
            if e.starts_with("ERR Rewriting") {
                log::warning(&format!(
                    "CONFIG REWRITE failed: {}",
                    e.trim_start_matches("ERR Rewriting config file: ")
                ));
            }
            ctx.out.error(&e);
        }
    }
}

fn config_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        argv[0],
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// TIME, LASTSAVE, SHUTDOWN

fn time(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let us = now_us();
    ctx.out.array(2);
    ctx.out.bulk_i64(us / 1_000_000);
    ctx.out.bulk_i64(us % 1_000_000);
}

fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.srv.lastsave.load(Relaxed));
}

fn shutdown(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut mode = crate::shutdown::Mode::default();
    let mut abort = false;
    for a in &argv[1..] {
        match String::from_utf8_lossy(a).to_ascii_lowercase().as_str() {
            "nosave" => mode.nosave = true,
            "save" => mode.save = true,
            "now" => mode.now = true,
            "force" => mode.force = true,
            "abort" => abort = true,
            _ => return ctx.out.error(SYNTAX_ERR),
        }
    }
    let any_flag = mode.nosave || mode.save || mode.now || mode.force;
    if (abort && any_flag) || (mode.nosave && mode.save) {
        return ctx.out.error(SYNTAX_ERR);
    }
    if abort {
        if crate::shutdown::abort(ctx.srv) {
            return ctx.out.ok();
        }
        return ctx.out.error("ERR No shutdown in progress.");
    }
    // Without NOW the caller may have to wait for the replicas: not inside MULTI/EXEC or
    // a script.
    if !mode.now && !crate::blocking::may_block(ctx) {
        return ctx.out.error("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
    }
    match crate::shutdown::shutdown_locked(ctx.srv, mode, &ctx.ks.locks) {
        Ok(crate::shutdown::Outcome::Exit) => std::process::exit(0),
        Ok(crate::shutdown::Outcome::Waiting) => {
            // answered only if the shutdown fails or is aborted
            let argv = argv.iter().map(|a| a.to_vec()).collect();
            crate::blocking::block(ctx, &[], 0, argv, |_, _, _, _| false, |_, out, _| out.error(crate::shutdown::FAILED_ERR));
            crate::shutdown::add_waiter(ctx.client.id);
        }
        Err(e) => ctx.out.error(&e),
    }
}

// ---------------------------------------------------------------------------------------
// MEMORY

fn memory_usage(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut j = 3;
    while j < argv.len() {
        if eq_ic(argv[j], "samples") && j + 1 < argv.len() {
            let Some(n) = arg_i64(ctx, argv[j + 1]) else {
                return;
            };
            if n < 0 {
                return ctx.out.error(SYNTAX_ERR);
            }
            j += 2;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
    }
    match ctx.ks.peek_entry(argv[2]) {
        None => ctx.out.null(),
        Some(e) => {
            let n = e.alloc_size() + e.value.heap_size();
            ctx.out.int(n as i64);
        }
    }
}

fn memory_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let m = MemOverhead::compute(ctx);
    let o = &mut *ctx.out;
    o.map(27 + m.dbs.len());
    let int = |o: &mut crate::protocol::ReplyBuf, k: &str, v: u64| {
        o.bulk(k.as_bytes());
        o.int(v as i64);
    };
    int(o, "peak.allocated", m.peak);
    int(o, "total.allocated", m.used);
    int(o, "startup.allocated", m.startup);
    int(o, "replication.backlog", 0);
    int(o, "clients.slaves", m.clients_slaves);
    int(o, "clients.normal", m.clients_normal);
    int(o, "cluster.links", 0);
    int(o, "aof.buffer", 0);
    int(o, "lua.caches", 0);
    int(o, "functions.caches", 0);
    for &(dbi, main, expires) in &m.dbs {
        o.bulk(format!("db.{dbi}").as_bytes());
        o.map(3);
        int(o, "overhead.hashtable.main", main);
        int(o, "overhead.hashtable.expires", expires);
        int(o, "overhead.hashtable.slot-to-keys", 0);
    }
    int(o, "overhead.total", m.overhead);
    int(o, "keys.count", m.keys);
    int(
        o,
        "keys.bytes-per-key",
        if m.keys > 0 {
            m.net_usage() / m.keys
        } else {
            0
        },
    );
    int(o, "dataset.bytes", m.dataset);
    let double = |o: &mut crate::protocol::ReplyBuf, k: &str, v: f32| {
        o.bulk(k.as_bytes());
        o.double(v as f64);
    };
    double(o, "dataset.percentage", m.dataset_perc());
    double(o, "peak.percentage", m.peak_perc());
    int(o, "allocator.allocated", m.used);
    int(o, "allocator.active", m.used);
    int(o, "allocator.resident", m.rss);
    double(o, "allocator-fragmentation.ratio", 1.0);
    int(o, "allocator-fragmentation.bytes", 0);
    double(o, "allocator-rss.ratio", m.frag());
    int(o, "allocator-rss.bytes", m.rss.saturating_sub(m.used));
    double(o, "rss-overhead.ratio", 1.0);
    int(o, "rss-overhead.bytes", 0);
    double(o, "fragmentation", m.frag());
    int(o, "fragmentation.bytes", m.rss.saturating_sub(m.used));
}

fn memory_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let m = MemOverhead::compute(ctx);
    let nclients = ctx.srv.nclients.load(Relaxed).max(1) as u64;
    let mut issues: Vec<&str> = Vec::new();
    let empty = m.used < 5 << 20;
    if !empty {
        if m.peak as f32 / m.used as f32 > 1.5 {
            issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
        }
        if m.frag() > 1.4 && m.rss.saturating_sub(m.used) > 10 << 20 {
            issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n");
        }
        if m.clients_normal / nclients > 1024 * 200 {
            issues.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
        }
    }
    let report = if empty {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else if issues.is_empty() {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
    } else {
        format!(
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n{}I'm here to keep you safe, Sam. I want to help you.\n",
            issues.concat()
        )
    };
    ctx.out.verbatim(report.as_bytes(), "txt");
}

fn memory_malloc_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out
        .verbatim(b"Stats not supported for the current allocator", "txt");
}

fn memory_purge(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.ok();
}

fn memory_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        argv[0],
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

/// Lets `rename-command` in the config file check names against the command table.
pub fn command_exists(name: &[u8]) -> bool {
    static TABLE: std::sync::OnceLock<super::CommandTable> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(super::CommandTable::build)
        .lookup(name)
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_like_redis() {
        assert_eq!(bytes_to_human(1000), "1000B");
        assert_eq!(bytes_to_human(990552), "967.34K");
        assert_eq!(bytes_to_human(12365824), "11.79M");
        assert_eq!(bytes_to_human(25276510208), "23.54G");
    }

    #[test]
    fn sections_parse() {
        let s = Sections::parse(&[]);
        assert!(s.wants("server") && s.wants("keyspace") && !s.wants("commandstats"));
        let s = Sections::parse(&[b"commandSTATS"]);
        assert!(s.wants("commandstats") && !s.wants("server"));
        let s = Sections::parse(&[b"cpu", b"all"]);
        assert!(s.wants("latencystats") && s.wants("cpu"));
        assert_eq!(trim_double(50.0), "50");
        assert_eq!(trim_double(99.9), "99.9");
    }

    #[test]
    fn metric_rate_average() {
        let mut m = Metric::default();
        m.track(0, 1000);
        m.track(100, 1100);
        assert_eq!(m.get(), 1000 / 16);
    }
}
