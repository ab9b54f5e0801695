//! Client state.
//!
//! `ClientInfo` is the connection's own state, owned by the worker thread that serves it
//! and handed to commands through `Ctx::client`. `ClientHandle` is the part other threads
//! may see (CLIENT LIST / KILL, MONITOR feeds, later pub/sub): immutable identity plus
//! atomics the owner refreshes after each command, and an outbox other threads append
//! to before waking the owner's worker.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU8, AtomicUsize, Ordering::Relaxed};

pub mod cflags {
    pub const MONITOR: u32 = 1 << 0;
    pub const PUBSUB: u32 = 1 << 1;
    pub const MASTER: u32 = 1 << 2;
    pub const REPLICA: u32 = 1 << 3;
    pub const NO_EVICT: u32 = 1 << 4;
    pub const CLOSE_AFTER_REPLY: u32 = 1 << 5;
    pub const BLOCKED: u32 = 1 << 6;
    pub const MULTI: u32 = 1 << 7;
    pub const TRACKING: u32 = 1 << 8;
    pub const NO_TOUCH: u32 = 1 << 9;
    pub const UNIX_SOCKET: u32 = 1 << 10;
    pub const READONLY: u32 = 1 << 11;
    /// Blocking commands answer at once instead of blocking (set by scripts; MULTI implies it).
    pub const DENY_BLOCKING: u32 = 1 << 12;
    /// The client scripts run commands as (MONITOR shows it as "lua").
    pub const SCRIPT: u32 = 1 << 13;
    /// CLIENT TRACKING modes and state (see `crate::tracking`).
    pub const TRACKING_BROKEN_REDIR: u32 = 1 << 14;
    pub const TRACKING_BCAST: u32 = 1 << 15;
    pub const TRACKING_OPTIN: u32 = 1 << 16;
    pub const TRACKING_OPTOUT: u32 = 1 << 17;
    /// CLIENT CACHING yes/no given for the next command (or transaction).
    pub const TRACKING_CACHING: u32 = 1 << 18;
    pub const TRACKING_NOLOOP: u32 = 1 << 19;
    /// Some tracking client redirects its invalidations here (its outbox may hold pushes).
    pub const PUSH_TARGET: u32 = 1 << 20;
    /// REPLCONF rdb-filter-only: the sync payload leaves out the keys / the functions
    /// (Redis's SLAVE_REQ_RDB_EXCLUDE_DATA / _FUNCTIONS; not shown by CLIENT LIST).
    pub const RDB_EXCLUDE_DATA: u32 = 1 << 22;
    pub const RDB_EXCLUDE_FUNCTIONS: u32 = 1 << 23;
    /// The fake client replaying the AOF at startup: like a master's link, it is obeyed
    /// (no maxmemory / min-replicas-to-write refusals).
    pub const AOF: u32 = 1 << 21;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command.
    SkipNext,
    /// Skipping the reply of the current command.
    Skip,
}

pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: i64,
    pub worker: usize,
    pub token: usize,
    pub db: AtomicUsize,
    pub last_interaction_ms: AtomicI64,
    /// Id of the last command + 1 (0 = none), and of its subcommand.
    pub last_cmd: AtomicUsize,
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    pub obl: AtomicUsize,
    pub omem: AtomicUsize,
    /// Reply buffer size and its recent peak (CLIENT LIST rbs / rbp), kept by the worker.
    pub rbs: AtomicUsize,
    pub rbp: AtomicUsize,
    pub flags: AtomicU32,
    pub resp: AtomicU8,
    pub name: Mutex<Option<Vec<u8>>>,
    pub lib_name: Mutex<Option<Vec<u8>>>,
    pub lib_ver: Mutex<Option<Vec<u8>>>,
    pub user: Mutex<String>,
    pub kill: AtomicBool,
    /// Bytes other threads have queued for this client (MONITOR lines, pushes).
    pub outbox: Mutex<Vec<u8>>,
    pub multi_len: AtomicI64,
    /// Subscription counts (channels, patterns, shard channels) for CLIENT LIST.
    pub sub_counts: [AtomicU32; 3],
    /// CLIENT TRACKING redirection id (-1 when tracking is off), for CLIENT LIST.
    pub redir: AtomicI64,
}

