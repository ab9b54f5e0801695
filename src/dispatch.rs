//! Command execution: from a parsed argv to a reply in the client's buffer.
//!
//! The path of one command (Redis's processCommand + call):
//! lookup in the command table -> subcommand -> arity -> auth -> not-in-MULTI ->
//! maxmemory -> min-replicas-to-write -> RESP2 subscribed context -> busy script ->
//! replica/MONITOR -> pause check -> queue (inside MULTI) or
//! lock the shards of its keys -> lazy-expire those keys -> run the handler ->
//! stats, slow log, latency, MONITOR feed, write stream.
//! A refused command (`reject`) flags the transaction being queued, so its EXEC fails; a
//! refused EXEC discards the transaction with `-EXECABORT Transaction discarded because
//! of: <error>`. EXEC is checked with the flags of the commands it queued.
//! A handler that panics is answered with an error; the server and the other clients
//! are not affected (parking_lot locks do not poison).

use crate::commands::{eq_ic, flags, Command, Ctx, Ks};
use crate::net::client::{cflags, ClientHandle, ClientInfo, ReplyMode};
use crate::protocol::ReplyBuf;
use crate::server::{now_ms, Server, SlowlogEntry};
use std::sync::atomic::Ordering::Relaxed;
use crate::util::clock;

/// Per-command counters, one array per worker thread (only its owner writes).
#[derive(Default)]
pub struct CmdStat {
    pub calls: std::sync::atomic::AtomicU64,
    pub usec: std::sync::atomic::AtomicU64,
    pub rejected: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
    /// Latency histogram (`latency-tracking`), allocated at the first call.
    pub hist: std::sync::OnceLock<crate::util::hdr::Hdr>,
}

pub enum Outcome {
    Done,
    /// The client is paused (CLIENT PAUSE): do not run the command now.
    Postpone,
}

/// A client argument as Redis's `%.Ns` prints it: at most `max` bytes, cut at a NUL.
fn cstr(a: &[u8], max: usize) -> &[u8] {
    let a = &a[..a.len().min(max)];
    match a.iter().position(|&b| b == 0) {
        Some(i) => &a[..i],
        None => a,
    }
}

fn unknown_command_error(argv: &[&[u8]]) -> Vec<u8> {
    let mut args = Vec::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(cstr(a, room));
        args.extend_from_slice(b"' ");
    }
    let mut e = b"ERR unknown command '".to_vec();
    e.extend_from_slice(cstr(argv[0], 128));
    e.extend_from_slice(b"', with args beginning with: ");
    e.extend_from_slice(&args);
    e
}

/// Resolve argv to a command row, writing the rejection error if there is none.
pub fn resolve<'t>(srv: &'t Server, argv: &[&[u8]], out: &mut ReplyBuf) -> Option<&'t Command> {
    let table = &srv.table;
    let Some(mut cmd) = table.lookup(argv[0]) else {
        out.error_bytes(&unknown_command_error(argv));
        return None;
    };
    // Without a subcommand the container itself runs if its arity allows (COMMAND).
    if cmd.is_container() && argv.len() >= 2 {
        match table.sub(cmd, argv[1]) {
            Some(s) => cmd = s,
            None => {
                let mut e = b"ERR unknown subcommand '".to_vec();
                e.extend_from_slice(cstr(argv[1], 128));
                e.extend_from_slice(format!("'. Try {} HELP.", cmd.name.to_ascii_uppercase()).as_bytes());
                out.error_bytes(&e);
                return None;
            }
        }
    }
    let argc = argv.len() as i32;
    if (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity {
        out.error(&format!("ERR wrong number of arguments for '{}' command", cmd.name));
        return None;
    }
    Some(cmd)
}

