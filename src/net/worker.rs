//! A worker thread: one mio event loop serving its share of the connections.
//!
//! Each worker owns its connections outright (socket, query buffer, parser, reply
//! buffer, `ClientInfo`); no other thread touches them. Other threads reach a connection
//! only through its `ClientHandle` (atomics, outbox) plus a message to the worker's queue
//! and a wake-up of its `mio::Waker`.
//!
//! Per readable event a connection gets one `read` (another only if the read filled the
//! buffer: sockets are edge-triggered and a short read means the kernel queue is empty),
//! all complete commands in the buffer run, and the replies go out in one `write`.
//! Worker 0 also owns the listening sockets (new connections are dealt round-robin) and
//! runs the server cron (active expiry, rehashing, stats sampling).
//!
//! Re-entrancy for busy scripts: a script that runs past busy-reply-threshold calls back
//! into its worker (`serve_while_busy`, from the Lua hook, in the middle of a command) so
//! the other connections get -BUSY or can run SCRIPT KILL. To make that sound the worker
//! lives in a `RefCell` reachable from a thread-local, every borrow of it is short, and a
//! connection running commands is taken out of the slab for its batch: no reference to
//! the worker or the slab is live across `dispatch::execute`. Polled events wait in
//! `pending`, so the ones polled together with the script's own are served by the busy
//! loop too. While busy, what concerns the checked-out connection is replayed when it is
//! back, and the shard locks the script holds are never taken (no cron; WATCH cleanup of
//! closed clients is deferred).

use crate::dispatch::{self, CmdStat, Outcome};
use crate::keyspace::{MemberHint, ZHint};
use crate::log;
use crate::net::client::{cflags, ClientHandle, ClientInfo};
use crate::protocol::parse::{Limits, Parsed, RequestParser};
use crate::protocol::ReplyBuf;
use crate::server::{now_ms, Server};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use parking_lot::Mutex;
use slab::Slab;
use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX - 1);
const LISTENER_BASE: usize = usize::MAX - 64;
const READ_CHUNK: usize = 16 * 1024;
/// Batches a connection skips the prefetch lookahead for after one that found nothing big.
const PREFETCH_BACKOFF: u8 = 64;

pub enum WakeMsg {
    /// A connection accepted by worker 0 for this worker.
    NewConn(TcpStream),
    /// Bytes were queued in a client's outbox.
    Outbox(usize),
    /// A client was marked for closing (CLIENT KILL).
    Kill(usize),
    /// Re-check clients held back by CLIENT PAUSE.
    Unpause,
    /// A blocked client (token, client id) was served or unblocked; its reply is in its outbox.
    Unblocked(usize, u64),
    /// Replace the listening sockets (CONFIG SET port / bind); sent to worker 0.
    Listeners(Vec<TcpListener>),
}

pub struct WorkerHandle {
    pub idx: usize,
    waker: Waker,
    queue: Mutex<Vec<WakeMsg>>,
    /// Per-command counters of this worker (indexed by command id).
    pub cmdstats: Box<[CmdStat]>,
}

impl WorkerHandle {
    pub fn send(&self, m: WakeMsg) {
        self.queue.lock().push(m);
        let _ = self.waker.wake();
    }

    pub fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// Queue a message from the worker's own thread (no wake-up: the loop drains the queue
    /// after each round of events).
    pub fn push_quiet(&self, m: WakeMsg) {
        self.queue.lock().push(m);
    }
}

struct Conn {
    sock: TcpStream,
    qbuf: Vec<u8>,
    parser: RequestParser,
    info: ClientInfo,
    out: ReplyBuf,
    sent: usize,
    /// Held back by CLIENT PAUSE with input still to run.
    postponed: bool,
    /// When the output first exceeded the soft limit (ms), 0 if not.
    soft_since: i64,
    /// In the worker's `to_flush` list (replies written at the end of the round).
    flush_queued: bool,
    /// Batches left before the next prefetch lookahead (see `prefetch_batch`).
    prefetch_skip: u8,
    /// Largest query buffer length since the last cron pass (Redis's querybuf_peak).
    qbuf_peak: usize,
    /// The reply buffer: its size (Redis's buf_usable_size: what `out` keeps between
    /// replies; beyond it the buffer grows like Redis's reply list and is trimmed back by
    /// the cron), the largest use of those bytes since `rbuf_peak_at` (ms).
    rbuf_size: usize,
    rbuf_peak: usize,
    rbuf_peak_at: i64,
}

/// The connection slab. A slot is `None` while its connection is checked out to run a
/// batch of commands (see the module comment).
struct Conns(Slab<Option<Box<Conn>>>);

impl Conns {
    fn get(&self, tok: usize) -> Option<&Conn> {
        self.0.get(tok).and_then(|c| c.as_deref())
    }

    fn get_mut(&mut self, tok: usize) -> Option<&mut Conn> {
        self.0.get_mut(tok).and_then(|c| c.as_deref_mut())
    }

    fn contains(&self, tok: usize) -> bool {
        self.get(tok).is_some()
    }

    fn is_checked_out(&self, tok: usize) -> bool {
        matches!(self.0.get(tok), Some(None))
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &Conn)> {
        self.0.iter().filter_map(|(t, c)| c.as_deref().map(|c| (t, c)))
    }
}

