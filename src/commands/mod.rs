//! The command table and the command context.
//!
//! One table: every implemented command (and subcommand, named "parent|sub") is one
//! `Command` row: name, handler, arity, flags, key positions. Arity, flags and key specs
//! come from Redis's own command metadata (`meta`), so `COMMAND`, cluster routing, ACL
//! and the dispatcher all read the same facts; each command family module lists its
//! handlers in a `COMMANDS` slice and `CommandTable::build` joins them to the metadata.
//!
//! `Ctx` is what a handler sees: the server, its client's state, the reply buffer and the
//! shards its keys live in (already locked by the dispatcher), plus keyspace helpers that
//! keep the bookkeeping Redis does on every access (lazy expiry, hit/miss stats, dirty
//! counter, key-modified signals for WATCH/tracking, keyspace events).

pub mod acl;
pub mod bitops;
pub mod client;
pub mod coll;
pub mod connection;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod introspection;
pub mod keys;
pub mod list;
pub mod meta;
mod name_index;
pub mod persist_cmds;
pub mod multi;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server_cmds;
pub mod set;
pub mod sort;
pub mod stream;
pub mod strings;
#[cfg(test)]
pub mod testkit;
pub mod zset;

use crate::keyspace::entry::Entry;
use crate::keyspace::{Db, LockSet, Value};
use crate::net::client::ClientInfo;
use crate::protocol::ReplyBuf;
use crate::server::Server;
use ahash::AHashMap;
use std::sync::atomic::Ordering::Relaxed;

pub type Handler = fn(&mut Ctx, &[&[u8]]);

pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const MOVABLE_KEYS: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    /// ferrodis: the command reads or writes the whole keyspace (lock every shard).
    pub const ALL_SHARDS: u32 = 1 << 24;
    /// Redis's CMD_TOUCHES_ARBITRARY_KEYS (SCAN, RANDOMKEY): the keys it expires on its
    /// way are propagated one by one, never wrapped in MULTI/EXEC.
    pub const ARBITRARY_KEYS: u32 = 1 << 25;
    /// ferrodis: the dispatcher does not lazily expire the key arguments (WATCH looks
    /// at its keys without deleting the expired ones, as Redis does).
    pub const NO_EXPIRE: u32 = 1 << 26;
    /// ferrodis: the handler never touches the keyspace (`ctx.ks` has no shard locked
    /// when it runs on the dispatcher's lean path).
    pub const NO_KEYSPACE: u32 = 1 << 27;

    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> u32 {
        let mut f = 0;
        for n in names {
            f |= match n {
                "write" => WRITE,
                "readonly" => READONLY,
                "denyoom" => DENYOOM,
                "admin" => ADMIN,
                "pubsub" => PUBSUB,
                "noscript" => NOSCRIPT,
                "blocking" => BLOCKING,
                "loading" => LOADING,
                "stale" => STALE,
                "skip_monitor" => SKIP_MONITOR,
                "skip_slowlog" => SKIP_SLOWLOG,
                "fast" => FAST,
                "no_auth" => NO_AUTH,
                "may_replicate" => MAY_REPLICATE,
                "no_multi" => NO_MULTI,
                "movablekeys" => MOVABLE_KEYS,
                "allow_busy" => ALLOW_BUSY,
                _ => 0,
            };
        }
        f
    }
}

/// How a family module registers a handler: name ("get", "config|get"), handler, extra
/// ferrodis flags (e.g. `flags::ALL_SHARDS`).
pub type Registration = (&'static str, Handler, u32);

pub struct Command {
    pub name: String,
    pub handler: Handler,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub meta: Option<&'static meta::CommandMeta>,
    /// Subcommand name (lowercase) -> index in the table.
    pub subcommands: AHashMap<Vec<u8>, usize>,
    pub id: usize,
    /// May take the dispatcher's lean path (`dispatch::lean_command`): not a container,
    /// a transaction-control command, a script runner (whose flags come from the script)
    /// or a pub/sub command, which all need the full path.
    pub lean: bool,
}

impl Command {
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }
}

pub struct CommandTable {
    pub cmds: Vec<Command>,
    by_name: name_index::NameIndex,
}

/// A container command without a handler of its own, called without a subcommand.
fn container_handler(ctx: &mut Ctx, argv: &[&[u8]]) {
    let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
    ctx.out.error(&format!("ERR wrong number of arguments for '{name}' command"));
}

