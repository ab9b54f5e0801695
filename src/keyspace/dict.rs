//! The keyspace hash table: chained buckets of intrusive `Entry`s, power-of-two sizes,
//! incremental rehashing between two tables (as Redis's dict.c), and SCAN cursors.
//!
//! Why our own table: SCAN must return every key present for the whole iteration even
//! while the table grows or shrinks. With power-of-two bucket arrays indexed by the low
//! bits of the hash, iterating cursors in reverse-binary order gives exactly that
//! guarantee (a bucket of the small table maps to a contiguous set of buckets in the big
//! one). The same bucket order lets a snapshot walk the table while writers go on.
//!
//! Invariants:
//! - every entry is in exactly one chain of `t[0]`, or of `t[1]` while rehashing;
//! - while rehashing, buckets of `t[0]` below `rehash_idx` are empty;
//! - `pause_rehash > 0` stops entries moving between tables (snapshot in progress).

use super::entry::{Entry, OwnedEntry};
use super::value::Value;
use std::ptr::{self, NonNull};

struct Table {
    buckets: Box<[*mut Entry]>,
    used: usize,
}

impl Table {
    fn empty() -> Table {
        Table { buckets: Box::new([]), used: 0 }
    }
    fn with_size(n: usize) -> Table {
        Table { buckets: vec![ptr::null_mut(); n].into_boxed_slice(), used: 0 }
    }
    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
    #[inline]
    fn size(&self) -> usize {
        self.buckets.len()
    }
}

pub struct Dict {
    t: [Table; 2],
    /// Next bucket of t[0] to move while rehashing; -1 when not rehashing.
    rehash_idx: isize,
    pause_rehash: u32,
    hasher: ahash::RandomState,
}

// The dict is only reached through its shard's lock.
unsafe impl Send for Dict {}

const INITIAL_SIZE: usize = 4;

fn global_hasher() -> ahash::RandomState {
    use std::sync::OnceLock;
    static SEEDS: OnceLock<[u64; 4]> = OnceLock::new();
    let s = SEEDS.get_or_init(|| {
        use rand::RngCore;
        let mut r = rand::thread_rng();
        [r.next_u64(), r.next_u64(), r.next_u64(), r.next_u64()]
    });
    ahash::RandomState::with_seeds(s[0], s[1], s[2], s[3])
}

impl Default for Dict {
    fn default() -> Self {
        Dict::new()
    }
}

impl Dict {
    pub fn new() -> Dict {
        Dict { t: [Table::empty(), Table::empty()], rehash_idx: -1, pause_rehash: 0, hasher: global_hasher() }
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.t[0].used + self.t[1].used
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total bucket slots (for memory stats and resize decisions).
    pub fn slots(&self) -> usize {
        self.t[0].size() + self.t[1].size()
    }

    #[inline]
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx >= 0
    }

    pub fn pause_rehash(&mut self) {
        self.pause_rehash += 1;
    }
    pub fn resume_rehash(&mut self) {
        self.pause_rehash -= 1;
    }