pub struct Worker {
    idx: usize,
    srv: Arc<Server>,
    handle: Arc<WorkerHandle>,
    poll: Poll,
    conns: Conns,
    listeners: Vec<TcpListener>,
    rr: usize,
    postponed: Vec<usize>,
    /// Deadlines of blocked clients: (unix ms, token, client id).
    block_timers: std::collections::BTreeSet<(i64, usize, u64)>,
    /// Polled events not handled yet: (token, readable, writable, peer closed).
    pending: std::collections::VecDeque<(usize, bool, bool, bool)>,
    /// Nesting depth of `serve_while_busy` (a script is running on this thread).
    busy: u32,
    /// Connections with socket events while they were checked out (read again later).
    missed: Vec<usize>,
    /// Messages for checked-out connections, queued again once they are back.
    requeue: Vec<WakeMsg>,
    /// WATCHes of clients closed while busy: dropped once the shard locks are free.
    deferred_unwatch: Vec<crate::commands::multi::Watched>,
    /// Connections whose replies are written at the end of this round of events (as
    /// Redis's beforeSleep does): the clients' wake-ups come in one burst, and with an
    /// AOF one write (and fsync) covers every reply of the round.
    to_flush: Vec<usize>,
}

thread_local! {
    /// The worker running on this thread (for `serve_while_busy`).
    static CURRENT: RefCell<Option<Rc<RefCell<Worker>>>> = const { RefCell::new(None) };
    /// Unix ms taken when the last poll returned: the time of this round's reads and
    /// writes (clients' last interaction), like Redis's cached `server.unixtime`.
    static ROUND_MS: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

fn round_ms() -> i64 {
    ROUND_MS.with(|c| c.get())
}

fn start_round() {
    ROUND_MS.with(|c| c.set(now_ms()));
}

/// Called by a busy script (from the Lua hook): serve the other connections of this
/// worker once, without blocking. They get -BUSY except for allow-busy commands (the
/// dispatcher decides). A no-op outside a worker thread.
pub fn serve_while_busy() {
    let Some(cell) = CURRENT.with(|c| c.borrow().clone()) else { return };
    let mut events = Events::with_capacity(256);
    {
        let Ok(mut w) = cell.try_borrow_mut() else { return };
        w.busy += 1;
        if let Err(e) = w.poll.poll(&mut events, Some(Duration::ZERO)) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                log::warning(&format!("poll error: {e}"));
            }
        }
        start_round();
    }
    handle_events(&cell, &events);
    drain_queue(&cell);
    cell.borrow_mut().busy -= 1;
}

/// Queue a batch of poll events and handle everything pending.
fn handle_events(cell: &RefCell<Worker>, events: &Events) {
    {
        let mut w = cell.borrow_mut();
        for ev in events.iter() {
            let peer_closed = ev.is_read_closed() || ev.is_error();
            w.pending.push_back((ev.token().0, ev.is_readable() || peer_closed, ev.is_writable(), peer_closed));
        }
    }
    loop {
        let Some((t, readable, writable, peer_closed)) = cell.borrow_mut().pending.pop_front() else { break };
        if t == WAKER.0 {
            drain_queue(cell);
        } else if t >= LISTENER_BASE {
            cell.borrow_mut().accept(t - LISTENER_BASE);
        } else {
            {
                let mut w = cell.borrow_mut();
                if w.conns.is_checked_out(t) {
                    if readable {
                        w.missed.push(t);
                    }
                    continue;
                }
            }
            // A bug met while serving one connection costs that connection, not
            // the worker and every other client it serves.
            let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if readable {
                    on_readable(cell, t, peer_closed);
                }
                let mut w = cell.borrow_mut();
                // Writable (edge-triggered: also each time the peer's ACKs free send
                // space) writes now only what an earlier round could not; replies of
                // this round's commands wait for the end of the round with the others,
                // so that a round makes one burst of writes (as Redis's beforeSleep).
                if writable && w.conns.get(t).is_some_and(|c| !c.flush_queued) {
                    w.flush(t);
                }
            }));
            if served.is_err() {
                log::warning("internal error while serving a client; closing its connection");
                if let Ok(mut w) = cell.try_borrow_mut() {
                    w.close(t);
                }
            }
        }
    }
    cell.borrow_mut().flush_queued();
}

/// After a round of events (not while busy): read again what connections missed while
/// they were checked out, queue their messages again, drop deferred WATCHes.
fn after_busy(cell: &RefCell<Worker>) {
    let (missed, requeue, unwatch, srv) = {
        let mut w = cell.borrow_mut();
        // WATCHes wait while a script (maybe on another worker) holds the shard locks.
        let unwatch_now = !w.deferred_unwatch.is_empty() && !w.srv.scripting.is_running();
        if w.busy > 0 || (w.missed.is_empty() && w.requeue.is_empty() && !unwatch_now) {
            return;
        }
        let unwatch = if unwatch_now { std::mem::take(&mut w.deferred_unwatch) } else { Vec::new() };
        (std::mem::take(&mut w.missed), std::mem::take(&mut w.requeue), unwatch, w.srv.clone())
    };
    for watched in unwatch {
        unwatch_closed(&srv, watched);
    }
    if !requeue.is_empty() {
        let h = cell.borrow().handle.clone();
        for m in requeue {
            h.push_quiet(m);
        }
        drain_queue(cell);
    }
    for tok in missed {
        if cell.borrow().conns.contains(tok) {
            on_readable(cell, tok, false);
        }
    }
}

/// Drop a client's WATCHes outside a command (EXEC refused before it ran): at once, or,
/// while a script holds the shard locks, once this worker is no longer busy.
pub fn release_watches(srv: &Server, watched: crate::commands::multi::Watched) {
    if watched.keys.is_empty() {
        return;
    }
    if srv.scripting.is_running() {
        if let Some(cell) = CURRENT.with(|c| c.borrow().clone()) {
            if let Ok(mut w) = cell.try_borrow_mut() {
                w.deferred_unwatch.push(watched);
                return;
            }
        }
    }
    unwatch_closed(srv, watched);
}

