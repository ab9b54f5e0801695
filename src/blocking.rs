//! Blocking operations: clients waiting for keys (BLPOP & co, BZPOPMIN & co, XREAD BLOCK)
//! or for an event (WAIT), and how they are woken — Redis's blocked.c.
//!
//! How a command blocks (BLPOP here; BZPOPMIN, XREAD, WAIT do the same):
//! 1. The handler first tries to answer at once. If it cannot and `may_block(ctx)` (false
//!    inside MULTI/EXEC and scripts: answer as on timeout instead), it calls
//!    `block(ctx, keys, deadline, argv, serve, on_timeout)` and writes no reply. The
//!    client is registered on each key (FIFO per db+key) and its worker stops running its
//!    pipelined input until it is unblocked. `parse_timeout` reads the timeout argument.
//! 2. A command that makes a key interesting to waiters calls `signal_ready(ks, key)`:
//!    `Ks::add_key`/`Ks::set_key` do it whenever a list, zset or stream key is created
//!    (Redis's dbAdd); XADD also does it for an existing stream. It only notes the key in a
//!    per-thread list, and costs one atomic load when nobody is blocked.
//! 3. After the top-level command (EXEC and scripts count as one: their inner commands
//!    must not go through `dispatch::run`), the dispatcher calls `serve_ready`. For each
//!    ready key, in signal order, it offers the key to the clients blocked on it in the order
//!    they blocked: `serve(ks, out, argv, key)` runs under the keyspace locks with `ks.db` =
//!    the waiter's db and `out` in its RESP version; it either writes the reply, describes
//!    its effect with `ks.propagate_as` and returns true (the client is unblocked), or
//!    returns false (keeps waiting: key gone, wrong type, nothing new). Serving can make
//!    more keys ready (BLMOVE pushes): they are served in the same pass.
//! 4. The reply goes to the waiter's `ClientHandle` outbox and its worker gets
//!    `WakeMsg::Unblocked`: it moves the outbox into the reply buffer and resumes the
//!    client's input. On the same worker this is a queue push without a wake-up syscall.
//!
//! Timeouts: the worker keeps a deadline per blocked connection, polls no longer than the
//! nearest one and calls `timeout` (reply from `on_timeout`). CLIENT UNBLOCK calls
//! `unblock`; a connection closed while blocked calls `forget`. Blocked clients are not
//! closed by the `timeout` config. Lock order: shard locks, then the registry mutex.

use crate::commands::{Ctx, Ks};
use crate::keyspace::LockSet;
use crate::net::client::{cflags, ClientHandle};
use crate::net::worker::WakeMsg;
use crate::protocol::ReplyBuf;
use crate::server::{now_ms, Server};
use ahash::AHashMap;
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Try to serve a blocked client from `key`: write its reply and return true, or return
/// false to keep it waiting. `argv` is what was given to `block` (the command as the client
/// sent it, or a rewritten form, e.g. XREAD with `$` resolved).
pub type ServeFn = fn(ks: &mut Ks, out: &mut ReplyBuf, argv: &[&[u8]], key: &[u8]) -> bool;
/// The reply on timeout (and on CLIENT UNBLOCK ... TIMEOUT).
pub type TimeoutFn = fn(srv: &Server, out: &mut ReplyBuf, argv: &[Vec<u8>]);

/// The usual timeout reply of key-blocking commands: a null array.
pub fn reply_null_array(_: &Server, out: &mut ReplyBuf, _: &[Vec<u8>]) {
    out.null_array();
}

/// What the owning worker knows about its blocked client (in `ClientInfo::blocked`).
#[derive(Clone, Copy, Debug)]
pub struct Blocked {
    /// Unix ms after which the client times out; 0 = never.
    pub deadline: i64,
}

struct Waiter {
    client: Arc<ClientHandle>,
    db: usize,
    resp: u8,
    /// CLIENT REPLY OFF/SKIP: the reply is dropped.
    silent: bool,
    keys: Vec<Vec<u8>>,
    argv: Vec<Vec<u8>>,
    serve: ServeFn,
    on_timeout: TimeoutFn,
}

#[derive(Default)]
struct Inner {
    waiters: AHashMap<u64, Waiter>,
    by_key: AHashMap<(usize, Vec<u8>), VecDeque<u64>>,
}

/// Every blocked client of the server (in `Server::blocking`).
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
    /// Clients blocked on keys: when 0, `signal_ready` returns at once.
    on_keys: AtomicUsize,
    /// All blocked clients (INFO blocked_clients).
    total: AtomicUsize,
}

impl Registry {
    /// INFO clients: blocked_clients.
    pub fn blocked_clients(&self) -> usize {
        self.total.load(Relaxed)
    }