impl CommandTable {
    pub fn build() -> CommandTable {
        let mut regs: Vec<Registration> = Vec::new();
        for family in [
            connection::COMMANDS,
            acl::COMMANDS,
            client::COMMANDS,
            keys::COMMANDS,
            strings::COMMANDS,
            bitops::COMMANDS,
            server_cmds::COMMANDS,
            introspection::COMMANDS,
            hash::COMMANDS,
            list::COMMANDS,
            set::COMMANDS,
            zset::COMMANDS,
            hll::COMMANDS,
            geo::COMMANDS,
            sort::COMMANDS,
            pubsub::COMMANDS,
            multi::COMMANDS,
            scripting::COMMANDS,
            replication::COMMANDS,
            persist_cmds::COMMANDS,
            stream::COMMANDS,
        ] {
            regs.extend_from_slice(family);
        }
        let mut t = CommandTable { cmds: Vec::new(), by_name: name_index::NameIndex::default() };
        // parents first
        for &(name, handler, extra) in regs.iter().filter(|r| !r.0.contains('|')) {
            t.add(name, handler, extra, None);
        }
        for &(name, handler, extra) in regs.iter().filter(|r| r.0.contains('|')) {
            let (parent, _) = name.split_once('|').unwrap();
            let pid = match t.by_name.get(parent.as_bytes()) {
                Some(p) => p,
                None => t.add(parent, container_handler, 0, None),
            };
            t.add(name, handler, extra, Some(pid));
        }
        for c in &mut t.cmds {
            c.lean = crate::dispatch::may_be_lean(c);
        }
        t
    }

    /// The table with `rename-command` directives applied, in file order: a renamed
    /// command is found under its new name only; an empty new name removes it.
    /// (The command keeps its own name for stats, errors and COMMAND INFO, as in Redis.)
    pub fn build_renamed(renames: &[(String, String)]) -> CommandTable {
        let mut t = CommandTable::build();
        for (from, to) in renames {
            if let Some(id) = t.by_name.remove(from.to_ascii_lowercase().as_bytes()) {
                if !to.is_empty() {
                    t.by_name.insert(to.as_bytes(), id);
                }
            }
        }
        t
    }

    fn add(&mut self, name: &str, handler: Handler, extra: u32, parent: Option<usize>) -> usize {
        let m = match parent {
            None => meta::lookup(name),
            Some(p) => self.cmds[p].meta.and_then(|pm| meta::lookup_sub(pm, name.split_once('|').unwrap().1)),
        };
        let id = self.cmds.len();
        let (arity, fl, fk, lk, st) = match m {
            Some(m) => (m.arity, flags::from_names(m.flags.iter().map(|s| s.as_str())), m.first_key, m.last_key, m.step),
            None => (-1, 0, 0, 0, 0),
        };
        self.cmds.push(Command {
            name: name.to_string(),
            handler,
            arity,
            flags: fl | extra,
            first_key: fk,
            last_key: lk,
            step: st,
            meta: m,
            subcommands: AHashMap::new(),
            id,
            lean: false,
        });
        match parent {
            None => {
                self.by_name.insert(name.as_bytes(), id);
            }
            Some(p) => {
                let sub = name.split_once('|').unwrap().1;
                self.cmds[p].subcommands.insert(sub.as_bytes().to_vec(), id);
            }
        }
        id
    }

    /// Is this full name ("get", "config|get") implemented? The filter for `meta` listings.
    pub fn implemented(&self, fullname: &str) -> bool {
        match fullname.split_once('|') {
            None => self.by_name.contains_key(fullname.as_bytes()),
            Some((p, s)) => self
                .by_name
                .get(p.as_bytes())
                .is_some_and(|i| self.cmds[i].subcommands.contains_key(s.as_bytes())),
        }
    }

    /// `lookup` through a one-entry cache of the caller's (a client's last command name,
    /// compared as sent: same bytes, same length).
    #[inline]
    pub fn lookup_cached(&self, name: &[u8], cache: &mut (u64, usize, usize)) -> Option<&Command> {
        let word = name_index::raw_word(name);
        if let Some(w) = word {
            if cache.1 == name.len() && cache.0 == w {
                return Some(&self.cmds[cache.2]);
            }
        }
        let c = self.lookup(name)?;
        if let Some(w) = word {
            *cache = (w, name.len(), c.id);
        }
        Some(c)
    }