fn unwatch_closed(srv: &Server, mut watched: crate::commands::multi::Watched) {
    for (db, key) in std::mem::take(&mut watched.keys) {
        let s = srv.keyspace.shard_of(&key);
        srv.keyspace.shards[s].lock().dbs[db].unwatch(&key, &watched.flag);
    }
}

fn drain_queue(cell: &RefCell<Worker>) {
    let msgs = {
        let w = cell.borrow();
        let m = std::mem::take(&mut *w.handle.queue.lock());
        m
    };
    for m in msgs {
        let tok = match &m {
            WakeMsg::Outbox(t) | WakeMsg::Kill(t) | WakeMsg::Unblocked(t, _) => Some(*t),
            _ => None,
        };
        if let Some(t) = tok {
            let mut w = cell.borrow_mut();
            if w.conns.is_checked_out(t) {
                w.requeue.push(m);
                continue;
            }
        }
        match m {
            WakeMsg::NewConn(s) => cell.borrow_mut().add_conn(s),
            WakeMsg::Outbox(tok) => {
                let mut w = cell.borrow_mut();
                if let Some(c) = w.conns.get_mut(tok) {
                    let mut ob = c.info.handle.outbox.lock();
                    c.out.buf.extend_from_slice(&ob);
                    ob.clear();
                    drop(ob);
                    w.flush(tok);
                }
            }
            WakeMsg::Kill(tok) => {
                let mut w = cell.borrow_mut();
                if w.conns.get(tok).is_some_and(|c| c.info.handle.kill.load(Relaxed)) {
                    w.close(tok);
                }
            }
            WakeMsg::Unpause => resume_postponed(cell),
            WakeMsg::Listeners(new) => cell.borrow_mut().replace_listeners(new),
            WakeMsg::Unblocked(tok, id) => {
                let resume = {
                    let mut w = cell.borrow_mut();
                    match w.conns.get_mut(tok) {
                        Some(c) if c.info.id == id && c.info.blocked.is_some() => {
                            let mut ob = c.info.handle.outbox.lock();
                            c.out.buf.extend_from_slice(&ob);
                            ob.clear();
                            true
                        }
                        _ => false,
                    }
                };
                if resume {
                    resume_unblocked(cell, tok);
                }
            }
        }
    }
}

/// A blocked client got its reply: run the input that waited, then write.
fn resume_unblocked(cell: &RefCell<Worker>, tok: usize) {
    {
        let mut w = cell.borrow_mut();
        let Some(c) = w.conns.get_mut(tok) else { return };
        let id = c.info.id;
        if let Some(b) = c.info.blocked.take() {
            w.block_timers.remove(&(b.deadline, tok, id));
        }
    }
    if process_input(cell, tok) {
        cell.borrow_mut().after_commands(tok);
    }
}

/// Time out blocked clients whose deadline passed.
fn expire_blocked(cell: &RefCell<Worker>) {
    let now = now_ms();
    loop {
        let resume = {
            let mut w = cell.borrow_mut();
            let Some(&(deadline, tok, id)) = w.block_timers.first() else { return };
            if deadline > now {
                return;
            }
            w.block_timers.pop_first();
            let srv = w.srv.clone();
            match w.conns.get_mut(tok) {
                Some(c) if c.info.id == id && c.info.blocked.is_some() => {
                    crate::blocking::timeout(&srv, id, &mut c.out).then_some(tok)
                }
                _ => None,
            }
        };
        if let Some(tok) = resume {
            resume_unblocked(cell, tok);
        }
    }
}

/// Read and run what the socket has. `peer_closed`: the event also reported the peer's
/// FIN, which an edge-triggered socket will not report again, so read until EOF.
fn on_readable(cell: &RefCell<Worker>, tok: usize, peer_closed: bool) {
    loop {
        let (n, spare) = {
            let mut w = cell.borrow_mut();
            let srv = w.srv.clone();
            let Some(c) = w.conns.get_mut(tok) else { return };
            if c.postponed {
                return;
            }
            let need = READ_CHUNK.max(c.parser.pending_bulk(c.qbuf.len()).min(1 << 20));
            if c.qbuf.capacity() - c.qbuf.len() < need {
                c.qbuf.reserve(need);
            }
            let spare = c.qbuf.capacity() - c.qbuf.len();
            let fd = c.sock.as_raw_fd();
            // SAFETY: we read into the vector's spare capacity and set the length to what was read.
            let n = unsafe { sys_read(fd, c.qbuf.as_mut_ptr().add(c.qbuf.len()), spare) };
            if n == 0 {
                // replies to what came before the EOF still go out, as far as they can
                w.flush(tok);
                w.close(tok);
                return;
            }
            if n < 0 {
                let err = std::io::Error::last_os_error();
                match err.kind() {
                    std::io::ErrorKind::WouldBlock => break,
                    std::io::ErrorKind::Interrupted => continue,
                    _ => {
                        w.close(tok);
                        return;
                    }
                }
            }
            let n = n as usize;
            // SAFETY: the kernel initialised n bytes past len.
            unsafe { c.qbuf.set_len(c.qbuf.len() + n) };
            c.qbuf_peak = c.qbuf_peak.max(c.qbuf.len());
            srv.stats.net_input_bytes.fetch_add(n as u64, Relaxed);
            c.info.handle.last_interaction_ms.store(round_ms(), Relaxed);
            (n, spare)
        };
        if !process_input(cell, tok) {
            return;
        }
        if n < spare && !peer_closed {
            break;
        }
    }
    cell.borrow_mut().after_commands(tok);
}

