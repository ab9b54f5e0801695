//! Point-in-time snapshots without fork().
//!
//! A snapshot starts by locking every shard at once and arming a `SnapCtl` on every
//! non-empty db part: its dict finishes any rehash and stops resizing, so each key stays in
//! the bucket it has now. A background thread then walks each db part bucket by bucket
//! (`cursor` = first bucket not yet written), holding the shard lock only for a batch of
//! buckets at a time, and writes the entries to the RDB file.
//!
//! Writers keep going meanwhile. Before an entry in a bucket the walker has not reached is
//! changed or deleted, `Db` calls `capture`, which encodes the entry as it is (its value at
//! snapshot time) into `captured` and remembers its address in `skip`; entries created
//! after the start are added to `skip` too. The walker leaves out what is in `skip`.
//! FLUSHDB/FLUSHALL during a snapshot hand the whole old db part to the walker (`detached`)
//! instead of copying it. So the extra memory is what clients write during the snapshot,
//! never a copy of the dataset.

use super::rdb;
use crate::keyspace::entry::Entry;
use crate::keyspace::Db;
use ahash::AHashSet;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Bytes captured (copied because a writer got ahead of the walker) by the snapshots
/// running now: our counterpart of a fork child's copy-on-write size (INFO current_cow_size).
pub static COW_BYTES: AtomicU64 = AtomicU64::new(0);
/// Keys written by the walker since the snapshot started (INFO current_save_keys_processed).
pub static KEYS_DONE: AtomicU64 = AtomicU64::new(0);

pub struct SnapState {
    /// Buckets below this index have been written by the walker.
    pub cursor: usize,
    /// Entries the walker must leave out (already captured, or newer than the snapshot).
    pub skip: AHashSet<usize>,
    /// Encoded records of captured entries, waiting to be written to the file.
    pub captured: Vec<u8>,
    /// The db part's contents as they were, if it was flushed during the snapshot.
    pub detached: Option<Box<Db>>,
    /// The db part was flushed: its current contents are all newer than the snapshot.
    pub live_is_new: bool,
}

/// What of a key's access clock goes into its record, as Redis: the idle time (seconds)
/// under an LRU maxmemory-policy, the decayed LFU counter under an LFU one, nothing else.
#[derive(Clone, Copy)]
pub struct ClockSave {
    pub policy: u32,
    pub decay_time: u32,
    /// The time idle times and decays are reckoned at (the snapshot's start).
    pub now_ms: i64,
}

impl ClockSave {
    pub fn of(srv: &crate::server::Server) -> ClockSave {
        ClockSave {
            policy: srv.hot.maxmemory_policy.load(Relaxed),
            decay_time: srv.hot.lfu_decay_time.load(Relaxed),
            now_ms: crate::server::now_ms(),
        }
    }
}

pub struct SnapCtl {
    /// The logical db this data belonged to when the snapshot started.
    pub db: usize,
    pub compress: bool,
    pub clock: ClockSave,
    pub state: Mutex<SnapState>,
}

impl SnapCtl {
    pub fn new(db: usize, compress: bool, clock: ClockSave) -> SnapCtl {
        SnapCtl {
            db,
            compress,
            clock,
            state: Mutex::new(SnapState {
                cursor: 0,
                skip: AHashSet::new(),
                captured: Vec::new(),
                detached: None,
                live_is_new: false,
            }),
        }
    }
}

/// Encode one key as an RDB record (expire, idle time or LFU counter opcodes, type, key,
/// value). False when the value has no RDB form yet.
pub fn encode_entry(db: &Db, e: &Entry, compress: bool, clock: ClockSave, out: &mut Vec<u8>) -> bool {
    use crate::keyspace::lru;
    let Some(v) = super::value_to_rdb(&e.value) else { return false };
    if let Some(t) = db.expire_of(e) {
        out.push(rdb::OP_EXPIRETIME_MS);
        out.extend_from_slice(&t.to_le_bytes());
    }
    if clock.policy & lru::POLICY_FLAG_LRU != 0 {
        out.push(rdb::OP_IDLE);
        rdb::encode_len(lru::idle_ms(e.lru.get(), clock.now_ms) / 1000, out);
    } else if clock.policy & lru::POLICY_FLAG_LFU != 0 {
        out.push(rdb::OP_FREQ);
        out.push(lru::lfu_decayed(e.lru.get(), clock.now_ms, clock.decay_time));
    }
    out.push(rdb::type_byte(&v));
    rdb::encode_string(e.key(), compress, out);
    rdb::encode_value_body(&v, compress, out);
    true
}

/// Called by `Db` before `key` changes or disappears while a snapshot is armed.
pub fn capture(ctl: &SnapCtl, db: &Db, key: &[u8]) {
    let mut st = ctl.state.lock();
    if st.live_is_new {
        return;
    }
    let Some(b) = db.dict.bucket_of(key) else { return };
    if b < st.cursor {
        return;
    }
    let Some(e) = db.dict.get(key) else { return };
    let addr = e as *const Entry as usize;
    if st.skip.contains(&addr) {
        return;
    }
    // Not compressed: this runs in the writing client's command, under its shard lock,
    // and the record only waits for the walker's next batch. (So COW_BYTES counts the
    // bytes the copy really holds, like a fork child's copied pages.)
    let mut rec = Vec::new();
    if encode_entry(db, e, false, ctl.clock, &mut rec) {
        st.captured.extend_from_slice(&rec);
        COW_BYTES.fetch_add(rec.len() as u64 + 16, Relaxed);
        KEYS_DONE.fetch_add(1, Relaxed);
    }
    st.skip.insert(addr);
}

/// Called by `Db` after a new entry was inserted while a snapshot is armed.
pub fn note_new(ctl: &SnapCtl, db: &Db, key: &[u8]) {
    let mut st = ctl.state.lock();
    if st.live_is_new {
        return;
    }
    let (Some(b), Some(e)) = (db.dict.bucket_of(key), db.dict.get(key)) else { return };
    if b >= st.cursor {
        st.skip.insert(e as *const Entry as usize);
    }
}
