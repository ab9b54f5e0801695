//! The keyspace: `ndbs` logical databases split into shards by cluster hash slot.
//!
//! Ownership: a `Keyspace` holds `nshards` shards, each behind its own mutex; a shard holds
//! one `Db` per logical database with the keys whose CRC16 slot maps to it
//! (`slot % nshards`). A command locks exactly the shards of its keys, in ascending order
//! (no deadlock), or all of them for keyspace-wide commands, MULTI/EXEC and scripts. With
//! one worker thread there is one shard and one uncontended lock per command.
//!
//! A `Db` is the dict of entries plus the expire table, which only holds keys with a TTL:
//! `expires` maps an entry's address to its deadline and its index in `volatile`, the dense
//! list the active-expiry cycle samples from.

pub mod dict;
pub mod entry;
pub mod lazyfree;
pub mod lru;
pub mod value;

use ahash::AHashMap;
use dict::Dict;
use entry::{Entry, OwnedEntry};
use parking_lot::{Mutex, MutexGuard};
use crate::persist::snapshot::SnapCtl;
use std::ptr::NonNull;
pub use value::{Value, ValueType};

/// Set while the dataset is being loaded: nothing expires then (Redis's keyIsExpired
/// answers no while loading), so an AOF that gives a key a past deadline and then
/// writes to it replays as it was written; the key expires once the load is done.
pub static NO_EXPIRY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// One client's WATCH of one key (Redis's watchedKey).
pub struct WatchReg {
    /// The client's dirty-CAS flag.
    pub flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The key was logically expired (still present, past its TTL) when watched, or a
    /// SWAPDB replaced an absent key with such a key: it counts as absent.
    pub expired: bool,
}

pub struct Db {
    pub dict: Dict,
    expires: AHashMap<usize, (i64, u32)>,
    volatile: Vec<NonNull<Entry>>,
    /// Running average TTL (ms) of the volatile keys the active-expiry cycle sampled
    /// (INFO keyspace `avg_ttl`).
    pub avg_ttl: i64,
    /// Where the active-expiry cycle resumes sampling in `volatile` (Redis's expires_cursor).
    pub expires_cursor: usize,
    /// WATCHed keys of this db part -> the clients watching them, in WATCH order.
    watched: AHashMap<Box<[u8]>, Vec<WatchReg>>,
    /// Armed while a snapshot is being written (see `persist::snapshot`): entries are
    /// captured before they change. Mutate entries only through `Db` methods.
    pub snap: Option<std::sync::Arc<SnapCtl>>,
}

// Reached only through the shard lock.
unsafe impl Send for Db {}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

impl Db {
    pub fn new() -> Db {
        Db {
            dict: Dict::new(),
            expires: AHashMap::new(),
            volatile: Vec::new(),
            avg_ttl: 0,
            expires_cursor: 0,
            watched: AHashMap::new(),
            snap: None,
        }
    }

    /// Snapshot hook: keep the snapshot-time form of `key` before it changes.
    #[inline]
    fn before_change(&self, key: &[u8]) {
        if let Some(ctl) = &self.snap {
            crate::persist::snapshot::capture(ctl, self, key);
        }
    }

    #[inline]
    fn after_insert(&self, key: &[u8]) {
        if let Some(ctl) = &self.snap {
            crate::persist::snapshot::note_new(ctl, self, key);
        }
    }

    /// Register a WATCH of `key` by the client owning `flag` (`expired`: the key is
    /// present but past its TTL).
    pub fn watch(&mut self, key: &[u8], flag: std::sync::Arc<std::sync::atomic::AtomicBool>, expired: bool) {
        self.watched.entry(key.into()).or_default().push(WatchReg { flag, expired });
    }

    pub fn unwatch(&mut self, key: &[u8], flag: &std::sync::Arc<std::sync::atomic::AtomicBool>) {
        if let Some(v) = self.watched.get_mut(key) {
            v.retain(|r| !std::sync::Arc::ptr_eq(&r.flag, flag));
            if v.is_empty() {
                self.watched.remove(key);
            }
        }
    }