/// read(2) and write(2) on a client socket, as raw system calls: libc's wrappers are
/// thread-cancellation points that flip the cancellation state around every call, work
/// a worker does twice per batch of commands and never needs (no thread is cancelled).
/// Same contract as read(2) / write(2): bytes done, or -1 with errno set.
///
/// # Safety
/// `buf` must be valid for `len` bytes (writable for `sys_read`).
#[inline]
unsafe fn sys_read(fd: i32, buf: *mut u8, len: usize) -> isize {
    libc::syscall(libc::SYS_read, fd, buf, len) as isize
}

/// See `sys_read`.
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[inline]
unsafe fn sys_write(fd: i32, buf: *const u8, len: usize) -> isize {
    libc::syscall(libc::SYS_write, fd, buf, len) as isize
}

/// A connection checked out of the slab for a batch of commands; back in its slot when
/// dropped (also when a panic unwinds through the batch).
struct CheckedOut<'a> {
    cell: &'a RefCell<Worker>,
    tok: usize,
    conn: Option<Box<Conn>>,
}

impl Drop for CheckedOut<'_> {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut w)) = (self.conn.take(), self.cell.try_borrow_mut()) {
            if let Some(slot) = w.conns.0.get_mut(self.tok) {
                *slot = Some(c);
            }
        }
    }
}

/// Run every complete command in the query buffer. Returns false if the connection is gone.
/// The connection is checked out of the slab while its commands run.
fn process_input(cell: &RefCell<Worker>, tok: usize) -> bool {
    let (srv, handle, mut guard) = {
        let mut w = cell.borrow_mut();
        let Some(c) = w.conns.0.get_mut(tok).and_then(|s| s.take()) else { return false };
        (w.srv.clone(), w.handle.clone(), CheckedOut { cell, tok, conn: Some(c) })
    };
    let srv = &*srv;
    let stats = &handle.cmdstats;
    let c = guard.conn.as_deref_mut().expect("checked out");
    let Conn { qbuf, parser, info, out, postponed, sent, prefetch_skip, .. } = c;
    let limits = Limits {
        max_bulk_len: srv.hot.proto_max_bulk_len.load(Relaxed),
        unauthenticated: !info.authenticated && srv.hot.has_password.load(Relaxed),
    };
    // What CLIENT LIST / INFO show for this client while its commands run.
    info.handle.qbuf.store(qbuf.len(), Relaxed);
    info.handle.qbuf_free.store(qbuf.capacity() - qbuf.len(), Relaxed);
    // Lines other threads queued (MONITOR, messages) go before this batch's replies.
    if info.handle.has_flag(cflags::MONITOR | cflags::PUBSUB | cflags::TRACKING | cflags::PUSH_TARGET) {
        let mut ob = info.handle.outbox.lock();
        out.buf.extend_from_slice(&ob);
        ob.clear();
    }
    let hard_limit = srv.hot.obuf_hard[obuf_class(info)].load(Relaxed) as usize;
    if !parser.in_progress() && qbuf.len() - parser.pos() >= 64 && srv.keyspace.nshards() == 1 {
        if *prefetch_skip > 0 {
            *prefetch_skip -= 1;
        } else if !prefetch_batch(srv, info.db, qbuf, parser.pos()) {
            *prefetch_skip = PREFETCH_BACKOFF;
        }
    }
    let was_postponed = std::mem::replace(postponed, false);
    let mut drop_now = false;
    info.batch_clock = Some(crate::util::clock::mono_ns());
    loop {
        if info.close_after_reply || info.blocked.is_some() {
            break;
        }
        let start = parser.pos();
        match parser.next(qbuf, &limits) {
            Parsed::Command => {
                let mut argv: smallvec::SmallVec<[&[u8]; 8]> = smallvec::SmallVec::new();
                match &parser.owned {
                    Some(owned) => argv.extend(owned.iter().map(|v| v.as_slice())),
                    None => {
                        for r in &parser.args {
                            argv.push(&qbuf[r.start..r.end]);
                        }
                    }
                }
                out.resp = info.resp;
                let outcome = dispatch::execute(srv, stats, info, out, &argv);
                drop(argv);
                if let Outcome::Postpone = outcome {
                    parser.rewind(start);
                    *postponed = true;
                    break;
                }
                out.resp = info.resp;
                if let Some(b) = info.blocked {
                    // blocked: the rest of the input waits (forget the parsed args)
                    parser.rewind(parser.pos());
                    if b.deadline > 0 {
                        cell.borrow_mut().block_timers.insert((b.deadline, tok, info.id));
                    }
                    break;
                }
                // Killed (CLIENT KILL, HTTP guard) or over the hard output limit in the
                // middle of a pipeline: drop the connection now, as Redis frees it.
                if info.handle.kill.load(Relaxed) {
                    drop_now = true;
                    break;
                }
                if hard_limit > 0 && out.buf.len() - *sent >= hard_limit {
                    obuf_limit_reached(srv, info);
                    drop_now = true;
                    break;
                }
            }
            Parsed::Empty => continue,
            Parsed::Incomplete => break,
            Parsed::Error(e) => {
                out.error_bytes(&e);
                let text = String::from_utf8_lossy(&e);
                srv.count_error(&text);
                log::verbose(&format!("Protocol error ({text}) from client: id={} addr={}", info.id, info.handle.addr));
                info.close_after_reply = true;
                break;
            }
        }
    }
    info.batch_clock = None;
    if was_postponed != *postponed {
        // a held client counts as blocked (INFO blocked_clients, CLIENT LIST flags=b)
        info.handle.set_flag(cflags::BLOCKED, *postponed);
    }
    if !drop_now {
        let keep_from = parser.command_start();
        if keep_from > 0 {
            if keep_from >= qbuf.len() {
                qbuf.clear();
            } else {
                qbuf.drain(..keep_from);
            }
            parser.shift(keep_from);
        }
        // (a large buffer left empty is trimmed by the cron, `resize_query_buffer`)
        parser.release_large_args();
        info.handle.qbuf.store(qbuf.len(), Relaxed);
        info.handle.qbuf_free.store(qbuf.capacity() - qbuf.len(), Relaxed);
        let limit = srv.hot.query_buffer_limit.load(Relaxed) as usize;
        if qbuf.len() > limit {
            log::warning(&format!(
                "Closing client that reached max query buffer length: id={} addr={} qbuf={} (qbuf initial bytes: {})",
                info.id,
                info.handle.addr,
                qbuf.len(),
                crate::config::repr(&qbuf[..qbuf.len().min(64)])
            ));
            srv.stats.client_qbuf_limit_disconnections.fetch_add(1, Relaxed);
            drop_now = true;
        }
    }
    let is_postponed = *postponed;
    drop(guard); // back in the slab
    let mut w = cell.borrow_mut();
    if drop_now {
        w.close(tok);
        return false;
    }
    if is_postponed {
        w.postponed.push(tok);
    }
    true
}