/// Execute one command for a client.
pub fn execute(
    srv: &Server,
    stats: &[CmdStat],
    info: &mut ClientInfo,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
) -> Outcome {
    if let Some(cmd) = lean_command(srv, info, argv) {
        run_lean(srv, stats, info, out, cmd, argv);
        return Outcome::Done;
    }
    // Keep the tracking table within tracking-table-max-keys (Redis does it in
    // processCommand: what it sends this client goes before the reply).
    if srv.tracking.clients() > 0 {
        crate::tracking::limit(srv, &mut Some((info.id, &mut *out)));
    }
    let out_start = out.len();
    let errors_before = out.errors;
    let counted_before = out.counted_errors;
    if info.reply_mode == ReplyMode::SkipNext {
        info.reply_mode = ReplyMode::Skip;
    }
    out.pushed.clear();
    let ran = run(srv, stats, info, out, argv);
    if matches!(ran, Outcome::Postpone) {
        if info.reply_mode == ReplyMode::Skip {
            info.reply_mode = ReplyMode::SkipNext;
        }
        return ran;
    }
    // errorstats
    if out.errors - errors_before > out.counted_errors - counted_before {
        count_errors(srv, &out.buf[out_start..]);
    }
    match info.reply_mode {
        ReplyMode::Off => out.truncate_keep_pushed(out_start),
        ReplyMode::Skip => {
            out.truncate_keep_pushed(out_start);
            info.reply_mode = ReplyMode::On;
        }
        _ => {}
    }
    out.pushed.clear();
    // Invalidations of keys this client changed itself follow the reply (and are sent
    // even with CLIENT REPLY OFF, as pushes are).
    if !info.track_pending.is_empty() {
        let pending = std::mem::take(&mut info.track_pending);
        crate::tracking::flush_pending(srv, &info.handle, pending, out);
    }
    // CLIENT CACHING applies to the next command only (or the next transaction).
    if info.flag(cflags::TRACKING_CACHING) && info.multi.is_none() && !eq_ic(argv[0], "client") {
        info.handle.set_flag(cflags::TRACKING_CACHING, false);
    }
    Outcome::Done
}

/// EVAL_RO & co are read-only commands but track nothing themselves: what the script
/// reads makes the caller track the declared keys.
fn is_ro_script(cmd: &Command) -> bool {
    matches!(cmd.name.as_str(), "eval_ro" | "evalsha_ro" | "fcall_ro")
}

fn runs_script(cmd: &Command) -> bool {
    matches!(cmd.name.as_str(), "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro")
}

/// Client tracking before a command runs: a script run by a tracking client (default
/// mode) remembers the client and its declared keys for `track_read`.
fn track_before(ctx: &mut Ctx, cmd: &Command, argv: &[&[u8]], keys: &[usize]) {
    let f = ctx.client.handle.flags.load(Relaxed);
    if f & cflags::TRACKING != 0 && f & cflags::TRACKING_BCAST == 0 && runs_script(cmd) {
        ctx.ks.track_caller = Some((ctx.client.handle.clone(), keys.iter().map(|&i| argv[i].to_vec()).collect()));
    }
}

/// Client tracking after a command ran (Redis's call()): a read-only command makes its
/// client track the keys it read; inside a script, the caller tracks the declared keys.
/// Runs while the command still holds its shard locks.
fn track_read(ctx: &mut Ctx, cmd: &Command, argv: &[&[u8]], keys: &[usize]) {
    if !cmd.has(flags::READONLY) || cmd.has(flags::PUBSUB) || is_ro_script(cmd) {
        return;
    }
    if ctx.client.flag(cflags::SCRIPT) {
        if let Some((h, keys)) = &ctx.ks.track_caller {
            crate::tracking::remember(ctx.srv, h, keys.iter().map(|k| k.as_slice()));
        }
    } else if ctx.client.flag(cflags::TRACKING) {
        crate::tracking::remember(ctx.srv, &ctx.client.handle, keys.iter().map(|&i| argv[i]));
    }
}

/// INFO errorstats for an error reply written into `bytes`.
pub fn count_errors(srv: &Server, bytes: &[u8]) {
    // A command's own error reply is its whole output, starting with '-'.
    if bytes.first() == Some(&b'-') {
        let end = bytes.windows(2).position(|w| w == b"\r\n").unwrap_or(bytes.len());
        srv.count_error(&String::from_utf8_lossy(&bytes[1..end]));
    }
}

const MULTI_CONTROL: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

