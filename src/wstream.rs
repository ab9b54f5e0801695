//! The write stream: one ordered sequence of write effects, in RESP, with a byte offset.
//!
//! Every command that changed data contributes its effects (`Ks::ops`: lazily expired
//! keys' DELs, then the command as received or as the handler rewrote it), fed here while
//! the command still holds its shard locks, so two commands touching the same key enter
//! the stream in the order they ran. A top-level call with more than one effect (EXEC,
//! scripts, a write that also expired a key) is wrapped in MULTI/EXEC, as Redis 7.0 does.
//! SELECT is emitted whenever the db changes. Consumers: the AOF (`persist::aof`) and,
//! later, replicas (they read from the same offset space: `offset` is master_repl_offset).
//!
//! When nothing consumes the stream `active` is false and commands record no effects.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

pub struct WriteStream {
    /// Some consumer exists: commands must record their effects.
    pub active: AtomicBool,
    /// Total bytes ever fed (the replication offset).
    pub offset: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Db of the last SELECT in the stream.
    db: Option<usize>,
    /// Bytes fed but not yet taken by the AOF writer.
    aof_pending: Vec<u8>,
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
        WriteStream { active: AtomicBool::new(false), offset: AtomicU64::new(0), inner: Mutex::new(Inner::default()) }
    }
}

impl WriteStream {
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// Append the effects of one top-level call.
    pub fn feed(&self, ops: &[Op]) {
        if ops.is_empty() {
            return;
        }
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let out = &mut inner.aof_pending;
        let before = out.len();
        let wrap = ops.len() > 1;
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
        self.offset.fetch_add((out.len() - before) as u64, Relaxed);
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
}