/// A pipelined batch: start loading the dict buckets and entries of its commands' first
/// keys, and of the members they name in large collections, before the first one runs,
/// so that their cache misses overlap (see `Keyspace::prefetch`). Only commands whose
/// first key is their first argument count. Returns false when nothing was big enough to
/// be worth it: the connection then skips the lookahead for its next `PREFETCH_BACKOFF`
/// batches, so workloads that stay in the caches do not pay for the scan.
fn prefetch_batch<'a>(srv: &Server, db: usize, buf: &'a [u8], from: usize) -> bool {
    let mut cmds = smallvec::SmallVec::new();
    crate::protocol::parse::peek_commands(buf, from, 16, &mut cmds);
    if cmds.len() < 2 {
        return true;
    }
    let mut keys: smallvec::SmallVec<[&[u8]; 16]> = smallvec::SmallVec::new();
    let mut members: smallvec::SmallVec<[Option<MemberHint>; 16]> = smallvec::SmallVec::new();
    for (argc, args) in &cmds {
        let Some(cmd) = srv.table.lookup(&buf[args[0].clone()]) else { continue };
        if cmd.first_key != 1 || cmd.has(crate::commands::flags::MOVABLE_KEYS) {
            continue;
        }
        keys.push(&buf[args[1].clone()]);
        let arg = |i: usize| &buf[args[i].clone()];
        let hint = |member_at: usize, z: ZHint<'a>| (member_at < *argc).then(|| MemberHint { member: arg(member_at), z });
        members.push(match cmd.name.as_str() {
            "zadd" => {
                // ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...: the first pair
                let mut i = 2;
                let mut incr = false;
                const FLAGS: [&[u8]; 6] = [b"nx", b"xx", b"gt", b"lt", b"ch", b"incr"];
                while i < *argc && FLAGS.iter().any(|f| arg(i).eq_ignore_ascii_case(f)) {
                    incr |= arg(i).eq_ignore_ascii_case(b"incr");
                    i += 1;
                }
                let score = if i < *argc { arg(i) } else { b"" };
                hint(i + 1, if incr { ZHint::Incr(score) } else { ZHint::Set(score) })
            }
            "zincrby" if *argc == 4 => hint(3, ZHint::Incr(arg(2))),
            "zrem" | "zrank" | "zrevrank" => hint(2, ZHint::Old),
            "sadd" | "srem" | "sismember" | "smismember" | "hset" | "hsetnx" | "hget" | "hmget" | "hdel" | "hexists"
            | "hincrby" | "hincrbyfloat" | "hstrlen" | "zscore" | "zmscore" => hint(2, ZHint::None),
            _ => None,
        });
    }
    srv.keyspace.prefetch(db, &keys, &members)
}

/// Re-run the clients CLIENT PAUSE held back, in the order they were held; those still
/// paused are held again.
fn resume_postponed(cell: &RefCell<Worker>) {
    let list = std::mem::take(&mut cell.borrow_mut().postponed);
    for tok in list {
        if !cell.borrow().conns.get(tok).is_some_and(|c| c.postponed) || !process_input(cell, tok) {
            continue;
        }
        if cell.borrow().conns.get(tok).is_some_and(|c| c.postponed) {
            continue;
        }
        // input that arrived while it was held
        on_readable(cell, tok, true);
        cell.borrow_mut().after_commands(tok);
    }
}

fn cron(cell: &RefCell<Worker>) {
    if !cell.borrow().postponed.is_empty() {
        resume_postponed(cell);
    }
    cell.borrow_mut().cron_clients();
}

pub fn new_worker(idx: usize, srv: Arc<Server>, listeners: Vec<TcpListener>) -> std::io::Result<(Worker, Arc<WorkerHandle>)> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let handle = Arc::new(WorkerHandle {
        idx,
        waker,
        queue: Mutex::new(Vec::new()),
        cmdstats: (0..srv.table.len()).map(|_| CmdStat::default()).collect(),
    });
    let mut w = Worker {
        idx,
        srv,
        handle: handle.clone(),
        poll,
        conns: Conns(Slab::with_capacity(1024)),
        listeners,
        rr: 0,
        postponed: Vec::new(),
        block_timers: Default::default(),
        pending: Default::default(),
        busy: 0,
        missed: Vec::new(),
        requeue: Vec::new(),
        deferred_unwatch: Vec::new(),
        to_flush: Vec::new(),
    };
    for (i, l) in w.listeners.iter_mut().enumerate() {
        w.poll.registry().register(l, Token(LISTENER_BASE + i), Interest::READABLE)?;
    }
    Ok((w, handle))
}