/// `Command::lean`, decided once when the table is built: containers (subcommand
/// lookup), transaction control, script runners (their flags come from the script),
/// pub/sub and the replication handshake need the full path.
pub fn may_be_lean(c: &Command) -> bool {
    !c.is_container()
        && !c.name.contains('|')
        && !c.has(flags::PUBSUB)
        && !runs_script(c)
        && !MULTI_CONTROL.contains(&c.name.as_str())
        && !matches!(c.name.as_str(), "unwatch" | "sync" | "psync")
}

/// Client flags under which a command needs the full path (`run`): replication links,
/// MONITOR, pub/sub, transactions, client-side caching, scripts, the AOF loader.
const LEAN_DENY: u32 = cflags::MONITOR
    | cflags::PUBSUB
    | cflags::MASTER
    | cflags::REPLICA
    | cflags::MULTI
    | cflags::TRACKING
    | cflags::TRACKING_BCAST
    | cflags::TRACKING_OPTIN
    | cflags::TRACKING_OPTOUT
    | cflags::TRACKING_CACHING
    | cflags::PUSH_TARGET
    | cflags::DENY_BLOCKING
    | cflags::SCRIPT
    | cflags::AOF;

/// May this command take the lean path? Only a command `run` would pass through every
/// check of without refusing, holding, queueing or tracking it: a plain (`Command::lean`)
/// command with a valid arity, from an authenticated client with an unrestricted user,
/// no transaction, subscription, special reply mode or special flag, on a server in its
/// common state (see `Server::dispatch_quiet`). Anything else goes the full way, which
/// also gives every refusal its exact error.
#[inline]
fn lean_command<'t>(srv: &'t Server, info: &mut ClientInfo, argv: &[&[u8]]) -> Option<&'t Command> {
    if info.reply_mode != ReplyMode::On || !info.authenticated || info.multi.is_some() || !info.subs.is_empty() {
        return None;
    }
    if info.handle.flags.load(Relaxed) & LEAN_DENY != 0 || info.user.as_ref().is_some_and(|u| !u.is_unrestricted()) {
        return None;
    }
    if !srv.dispatch_quiet() {
        return None;
    }
    let cmd = srv.table.lookup_cached(argv[0], &mut info.name_cache)?;
    let argc = argv.len() as i32;
    if !cmd.lean || (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity {
        return None;
    }
    Some(cmd)
}

/// The lean path: what `run` does for a command that none of its checks stops, in the
/// same order (last command, keys, locks, clock, lazy expiry, the handler, the write
/// stream, blocked clients made ready, stats).
fn run_lean(srv: &Server, stats: &[CmdStat], info: &mut ClientInfo, out: &mut ReplyBuf, cmd: &Command, argv: &[&[u8]]) {
    info.handle.last_cmd.store(cmd.id + 1, Relaxed);
    info.cmd = cmd.id;
    info.redacted.clear();
    out.pushed.clear();
    let out_start = out.len();
    let ks = &srv.keyspace;
    let mut keys: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
    srv.table.key_positions(cmd, argv, &mut keys);
    let locks = if cmd.has(flags::NO_KEYSPACE) {
        crate::keyspace::LockSet { guards: smallvec::SmallVec::new() }
    } else if ks.nshards() == 1 {
        ks.lock_one(0)
    } else {
        match lock_unless_busy(srv, command_shards(srv, cmd, argv, &keys)) {
            Some(l) => l,
            None => {
                // a script started on another worker and is past its time limit
                reject(srv, stats, info, out, cmd, argv, srv.scripting.busy_error());
                return;
            }
        }
    };
    let batched = info.batch_clock.take();
    let start = batched.unwrap_or_else(clock::mono_ns);
    let errors_before = out.errors;
    let counted_before = out.counted_errors;
    let dirty = {
        let mut ctx = Ctx { srv, client: info, out, ks: Ks::new(srv, locks, 0, crate::server::ms_at(start)) };
        ctx.ks.db = ctx.client.db;
        ctx.ks.client = ctx.client.id;
        if !cmd.has(flags::NO_EXPIRE) {
            for &k in &keys {
                ctx.ks.expire_if_needed(argv[k]);
            }
        }
        let handler = cmd.handler;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&mut ctx, argv))).is_err() {
            ctx.out.error(&format!("ERR internal error while executing '{}'", cmd.name));
            crate::log::warning(&format!("command '{}' panicked", cmd.name));
        }
        // (without a write stream there is nothing to record)
        if ctx.ks.record {
            ctx.ks.end_command(argv, 0);
            if !ctx.ks.ops.is_empty() {
                srv.wstream.feed_call(&ctx.ks.ops, !cmd.has(flags::ARBITRARY_KEYS));
                ctx.client.woff = srv.wstream.offset.load(Relaxed);
            }
        }
        if cmd.has(flags::WRITE) {
            crate::blocking::serve_ready(&mut ctx.ks);
        }
        let dirty = ctx.ks.dirty;
        ctx.ks.finish();
        dirty
    };
    let end = clock::mono_ns();
    if batched.is_some() {
        info.batch_clock = Some(end);
    }
    let failed = out.errors > errors_before;
    // With one worker, its stats have no other writer here (the replica thread counts
    // into them only while this server is a replica, which the lean path excludes).
    let exclusive = ks.nshards() == 1;
    account(srv, Some(&stats[cmd.id]), cmd, info, argv, end.saturating_sub(start) / 1000, failed, dirty, exclusive);
    if out.errors - errors_before > out.counted_errors - counted_before {
        count_errors(srv, &out.buf[out_start..]);
    }
    let h = &info.handle;
    h.db.store(info.db, Relaxed);
    h.resp.store(info.resp, Relaxed);
}

