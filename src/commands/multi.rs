//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! While a client is in MULTI the dispatcher queues its commands after the checks of
//! `dispatch::run` (existence, arity, maxmemory, busy script...); a refused command makes
//! EXEC fail with EXECABORT. MULTI, DISCARD and WATCH are served while a script is busy;
//! without the shard locks then, WATCH keeps its keys pending (EXEC fails if anything was
//! written since) and UNWATCH/DISCARD hand the registrations to the worker to drop later.
//! EXEC runs with every shard locked (the command is registered ALL_SHARDS), so the queued
//! commands execute back to back with no other client in between, whatever keys they touch.
//!
//! WATCH registers the client's `WatchFlag` under the key in the db part (shard) that owns
//! the key; `Ks::signal_modified` sets the flags of every watcher of a key that changes,
//! and EXEC aborts (null reply) if the flag is set or a watched key expired since WATCH.

use super::{flags, Ctx, Registration};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

pub const COMMANDS: &[Registration] = &[
    ("multi", multi, 0),
    ("exec", exec, flags::ALL_SHARDS),
    ("discard", discard, 0),
    ("watch", watch, flags::NO_EXPIRE),
    ("unwatch", unwatch, 0),
];

/// Set when a watched key is modified ("dirty CAS").
pub type WatchFlag = Arc<AtomicBool>;

/// A client's transaction state.
#[derive(Default)]
pub struct MultiState {
    /// Queued commands: (command id, argv).
    pub queue: Vec<(usize, Vec<Vec<u8>>)>,
    /// A queued command was rejected: EXEC must fail with EXECABORT.
    pub error: bool,
    /// OR of the flags of the queued commands (Redis's mstate.cmd_flags): the checks
    /// before EXEC look at them.
    pub flags: u32,
    /// OR of the complements of those flags (Redis's cmd_inv_flags): EXEC is refused on a
    /// stale replica if any queued command lacks the stale flag.
    pub inv_flags: u32,
}

/// A client's watched keys.
#[derive(Default)]
pub struct Watched {
    pub flag: WatchFlag,
    /// (db, key); whether the key was already expired when watched is kept with the
    /// registration in the db (`keyspace::WatchReg`).
    pub keys: Vec<(usize, Vec<u8>)>,
    /// Keys watched while a script held the shard locks (WATCH is allow-busy): they
    /// cannot be registered, so EXEC fails if any key was written or expired since
    /// (`pending_mark`: `change_mark` at that WATCH).
    pub pending: Vec<(usize, Vec<u8>)>,
    pub pending_mark: u64,
}

fn multi(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(MultiState::default());
    ctx.client.handle.multi_len.store(0, Relaxed);
    ctx.out.ok();
}

fn discard(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.is_none() {
        return ctx.out.error("ERR DISCARD without MULTI");
    }
    ctx.client.multi = None;
    ctx.client.handle.multi_len.store(-1, Relaxed);
    unwatch_all(ctx);
    ctx.out.ok();
}

fn watch(ctx: &mut Ctx, argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error("ERR WATCH inside MULTI is not allowed");
    }
    let db = ctx.ks.db;
    if ctx.ks.locks.guards.is_empty() {
        // A script holds the shards (this is the busy path): remember the keys.
        let w = &mut ctx.client.watched;
        if w.pending.is_empty() {
            w.pending_mark = change_mark(ctx.srv);
        }
        for key in &argv[1..] {
            if !w.keys.iter().chain(w.pending.iter()).any(|(d, k)| *d == db && k == key) {
                w.pending.push((db, key.to_vec()));
            }
        }
        return ctx.out.ok();
    }
    for key in &argv[1..] {
        if ctx.client.watched.keys.iter().any(|(d, k)| *d == db && k == key) {
            continue;
        }
        let expired = {
            let now = ctx.ks.now;
            let d = ctx.ks.db_ref(key);
            d.get(key).is_some_and(|e| d.is_expired(e, now))
        };
        let flag = ctx.client.watched.flag.clone();
        ctx.ks.db(key).watch(key, flag, expired);
        ctx.client.watched.keys.push((db, key.to_vec()));
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx, _argv: &[&[u8]]) {
    unwatch_all(ctx);
    ctx.out.ok();
}

/// Remove every watch of the client (EXEC, DISCARD, UNWATCH, RESET).
pub fn unwatch_all(ctx: &mut Ctx) {
    if ctx.ks.locks.guards.is_empty() {
        // No shard locked (UNWATCH / DISCARD / RESET while a script holds them): drop
        // the registrations later.
        crate::net::worker::release_watches(ctx.srv, std::mem::take(&mut ctx.client.watched));
        return;
    }
    ctx.client.watched.pending.clear();
    let w = std::mem::take(&mut ctx.client.watched.keys);
    let flag = ctx.client.watched.flag.clone();
    for (db, key) in w {
        ctx.ks.db_at(db, &key).unwatch(&key, &flag);
    }
    ctx.client.watched.flag = WatchFlag::default();
}

/// Moves whenever a key may have changed: writes (the dirty counter) and expired keys.
fn change_mark(srv: &crate::server::Server) -> u64 {
    srv.dirty.load(Relaxed).wrapping_add(srv.stats.expired_keys.load(Relaxed))
}

/// Did a watched key expire since WATCH (Redis 7.0 isWatchedKeyExpired)?
fn watched_key_expired(ctx: &Ctx) -> bool {
    let flag = &ctx.client.watched.flag;
    ctx.client.watched.keys.iter().any(|(db, key)| {
        let s = ctx.srv.keyspace.shard_of(key);
        let d = &ctx.ks.locks.shard_ref(s).dbs[*db];
        !d.watched_as_expired(key, flag) && d.get(key).is_some_and(|e| d.is_expired(e, ctx.ks.now))
    })
}

fn exec(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let Some(state) = ctx.client.multi.take() else {
        return ctx.out.error("ERR EXEC without MULTI");
    };
    ctx.client.handle.multi_len.store(-1, Relaxed);
    if state.error {
        unwatch_all(ctx);
        return ctx.out.error("EXECABORT Transaction discarded because of previous errors.");
    }
    let w = &ctx.client.watched;
    let written_since_busy_watch = !w.pending.is_empty() && change_mark(ctx.srv) != w.pending_mark;
    if w.flag.load(Relaxed) || written_since_busy_watch || watched_key_expired(ctx) {
        unwatch_all(ctx);
        return ctx.out.null_array();
    }
    unwatch_all(ctx);
    ctx.out.array(state.queue.len());
    ctx.client.in_exec = true;
    let srv = ctx.srv;
    for (id, args) in &state.queue {
        let argv: smallvec::SmallVec<[&[u8]; 8]> = args.iter().map(|a| a.as_slice()).collect();
        let cmd = &srv.table.cmds[*id];
        // ACL rules may have changed since the command was queued (Redis checks again).
        if let Err(d) = crate::commands::acl::check_client(srv, ctx.client, cmd, &argv, crate::acl::LogContext::Multi) {
            let reason = match d {
                crate::acl::Denied::Cmd => "no permission to execute the command or subcommand",
                crate::acl::Denied::Key(_) => "no permission to touch the specified keys",
                crate::acl::Denied::Channel(_) => "no permission to access one of the channels used as arguments",
                crate::acl::Denied::Auth => "no permission",
            };
            ctx.out.error(&format!(
                "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
            ));
            continue;
        }
        crate::dispatch::run_in_exec(ctx, cmd, &argv);
    }
    ctx.client.in_exec = false;
    // The queued commands recorded their own effects; EXEC itself adds none.
    ctx.ks.propagate = Some(Vec::new());
}