fn is_loopback(addr: &std::net::SocketAddr) -> bool {
    addr.ip().is_loopback()
}

impl Worker {
    pub fn run(self) {
        let idx = self.idx;
        let cell = Rc::new(RefCell::new(self));
        CURRENT.with(|c| *c.borrow_mut() = Some(cell.clone()));
        let mut events = Events::with_capacity(1024);
        let mut next_cron = Instant::now();
        crate::blocking::set_current_worker(idx);
        loop {
            let hz = cell.borrow().srv.hot.hz.load(Relaxed).max(1) as u64;
            let period = Duration::from_millis(1000 / hz);
            let now = Instant::now();
            let mut timeout = if next_cron > now { next_cron - now } else { Duration::ZERO };
            if let Some(&(deadline, _, _)) = cell.borrow().block_timers.first() {
                let ms = (deadline - now_ms()).max(0) as u64;
                timeout = timeout.min(Duration::from_millis(ms));
            }
            if let Err(e) = cell.borrow_mut().poll.poll(&mut events, Some(timeout)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    log::warning(&format!("poll error: {e}"));
                }
            }
            start_round();
            handle_events(&cell, &events);
            after_busy(&cell);
            // BCAST invalidations of the keys changed in this round (Redis's beforeSleep)
            if crate::tracking::has_changes() {
                let srv = cell.borrow().srv.clone();
                crate::tracking::broadcast(&srv);
            }
            let queued = !cell.borrow().handle.queue.lock().is_empty();
            if queued {
                drain_queue(&cell);
            }
            if !cell.borrow().block_timers.is_empty() {
                expire_blocked(&cell);
            }
            if Instant::now() >= next_cron {
                cron(&cell);
                next_cron = Instant::now() + period;
            }
            // replies queued outside a round of events (unblocked, unpaused clients)
            cell.borrow_mut().flush_queued();
        }
    }

    fn replace_listeners(&mut self, new: Vec<TcpListener>) {
        for mut l in std::mem::replace(&mut self.listeners, new) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        for (i, l) in self.listeners.iter_mut().enumerate() {
            if let Err(e) = self.poll.registry().register(l, Token(LISTENER_BASE + i), Interest::READABLE) {
                log::warning(&format!("register listener: {e}"));
            }
        }
    }

    fn accept(&mut self, li: usize) {
        loop {
            let (sock, addr) = match self.listeners[li].accept() {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warning(&format!("Accepting client connection: {e}"));
                    return;
                }
            };
            let srv = &self.srv;
            let maxclients = srv.hot.maxclients.load(Relaxed) as usize;
            if srv.nclients.load(Relaxed) >= maxclients {
                let _ = (&sock).write_bytes(b"-ERR max number of clients reached\r\n");
                srv.stats.rejected_connections.fetch_add(1, Relaxed);
                continue;
            }
            if srv.hot.protected_mode.load(Relaxed) && !srv.hot.has_password.load(Relaxed) && !is_loopback(&addr) {
                let _ = (&sock).write_bytes(PROTECTED_MSG.as_bytes());
                srv.stats.rejected_connections.fetch_add(1, Relaxed);
                continue;
            }
            let _ = sock.set_nodelay(true);
            let ka = srv.hot.tcp_keepalive.load(Relaxed);
            if ka > 0 {
                let sr = socket2::SockRef::from(&sock);
                let _ = sr.set_tcp_keepalive(
                    &socket2::TcpKeepalive::new().with_time(Duration::from_secs(ka)).with_interval(Duration::from_secs((ka / 3).max(1))).with_retries(3),
                );
            }
            srv.nclients.fetch_add(1, Relaxed);
            srv.stats.total_connections.fetch_add(1, Relaxed);
            let workers = srv.workers.get().map(|w| w.len()).unwrap_or(1);
            let target = self.rr % workers;
            self.rr = self.rr.wrapping_add(1);
            if target == self.idx {
                self.add_conn(sock);
            } else {
                srv.workers.get().unwrap()[target].send(WakeMsg::NewConn(sock));
            }
        }
    }

    fn add_conn(&mut self, mut sock: TcpStream) {
        let srv = self.srv.clone();
        let entry = self.conns.0.vacant_entry();
        let token = entry.key();
        if let Err(e) = self.poll.registry().register(&mut sock, Token(token), Interest::READABLE | Interest::WRITABLE) {
            log::warning(&format!("register: {e}"));
            srv.nclients.fetch_sub(1, Relaxed);
            return;
        }
        let peer = sock.peer_addr().ok();
        let addr = peer.map(|a| a.to_string()).unwrap_or_else(|| "?:0".into());
        let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let id = srv.next_client_id.fetch_add(1, Relaxed);
        let handle = Arc::new(ClientHandle::new(id, addr, laddr, sock.as_raw_fd(), self.idx, token, now_ms()));
        srv.clients.lock().insert(id, handle.clone());
        let local = peer.map(|a| is_loopback(&a)).unwrap_or(true);
        let authed = !srv.hot.has_password.load(Relaxed);
        entry.insert(Some(Box::new(Conn {
            sock,
            qbuf: Vec::new(),
            parser: RequestParser::new(),
            info: {
                let mut info = ClientInfo::new(handle, authed, local);
                info.user = Some(srv.acl.default.clone());
                info
            },
            out: ReplyBuf::new(2),
            sent: 0,
            postponed: false,
            soft_since: 0,
            flush_queued: false,
            prefetch_skip: 0,
            qbuf_peak: 0,
            rbuf_size: REPLY_CHUNK,
            rbuf_peak: 0,
            rbuf_peak_at: now_ms(),
        })));
    }

    fn close(&mut self, tok: usize) {
        if !self.conns.contains(tok) {
            return;
        }
        let Some(mut c) = self.conns.0.remove(tok) else { return };
        let _ = self.poll.registry().deregister(&mut c.sock);
        let srv = &self.srv;
        if let Some(b) = c.info.blocked.take() {
            crate::blocking::forget(srv, c.info.id);
            self.block_timers.remove(&(b.deadline, tok, c.info.id));
        }
        srv.unregister_client(&c.info.handle);
        c.info.handle.kill.store(true, Relaxed);
        if c.info.flag(cflags::REPLICA) {
            srv.wstream.remove_replica(c.info.id);
        }
        if !c.info.subs.is_empty() {
            srv.pubsub.remove_client(&mut c.info.subs, &c.info.handle);
        }
        if c.info.flag(cflags::TRACKING) {
            crate::tracking::disable(srv, &mut c.info);
        }
        if !c.info.watched.keys.is_empty() {
            let watched = std::mem::take(&mut c.info.watched);
            if self.busy > 0 || srv.scripting.is_running() {
                // the running script (here or on another worker) holds the shard locks
                self.deferred_unwatch.push(watched);
            } else {
                unwatch_closed(srv, watched);
            }
        }
    }

    /// After a batch of commands: output limits, then one write.
    fn after_commands(&mut self, tok: usize) {
        let Some(c) = self.conns.get_mut(tok) else { return };
        c.info.handle.qbuf.store(c.qbuf.len(), Relaxed);
        c.info.handle.qbuf_free.store(c.qbuf.capacity() - c.qbuf.len(), Relaxed);
        if self.srv.shutdown_requested.load(Relaxed) {
            // SHUTDOWN ran on this connection; the process is exiting.
        }
        if !c.flush_queued {
            c.flush_queued = true;
            self.to_flush.push(tok);
        }
    }

    /// Write the replies of every connection queued by `after_commands` this round.
    fn flush_queued(&mut self) {
        if self.to_flush.is_empty() {
            return;
        }
        let mut list = std::mem::take(&mut self.to_flush);
        for &tok in &list {
            if self.conns.is_checked_out(tok) {
                // running a command further up this thread's stack (a busy script):
                // written when it is back
                self.to_flush.push(tok);
            } else if let Some(c) = self.conns.get_mut(tok) {
                c.flush_queued = false;
                self.flush(tok);
            }
        }
        list.clear();
        if self.to_flush.is_empty() {
            self.to_flush = list;
        }
    }

    fn flush(&mut self, tok: usize) {
        let srv = &self.srv;
        // Replies go out only after their writes reached the AOF (fsynced with `always`).
        if srv.wstream.is_active() {
            srv.aof.before_reply(srv);
        }
        let Some(c) = self.conns.get_mut(tok) else { return };
        // A client closing after this reply (QUIT) leaves the registry before the reply
        // goes out: whoever saw the reply sees the client gone (tracking redirections).
        if c.info.close_after_reply {
            srv.unregister_client(&c.info.handle);
        }
        let pending = c.out.buf.len() - c.sent;
        c.rbuf_peak = c.rbuf_peak.max(c.out.buf.len().min(c.rbuf_size));
        if pending > 0 {
            let fd = c.sock.as_raw_fd();
            while c.sent < c.out.buf.len() {
                let rest = &c.out.buf[c.sent..];
                // SAFETY: rest is a live slice.
                let n = unsafe { sys_write(fd, rest.as_ptr(), rest.len()) };
                if n < 0 {
                    let err = std::io::Error::last_os_error();
                    match err.kind() {
                        std::io::ErrorKind::WouldBlock => break,
                        std::io::ErrorKind::Interrupted => continue,
                        _ => {
                            self.close(tok);
                            return;
                        }
                    }
                }
                c.sent += n as usize;
                srv.stats.net_output_bytes.fetch_add(n as u64, Relaxed);
                c.info.handle.last_interaction_ms.store(round_ms(), Relaxed);
            }
            if c.sent == c.out.buf.len() {
                c.out.buf.clear();
                c.sent = 0;
                if c.out.buf.capacity() > 1 << 20 {
                    c.out.buf = Vec::with_capacity(c.rbuf_size);
                }
            }
        }
        let left = c.out.buf.len() - c.sent;
        c.info.handle.omem.store(c.out.buf.capacity(), Relaxed);
        c.info.handle.obl.store(left, Relaxed);
        if left == 0 && c.info.close_after_reply {
            self.close(tok);
            return;
        }
        if left > 0 && self.over_output_limit(tok, left) {
            self.close(tok);
        }
    }

    fn over_output_limit(&mut self, tok: usize, left: usize) -> bool {
        let srv = &self.srv;
        let Some(c) = self.conns.get_mut(tok) else { return false };
        let (hard, soft, soft_secs) = srv.hot.obuf.read()[obuf_class(&c.info)];
        let left = left as u64;
        let mut over = hard > 0 && left >= hard;
        if !over && soft > 0 && left >= soft {
            let now = now_ms();
            if c.soft_since == 0 {
                c.soft_since = now;
            } else if (now - c.soft_since) as u64 >= soft_secs * 1000 {
                over = true;
            }
        } else if !over {
            c.soft_since = 0;
        }
        if over {
            obuf_limit_reached(srv, &c.info);
        }
        over
    }

    fn cron_clients(&mut self) {
        let srv = self.srv.clone();
        // client timeouts and kills
        let timeout = srv.hot.timeout.load(Relaxed) as i64;
        let now = now_ms();
        let mut to_close = Vec::new();
        let reply_resizing = srv.introspect.reply_resizing.load(Relaxed);
        let peak_reset_ms = srv.introspect.reply_peak_reset_ms.load(Relaxed);
        for (_, c) in self.conns.0.iter_mut() {
            if let Some(c) = c.as_deref_mut() {
                resize_query_buffer(c, now);
                resize_reply_buffer(&srv, c, now, reply_resizing, peak_reset_ms);
            }
        }
        for (tok, c) in self.conns.iter() {
            let h = &c.info.handle;
            if h.kill.load(Relaxed) {
                to_close.push(tok);
                continue;
            }
            if timeout > 0
                && !h.has_flag(cflags::MASTER | cflags::REPLICA | cflags::PUBSUB | cflags::BLOCKED | cflags::MONITOR)
                && now - h.last_interaction_ms.load(Relaxed) > timeout * 1000
            {
                log::verbose("Closing idle client");
                to_close.push(tok);
            }
        }
        for tok in to_close {
            self.close(tok);
        }
        if self.idx == 0 {
            crate::cron::server_cron(&srv);
        }
    }
}