const SUBSCRIBED_OK: &[&str] =
    &["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset"];

fn run(srv: &Server, stats: &[CmdStat], info: &mut ClientInfo, out: &mut ReplyBuf, argv: &[&[u8]]) -> Outcome {
    // Cross-protocol scripting guard: an HTTP request line or header closes the connection
    // at once, without a reply and dropping pending output (Redis's securityWarningCommand).
    if eq_ic(argv[0], "host:") || eq_ic(argv[0], "post") {
        crate::commands::connection::security_warning(srv);
        info.handle.kill.store(true, Relaxed);
        return Outcome::Done;
    }
    let resolved = resolve(srv, argv, out);
    info.handle.last_cmd.store(resolved.map_or(0, |c| c.id + 1), Relaxed);
    let Some(cmd) = resolved else {
        // rejected_calls goes to the command row the call named (none for an unknown subcommand).
        let row = srv.table.lookup(argv[0]).and_then(|c| match argv.get(1) {
            Some(sub) if c.is_container() => srv.table.sub(c, sub),
            _ => Some(c),
        });
        if let Some(c) = row {
            stats[c.id].rejected.fetch_add(1, Relaxed);
        }
        if let Some(m) = info.multi.as_mut() {
            m.error = true;
        }
        return Outcome::Done;
    };
    // The flags this call behaves with (a script's declared flags replace EVAL's and
    // FCALL's); EXEC also takes on those of the commands it queued.
    let cmd_flags = crate::scripting::call_command_flags(srv, cmd, argv);
    let is_exec = cmd.name == "exec";
    let mflags = match (&info.multi, is_exec) {
        (Some(m), true) => m.flags,
        _ => 0,
    };
    let is_write = (cmd_flags | mflags) & flags::WRITE != 0;
    let is_denyoom = (cmd_flags | mflags) & flags::DENYOOM != 0;
    let is_read = (cmd_flags | mflags) & flags::READONLY != 0;
    let may_replicate = (cmd_flags | mflags) & (flags::WRITE | flags::MAY_REPLICATE) != 0;
    if !info.authenticated && !cmd.has(flags::NO_AUTH) && srv.hot.has_password.load(Relaxed) {
        return reject(srv, stats, info, out, cmd, argv, "NOAUTH Authentication required.");
    }
    if info.multi.is_some() && cmd.has(flags::NO_MULTI) {
        return reject(srv, stats, info, out, cmd, argv, "ERR Command not allowed inside a transaction");
    }
    // ACL: the client's user may run this command on these keys and channels.
    if info.user.as_ref().is_some_and(|u| !u.is_unrestricted()) {
        let context = if info.multi.is_some() { crate::acl::LogContext::Multi } else { crate::acl::LogContext::Toplevel };
        if let Err(d) = crate::commands::acl::check_client(srv, info, cmd, argv, context) {
            return reject(srv, stats, info, out, cmd, argv, &d.error(cmd));
        }
    }
    let script_running = srv.scripting.is_running();
    let busy = script_running && srv.scripting.is_busy();
    // maxmemory: evict by the policy first (`evict.rs`); when that cannot bring memory
    // under the limit, commands that may use memory are refused. Queueing inside MULTI
    // may use any amount of memory, so there everything but EXEC, DISCARD, QUIT and RESET
    // counts. The AOF replay and a master's link are obeyed (Redis's mustObeyClient; a
    // replica ignores maxmemory by default).
    let obey = info.flag(cflags::MASTER | cflags::AOF);
    let maxmemory = srv.hot.maxmemory.load(Relaxed);
    if maxmemory > 0 && !script_running && !obey && crate::evict::perform_evictions(srv, Some((&info.handle, &mut *out))) == crate::evict::Verdict::Fail {
        let reject_on_oom = is_denyoom
            || (info.multi.is_some() && !matches!(cmd.name.as_str(), "exec" | "discard" | "quit" | "reset"));
        if reject_on_oom {
            return reject(srv, stats, info, out, cmd, argv, OOM_ERR);
        }
    }
    // min-replicas-to-write
    if is_write && !obey && srv.hot.min_replicas_to_write.load(Relaxed) > 0 && crate::scripting::not_enough_replicas(srv) {
        return reject(srv, stats, info, out, cmd, argv, crate::scripting::NOREPLICAS);
    }
    // A read-only replica refuses writes but its master's (`crate::replica`).
    let replica = srv.repl.is_replica();
    if replica && is_write && !obey && srv.config.read().get_bool("replica-read-only") {
        return reject(srv, stats, info, out, cmd, argv, "READONLY You can't write against a read only replica.");
    }
    // Start-up and loading, for real connections (the AOF's fake client, fd -1, is what
    // does the loading): held, or only commands flagged `loading` run.
    if info.handle.fd >= 0 {
        match crate::persist::startup_gate(srv) {
            None => {}
            Some(false) => return Outcome::Postpone,
            Some(true) if cmd.has(flags::LOADING) => {}
            Some(true) => {
                stats[cmd.id].rejected.fetch_add(1, Relaxed);
                out.error("LOADING Redis is loading the dataset in memory");
                return Outcome::Done;
            }
        }
    }
    // RESP2 clients in subscribed mode may only run the (un)subscribe family, PING, QUIT, RESET.
    if info.resp == 2 && !info.subs.is_empty() && !SUBSCRIBED_OK.contains(&cmd.name.as_str()) {
        let e = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        );
        return reject(srv, stats, info, out, cmd, argv, &e);
    }
    // A replica whose link is down, with replica-serve-stale-data no, runs only the
    // commands flagged stale (EXEC: only if everything it queued is).
    if replica && !srv.repl.link_up.load(Relaxed) {
        let inv = match (&info.multi, is_exec) {
            (Some(m), true) => m.inv_flags,
            _ => 0,
        };
        let deny_stale = !cmd.has(flags::STALE) || inv & flags::STALE != 0;
        if deny_stale && !srv.config.read().get_bool("replica-serve-stale-data") {
            return reject(srv, stats, info, out, cmd, argv, MASTERDOWN_ERR);
        }
    }
    // A script is past busy-reply-threshold: only allow-busy commands run (-BUSY). MULTI,
    // DISCARD and WATCH are allow-busy, so a transaction sent in a pipeline cannot lose its
    // head to -BUSY and run the rest: the refused commands flag it and EXEC fails.
    if busy && !cmd.has(flags::ALLOW_BUSY) {
        return reject(srv, stats, info, out, cmd, argv, srv.scripting.busy_error());
    }
    // Replicas and MONITOR clients (Redis flags both CLIENT_SLAVE) may not touch the
    // keyspace; in exchange they are never paused.
    if info.flag(cflags::REPLICA | cflags::MONITOR) {
        if may_replicate || is_write || is_read {
            return reject(srv, stats, info, out, cmd, argv, "ERR Replica can't interact with the keyspace");
        }
    } else if let Some(all) = srv.paused() {
        // CLIENT PAUSE: hold back everything, or only what may be replicated.
        if all || may_replicate {
            return Outcome::Postpone;
        }
    }
    // Inside MULTI: queue everything but the transaction-control commands (nothing more
    // once the transaction is sure to fail, as Redis).
    if let Some(m) = info.multi.as_mut() {
        if !MULTI_CONTROL.contains(&cmd.name.as_str()) {
            if !m.error && !info.watched.flag.load(Relaxed) {
                m.queue.push((cmd.id, argv.iter().map(|a| a.to_vec()).collect()));
                m.flags |= cmd_flags;
                m.inv_flags |= !cmd_flags;
                info.handle.multi_len.store(m.queue.len() as i64, Relaxed);
            }
            out.simple("QUEUED");
            return Outcome::Done;
        }
    }
    info.cmd = cmd.id;
    info.redacted.clear();
    let ks = &srv.keyspace;
    let mut keys: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
    srv.table.key_positions(cmd, argv, &mut keys);
    let no_locks = || crate::keyspace::LockSet { guards: smallvec::SmallVec::new() };
    let locks = if script_running && cmd.has(flags::ALLOW_BUSY) {
        // SCRIPT KILL & co. while a script holds the shards: they need none.
        no_locks()
    } else if ks.nshards() == 1 && !script_running {
        // One worker: no script can hold the shard while this command runs.
        ks.lock_one(0)
    } else {
        // A script may hold the shards, or start on another worker at any moment and keep
        // them: wait in slices and give up once it is busy (-BUSY; an allow-busy command
        // then runs without them) instead of blocking behind it.
        match lock_unless_busy(srv, command_shards(srv, cmd, argv, &keys)) {
            Some(l) => l,
            None if cmd.has(flags::ALLOW_BUSY) => no_locks(),
            None => return reject(srv, stats, info, out, cmd, argv, srv.scripting.busy_error()),
        }
    };
    let batched = info.batch_clock.take();
    let start = batched.unwrap_or_else(clock::mono_ns);
    let now = crate::server::ms_at(start);
    let errors_before = out.errors;
    let counted_before = out.counted_errors;
    let dirty = {
        let mut ctx = Ctx {
            srv,
            client: info,
            out,
            ks: Ks::new(srv, locks, 0, now),
        };
        ctx.ks.db = ctx.client.db;
        ctx.ks.client = ctx.client.id;
        if !cmd.has(flags::NO_EXPIRE) {
            for &k in &keys {
                ctx.ks.expire_if_needed(argv[k]);
            }
        }
        track_before(&mut ctx, cmd, argv, &keys);
        let handler = cmd.handler;
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&mut ctx, argv)));
        if res.is_err() {
            ctx.out.error(&format!("ERR internal error while executing '{}'", cmd.name));
            crate::log::warning(&format!("command '{}' panicked", cmd.name));
        }
        track_read(&mut ctx, cmd, argv, &keys);
        ctx.ks.end_command(argv, 0);
        if !ctx.ks.ops.is_empty() {
            srv.wstream.feed_call(&ctx.ks.ops, !cmd.has(flags::ARBITRARY_KEYS));
            ctx.client.woff = srv.wstream.offset.load(Relaxed);
        }
        if ctx.client.flag(cflags::MASTER) {
            crate::replica::proxy_pending(srv);
        }
        let dirty = ctx.ks.dirty;
        if !ctx.ks.track_pending.is_empty() {
            ctx.client.track_pending.append(&mut ctx.ks.track_pending);
        }
        // Serve clients blocked on keys this command made ready (after it, as Redis does).
        crate::blocking::serve_ready(&mut ctx.ks);
        ctx.ks.finish();
        dirty
    };
    let end = clock::mono_ns();
    if batched.is_some() {
        info.batch_clock = Some(end);
    }
    // failed: any error reply; for EXEC only one of its own (the queued commands' errors
    // were attributed to them, `run_in_exec`)
    let failed = if cmd.name == "exec" {
        out.errors - errors_before > out.counted_errors - counted_before
    } else {
        out.errors > errors_before
    };
    account(srv, Some(&stats[cmd.id]), cmd, info, argv, end.saturating_sub(start) / 1000, failed, dirty, false);
    if srv.monitor_count.load(Relaxed) > 0 && !cmd.has(flags::SKIP_MONITOR | flags::ADMIN) {
        crate::commands::client::feed_monitors(srv, info, out, argv);
    }
    if cmd.has(flags::PUBSUB) {
        info.sync_sub_counts();
    }
    // an eviction pass CONFIG SET asked for, now that this command's locks are released
    crate::evict::run_pending(srv);
    let h = &info.handle;
    h.db.store(info.db, Relaxed);
    h.resp.store(info.resp, Relaxed);
    Outcome::Done
}

