//! The write stream: one ordered sequence of write effects, in RESP, with a byte offset.
//!
//! Every command that changed data contributes its effects (`Ks::ops`: lazily expired
//! keys' DELs, then the command as received or as the handler rewrote it), fed here while
//! the command still holds its shard locks, so two commands touching the same key enter
//! the stream in the order they ran. A top-level call with more than one effect (EXEC,
//! scripts, a write that also expired a key) is wrapped in MULTI/EXEC, as Redis 7.0 does.
//! SELECT is emitted whenever the db changes. Consumers: the AOF (`persist::aof`, which
//! takes what accumulates in `aof_pending`) and replicas attached with SYNC/PSYNC
//! (`commands::replication`: every fed chunk is appended to their outbox at once). Both
//! read the same offset space: `offset` is master_repl_offset.
//!
//! The replication backlog (`Backlog`) keeps the last `repl-backlog-size` bytes sent to
//! replicas, so a replica that lost its link continues from its offset (PSYNC
//! `+CONTINUE`). It exists from the first replica attached (or, on a replica, from the
//! first synchronization) until `repl-backlog-ttl` seconds without replicas on a master
//! (`expire_backlog`), and the offset moves only while it exists, as Redis's
//! master_repl_offset.
//!
//! When nothing consumes the stream `active` is false and commands record no effects.
//!
//! With `aof-timestamp-enabled` the AOF's share of the stream gets a `#TS:<unix time>`
//! annotation line before the first call of each new second (Redis's
//! genAofTimestampAnnotationIfNeeded); replicas and the offset never see it.

use crate::net::client::ClientHandle;
use crate::net::worker::{WakeMsg, WorkerHandle};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

pub struct WriteStream {
    /// Some consumer exists: commands must record their effects.
    pub active: AtomicBool,
    /// Total bytes fed while a backlog existed (the replication offset).
    pub offset: AtomicU64,
    /// repl-backlog-size (refreshed from the config by `Server::refresh_hot`).
    backlog_size: AtomicU64,
    /// This server is a replica (`crate::replica`): the stream still feeds the AOF, but
    /// neither advances the offset (the master's offset is ours) nor reaches replicas.
    replica_mode: AtomicBool,
    /// aof-timestamp-enabled (refreshed from the config by `Server::refresh_hot`).
    timestamps: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Db of the last SELECT in the stream.
    db: Option<usize>,
    /// Bytes fed but not yet taken by the AOF writer.
    aof_pending: Vec<u8>,
    /// The AOF consumes the stream (`aof_pending` grows only then).
    aof: bool,
    /// Unix time (s) of the last `#TS:` annotation fed to the AOF.
    last_ts: i64,
    /// Attached replicas: each fed chunk goes to their outbox.
    replicas: Vec<Replica>,
    /// The replication backlog (None: not created, or freed after repl-backlog-ttl).
    backlog: Option<Backlog>,
    /// Unix seconds when the last replica went away (Redis's repl_no_slaves_since).
    no_replicas_since: i64,
}

impl Inner {
    /// Something consumes the stream: the AOF, a replica, or the backlog.
    fn consumed(&self) -> bool {
        self.aof || !self.replicas.is_empty() || self.backlog.is_some()
    }

    fn to_replicas(&mut self, chunk: &[u8]) {
        to_replicas(&mut self.backlog, &mut self.replicas, &mut self.no_replicas_since, chunk)
    }
}

/// Feed a chunk to the backlog and the replicas (dropping those that are closing).
fn to_replicas(backlog: &mut Option<Backlog>, replicas: &mut Vec<Replica>, since: &mut i64, chunk: &[u8]) {
    if let Some(b) = backlog.as_mut() {
        b.append(chunk);
    }
    if !replicas.is_empty() {
        replicas.retain(|r| r.deliver(chunk));
        if replicas.is_empty() {
            *since = crate::server::now_ms() / 1000;
        }
    }
}

/// The replication backlog (Redis's repl_backlog): the last `repl-backlog-size` bytes of
/// the stream sent to replicas, so a replica whose link broke can continue from its
/// offset (PSYNC answered `+CONTINUE`) instead of loading a new snapshot. Its bytes are
/// the ones fed to the replicas (`feed_call`, `feed_replicas_only`, `feed_raw`) and it
/// ends at `WriteStream::offset`.
struct Backlog {
    buf: std::collections::VecDeque<u8>,
    size: usize,
    /// Offset of `buf[0]` (Redis's repl_backlog->offset: master_repl_offset - histlen + 1).
    first: u64,
}