    /// Is the client's WATCH of `key` one of an already expired key (EXEC ignores those
    /// when it checks for watched keys that expired since)?
    pub fn watched_as_expired(&self, key: &[u8], flag: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> bool {
        self.watched
            .get(key)
            .and_then(|v| v.iter().find(|r| std::sync::Arc::ptr_eq(&r.flag, flag)))
            .is_some_and(|r| r.expired)
    }

    /// A key changed: every client watching it will fail its EXEC (touchWatchedKey).
    /// A watch of a key that was already expired is not touched when that key is now
    /// deleted (no logical change); as in Redis 7.0, such a watch that is touched by a
    /// real change ends the walk over the key's watchers.
    #[inline]
    pub fn touch_watched(&mut self, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        let present = self.dict.get(key).is_some();
        if let Some(v) = self.watched.get_mut(key) {
            for r in v.iter_mut() {
                if r.expired {
                    if !present {
                        r.expired = false;
                        continue;
                    }
                    break;
                }
                r.flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// FLUSHDB / FLUSHALL (`replaced_with` None) and SWAPDB (the db whose contents come
    /// here): touch the watches of keys whose logical state may change
    /// (touchAllWatchedKeysInDb). Call before the contents change.
    pub fn touch_all_watched(&mut self, replaced_with: Option<&Db>, now: i64) {
        if self.watched.is_empty() {
            return;
        }
        let dict = &self.dict;
        for (k, v) in self.watched.iter_mut() {
            let in_emptied = dict.get(k).is_some();
            let incoming = replaced_with.and_then(|d| d.get(k).map(|e| d.is_expired(e, now)));
            if !in_emptied && incoming.is_none() {
                continue;
            }
            for r in v.iter_mut() {
                if r.expired {
                    match incoming {
                        // The expired key is now gone: no logical change.
                        None => {
                            r.expired = false;
                            continue;
                        }
                        // It stays expired.
                        Some(true) => continue,
                        Some(false) => {}
                    }
                } else if !in_emptied && incoming == Some(true) {
                    // An absent key replaced with an expired one.
                    r.expired = true;
                    continue;
                }
                r.flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    #[inline]
    pub fn expires_len(&self) -> usize {
        self.volatile.len()
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.dict.get(key)
    }

    /// Mutable access to an entry (the caller may change its value).
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.before_change(key);
        self.dict.get_mut(key)
    }

    /// The deadline (unix ms) of an entry, if it has one.
    #[inline]
    pub fn expire_of(&self, e: &Entry) -> Option<i64> {
        if !e.has_expire() {
            return None;
        }
        self.expires.get(&(e as *const Entry as usize)).map(|x| x.0)
    }

    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        self.get(key).and_then(|e| self.expire_of(e))
    }

    /// Is the key present but past its deadline? (Redis: expired once now > deadline.)
    #[inline]
    pub fn is_expired(&self, e: &Entry, now: i64) -> bool {
        e.has_expire() && self.expire_of(e).is_some_and(|t| t < now) && !NO_EXPIRY.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Insert a key known to be absent.
    pub fn insert(&mut self, key: &[u8], value: Value, lru: u32) -> &mut Entry {
        if self.snap.is_some() {
            self.dict.insert_new(key, value, lru);
            self.after_insert(key);
            return self.dict.get_mut(key).expect("just inserted");
        }
        self.dict.insert_new(key, value, lru)
    }

    /// setKey semantics: overwrite or insert; the TTL is dropped unless `keep_ttl`.
    /// Returns true if the key existed.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool, lru: u32) -> bool {
        self.before_change(key);
        let (e, old) = self.dict.upsert(key, value, lru);
        if old.is_none() {
            self.after_insert(key);
            return false;
        }
        if keep_ttl || !e.has_expire() {
            return true;
        }
        let ptr = e as *mut Entry;
        // SAFETY: ptr is the live entry just written.
        self.drop_expire(unsafe { &mut *ptr });
        true
    }

    /// Set a TTL on an existing key. Returns false if the key does not exist.
    /// A key read from an RDB / AOF base / replication payload: replaces any key of the
    /// same name, with its deadline if it has one and its access clock `lru`.
    pub fn put_loaded(&mut self, key: &[u8], value: Value, expire: Option<i64>, lru: u32) {
        self.remove(key);
        self.insert(key, value, lru);
        if let Some(t) = expire {
            self.set_expire(key, t);
        }
    }

    pub fn set_expire(&mut self, key: &[u8], when: i64) -> bool {
        self.before_change(key);
        let Some(e) = self.dict.get_mut(key) else { return false };
        let addr = e as *mut Entry as usize;
        if e.has_expire() {
            if let Some(x) = self.expires.get_mut(&addr) {
                x.0 = when;
            }
        } else {
            e.set_has_expire(true);
            let idx = self.volatile.len() as u32;
            // SAFETY: addr is a live entry pointer.
            self.volatile.push(unsafe { NonNull::new_unchecked(addr as *mut Entry) });
            self.expires.insert(addr, (when, idx));
        }
        true
    }

    fn drop_expire(&mut self, e: &mut Entry) {
        if !e.has_expire() {
            return;
        }
        e.set_has_expire(false);
        let addr = e as *mut Entry as usize;
        if let Some((_, idx)) = self.expires.remove(&addr) {
            let idx = idx as usize;
            self.volatile.swap_remove(idx);
            if idx < self.volatile.len() {
                let moved = self.volatile[idx].as_ptr() as usize;
                if let Some(x) = self.expires.get_mut(&moved) {
                    x.1 = idx as u32;
                }
            }
        }
    }

    /// PERSIST: remove the TTL. True if there was one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.before_change(key);
        let Some(e) = self.dict.get_mut(key) else { return false };
        if !e.has_expire() {
            return false;
        }
        let p = e as *mut Entry;
        // SAFETY: p is the live entry just found.
        self.drop_expire(unsafe { &mut *p });
        true
    }

    /// Unlink a key (and its TTL). The caller drops the entry (or frees it elsewhere).
    pub fn remove(&mut self, key: &[u8]) -> Option<OwnedEntry> {
        self.before_change(key);
        let mut owned = self.dict.remove(key)?;
        if owned.entry().has_expire() {
            self.drop_expire(owned.entry_mut());
        }
        Some(owned)
    }

    /// Empty the db (FLUSHDB/FLUSHALL): watchers of keys that existed are notified.
    pub fn clear(&mut self) {
        self.touch_all_watched(None, 0);
        if let Some(ctl) = self.snap.clone() {
            // The snapshot keeps the old contents as they are: hand them over, no copy.
            let mut st = ctl.state.lock();
            if !st.live_is_new {
                let old = Db {
                    dict: std::mem::take(&mut self.dict),
                    expires: std::mem::take(&mut self.expires),
                    volatile: std::mem::take(&mut self.volatile),
                    avg_ttl: 0,
                    expires_cursor: 0,
                    watched: AHashMap::new(),
                    snap: None,
                };
                st.detached = Some(Box::new(old));
                st.live_is_new = true;
                return;
            }
        }
        self.expires.clear();
        self.volatile.clear();
        self.dict.clear();
    }

    /// Empty the db like `clear`, handing the old contents back so they can be freed
    /// elsewhere (FLUSHDB / FLUSHALL ASYNC). None when a running snapshot took them.
    pub fn take_contents(&mut self) -> Option<Db> {
        if self.snap.is_some() {
            self.clear();
            return None;
        }
        self.touch_all_watched(None, 0);
        let mut old = Db::new();
        std::mem::swap(&mut old.dict, &mut self.dict);
        std::mem::swap(&mut old.expires, &mut self.expires);
        std::mem::swap(&mut old.volatile, &mut self.volatile);
        Some(old)
    }

    /// Swap contents with another db (SWAPDB). Watches stay with the db index.
    pub fn swap(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.dict, &mut other.dict);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.volatile, &mut other.volatile);
        std::mem::swap(&mut self.avg_ttl, &mut other.avg_ttl);
        std::mem::swap(&mut self.expires_cursor, &mut other.expires_cursor);
        std::mem::swap(&mut self.snap, &mut other.snap);
    }

    /// The `i`-th volatile key (modulo their number) and its deadline: the active-expiry
    /// cycle walks these with `expires_cursor`.
    pub fn volatile_at(&self, i: usize) -> Option<(&Entry, i64)> {
        if self.volatile.is_empty() {
            return None;
        }
        // SAFETY: volatile holds only live entries of this db.
        let e = unsafe { self.volatile[i % self.volatile.len()].as_ref() };
        Some((e, self.expire_of(e)?))
    }

    /// A random volatile key and its deadline (active expiry sampling).
    pub fn random_volatile(&self, rng: &mut impl rand::Rng) -> Option<(&Entry, i64)> {
        if self.volatile.is_empty() {
            return None;
        }
        let p = self.volatile[rng.gen_range(0..self.volatile.len())];
        // SAFETY: volatile holds only live entries of this db.
        let e = unsafe { p.as_ref() };
        Some((e, self.expire_of(e)?))
    }
}

/// Dicts (and collection tables) smaller than this stay in the CPU caches: no prefetching.
const PREFETCH_MIN: usize = 16 * 1024;

/// A pipelined command's look-up inside a collection, for `Keyspace::prefetch`.
#[derive(Clone, Copy)]
pub struct MemberHint<'a> {
    pub member: &'a [u8],
    /// For sorted sets: which searches of the ordered index the command makes.
    pub z: ZHint<'a>,
}

/// The index searches of a sorted-set command on one member.
#[derive(Clone, Copy)]
pub enum ZHint<'a> {
    /// none (ZSCORE, or not a sorted-set command)
    None,
    /// at the member's current score (ZREM, ZRANK)
    Old,
    /// at its current score and at this new one (ZADD)
    Set(&'a [u8]),
    /// at its current score and at that score plus this increment (ZINCRBY, ZADD INCR)
    Incr(&'a [u8]),
}

/// One shard: its part of every logical database.
pub struct Shard {
    pub dbs: Vec<Db>,
}

pub struct Keyspace {
    pub shards: Box<[Mutex<Shard>]>,
    pub ndbs: usize,
}

const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

/// Redis Cluster hash slot of a key (CRC16 of the `{hashtag}` if any, mod 16384).
pub fn key_slot(key: &[u8]) -> u16 {
    let k = match key.iter().position(|&c| c == b'{') {
        Some(s) => match key[s + 1..].iter().position(|&c| c == b'}') {
            Some(len) if len > 0 => &key[s + 1..s + 1 + len],
            _ => key,
        },
        None => key,
    };
    CRC16.checksum(k) & 16383
}

impl Keyspace {
    pub fn new(ndbs: usize, nshards: usize) -> Keyspace {
        let nshards = nshards.max(1);
        let shards =
            (0..nshards).map(|_| Mutex::new(Shard { dbs: (0..ndbs).map(|_| Db::new()).collect() })).collect();
        Keyspace { shards, ndbs }
    }

    #[inline]
    pub fn nshards(&self) -> usize {
        self.shards.len()
    }

    #[inline]
    pub fn shard_of(&self, key: &[u8]) -> usize {
        if self.shards.len() == 1 {
            0
        } else {
            key_slot(key) as usize % self.shards.len()
        }
    }

    /// Start loading what looking up `keys` in `db` will touch (buckets, then the chain
    /// heads), all keys at once so their cache misses overlap instead of following each
    /// other: used for the commands of a pipelined batch before they run. Only with one
    /// shard, whose lock is then free between commands; a busy lock means skip it. Small
    /// dicts stay in the cache anyway and are left alone.
    /// `keys[i]` with, for commands on a member of a set, hash or sorted set,
    /// `members[i]`: the member's bucket and chain head in the collection's table are
    /// loaded too when the collection is large, and for a large sorted set the index lines
    /// that the command's searches by score will read (`ZHint`). Returns whether anything
    /// was big enough to prefetch (callers back off when it is not).
    pub fn prefetch(&self, db: usize, keys: &[&[u8]], members: &[Option<MemberHint>]) -> bool {
        if self.shards.len() != 1 || keys.len() < 2 {
            return false;
        }
        let Some(sh) = self.shards[0].try_lock() else { return true };
        let Some(d) = sh.dbs.get(db) else { return false };
        let mut useful = false;
        if d.dict.len() >= PREFETCH_MIN {
            useful = true;
            let hashes: smallvec::SmallVec<[u64; 16]> = keys.iter().map(|k| d.dict.hash(k)).collect();
            for &h in &hashes {
                d.dict.prefetch_bucket(h);
            }
            for &h in &hashes {
                d.dict.prefetch_chain(h);
            }
        }
        if members.iter().all(|m| m.is_none()) {
            return useful;
        }
        let mut inner: smallvec::SmallVec<[(&crate::types::table::Table, u64); 16]> = smallvec::SmallVec::new();
        let mut zsets: smallvec::SmallVec<[(&crate::types::zset::OrdIdx, &crate::types::table::Table, MemberHint); 16]> =
            smallvec::SmallVec::new();
        for (k, m) in keys.iter().zip(members) {
            let Some(m) = m else { continue };
            let (table, index) = match d.dict.get(k).map(|e| &e.value) {
                Some(Value::Set(v)) => (v.table(), None),
                Some(Value::Hash(v)) => (v.table(), None),
                Some(Value::ZSet(v)) => (v.table(), v.index()),
                _ => (None, None),
            };
            if let Some(t) = table.filter(|t| t.len() >= PREFETCH_MIN) {
                if let Some(h) = t.prefetch_bucket(m.member) {
                    inner.push((t, h));
                    if let (Some(ix), false) = (index, matches!(m.z, ZHint::None)) {
                        zsets.push((ix, t, *m));
                    }
                }
            }
        }
        useful |= !inner.is_empty();
        for (t, h) in inner {
            t.prefetch_chain(h);
        }
        if !zsets.is_empty() {
            // the member's current score (its node is on its way) and the new one
            let mut targets: smallvec::SmallVec<[(&crate::types::zset::OrdIdx, f64, &[u8]); 32]> =
                smallvec::SmallVec::new();
            for &(ix, t, m) in &zsets {
                let old = t.get(m.member).map(|n| n.score());
                if let Some(o) = old {
                    targets.push((ix, o, m.member));
                }
                let arg = |a: &[u8]| std::str::from_utf8(a).ok().and_then(|x| x.parse::<f64>().ok());
                let new = match m.z {
                    ZHint::Set(a) => arg(a),
                    ZHint::Incr(a) => arg(a).map(|v| v + old.unwrap_or(0.0)),
                    _ => None,
                };
                // (a NaN argument or sum is refused by the command: no search to warm)
                if let Some(s) = new.filter(|s| !s.is_nan()) {
                    targets.push((ix, s, m.member));
                }
            }
            crate::types::zset::OrdIdx::prefetch_searches(&targets);
        }
        useful
    }

    /// Lock every shard, in order.
    pub fn lock_all(&self) -> LockSet<'_> {
        LockSet { guards: self.shards.iter().enumerate().map(|(i, m)| (i, m.lock())).collect() }
    }

    /// Lock one shard.
    #[inline]
    pub fn lock_one(&self, idx: usize) -> LockSet<'_> {
        let mut guards = smallvec::SmallVec::new();
        guards.push((idx, self.shards[idx].lock()));
        LockSet { guards }
    }