/// Add to a counter: a plain load and store where this thread is its only writer
/// (`exclusive`: no locked instruction), a locked add otherwise.
#[inline]
fn bump(c: &std::sync::atomic::AtomicU64, n: u64, exclusive: bool) {
    if exclusive {
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    } else {
        c.fetch_add(n, Relaxed);
    }
}

/// After a top-level command ran: commandstats, the dirty counter, the latency
/// histogram, the slowlog and the latency monitor. `exclusive`: this thread is the only
/// writer of `st`'s calls, usec and histogram.
#[inline]
#[allow(clippy::too_many_arguments)]
fn account(srv: &Server, st: Option<&CmdStat>, cmd: &Command, info: &ClientInfo, argv: &[&[u8]], us: u64, failed: bool, dirty: u64, exclusive: bool) {
    if let Some(st) = st {
        bump(&st.calls, 1, exclusive);
        // (most commands take under a microsecond: no add of a zero)
        if us > 0 {
            bump(&st.usec, us, exclusive);
        }
        if failed {
            st.failed.fetch_add(1, Relaxed);
        }
        if srv.hot.latency_tracking.load(Relaxed) {
            st.hist.get_or_init(Default::default).record(us * 1000, exclusive);
        }
    }
    if dirty > 0 {
        srv.dirty.fetch_add(dirty, Relaxed);
    }
    if !cmd.has(flags::SKIP_SLOWLOG) {
        slowlog_maybe(srv, &info.handle, argv, &info.redacted, us);
    }
    srv.latency_add(if cmd.has(flags::FAST) { "fast-command" } else { "command" }, us / 1000);
}