/// Redis's clientsCronResizeQueryBuffer: a buffer wasting more than 4 KiB is trimmed to
/// its content when the client is idle for more than 2 s, or, when it is over 32 KiB and
/// more than twice the peak since the last pass, down to that peak (never under the
/// content or a bulk being received). Then the peak restarts from the current length.
fn resize_query_buffer(c: &mut Conn, now: i64) {
    let (len, cap) = (c.qbuf.len(), c.qbuf.capacity());
    let idle_secs = (now - c.info.handle.last_interaction_ms.load(Relaxed)) / 1000;
    let bulk = len + c.parser.pending_bulk(len);
    if cap - len > 4 * 1024 {
        if idle_secs > 2 {
            c.qbuf.shrink_to_fit();
        } else if cap > 32 * 1024 && cap / 2 > c.qbuf_peak {
            c.qbuf.shrink_to(len.max(c.qbuf_peak).max(bulk));
        }
    }
    c.qbuf_peak = len.max(bulk);
    c.info.handle.qbuf.store(len, Relaxed);
    c.info.handle.qbuf_free.store(c.qbuf.capacity() - len, Relaxed);
}

/// Redis's PROTO_REPLY_CHUNK_BYTES (initial and largest reply buffer size) and
/// PROTO_REPLY_MIN_BYTES (smallest).
const REPLY_CHUNK: usize = 16 * 1024;
const REPLY_MIN: usize = 1024;