    /// Look up a top-level command by name, case-insensitively.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<&Command> {
        self.by_name.get(name).map(|i| &self.cmds[i])
    }

    pub fn sub(&self, parent: &Command, name: &[u8]) -> Option<&Command> {
        parent.subcommands.get(&name.to_ascii_lowercase()).map(|&i| &self.cmds[i])
    }

    pub fn top_level(&self) -> impl Iterator<Item = &Command> {
        self.cmds.iter().filter(|c| !c.name.contains('|'))
    }

    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Indices into argv of the key arguments of a call.
    pub fn key_positions(&self, cmd: &Command, argv: &[&[u8]], out: &mut smallvec::SmallVec<[usize; 4]>) {
        if cmd.has(flags::MOVABLE_KEYS) {
            if let Some(m) = cmd.meta {
                out.extend(meta::key_positions(m, argv));
            }
            return;
        }
        if cmd.first_key <= 0 {
            return;
        }
        if cmd.first_key == cmd.last_key {
            // one key (GET, SET, INCR...)
            if (cmd.first_key as usize) < argv.len() {
                out.push(cmd.first_key as usize);
            }
            return;
        }
        let argc = argv.len() as i32;
        let last = if cmd.last_key < 0 { argc + cmd.last_key } else { cmd.last_key.min(argc - 1) };
        let step = cmd.step.max(1);
        let mut i = cmd.first_key;
        while i <= last {
            out.push(i as usize);
            i += step;
        }
    }
}

/// Forget `v` when it owns nothing (`holds_nothing`), drop it otherwise.
#[inline(always)]
fn forget_if<T>(holds_nothing: bool, v: T) {
    if holds_nothing {
        std::mem::forget(v);
    } else {
        drop(v);
    }
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX_ERR: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";

/// Flags of `Ks::read_entry`, as Redis's LOOKUP_*.
pub mod lookup {
    /// Do not update the key's access clock (EXISTS, TYPE, TTL, OBJECT...).
    pub const NOTOUCH: u8 = 1 << 0;
    /// Do not emit `keymiss`.
    pub const NONOTIFY: u8 = 1 << 1;
    /// Do not count keyspace hits/misses.
    pub const NOSTATS: u8 = 1 << 2;
}

/// Keyspace event classes (notify-keyspace-events flags), as Redis's NOTIFY_*.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const LOADED: u32 = 1 << 12;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
}

/// What a running command sees: its server, its client, the reply buffer and the keyspace.
/// `out` and `ks` are separate fields so a handler can hold a value borrowed from `ks`
/// while it writes the reply into `out`.
pub struct Ctx<'a> {
    pub srv: &'a Server,
    pub client: &'a mut ClientInfo,
    pub out: &'a mut ReplyBuf,
    pub ks: Ks<'a>,
}

/// Keyspace access for one command: the locked shards and the bookkeeping Redis does on
/// every access (lazy expiry, hit/miss stats, dirty counter, modified-key signals,
/// keyspace events, what goes into the write stream).
pub struct Ks<'a> {
    pub srv: &'a Server,
    pub locks: LockSet<'a>,
    /// Selected database.
    pub db: usize,
    /// Command time (unix ms), fixed for the whole command as Redis's cached mstime.
    pub now: i64,
    /// Write effects counter (Redis's server.dirty delta for this call).
    pub dirty: u64,
    /// Propagation override: if set, these commands are what the write stream gets
    /// instead of the command as received.
    pub propagate: Option<Vec<Vec<Vec<u8>>>>,
    /// Write effects of this top-level call, in order, for the write stream
    /// (`crate::wstream`): (db, argv). Only recorded while the stream is active.
    pub ops: Vec<crate::wstream::Op>,
    /// The write stream has consumers: record effects into `ops`.
    pub record: bool,
    /// Propagate the command even though it changed no key (PUBLISH, like Redis's
    /// forceCommandPropagation).
    pub force_propagate: bool,
    /// The client running this command (0: none, e.g. the cron): client tracking's
    /// "current client" (NOLOOP, invalidations kept for after its reply).
    pub client: u64,
    /// Invalidations for `client` itself (a key, or None for a flush), sent after its reply.
    pub track_pending: Vec<Option<Vec<u8>>>,
    /// While a script runs for a tracking client: that client and the keys its script
    /// command declared (what a read inside the script makes it track, as in Redis).
    pub track_caller: Option<(std::sync::Arc<crate::net::client::ClientHandle>, Vec<Vec<u8>>)>,
}