pub const MASTERDOWN_ERR: &str = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

pub const OOM_ERR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Refuse a command before it runs (Redis's rejectCommand): a transaction being queued
/// is flagged so its EXEC fails, and a refused EXEC ends the transaction with EXECABORT.
fn reject(
    srv: &Server,
    stats: &[CmdStat],
    info: &mut ClientInfo,
    out: &mut ReplyBuf,
    cmd: &Command,
    argv: &[&[u8]],
    err: &str,
) -> Outcome {
    stats[cmd.id].rejected.fetch_add(1, Relaxed);
    if cmd.name == "exec" {
        // execCommandAbort: discard the transaction (with the WATCHes) and tell why.
        info.multi = None;
        info.handle.multi_len.store(-1, Relaxed);
        crate::net::worker::release_watches(srv, std::mem::take(&mut info.watched));
        out.error(&format!("EXECABORT Transaction discarded because of: {}", err.trim_start_matches('-')));
        if srv.monitor_count.load(Relaxed) > 0 {
            crate::commands::client::feed_monitors(srv, info, out, argv);
        }
    } else {
        if let Some(m) = info.multi.as_mut() {
            m.error = true;
        }
        out.error(err);
    }
    Outcome::Done
}

/// The shards a command locks: those of its keys, or all of them for a keyspace-wide
/// command (or one without keys).
fn command_shards(srv: &Server, cmd: &Command, argv: &[&[u8]], keys: &[usize]) -> smallvec::SmallVec<[usize; 4]> {
    let ks = &srv.keyspace;
    if ks.nshards() == 1 {
        smallvec::smallvec![0]
    } else if keys.is_empty() || cmd.has(flags::ALL_SHARDS) {
        (0..ks.nshards()).collect()
    } else {
        keys.iter().map(|&i| ks.shard_of(argv[i])).collect()
    }
}

/// Lock `shards` while a script runs on another worker: wait in slices, and give up
/// (None: reply -BUSY) once the script is past its busy threshold.
fn lock_unless_busy(srv: &Server, mut shards: smallvec::SmallVec<[usize; 4]>) -> Option<crate::keyspace::LockSet<'_>> {
    shards.sort_unstable();
    shards.dedup();
    let slice = std::time::Duration::from_millis(10);
    'retry: loop {
        let mut guards = smallvec::SmallVec::new();
        for &i in &shards {
            match srv.keyspace.shards[i].try_lock_for(slice) {
                Some(g) => guards.push((i, g)),
                None => {
                    drop(guards);
                    if srv.scripting.is_busy() {
                        return None;
                    }
                    continue 'retry;
                }
            }
        }
        return Some(crate::keyspace::LockSet { guards });
    }
}