/// Redis's clientsCronResizeOutputBuffer: a reply buffer whose peak stayed under half its
/// size shrinks to the peak (at least 1 KiB); one that was filled doubles (up to 16 KiB).
/// The peak restarts every `peak_reset_ms` (DEBUG REPLYBUFFER; -1 never). Growth past the
/// size while a reply is pending is released here once everything was sent.
fn resize_reply_buffer(srv: &Server, c: &mut Conn, now: i64, resizing: bool, peak_reset_ms: i64) {
    if resizing {
        let mut new_size = 0;
        if c.rbuf_size / 2 >= REPLY_MIN && c.rbuf_peak < c.rbuf_size / 2 {
            new_size = REPLY_MIN.max(c.rbuf_peak + 1);
            srv.stats.reply_buffer_shrinks.fetch_add(1, Relaxed);
        } else if c.rbuf_size * 2 < REPLY_CHUNK * 2 && c.rbuf_peak == c.rbuf_size {
            new_size = REPLY_CHUNK.min(c.rbuf_size * 2);
            srv.stats.reply_buffer_expands.fetch_add(1, Relaxed);
        }
        if peak_reset_ms >= 0 && now - c.rbuf_peak_at >= peak_reset_ms {
            c.rbuf_peak = c.out.buf.len().min(c.rbuf_size);
            c.rbuf_peak_at = now;
        }
        if new_size > 0 {
            c.rbuf_size = new_size;
        }
    }
    if c.out.buf.is_empty() && c.out.buf.capacity() != c.rbuf_size {
        c.out.buf = Vec::with_capacity(c.rbuf_size);
    }
    let h = &c.info.handle;
    h.rbs.store(c.rbuf_size, Relaxed);
    h.rbp.store(c.rbuf_peak, Relaxed);
    h.omem.store(c.out.buf.capacity(), Relaxed);
}

/// Output-buffer-limit class of a client: 0 normal (MONITOR included), 1 replica, 2 pubsub.
fn obuf_class(info: &ClientInfo) -> usize {
    if info.flag(cflags::REPLICA) {
        1
    } else if info.flag(cflags::PUBSUB) {
        2
    } else {
        0
    }
}

fn obuf_limit_reached(srv: &Server, info: &ClientInfo) {
    log::warning(&format!(
        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
        crate::commands::client::info_string(srv, &info.handle, None)
    ));
    srv.stats.client_outbuf_limit_disconnections.fetch_add(1, Relaxed);
}

const PROTECTED_MSG: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

trait WriteBytes {
    fn write_bytes(self, b: &[u8]) -> std::io::Result<usize>;
}

impl WriteBytes for &TcpStream {
    fn write_bytes(self, b: &[u8]) -> std::io::Result<usize> {
        use std::io::Write;
        let mut s = self;
        s.write(b)
    }
}