impl<'a> Ks<'a> {
    pub fn new(srv: &'a Server, locks: LockSet<'a>, db: usize, now: i64) -> Ks<'a> {
        let record = srv.wstream.is_active();
        Ks {
            srv,
            locks,
            db,
            now,
            dirty: 0,
            propagate: None,
            ops: Vec::new(),
            record,
            force_propagate: false,
            client: 0,
            track_pending: Vec::new(),
            track_caller: None,
        }
    }

    /// Release the locks and drop the rest, skipping the drop glue of the collections a
    /// command seldom uses when they hold nothing (that glue is a few out-of-line calls
    /// per command even for empty ones; forgetting an empty Vec or a None frees nothing).
    #[inline(always)]
    pub fn finish(self) {
        let Ks { locks, propagate, ops, track_pending, track_caller, .. } = self;
        forget_if(locks.guards.is_empty() && !locks.guards.spilled(), locks);
        forget_if(ops.capacity() == 0, ops);
        forget_if(track_pending.capacity() == 0, track_pending);
        forget_if(propagate.is_none(), propagate);
        forget_if(track_caller.is_none(), track_caller);
    }

    /// Add an effect to the write stream besides the command itself (Redis's alsoPropagate).
    pub fn also(&mut self, args: Vec<Vec<u8>>) {
        if self.record {
            self.ops.push((self.db, args));
        }
    }

    /// After a command ran: record what the stream gets for it (the override if the
    /// handler set one, else the command as received if it changed data).
    pub fn end_command(&mut self, argv: &[&[u8]], dirty_before: u64) {
        let over = self.propagate.take();
        let forced = std::mem::take(&mut self.force_propagate);
        if !self.record {
            return;
        }
        match over {
            Some(cmds) => {
                for c in cmds {
                    self.ops.push((self.db, c));
                }
            }
            None if self.dirty > dirty_before || forced => {
                self.ops.push((self.db, argv.iter().map(|a| a.to_vec()).collect()));
            }
            None => {}
        }
    }

    /// The locked part of the selected database that holds `key`.
    #[inline]
    pub fn db(&mut self, key: &[u8]) -> &mut Db {
        let s = self.srv.keyspace.shard_of(key);
        let db = self.db;
        &mut self.locks.shard(s).dbs[db]
    }

    #[inline]
    pub fn db_ref(&self, key: &[u8]) -> &Db {
        let s = self.srv.keyspace.shard_of(key);
        &self.locks.shard_ref(s).dbs[self.db]
    }

    /// The part of database `idx` that holds `key` (MOVE, COPY ... DB).
    pub fn db_at(&mut self, idx: usize, key: &[u8]) -> &mut Db {
        let s = self.srv.keyspace.shard_of(key);
        &mut self.locks.shard(s).dbs[idx]
    }

    /// Delete `key` if its TTL has passed (lazy expiry). Returns true if it was deleted.
    #[inline]
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed_at(self.db, key)
    }

    /// Lazy expiry in database `dbi` (MOVE / COPY look at the target database too).
    pub fn expire_if_needed_at(&mut self, dbi: usize, key: &[u8]) -> bool {
        let now = self.now;
        let db = self.db_at(dbi, key);
        if db.expires_len() == 0 {
            return false;
        }
        match db.get(key) {
            Some(e) if db.is_expired(e, now) => {}
            _ => return false,
        }
        // CLIENT PAUSE keeps the dataset static, and a replica leaves expiry to its
        // master (the DEL comes down the stream): the key stays, logically expired
        if self.srv.paused().is_some() || self.srv.repl.is_replica() {
            return false;
        }
        if let Some(old) = self.db_at(dbi, key).remove(key) {
            crate::keyspace::lazyfree::free_entry(old, self.srv.hot.lazy_expire.load(Relaxed));
        }
        self.srv.stats.expired_keys.fetch_add(1, Relaxed);
        self.notify_at(dbi, notify::EXPIRED, "expired", key);
        // an expired key was changed by no client (BCAST NOLOOP clients hear of it)
        self.signal_modified_by(dbi, key, 0);
        if self.record {
            self.ops.push((dbi, vec![b"DEL".to_vec(), key.to_vec()]));
        }
        true
    }

    /// Read lookup (lookupKeyRead): counts hits/misses, emits `keymiss`, updates the
    /// key's access clock. Treats a key past its TTL as absent.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        self.read_entry(key, 0).map(|e| &e.value)
    }

    /// Read lookup with Redis's LOOKUP_* flags (`lookup::NOTOUCH` for EXISTS, TYPE, TTL...).
    pub fn read_entry(&self, key: &[u8], flags: u8) -> Option<&Entry> {
        let db = self.db_ref(key);
        match db.get(key) {
            Some(e) if !db.is_expired(e, self.now) => {
                if flags & lookup::NOTOUCH == 0 {
                    self.srv.hot.lru_policy().touch(&e.lru, self.now);
                }
                if flags & lookup::NOSTATS == 0 {
                    self.srv.stats.keyspace_hits.fetch_add(1, Relaxed);
                }
                Some(e)
            }
            _ => {
                if flags & lookup::NONOTIFY == 0 {
                    self.notify(notify::KEY_MISS, "keymiss", key);
                }
                if flags & lookup::NOSTATS == 0 {
                    self.srv.stats.keyspace_misses.fetch_add(1, Relaxed);
                }
                None
            }
        }
    }

    /// Lookup with no side effect at all (no stats, events or access clock).
    #[inline]
    pub fn peek(&self, key: &[u8]) -> Option<&Value> {
        self.peek_entry(key).map(|e| &e.value)
    }

    #[inline]
    pub fn peek_entry(&self, key: &[u8]) -> Option<&Entry> {
        let db = self.db_ref(key);
        match db.get(key) {
            Some(e) if !db.is_expired(e, self.now) => Some(e),
            _ => None,
        }
    }

    #[inline]
    pub fn exists(&self, key: &[u8]) -> bool {
        self.peek_entry(key).is_some()
    }

    /// Write lookup (lookupKeyWrite): no stats, updates the access clock.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.get_entry_mut(key).map(|e| &mut e.value)
    }

    /// One hash lookup (INCR and friends are hot).
    pub fn get_entry_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let now = self.now;
        let policy = self.srv.hot.lru_policy();
        let db = self.db(key);
        let p: *mut Entry = db.get_mut(key)?;
        // SAFETY: p is a live entry of `db`, which stays uniquely borrowed through &mut self.
        let e = unsafe {
            if db.is_expired(&*p, now) {
                return None;
            }
            &mut *p
        };
        policy.touch(&e.lru, now);
        Some(e)
    }

    /// setKey: store a value (dropping the TTL unless `keep_ttl`) and signal the change.
    /// Returns true if the key existed.
    pub fn set_key(&mut self, key: &[u8], value: Value, keep_ttl: bool) -> bool {
        let mut lru = self.lru();
        if self.srv.hot.lru_policy().lfu {
            // dbOverwrite keeps the access frequency of the key it replaces
            if let Some(e) = self.db_ref(key).get(key) {
                lru = e.lru.get();
            }
        }
        let wakes = value.can_wake_blocked();
        let existed = self.db(key).set(key, value, keep_ttl, lru);
        if !existed {
            self.notify(notify::NEW, "new", key);
        }
        self.signal_modified(key);
        if !existed && wakes {
            crate::blocking::signal_ready(self.srv, self.db, key);
        }
        existed
    }

    /// Add a key known not to exist (dbAdd: emits `new`).
    pub fn add_key(&mut self, key: &[u8], value: Value) -> &mut Entry {
        self.add_key_at(self.db, key, value)
    }

    /// Add a key known not to exist to database `dbi` (MOVE, COPY ... DB).
    pub fn add_key_at(&mut self, dbi: usize, key: &[u8], value: Value) -> &mut Entry {
        let lru = self.lru();
        self.signal_modified_at(dbi, key);
        self.notify_at(dbi, notify::NEW, "new", key);
        if value.can_wake_blocked() {
            crate::blocking::signal_ready(self.srv, dbi, key);
        }
        self.db_at(dbi, key).insert(key, value, lru)
    }

    /// Delete a key; true if it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        let removed = self.db(key).remove(key).is_some();
        if removed {
            self.signal_modified(key);
        }
        removed
    }

    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) -> bool {
        self.db(key).set_expire(key, when_ms)
    }

    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        self.db_ref(key).get_expire(key)
    }

    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.db(key).persist(key)
    }

    /// The access clock of a key created now (LRU or LFU form, see `keyspace::lru`).
    #[inline]
    pub fn lru(&self) -> u32 {
        self.srv.hot.lru_policy().initial(self.now)
    }

    /// The key's value changed: invalidate WATCHes and client-side caches (tracking).
    #[inline]
    pub fn signal_modified(&mut self, key: &[u8]) {
        self.signal_modified_by(self.db, key, self.client);
    }

    /// Redis's signalModifiedKey: `writer` is the client that changed the key (0: none).
    #[inline]
    pub fn signal_modified_by(&mut self, dbi: usize, key: &[u8], writer: u64) {
        self.db_at(dbi, key).touch_watched(key);
        self.signal_gone_stream(dbi, key);
        if self.srv.tracking.in_use() {
            crate::tracking::invalidate(self.srv, key, writer, self.client, &mut self.track_pending);
        }
    }

    /// A key that is not (or no longer) a stream may have XREADGROUP waiters to answer
    /// with an error (Redis signals deleted and overwritten streams as ready).
    #[inline]
    fn signal_gone_stream(&mut self, dbi: usize, key: &[u8]) {
        if !self.srv.blocking.anyone_on_keys() {
            return;
        }
        let saved = self.db;
        self.db = dbi;
        let stream = matches!(self.peek(key), Some(Value::Stream(_)));
        self.db = saved;
        if !stream {
            crate::blocking::signal_ready(self.srv, dbi, key);
        }
    }

    /// `signal_modified` for a key of database `dbi` (MOVE, COPY ... DB).
    #[inline]
    pub fn signal_modified_at(&mut self, dbi: usize, key: &[u8]) {
        self.signal_modified_by(dbi, key, self.client);
    }

    /// Emit a keyspace notification if the class is enabled.
    #[inline]
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        self.notify_at(self.db, class, event, key)
    }

    /// Emit a keyspace notification about a key of database `dbi`.
    #[inline]
    pub fn notify_at(&self, dbi: usize, class: u32, event: &str, key: &[u8]) {
        let flags = self.srv.hot.notify_flags.load(Relaxed);
        if flags & class == 0 || flags & (notify::KEYSPACE | notify::KEYEVENT) == 0 {
            return;
        }
        crate::commands::pubsub::keyspace_event(self.srv, dbi, flags, event, key);
    }

    /// Replace what the write stream gets for this command.
    pub fn propagate_as(&mut self, cmds: Vec<Vec<Vec<u8>>>) {
        self.propagate = Some(cmds);
    }

    /// Count `n` write effects.
    #[inline]
    pub fn dirty(&mut self, n: u64) {
        self.dirty += n;
    }
}