/// Run one queued command inside EXEC: every shard is already locked by EXEC itself.
pub fn run_in_exec(ctx: &mut Ctx, cmd: &Command, argv: &[&[u8]]) {
    let srv = ctx.srv;
    let stats = srv.workers.get().map(|w| &w[ctx.client.handle.worker].cmdstats);
    ctx.client.cmd = cmd.id;
    ctx.client.redacted.clear();
    let mut keys: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
    srv.table.key_positions(cmd, argv, &mut keys);
    for &k in &keys {
        ctx.ks.expire_if_needed(argv[k]);
    }
    track_before(ctx, cmd, argv, &keys);
    let errors_before = ctx.out.errors;
    let counted_before = ctx.out.counted_errors;
    let out_start = ctx.out.len();
    let dirty_before = ctx.ks.dirty;
    let start = clock::mono_ns();
    let handler = cmd.handler;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(ctx, argv)));
    if res.is_err() {
        ctx.out.error(&format!("ERR internal error while executing '{}'", cmd.name));
        crate::log::warning(&format!("command '{}' panicked", cmd.name));
    }
    track_read(ctx, cmd, argv, &keys);
    ctx.ks.end_command(argv, dirty_before);
    // errorstats for a queued command's own error reply (EXEC's reply is an array)
    let new_errors = ctx.out.errors - errors_before;
    let own_error = new_errors > ctx.out.counted_errors - counted_before;
    if own_error {
        count_errors(srv, &ctx.out.buf[out_start..]);
        ctx.out.counted_errors = counted_before + new_errors;
    }
    let us = clock::mono_ns().saturating_sub(start) / 1000;
    // (the dirty counter is EXEC's or the script's, counted once when it ends)
    account(srv, stats.map(|s| &s[cmd.id]), cmd, ctx.client, argv, us, own_error, 0, false);
    if srv.monitor_count.load(Relaxed) > 0 && !cmd.has(flags::SKIP_MONITOR | flags::ADMIN) {
        crate::commands::client::feed_monitors(srv, ctx.client, ctx.out, argv);
    }
}