    /// Lock the given shard indexes (sorted and deduplicated here).
    pub fn lock_some(&self, mut idx: smallvec::SmallVec<[usize; 4]>) -> LockSet<'_> {
        idx.sort_unstable();
        idx.dedup();
        LockSet { guards: idx.into_iter().map(|i| (i, self.shards[i].lock())).collect() }
    }
}

/// The shards a command holds while it runs.
pub struct LockSet<'a> {
    pub guards: smallvec::SmallVec<[(usize, MutexGuard<'a, Shard>); 1]>,
}

impl<'a> LockSet<'a> {
    #[inline]
    pub fn shard(&mut self, idx: usize) -> &mut Shard {
        if self.guards.len() == 1 {
            return &mut self.guards[0].1;
        }
        let pos = self.guards.iter().position(|(i, _)| *i == idx).expect("key outside the command's locked shards");
        &mut self.guards[pos].1
    }

    #[inline]
    pub fn shard_ref(&self, idx: usize) -> &Shard {
        if self.guards.len() == 1 {
            return &self.guards[0].1;
        }
        let pos = self.guards.iter().position(|(i, _)| *i == idx).expect("key outside the command's locked shards");
        &self.guards[pos].1
    }

    /// Every locked shard.
    pub fn iter_mut<'s>(&'s mut self) -> impl Iterator<Item = &'s mut Shard> + use<'s, 'a> {
        self.guards.iter_mut().map(|(_, g)| &mut **g)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Shard> + '_ {
        self.guards.iter().map(|(_, g)| &**g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from CLUSTER KEYSLOT on Redis.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"123456789"), 12739);
    }

    #[test]
    fn expire_table_tracks_entries() {
        let mut db = Db::new();
        for i in 0..100 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i), 0);
        }
        for i in 0..50 {
            assert!(db.set_expire(format!("k{i}").as_bytes(), 1000 + i));
        }
        assert_eq!(db.expires_len(), 50);
        assert_eq!(db.get_expire(b"k7"), Some(1007));
        assert!(db.persist(b"k7"));
        assert_eq!(db.get_expire(b"k7"), None);
        assert!(db.remove(b"k8").is_some());
        assert_eq!(db.expires_len(), 48);
        assert_eq!(db.get_expire(b"k9"), Some(1009));
        db.set(b"k10", Value::Int(1), false, 0);
        assert_eq!(db.get_expire(b"k10"), None);
        db.set(b"k11", Value::Int(1), true, 0);
        assert_eq!(db.get_expire(b"k11"), Some(1011));
        assert_eq!(db.expires_len(), 47);
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let (e, t) = db.random_volatile(&mut rng).unwrap();
            assert!(e.has_expire() && t >= 1000);
        }
    }
}
