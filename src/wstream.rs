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
    /// Total bytes ever fed (the replication offset).
    pub offset: AtomicU64,
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
        if self.replica_mode.load(Relaxed) {
            return;
        }
        self.offset.fetch_add((out.len() - before) as u64, Relaxed);
        if !inner.replicas.is_empty() {
            let chunk = &out[before..];
            inner.replicas.retain(|r| r.deliver(chunk));
            if inner.replicas.is_empty() {
                self.active.store(inner.aof, Relaxed);
            }
        }
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
        g.replicas.retain(|r| r.deliver(&cmd));
        if g.replicas.is_empty() {
            self.active.store(g.aof, Relaxed);
        }
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
    }

    /// A replica passes its master's stream on to its own replicas byte for byte (the
    /// offset is the master's, kept by `crate::replica`).
    pub fn feed_raw(&self, bytes: &[u8], offset_after: u64) {
        let mut g = self.inner.lock();
        self.offset.store(offset_after, Relaxed);
        if g.replicas.is_empty() {
            return;
        }
        g.replicas.retain(|r| r.deliver(bytes));
        if g.replicas.is_empty() {
            self.active.store(g.aof, Relaxed);
        }
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
        self.active.store(on || !g.replicas.is_empty(), Relaxed);
    }

    /// Attach a replica: from now on every fed chunk is appended to its outbox, starting
    /// with a SELECT. The caller holds every shard lock, so no write falls between the
    /// snapshot it sent and the first chunk.
    /// Returns the stream offset the replica starts at (read under the same lock, so no
    /// chunk falls between).
    pub fn add_replica(&self, r: Replica) -> u64 {
        let mut g = self.inner.lock();
        // a replica passes its master's stream on as is: no SELECT of ours in it
        if !self.replica_mode.load(Relaxed) {
            g.db = None;
        }
        g.replicas.push(r);
        self.active.store(true, Relaxed);
        self.offset.load(Relaxed)
    }

    /// Detach a replica (its connection closed).
    pub fn remove_replica(&self, id: u64) {
        let mut g = self.inner.lock();
        g.replicas.retain(|r| r.client.id != id);
        self.active.store(g.aof || !g.replicas.is_empty(), Relaxed);
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
    }

    #[test]
    fn timestamp_annotations_go_to_the_aof_only() {
        let s = WriteStream::default();
        s.set_aof(true);
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