/// Add a slow log entry if the command took at least `slowlog-log-slower-than` µs
/// (`redacted`: argv positions shown as "(redacted)"). Also used for blocked commands
/// when they are served.
#[inline]
pub fn slowlog_maybe(srv: &Server, client: &ClientHandle, argv: &[&[u8]], redacted: &[usize], us: u64) {
    let th = srv.hot.slowlog_slower_than.load(Relaxed);
    if th < 0 || (us as i64) < th {
        return;
    }
    slowlog_add(srv, client, argv, redacted, us);
}

#[cold]
fn slowlog_add(srv: &Server, client: &ClientHandle, argv: &[&[u8]], redacted: &[usize], us: u64) {
    let args = crate::commands::introspection::slowlog_args(argv, redacted);
    let name = client.name.lock().as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    let max = srv.hot.slowlog_max_len.load(Relaxed) as usize;
    let mut sl = srv.slowlog.lock();
    let id = sl.next_id;
    sl.next_id += 1;
    sl.entries.push_front(SlowlogEntry {
        id,
        time: now_ms() / 1000,
        duration_us: us,
        args,
        peer: client.addr.clone(),
        name,
    });
    while sl.entries.len() > max {
        sl.entries.pop_back();
    }
}

/// Feed the write stream with what a background job (active expiry, eviction) did.
/// Each effect is its own top-level call (no MULTI wrapping).
pub fn propagate_background(srv: &Server, ks: &mut Ks) {
    for op in ks.ops.drain(..) {
        srv.wstream.feed(std::slice::from_ref(&op));
    }
}