    /// Is any client blocked on keys?
    #[inline]
    pub fn anyone_on_keys(&self) -> bool {
        self.on_keys.load(Relaxed) > 0
    }

    /// INFO clients: total_blocking_keys.
    pub fn blocking_keys(&self) -> usize {
        self.inner.lock().by_key.len()
    }

    fn take(&self, inner: &mut Inner, id: u64) -> Option<Waiter> {
        let w = inner.waiters.remove(&id)?;
        for k in &w.keys {
            let slot = (w.db, k.clone());
            if let Some(q) = inner.by_key.get_mut(&slot) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    inner.by_key.remove(&slot);
                }
            }
        }
        if !w.keys.is_empty() {
            self.on_keys.fetch_sub(1, Relaxed);
        }
        self.total.fetch_sub(1, Relaxed);
        w.client.set_flag(cflags::BLOCKED, false);
        Some(w)
    }
}

thread_local! {
    /// Keys signalled ready by the running command: (db, key), deduplicated, in order.
    static READY: RefCell<Vec<(usize, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
    /// Index of the worker running on this thread (usize::MAX elsewhere).
    static WORKER: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Called once by each worker thread at start.
pub fn set_current_worker(idx: usize) {
    WORKER.with(|w| w.set(idx));
}

/// May this client block now? Not inside EXEC or a script (Redis's CLIENT_DENY_BLOCKING).
pub fn may_block(ctx: &Ctx) -> bool {
    !ctx.client.in_exec && !ctx.client.flag(cflags::DENY_BLOCKING)
}

/// Parse a blocking timeout argument into an absolute deadline (unix ms, 0 = forever),
/// replying Redis's error on failure. Seconds as a float (BLPOP) or integer ms (XREAD, WAIT).
pub fn parse_timeout(ctx: &mut Ctx, arg: &[u8], seconds: bool) -> Option<i64> {
    let ms = if seconds {
        let Some(v) = parse_long_double(arg) else {
            ctx.out.error("ERR timeout is not a float or out of range");
            return None;
        };
        let ms = (v * 1000.0).ceil();
        // C's (long long) conversion of an out-of-range value gives LLONG_MIN.
        if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&ms) {
            i64::MIN
        } else {
            ms as i64
        }
    } else {
        match crate::util::numfmt::parse_i64(arg) {
            Some(v) => v,
            None => {
                ctx.out.error("ERR timeout is not an integer or out of range");
                return None;
            }
        }
    };
    if ms < 0 {
        ctx.out.error("ERR timeout is negative");
        return None;
    }
    // An overflowing deadline never fires, as in Redis.
    Some(if ms == 0 { 0 } else { ms.checked_add(now_ms()).unwrap_or(0) })
}

/// strtold-compatible parse (whole string, no leading space, no NaN); the value as f64.
fn parse_long_double(s: &[u8]) -> Option<f64> {
    if !crate::util::numfmt::is_long_double(s) {
        return None;
    }
    let c = std::ffi::CString::new(s).ok()?;
    // SAFETY: c is NUL-terminated; strtod does not keep the pointer.
    Some(unsafe { libc::strtod(c.as_ptr(), std::ptr::null_mut()) })
}

/// Block the running client on `keys` (may be empty: woken only by `wake`, `unblock` or
/// the deadline). The handler writes no reply.
pub fn block(ctx: &mut Ctx, keys: &[&[u8]], deadline: i64, argv: Vec<Vec<u8>>, serve: ServeFn, on_timeout: TimeoutFn) {
    let srv = ctx.srv;
    let reg = &srv.blocking;
    let id = ctx.client.id;
    let db = ctx.client.db;
    let mut ukeys: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
    for k in keys {
        if !ukeys.iter().any(|u| u == k) {
            ukeys.push(k.to_vec());
        }
    }
    let mut inner = reg.inner.lock();
    for k in &ukeys {
        inner.by_key.entry((db, k.clone())).or_default().push_back(id);
    }
    if !ukeys.is_empty() {
        reg.on_keys.fetch_add(1, Relaxed);
    }
    reg.total.fetch_add(1, Relaxed);
    let silent = ctx.client.reply_mode != crate::net::client::ReplyMode::On;
    inner.waiters.insert(
        id,
        Waiter { client: ctx.client.handle.clone(), db, resp: ctx.client.resp, silent, keys: ukeys, argv, serve, on_timeout },
    );
    ctx.client.handle.set_flag(cflags::BLOCKED, true);
    ctx.client.blocked = Some(Blocked { deadline });
}

/// Note that `key` in database `db` may now satisfy blocked clients.
#[inline]
pub fn signal_ready(srv: &Server, db: usize, key: &[u8]) {
    if srv.blocking.on_keys.load(Relaxed) == 0 {
        return;
    }
    READY.with(|r| {
        let mut r = r.borrow_mut();
        if !r.iter().any(|(d, k)| *d == db && k == key) {
            r.push((db, key.to_vec()));
        }
    });
}

/// Are there keys to serve after this command?
#[inline]
pub fn has_ready() -> bool {
    READY.with(|r| !r.borrow().is_empty())
}

/// Signal every key of `db` that has waiters (SWAPDB, FLUSHDB: Redis's
/// scanDatabaseForReadyKeys and scanDatabaseForDeletedStreams; a waiter's serve function
/// decides whether the key, present or not, answers it).
pub fn signal_db(ks: &mut Ks, db: usize) {
    let reg = &ks.srv.blocking;
    if reg.on_keys.load(Relaxed) == 0 {
        return;
    }
    let keys: Vec<Vec<u8>> = reg.inner.lock().by_key.keys().filter(|(d, _)| *d == db).map(|(_, k)| k.clone()).collect();
    let saved = ks.db;
    ks.db = db;
    for k in keys {
        signal_ready(ks.srv, db, &k);
    }
    ks.db = saved;
}

/// Serve the clients blocked on the keys signalled ready (handleClientsBlockedOnKeys).
/// `ks` holds the finished command's locks; with several shards they are swapped for all
/// shards first (a served BLMOVE may push anywhere).
pub fn serve_ready(ks: &mut Ks) {
    if !has_ready() {
        return;
    }
    let srv = ks.srv;
    if srv.keyspace.nshards() > 1 && ks.locks.guards.len() < srv.keyspace.nshards() {
        drop(std::mem::replace(&mut ks.locks, LockSet { guards: Default::default() }));
        ks.locks = srv.keyspace.lock_all();
    }
    loop {
        let batch = READY.with(|r| std::mem::take(&mut *r.borrow_mut()));
        if batch.is_empty() {
            break;
        }
        for (db, key) in batch {
            serve_key(ks, db, &key);
        }
    }
}

fn serve_key(ks: &mut Ks, db: usize, key: &[u8]) {
    let srv = ks.srv;
    let reg = &srv.blocking;
    let ids: Vec<u64> = match reg.inner.lock().by_key.get(&(db, key.to_vec())) {
        Some(q) => q.iter().copied().collect(),
        None => return,
    };
    // Served in the waiter's context: its db, a fresh command time, its own write effects.
    let locks = std::mem::replace(&mut ks.locks, LockSet { guards: Default::default() });
    let mut sks = Ks::new(srv, locks, db, now_ms());
    if sks.expire_if_needed(key) {
        propagate_served(&mut sks);
    }
    for id in ids {
        // (a missing key still goes to the serve functions: XREADGROUP waiters get an
        // error when their stream is deleted)
        let mut inner = reg.inner.lock();
        let Some(w) = inner.waiters.get(&id) else { continue };
        let mut out = ReplyBuf::new(w.resp);
        let argv: smallvec::SmallVec<[&[u8]; 8]> = w.argv.iter().map(|a| a.as_slice()).collect();
        sks.dirty = 0;
        sks.propagate = None;
        // the waiter is the current client: its own invalidations follow its reply
        sks.client = id;
        let started = std::time::Instant::now();
        let served = (w.serve)(&mut sks, &mut out, &argv, key);
        sks.client = 0;
        // its invalidations follow the reply, and go out even when the reply does not
        // (CLIENT REPLY OFF: pushes are not replies)
        let mut pushes = ReplyBuf::new(w.resp);
        if !sks.track_pending.is_empty() {
            let pending = std::mem::take(&mut sks.track_pending);
            crate::tracking::flush_pending(srv, &w.client, pending, &mut pushes);
        }
        if !served {
            continue;
        }
        // Redis logs a blocked command in the slow log when it is served.
        crate::dispatch::slowlog_maybe(srv, &w.client, &argv, &[], started.elapsed().as_micros() as u64);
        drop(argv);
        let w = reg.take(&mut inner, id).expect("waiter present");
        drop(inner);
        if out.errors > 0 {
            crate::dispatch::count_errors(srv, &out.buf);
            count_failed(srv, &w);
        }
        if sks.dirty > 0 {
            srv.dirty.fetch_add(sks.dirty, Relaxed);
        }
        propagate_served(&mut sks);
        if w.silent {
            w.client.outbox.lock().extend_from_slice(&pushes.buf);
        } else {
            out.buf.extend_from_slice(&pushes.buf);
        }
        deliver(srv, &w, out.buf);
    }
    ks.locks = std::mem::replace(&mut sks.locks, LockSet { guards: Default::default() });
}

/// Feed the write stream with what serving one client did (the `propagate_as` of its serve
/// function, lazy-expiry DELs): its own top-level entry, after the command that woke it.
fn propagate_served(ks: &mut Ks) {
    ks.end_command(&[], u64::MAX);
    if !ks.ops.is_empty() {
        ks.srv.wstream.feed(&ks.ops);
        ks.ops.clear();
    }
}

/// The blocked command ended in an error (its failed_calls, as Redis's updateStatsOnUnblock).
fn count_failed(srv: &Server, w: &Waiter) {
    let Some(name) = w.argv.first() else { return };
    let Some(cmd) = srv.table.lookup(name) else { return };
    if let Some(wh) = srv.workers.get().and_then(|ws| ws.get(w.client.worker)) {
        if let Some(st) = wh.cmdstats.get(cmd.id) {
            st.failed.fetch_add(1, Relaxed);
        }
    }
}

/// Hand a reply to an unblocked client's worker.
fn deliver(srv: &Server, w: &Waiter, reply: Vec<u8>) {
    if !w.silent && !reply.is_empty() {
        w.client.outbox.lock().extend_from_slice(&reply);
    }
    let Some(workers) = srv.workers.get() else { return };
    let Some(wh) = workers.get(w.client.worker) else { return };
    let msg = WakeMsg::Unblocked(w.client.token, w.client.id);
    if WORKER.with(|c| c.get()) == w.client.worker {
        wh.push_quiet(msg);
    } else {
        wh.send(msg);
    }
}

/// Wake a client blocked without keys (or on keys) with `reply`, from any thread
/// (WAIT when enough replicas acknowledged). False if it was not blocked.
pub fn wake(srv: &Server, id: u64, reply: Vec<u8>) -> bool {
    let reg = &srv.blocking;
    let Some(w) = reg.take(&mut reg.inner.lock(), id) else { return false };
    deliver(srv, &w, reply);
    true
}

/// The worker's deadline for client `id` passed: write the timeout reply into `out` and
/// return true, or false if it was served meanwhile (an `Unblocked` message is on its way).
pub fn timeout(srv: &Server, id: u64, out: &mut ReplyBuf) -> bool {
    let reg = &srv.blocking;
    let Some(w) = reg.take(&mut reg.inner.lock(), id) else { return false };
    if !w.silent {
        (w.on_timeout)(srv, out, &w.argv);
    }
    true
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]. True if the client was blocked (and now is not).
pub fn unblock(srv: &Server, id: u64, error: bool) -> bool {
    let reg = &srv.blocking;
    let Some(w) = reg.take(&mut reg.inner.lock(), id) else { return false };
    let mut out = ReplyBuf::new(w.resp);
    if error {
        out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        crate::dispatch::count_errors(srv, &out.buf);
    } else {
        (w.on_timeout)(srv, &mut out, &w.argv);
    }
    // (Redis counts a failed call for both forms: updateStatsOnUnblock(..., 1))
    count_failed(srv, &w);
    deliver(srv, &w, out.buf);
    true
}

/// This server becomes a replica: every blocked client gets an error (Redis's
/// disconnectAllBlockedClients; the data it waits on now belongs to the master).
pub fn unblock_all_role_change(srv: &Server) {
    let reg = &srv.blocking;
    let ids: Vec<u64> = reg.inner.lock().waiters.keys().copied().collect();
    for id in ids {
        let Some(w) = reg.take(&mut reg.inner.lock(), id) else { continue };
        let mut out = ReplyBuf::new(w.resp);
        out.error("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
        crate::dispatch::count_errors(srv, &out.buf);
        count_failed(srv, &w);
        deliver(srv, &w, out.buf);
    }
}

/// The connection of a blocked client is going away.
pub fn forget(srv: &Server, id: u64) {
    let reg = &srv.blocking;
    reg.take(&mut reg.inner.lock(), id);
}

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
pub fn client_unblock(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 4 {
        return ctx.out.error("ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.");
    }
    let mut error = false;
    if argv.len() == 4 {
        if argv[3].eq_ignore_ascii_case(b"error") {
            error = true;
        } else if !argv[3].eq_ignore_ascii_case(b"timeout") {
            return ctx.out.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
    }
    let Some(id) = crate::commands::arg_i64(ctx, argv[2]) else { return };
    let done = id > 0 && unblock(ctx.srv, id as u64, error);
    ctx.out.int(done as i64);
}