impl ClientHandle {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, worker: usize, token: usize, now_ms: i64) -> ClientHandle {
        ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created_ms: now_ms,
            worker,
            token,
            db: AtomicUsize::new(0),
            last_interaction_ms: AtomicI64::new(now_ms),
            last_cmd: AtomicUsize::new(0),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            obl: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            rbs: AtomicUsize::new(16 * 1024),
            rbp: AtomicUsize::new(0),
            flags: AtomicU32::new(0),
            resp: AtomicU8::new(2),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            user: Mutex::new("default".into()),
            kill: AtomicBool::new(false),
            outbox: Mutex::new(Vec::new()),
            multi_len: AtomicI64::new(-1),
            sub_counts: Default::default(),
            redir: AtomicI64::new(-1),
        }
    }

    #[inline]
    pub fn has_flag(&self, f: u32) -> bool {
        self.flags.load(Relaxed) & f != 0
    }

    pub fn set_flag(&self, f: u32, on: bool) {
        if on {
            self.flags.fetch_or(f, Relaxed);
        } else {
            self.flags.fetch_and(!f, Relaxed);
        }
    }
}

pub struct ClientInfo {
    pub id: u64,
    pub db: usize,
    pub resp: u8,
    pub authenticated: bool,
    /// The ACL user (None: an internal client that may run anything, Redis's NULL user).
    pub user: Option<std::sync::Arc<crate::acl::User>>,
    pub handle: std::sync::Arc<ClientHandle>,
    pub close_after_reply: bool,
    pub reply_mode: ReplyMode,
    /// Connected over loopback or a unix socket (protected configs, protected mode).
    pub is_local: bool,
    /// The command being executed (index in the command table), for error texts and stats.
    /// While the worker runs a pipelined batch of this client's commands: when the
    /// previous command of the batch ended. The next command takes it as its start instead
    /// of reading the clock again, so a command in a batch costs one clock read (its end)
    /// for its duration and its "now". Commands a script or EXEC runs read their own.
    pub batch_clock: Option<u64>,
    pub cmd: usize,
    /// The last command name this client sent, as its raw first word (up to 8 bytes),
    /// its length and its table index: a pipeline repeating a command skips the lookup.
    pub name_cache: (u64, usize, usize),
    /// Pub/Sub subscriptions (channels, patterns, shard channels).
    pub subs: crate::pubsub::Subs,
    /// argv positions the running command hides from MONITOR and the slow log (AUTH
    /// passwords, CONFIG SET of sensitive values...): shown as "(redacted)".
    pub redacted: Vec<usize>,
    /// MULTI state: Some while queueing.
    pub multi: Option<crate::commands::multi::MultiState>,
    /// WATCHed keys and the flag writers set.
    pub watched: crate::commands::multi::Watched,
    /// Running the queued commands of EXEC (blocking commands must not block).
    pub in_exec: bool,
    /// Blocked by a blocking command (see `crate::blocking`); its input waits.
    pub blocked: Option<crate::blocking::Blocked>,
    /// CLIENT TRACKING ... BCAST prefixes.
    pub tracking_prefixes: std::collections::BTreeSet<Vec<u8>>,
    /// Invalidations for this client kept during its command, sent after the reply.
    pub track_pending: Vec<Option<Vec<u8>>>,
    /// A replica's connection: its announced port and acknowledged offset (created by
    /// REPLCONF listening-port or at SYNC/PSYNC).
    pub repl: Option<std::sync::Arc<crate::wstream::ReplState>>,
    /// The replication offset right after this client's last write (what WAIT waits for).
    pub woff: u64,
}

impl ClientInfo {
    pub fn new(handle: std::sync::Arc<ClientHandle>, authenticated: bool, is_local: bool) -> ClientInfo {
        ClientInfo {
            id: handle.id,
            db: 0,
            resp: 2,
            authenticated,
            user: None,
            handle,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            is_local,
            cmd: 0,
            batch_clock: None,
            name_cache: (0, 0, 0),
            subs: Default::default(),
            redacted: Vec::new(),
            multi: None,
            watched: Default::default(),
            in_exec: false,
            blocked: None,
            tracking_prefixes: Default::default(),
            track_pending: Vec::new(),
            repl: None,
            woff: 0,
        }
    }

    /// Publish the subscription counts for CLIENT LIST.
    pub fn sync_sub_counts(&self) {
        for (c, set) in self.handle.sub_counts.iter().zip(&self.subs.sets) {
            c.store(set.len() as u32, Relaxed);
        }
    }

    /// Hide argument `i` of the running command from MONITOR and the slow log.
    pub fn redact_arg(&mut self, i: usize) {
        if !self.redacted.contains(&i) {
            self.redacted.push(i);
        }
    }

    /// Argument `i` as MONITOR and the slow log show it.
    pub fn shown_arg<'a>(&self, argv: &[&'a [u8]], i: usize) -> &'a [u8] {
        if self.redacted.contains(&i) {
            b"(redacted)"
        } else {
            argv[i]
        }
    }

    pub fn flag(&self, f: u32) -> bool {
        self.handle.has_flag(f)
    }
}