impl Backlog {
    fn new(size: usize, offset: u64) -> Backlog {
        Backlog { buf: Default::default(), size: size.max(1), first: offset + 1 }
    }

    /// Append stream bytes, dropping the oldest past `size`.
    fn append(&mut self, b: &[u8]) {
        let b = if b.len() > self.size {
            self.first += (self.buf.len() + b.len() - self.size) as u64;
            self.buf.clear();
            &b[b.len() - self.size..]
        } else {
            let over = (self.buf.len() + b.len()).saturating_sub(self.size);
            if over > 0 {
                self.buf.drain(..over);
                self.first += over as u64;
            }
            b
        };
        // grow by doubling, but never past `size` (VecDeque alone would round it up)
        let need = self.buf.len() + b.len();
        if need > self.buf.capacity() {
            let target = (self.buf.capacity() * 2).max(need).min(self.size);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend(b);
    }

    /// CONFIG SET repl-backlog-size: keep the newest bytes that fit.
    fn resize(&mut self, size: usize) {
        self.size = size.max(1);
        let over = self.buf.len().saturating_sub(self.size);
        if over > 0 {
            self.buf.drain(..over);
            self.first += over as u64;
        }
        if self.buf.capacity() > self.size {
            self.buf.shrink_to(self.size);
        }
    }

    /// The bytes from `offset` (the first one a replica lacks) to the end, if the backlog
    /// still holds them (`offset` one past the end: nothing to send).
    fn since(&self, offset: u64) -> Option<Vec<u8>> {
        if offset < self.first || offset > self.first + self.buf.len() as u64 {
            return None;
        }
        Some(self.buf.range((offset - self.first) as usize..).copied().collect())
    }
}

/// A replica connection and the worker that owns it (woken when its outbox fills).
#[derive(Clone)]
pub struct Replica {
    pub client: Arc<ClientHandle>,
    pub worker: Arc<WorkerHandle>,
    pub state: Arc<ReplState>,
}

/// What the master knows of one replica: the port it announced (REPLCONF listening-port)
/// and the offset it last acknowledged (REPLCONF ACK) with the time of that ACK. Shared by
/// the replica's connection (`ClientInfo::repl`) and its `Replica` entry.
#[derive(Default)]
pub struct ReplState {
    pub listening_port: AtomicU32,
    /// The replica announced `REPLCONF capa psync2` (it understands `+CONTINUE <replid>`).
    pub psync2: AtomicBool,
    /// Highest offset acknowledged (Redis's repl_ack_off).
    pub ack_off: AtomicI64,
    /// Unix seconds of the last ACK (Redis's repl_ack_time; set at attach too).
    pub ack_time: AtomicI64,
}

impl ReplState {
    /// REPLCONF ACK <offset>: offsets only move forward.
    pub fn ack(&self, offset: i64) {
        self.ack_off.fetch_max(offset, Relaxed);
        self.ack_time.store(crate::server::now_ms() / 1000, Relaxed);
    }
}

impl Replica {
    /// Append a chunk of the stream to the replica's outbox; false once it is closing.
    /// Output limits are the owner worker's business (it moves the outbox to the reply
    /// buffer and applies the replica class limits there).
    fn deliver(&self, chunk: &[u8]) -> bool {
        let h = &self.client;
        let mut ob = h.outbox.lock();
        if h.kill.load(Relaxed) {
            return false;
        }
        let was_empty = ob.is_empty();
        ob.extend_from_slice(chunk);
        drop(ob);
        if was_empty {
            self.worker.send(WakeMsg::Outbox(h.token));
        }
        true
    }
}

pub type Op = (usize, Vec<Vec<u8>>);

pub fn encode_command(args: &[Vec<u8>], out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Default for WriteStream {
    fn default() -> Self {
        WriteStream {
            active: AtomicBool::new(false),
            offset: AtomicU64::new(0),
            backlog_size: AtomicU64::new(1024 * 1024),
            replica_mode: AtomicBool::new(false),
            timestamps: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        }
    }
}

impl WriteStream {
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// Append the effects of one top-level call (wrapped in MULTI/EXEC when there is more
    /// than one).
    pub fn feed(&self, ops: &[Op]) {
        self.feed_call(ops, true)
    }

    /// `feed`, with `multi` false for calls Redis never wraps (commands that touch
    /// arbitrary keys, such as SCAN and RANDOMKEY expiring what they meet).
    pub fn feed_call(&self, ops: &[Op], multi: bool) {
        if ops.is_empty() {
            return;
        }
        let mut g = self.inner.lock();
        let inner = &mut *g;
        if inner.aof && self.timestamps.load(Relaxed) {
            let now = crate::server::now_ms() / 1000;
            if now > inner.last_ts {
                inner.last_ts = now;
                inner.aof_pending.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            }
        }
        let mut local = Vec::new();
        let out = if inner.aof { &mut inner.aof_pending } else { &mut local };
        let before = out.len();
        let wrap = multi && ops.len() > 1;
        let mut select = |db: usize, out: &mut Vec<u8>| {
            if inner.db != Some(db) {
                encode_command(&[b"SELECT".to_vec(), itoa::Buffer::new().format(db).as_bytes().to_vec()], out);
                inner.db = Some(db);
            }
        };
        if wrap {
            select(ops[0].0, out);
            encode_command(&[b"MULTI".to_vec()], out);
        }
        for (db, args) in ops {
            select(*db, out);
            encode_command(args, out);
        }
        if wrap {
            encode_command(&[b"EXEC".to_vec()], out);
        }
        if self.replica_mode.load(Relaxed) || inner.backlog.is_none() {
            return;
        }
        self.offset.fetch_add((out.len() - before) as u64, Relaxed);
        let chunk = if inner.aof { &inner.aof_pending[before..] } else { &local[before..] };
        to_replicas(&mut inner.backlog, &mut inner.replicas, &mut inner.no_replicas_since, chunk);
    }

    /// Send a PING to the replicas only (the master's keepalive; not in the AOF).
    pub fn ping_replicas(&self) {
        self.feed_replicas_only(&[b"PING".to_vec()]);
    }

    /// Send `REPLCONF GETACK *` to the replicas only: each answers with an ACK of its
    /// offset (a shutdown waiting for its replicas asks this way).
    pub fn getack_replicas(&self) {
        self.feed_replicas_only(&[b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()]);
    }

    /// A command for the replicas alone (it advances the offset, as Redis's backlog does,
    /// but never reaches the AOF).
    fn feed_replicas_only(&self, args: &[Vec<u8>]) {
        let mut g = self.inner.lock();
        if g.replicas.is_empty() || self.replica_mode.load(Relaxed) {
            return;
        }
        let mut cmd = Vec::new();
        encode_command(args, &mut cmd);
        self.offset.fetch_add(cmd.len() as u64, Relaxed);
        g.to_replicas(&cmd);
    }

    /// Replicas whose last ACK is at most `max_lag` seconds old (Redis's good replicas, for
    /// min-replicas-to-write).
    pub fn good_replicas(&self, max_lag: i64) -> usize {
        let now = crate::server::now_ms() / 1000;
        let g = self.inner.lock();
        g.replicas.iter().filter(|r| !r.client.kill.load(Relaxed) && now - r.state.ack_time.load(Relaxed) <= max_lag).count()
    }

    /// Bytes of the stream waiting to be written to replicas (INFO
    /// mem_total_replication_buffers): what their workers hold and their outboxes.
    pub fn pending_replica_bytes(&self) -> usize {
        let g = self.inner.lock();
        g.replicas.iter().map(|r| r.client.obl.load(Relaxed) + r.client.outbox.lock().len()).sum()
    }

    /// This server becomes a replica (`true`) or a master again (its own stream then
    /// starts with a SELECT).
    pub fn set_replica_mode(&self, on: bool) {
        let mut g = self.inner.lock();
        self.replica_mode.store(on, Relaxed);
        g.db = None;
        if !on {
            // a promoted replica keeps its backlog for repl-backlog-ttl from now
            g.no_replicas_since = crate::server::now_ms() / 1000;
        }
    }

    /// The db the stream last selected (a demoted master's cached self starts there).
    pub fn stream_db(&self) -> Option<usize> {
        self.inner.lock().db
    }

    /// The stream is in `db` (a replica restarted from an RDB: its master's stream).
    pub fn set_stream_db(&self, db: usize) {
        self.inner.lock().db = Some(db);
    }

    /// A replica passes its master's stream on to its own replicas byte for byte (the
    /// offset is the master's, kept by `crate::replica`).
    /// Its backlog holds them too (one that does not end where they start is started
    /// afresh).
    pub fn feed_raw(&self, bytes: &[u8], offset_after: u64) {
        let mut g = self.inner.lock();
        if !self.replica_mode.load(Relaxed) {
            // a link thread finishing its last command after REPLICAOF NO ONE
            return;
        }
        let start = offset_after.saturating_sub(bytes.len() as u64);
        let size = self.backlog_size.load(Relaxed) as usize;
        match g.backlog.as_mut() {
            Some(b) if b.first + b.buf.len() as u64 == start + 1 => {}
            _ => g.backlog = Some(Backlog::new(size, start)),
        }
        self.offset.store(offset_after, Relaxed);
        g.to_replicas(bytes);
        self.active.store(g.consumed(), Relaxed);
    }

    /// Start a new backlog that ends at `offset`, which becomes the stream offset (a
    /// replica after a full synchronization, or a partial one with no backlog yet).
    pub fn reset_backlog(&self, offset: u64) {
        let mut g = self.inner.lock();
        let keep = g.backlog.as_ref().is_some_and(|b| b.first + b.buf.len() as u64 == offset + 1);
        if !keep {
            g.backlog = Some(Backlog::new(self.backlog_size.load(Relaxed) as usize, offset));
            if g.replicas.is_empty() {
                g.no_replicas_since = crate::server::now_ms() / 1000;
            }
        }
        self.offset.store(offset, Relaxed);
        self.active.store(true, Relaxed);
    }

    /// Drop the backlog (a replica about to load a new dataset: nothing before it can be
    /// continued).
    pub fn free_backlog(&self) {
        let mut g = self.inner.lock();
        g.backlog = None;
        self.active.store(g.consumed(), Relaxed);
    }

    /// Free the backlog of a master that had no replica for `ttl` seconds (0: never);
    /// `freed` runs then, under the stream's lock (so no replica attaches in between).
    pub fn expire_backlog(&self, ttl: i64, freed: impl FnOnce()) {
        let mut g = self.inner.lock();
        if ttl <= 0 || g.backlog.is_none() || !g.replicas.is_empty() || self.replica_mode.load(Relaxed) {
            return;
        }
        if crate::server::now_ms() / 1000 - g.no_replicas_since <= ttl {
            return;
        }
        g.backlog = None;
        self.active.store(g.consumed(), Relaxed);
        freed();
    }

    /// repl-backlog-size changed (or the config was read).
    pub fn set_backlog_size(&self, size: i64) {
        let size = size.max(1) as u64;
        if self.backlog_size.swap(size, Relaxed) != size {
            if let Some(b) = self.inner.lock().backlog.as_mut() {
                b.resize(size as usize);
            }
        }
    }

    /// (first byte offset, bytes held) of the backlog, if there is one (INFO).
    pub fn backlog_info(&self) -> Option<(u64, u64)> {
        self.inner.lock().backlog.as_ref().map(|b| (b.first, b.buf.len() as u64))
    }

    /// aof-timestamp-enabled changed (or the config was read).
    pub fn set_timestamps(&self, on: bool) {
        self.timestamps.store(on, Relaxed);
    }

    /// The AOF starts or stops consuming the stream.
    pub fn set_aof(&self, on: bool) {
        let mut g = self.inner.lock();
        g.aof = on;
        if !on {
            g.aof_pending = Vec::new();
        }
        self.active.store(g.consumed(), Relaxed);
    }

    /// Attach a replica: from now on every fed chunk is appended to its outbox, starting
    /// with a SELECT. The caller holds every shard lock, so no write falls between the
    /// snapshot it sent and the first chunk.
    /// Returns the stream offset the replica starts at (read under the same lock, so no
    /// chunk falls between). The first replica creates the backlog.
    pub fn add_replica(&self, r: Replica) -> u64 {
        let mut g = self.inner.lock();
        // a replica passes its master's stream on as is: no SELECT of ours in it
        if !self.replica_mode.load(Relaxed) {
            g.db = None;
        }
        if g.backlog.is_none() {
            g.backlog = Some(Backlog::new(self.backlog_size.load(Relaxed) as usize, self.offset.load(Relaxed)));
        }
        g.replicas.push(r);
        self.active.store(true, Relaxed);
        self.offset.load(Relaxed)
    }

    /// Attach a replica that continues from `from` (the first offset it lacks): the
    /// backlog's bytes from there, or None (and nothing attached) if the backlog does not
    /// hold them. The stream goes on where those bytes end, with no SELECT added (the
    /// replica's stream is already in some db).
    pub fn continue_replica(&self, r: Replica, from: u64) -> Option<Vec<u8>> {
        let mut g = self.inner.lock();
        let bytes = g.backlog.as_ref()?.since(from)?;
        g.replicas.push(r);
        self.active.store(true, Relaxed);
        Some(bytes)
    }

    /// Detach a replica (its connection closed).
    pub fn remove_replica(&self, id: u64) {
        let mut g = self.inner.lock();
        let before = g.replicas.len();
        g.replicas.retain(|r| r.client.id != id);
        if before > 0 && g.replicas.is_empty() {
            g.no_replicas_since = crate::server::now_ms() / 1000;
        }
        self.active.store(g.consumed(), Relaxed);
    }

    /// Attached replicas (INFO replication).
    pub fn replicas(&self) -> Vec<Replica> {
        self.inner.lock().replicas.clone()
    }

    /// Take what was fed since the last call (for the AOF writer).
    pub fn take_pending(&self) -> Vec<u8> {
        std::mem::take(&mut self.inner.lock().aof_pending)
    }

    /// Bytes waiting for the AOF writer.
    pub fn pending_len(&self) -> usize {
        self.inner.lock().aof_pending.len()
    }

    /// Forget the current db (a new AOF file starts: its first command needs a SELECT).
    pub fn reset_db(&self) {
        self.inner.lock().db = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_and_multi_wrapping() {
        let s = WriteStream::default();
        s.set_aof(true);
        // without a backlog the offset does not move
        s.feed(&[(0, vec![b"PING".to_vec()])]);
        assert_eq!(s.offset.load(Relaxed), 0);
        s.take_pending();
        s.reset_db();
        s.reset_backlog(0);
        s.feed(&[(0, vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()])]);
        s.feed(&[(0, vec![b"DEL".to_vec(), b"a".to_vec()]), (1, vec![b"INCR".to_vec(), b"b".to_vec()])]);
        let out = String::from_utf8(s.take_pending()).unwrap();
        assert_eq!(
            out,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
             *1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        assert_eq!(s.offset.load(Relaxed) as usize, out.len());
        assert_eq!(s.backlog_info(), Some((1, out.len() as u64)));
        assert_eq!(s.inner.lock().backlog.as_ref().unwrap().since(1).unwrap(), out.as_bytes());
    }

    #[test]
    fn backlog_keeps_the_newest_bytes() {
        let mut b = Backlog::new(10, 100);
        assert_eq!(b.since(101), Some(vec![]));
        assert_eq!(b.since(102), None);
        b.append(b"abcdef");
        assert_eq!((b.first, b.buf.len()), (101, 6));
        assert_eq!(b.since(103).unwrap(), b"cdef");
        b.append(b"ghijkl");
        assert_eq!((b.first, b.buf.len()), (103, 10));
        assert_eq!(b.since(103).unwrap(), b"cdefghijkl");
        assert_eq!(b.since(102), None);
        assert_eq!(b.since(113), Some(vec![]));
        b.append(b"0123456789ABC");
        assert_eq!((b.first, b.since(116).unwrap()), (116, b"3456789ABC".to_vec()));
        assert!(b.buf.capacity() <= 16);
        b.resize(4);
        assert_eq!((b.first, b.since(122).unwrap()), (122, b"9ABC".to_vec()));
    }

    #[test]
    fn timestamp_annotations_go_to_the_aof_only() {
        let s = WriteStream::default();
        s.set_aof(true);
        s.reset_backlog(0);
        s.set_timestamps(true);
        s.feed(&[(0, vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()])]);
        s.feed(&[(0, vec![b"DEL".to_vec(), b"k".to_vec()])]);
        let out = String::from_utf8(s.take_pending()).unwrap();
        assert!(out.starts_with("#TS:"), "{out}");
        let body = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
        // one annotation per second at most: the offset counts only the commands
        assert!(out.matches("#TS:").count() <= 2);
        assert!(out.ends_with("*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"));
        assert_eq!(s.offset.load(Relaxed) as usize, body.len());
    }
}