    /// Move up to `n` buckets from t[0] to t[1] (visiting at most 10*n empty buckets).
    /// Returns true if there is more to do.
    pub fn rehash(&mut self, mut n: usize) -> bool {
        if !self.is_rehashing() || self.pause_rehash > 0 {
            return self.is_rehashing();
        }
        let mut empty_visits = n * 10;
        while n > 0 && self.t[0].used != 0 {
            n -= 1;
            let mut idx = self.rehash_idx as usize;
            while self.t[0].buckets[idx].is_null() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = idx as isize;
                    return true;
                }
            }
            let mut e = self.t[0].buckets[idx];
            while !e.is_null() {
                // SAFETY: e is a live entry in the t[0] chain.
                unsafe {
                    let next = (*e).next;
                    let h = self.hasher.hash_one((*e).key()) as usize & self.t[1].mask();
                    (*e).next = self.t[1].buckets[h];
                    self.t[1].buckets[h] = e;
                    self.t[0].used -= 1;
                    self.t[1].used += 1;
                    e = next;
                }
            }
            self.t[0].buckets[idx] = ptr::null_mut();
            self.rehash_idx = idx as isize + 1;
        }
        if self.t[0].used == 0 {
            self.t[0] = std::mem::replace(&mut self.t[1], Table::empty());
            self.rehash_idx = -1;
            return false;
        }
        true
    }

    /// Rehash for about `ms` milliseconds (cron).
    pub fn rehash_ms(&mut self, ms: u64) -> usize {
        let start = std::time::Instant::now();
        let mut moved = 0;
        while self.rehash(100) {
            moved += 100;
            if start.elapsed().as_millis() as u64 >= ms {
                break;
            }
        }
        moved
    }

    #[inline]
    fn step(&mut self) {
        if self.rehash_idx >= 0 && self.pause_rehash == 0 {
            self.rehash(1);
        }
    }

    fn resize_to(&mut self, size: usize) {
        let size = size.max(INITIAL_SIZE).next_power_of_two();
        if self.is_rehashing() || self.t[0].size() == size {
            return;
        }
        let nt = Table::with_size(size);
        if self.t[0].size() == 0 {
            self.t[0] = nt;
            return;
        }
        self.t[1] = nt;
        self.rehash_idx = 0;
    }

    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        if self.t[0].size() == 0 {
            self.resize_to(INITIAL_SIZE);
        } else if self.t[0].used >= self.t[0].size() && self.pause_rehash == 0 {
            self.resize_to(self.t[0].used + 1);
        }
        // While a snapshot pauses rehashing the table keeps its size (chains grow): the
        // snapshot relies on every key staying in the bucket it had when it started.
    }

    /// Complete a rehash in progress (a snapshot needs one stable table).
    pub fn finish_rehash(&mut self) {
        while self.is_rehashing() {
            let paused = self.pause_rehash;
            self.pause_rehash = 0;
            self.rehash(1024);
            self.pause_rehash = paused;
        }
    }

    /// Number of buckets of the main table (valid as bucket indexes when not rehashing).
    pub fn bucket_count(&self) -> usize {
        self.t[0].size()
    }

    /// The bucket `key` hashes to (None while rehashing or when empty).
    #[inline]
    pub fn bucket_of(&self, key: &[u8]) -> Option<usize> {
        if self.is_rehashing() || self.t[0].size() == 0 {
            return None;
        }
        Some(self.hash(key) as usize & self.t[0].mask())
    }

    /// Visit the entries of bucket `i` of the main table.
    pub fn for_bucket(&self, i: usize, mut f: impl FnMut(&Entry)) {
        let Some(&b) = self.t[0].buckets.get(i) else { return };
        let mut e = b;
        while !e.is_null() {
            // SAFETY: live chain entries.
            unsafe {
                f(&*e);
                e = (*e).next;
            }
        }
    }

    /// Shrink when less than 10% full (called from cron, like Redis's tryResizeHashTables).
    pub fn shrink_if_needed(&mut self) {
        let size = self.t[0].size();
        if !self.is_rehashing() && self.pause_rehash == 0 && size > INITIAL_SIZE && self.t[0].used * 100 / size < 10 {
            self.resize_to(self.t[0].used);
        }
    }

    /// Batched lookups, stage 1: start loading the bucket(s) of hash `h` into the cache.
    #[inline]
    pub fn prefetch_bucket(&self, h: u64) {
        for t in self.tables_in_use() {
            prefetch(t.buckets.as_ptr().wrapping_add(h as usize & t.mask()) as *const u8);
        }
    }

    /// Stage 2: start loading the first entry of each chain (header and a short key).
    #[inline]
    pub fn prefetch_chain(&self, h: u64) {
        for t in self.tables_in_use() {
            let e = t.buckets[h as usize & t.mask()];
            if !e.is_null() {
                prefetch(e as *const u8);
                prefetch((e as *const u8).wrapping_add(63));
            }
        }
    }

    fn tables_in_use(&self) -> impl Iterator<Item = &Table> {
        let n = if self.is_rehashing() { 2 } else { 1 };
        self.t[..n].iter().filter(|t| t.size() > 0)
    }

    fn find_ptr(&self, key: &[u8], h: u64) -> *mut Entry {
        for ti in 0..2 {
            let t = &self.t[ti];
            if t.size() == 0 {
                break;
            }
            let mut e = t.buckets[h as usize & t.mask()];
            while !e.is_null() {
                // SAFETY: chain entries are live.
                unsafe {
                    if (*e).key() == key {
                        return e;
                    }
                    e = (*e).next;
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        ptr::null_mut()
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        if self.len() == 0 {
            return None;
        }
        let p = self.find_ptr(key, self.hash(key));
        // SAFETY: p is null or a live entry borrowed for &self's lifetime.
        unsafe { p.as_ref() }
    }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        if self.len() == 0 {
            return None;
        }
        self.step();
        let p = self.find_ptr(key, self.hash(key));
        // SAFETY: as above, uniquely borrowed through &mut self.
        unsafe { p.as_mut() }
    }

    /// Raw pointer to an entry (for the expire table); stable until the entry is removed.
    pub fn get_ptr(&self, key: &[u8]) -> Option<NonNull<Entry>> {
        if self.len() == 0 {
            return None;
        }
        NonNull::new(self.find_ptr(key, self.hash(key)))
    }

    /// Insert a key that is known to be absent. Returns the new entry.
    pub fn insert_new(&mut self, key: &[u8], value: Value, lru: u32) -> &mut Entry {
        self.step();
        self.expand_if_needed();
        let h = self.hash(key);
        self.link_new(key, value, lru, h)
    }

    /// Insert or overwrite with a single hash computation (SET's hot path): returns the
    /// entry and, if the key existed, its previous value.
    pub fn upsert(&mut self, key: &[u8], value: Value, lru: u32) -> (&mut Entry, Option<Value>) {
        self.step();
        // As Redis's dictFindPositionForInsert: grow first, then search.
        self.expand_if_needed();
        let h = self.hash(key);
        let p = self.find_ptr(key, h);
        // SAFETY: p is null or a live entry uniquely borrowed through &mut self.
        if let Some(e) = unsafe { p.as_mut() } {
            e.lru.set(lru);
            let old = std::mem::replace(&mut e.value, value);
            return (e, Some(old));
        }
        (self.link_new(key, value, lru, h), None)
    }

    fn link_new(&mut self, key: &[u8], value: Value, lru: u32, hash: u64) -> &mut Entry {
        let e = Entry::alloc(key, value, lru).as_ptr();
        let ti = if self.is_rehashing() { 1 } else { 0 };
        let h = hash as usize & self.t[ti].mask();
        // SAFETY: e is a fresh entry we link into the chain head.
        unsafe {
            (*e).next = self.t[ti].buckets[h];
            self.t[ti].buckets[h] = e;
            self.t[ti].used += 1;
            &mut *e
        }
    }

    /// Unlink `key` and hand its entry to the caller.
    pub fn remove(&mut self, key: &[u8]) -> Option<OwnedEntry> {
        if self.len() == 0 {
            return None;
        }
        self.step();
        let h = self.hash(key);
        for ti in 0..2 {
            let t = &mut self.t[ti];
            if t.size() == 0 {
                break;
            }
            let idx = h as usize & t.mask();
            let mut prev: *mut Entry = ptr::null_mut();
            let mut e = t.buckets[idx];
            while !e.is_null() {
                // SAFETY: chain entries are live; we relink around e and give it away.
                unsafe {
                    if (*e).key() == key {
                        if prev.is_null() {
                            t.buckets[idx] = (*e).next;
                        } else {
                            (*prev).next = (*e).next;
                        }
                        (*e).next = ptr::null_mut();
                        t.used -= 1;
                        return Some(OwnedEntry::from_raw(NonNull::new_unchecked(e)));
                    }
                    prev = e;
                    e = (*e).next;
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    /// Remove every entry, calling `f` on each before it is freed.
    pub fn clear(&mut self) {
        for ti in 0..2 {
            for b in self.t[ti].buckets.iter_mut() {
                let mut e = std::mem::replace(b, ptr::null_mut());
                while !e.is_null() {
                    // SAFETY: we own all entries of the table being cleared.
                    unsafe {
                        let next = (*e).next;
                        Entry::free(NonNull::new_unchecked(e));
                        e = next;
                    }
                }
            }
        }
        self.t = [Table::empty(), Table::empty()];
        self.rehash_idx = -1;
    }

    /// Visit every entry (KEYS, FLUSH helpers, snapshots). The closure must not modify the dict.
    pub fn for_each(&self, mut f: impl FnMut(&Entry)) {
        for ti in 0..2 {
            for &b in self.t[ti].buckets.iter() {
                let mut e = b;
                while !e.is_null() {
                    // SAFETY: live chain entries.
                    unsafe {
                        f(&*e);
                        e = (*e).next;
                    }
                }
            }
        }
    }

    /// One SCAN step from `cursor`: calls `f` for the entries of the bucket(s) the cursor
    /// names and returns the next cursor (0 when the iteration is complete).
    /// Guarantee (Redis's): an entry present from start to end is visited at least once.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&Entry)) -> u64 {
        if self.len() == 0 {
            return 0;
        }
        let visit = |b: *mut Entry, f: &mut dyn FnMut(&Entry)| {
            let mut e = b;
            while !e.is_null() {
                // SAFETY: live chain entries.
                unsafe {
                    f(&*e);
                    e = (*e).next;
                }
            }
        };
        let mut v = cursor;
        if !self.is_rehashing() {
            let m0 = self.t[0].mask() as u64;
            visit(self.t[0].buckets[(v & m0) as usize], &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, big) =
                if self.t[0].size() <= self.t[1].size() { (&self.t[0], &self.t[1]) } else { (&self.t[1], &self.t[0]) };
            let m0 = small.mask() as u64;
            let m1 = big.mask() as u64;
            visit(small.buckets[(v & m0) as usize], &mut f);
            loop {
                visit(big.buckets[(v & m1) as usize], &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// A random entry (RANDOMKEY, eviction/expiry sampling). Like Redis's dictGetFairRandomKey
    /// it picks a random non-empty bucket, then a random element of its chain.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<&Entry> {
        if self.len() == 0 {
            return None;
        }
        loop {
            let b = if self.is_rehashing() {
                let s0 = self.t[0].size();
                let total = s0 + self.t[1].size();
                let lo = self.rehash_idx.max(0) as usize;
                let i = rng.gen_range(lo..total);
                if i < s0 {
                    self.t[0].buckets[i]
                } else {
                    self.t[1].buckets[i - s0]
                }
            } else {
                self.t[0].buckets[rng.gen_range(0..self.t[0].size())]
            };
            if b.is_null() {
                continue;
            }
            let mut len = 0;
            let mut e = b;
            while !e.is_null() {
                len += 1;
                // SAFETY: live chain entries.
                e = unsafe { (*e).next };
            }
            let mut k = rng.gen_range(0..len);
            let mut e = b;
            while k > 0 {
                // SAFETY: live chain entries.
                e = unsafe { (*e).next };
                k -= 1;
            }
            // SAFETY: e is live.
            return Some(unsafe { &*e });
        }
    }
}

impl Drop for Dict {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn v(i: i64) -> Value {
        Value::Int(i)
    }

    #[test]
    fn insert_get_remove_through_rehash() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            d.insert_new(format!("k{i}").as_bytes(), v(i), 0);
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(d.get(format!("k{i}").as_bytes()).unwrap().value.as_i64(), Some(i));
        }
        for i in 0..9_000 {
            assert!(d.remove(format!("k{i}").as_bytes()).is_some());
        }
        d.shrink_if_needed();
        while d.rehash(100) {}
        assert_eq!(d.len(), 1000);
        assert!(d.get(b"k1").is_none());
        assert!(d.get(b"k9999").is_some());
    }

    #[test]
    fn scan_sees_everything_across_resizes() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert_new(format!("a{i}").as_bytes(), v(i), 0);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = d.scan(cursor, |e| {
                seen.insert(e.key().to_vec());
            });
            round += 1;
            // grow the table (rounds 5..=50), then shrink it back (rounds 55..=100) while
            // scanning; bounded so the iteration can finish
            if round % 5 == 0 && round <= 50 {
                for j in 0..200 {
                    d.insert_new(format!("b{round}-{j}").as_bytes(), v(0), 0);
                }
            }
            if round % 5 == 0 && round > 50 && round <= 100 {
                for j in 0..200 {
                    d.remove(format!("b{}-{j}", round - 50).as_bytes());
                }
                d.shrink_if_needed();
            }
            d.rehash(3);
            if cursor == 0 {
                break;
            }
            assert!(round < 1_000_000, "scan did not complete");
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("a{i}").as_bytes()), "missing a{i}");
        }
    }

    #[test]
    fn random_returns_members() {
        let mut d = Dict::new();
        let mut rng = rand::thread_rng();
        assert!(d.random(&mut rng).is_none());
        for i in 0..100 {
            d.insert_new(format!("k{i}").as_bytes(), v(i), 0);
        }
        for _ in 0..100 {
            assert!(d.random(&mut rng).unwrap().key().starts_with(b"k"));
        }
    }
}

/// A hint to start loading the cache line at `p`; never faults, whatever `p` is.
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch instructions do not access memory architecturally.
    unsafe {
        core::arch::x86_64::_mm_prefetch(p as *const i8, core::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