/// Parse an integer argument, replying the Redis error on failure.
pub fn arg_i64(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    let v = crate::util::numfmt::parse_i64(a);
    if v.is_none() {
        ctx.out.error(NOT_INT);
    }
    v
}

pub fn arg_f64(ctx: &mut Ctx, a: &[u8]) -> Option<f64> {
    let v = crate::util::numfmt::parse_f64(a);
    if v.is_none() {
        ctx.out.error(NOT_FLOAT);
    }
    v
}

pub fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Redis addReplyHelp: "<CMD> <subcommand> ..." header, the lines, then HELP, all as
/// status replies. `argv0` is the command name as the client typed it.
pub fn reply_help(out: &mut ReplyBuf, argv0: &[u8], lines: &[&str]) {
    out.array(lines.len() + 3);
    let name = String::from_utf8_lossy(argv0).to_ascii_uppercase();
    out.simple(&format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// Redis addReplySubcommandSyntaxError (for commands that parse their own subcommands).
pub fn reply_subcommand_syntax_error(out: &mut ReplyBuf, argv: &[&[u8]]) {
    let sub = String::from_utf8_lossy(&argv[1][..argv[1].len().min(128)]).into_owned();
    let name = String::from_utf8_lossy(argv[0]).to_ascii_uppercase();
    out.error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {name} HELP."));
}
