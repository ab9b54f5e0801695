//! The large form of hashes, sets and sorted sets: a chained hash table of thin nodes.
//!
//! Each node is one allocation: the chain link, the value and key lengths as varints, the
//! value bytes, then the key bytes (a short set member fits malloc's smallest chunk).
//! Buckets are a power-of-two array indexed by the low bits of the key's hash, so SCAN can
//! use Redis's reverse-binary cursor: every element present for the whole scan is returned
//! even if the table grows or shrinks between calls.
//!
//! Invariants: every node is in exactly one chain; `len` counts the nodes; nodes are only
//! freed by `remove`/`Drop`. `NodePtr`s handed out stay valid until their node is removed
//! or its value resized (`set_val`), which the zset's ordered index relies on.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, NonNull};

/// A node: the chain link, then varint value and key lengths, the value, the key.
#[repr(C)]
struct Hdr {
    next: *mut Hdr,
}

const HDR: usize = std::mem::size_of::<Hdr>();

#[inline]
fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// # Safety: `p` points at a varint inside a live node.
#[inline]
unsafe fn read_varint(mut p: *const u8) -> (usize, *const u8) {
    let mut v = 0usize;
    let mut shift = 0;
    loop {
        let b = *p;
        p = p.add(1);
        v |= ((b & 0x7F) as usize) << shift;
        if b < 0x80 {
            return (v, p);
        }
        shift += 7;
    }
}

/// A node of a table (valid while the node is in its table).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodePtr(NonNull<Hdr>);

impl NodePtr {
    /// Start loading the node's first cache line (header, lengths, the start of the key).
    #[inline]
    pub fn prefetch(self) {
        crate::keyspace::dict::prefetch(self.0.as_ptr() as *const u8);
    }

    /// The value and the key of the node.
    #[inline]
    fn parts<'a>(self) -> (&'a [u8], &'a [u8]) {
        // SAFETY: callers only hold NodePtrs of live nodes (module invariant); the layout
        // is header, two varints, vlen value bytes, klen key bytes.
        unsafe {
            let (vlen, p) = read_varint((self.0.as_ptr() as *const u8).add(HDR));
            let (klen, p) = read_varint(p);
            (std::slice::from_raw_parts(p, vlen), std::slice::from_raw_parts(p.add(vlen), klen))
        }
    }

    #[inline]
    pub fn key<'a>(self) -> &'a [u8] {
        self.parts().1
    }

    #[inline]
    pub fn val<'a>(self) -> &'a [u8] {
        self.parts().0
    }

    /// An 8-byte value read as f64 (zset scores).
    #[inline]
    pub fn score(self) -> f64 {
        f64::from_ne_bytes(self.val().try_into().expect("8-byte value"))
    }

    /// Score and member of a zset node, decoded once.
    #[inline]
    pub fn score_key<'a>(self) -> (f64, &'a [u8]) {
        let (v, k) = self.parts();
        (f64::from_ne_bytes(v.try_into().expect("8-byte value")), k)
    }

    #[inline]
    pub fn set_score(self, v: f64) {
        let at = self.val().as_ptr() as *mut u8;
        // SAFETY: zset nodes hold an 8-byte value; the owner has the table borrowed mutably.
        unsafe { ptr::copy_nonoverlapping(v.to_ne_bytes().as_ptr(), at, 8) }
    }

    fn size(self) -> usize {
        let (v, k) = self.parts();
        node_size(k.len(), v.len())
    }
}

fn node_size(klen: usize, vlen: usize) -> usize {
    HDR + varint_len(vlen) + varint_len(klen) + vlen + klen
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("node layout")
}

fn new_node(key: &[u8], val: &[u8]) -> *mut Hdr {
    let mut body = Vec::with_capacity(20 + key.len() + val.len());
    put_varint(&mut body, val.len());
    put_varint(&mut body, key.len());
    body.extend_from_slice(val);
    body.extend_from_slice(key);
    let l = layout(HDR + body.len());
    // SAFETY: non-zero layout; the header and the body are written before use.
    unsafe {
        let p = alloc(l) as *mut Hdr;
        if p.is_null() {
            handle_alloc_error(l);
        }
        ptr::write(p, Hdr { next: ptr::null_mut() });
        ptr::copy_nonoverlapping(body.as_ptr(), (p as *mut u8).add(HDR), body.len());
        p
    }
}

/// # Safety: `p` comes from `new_node` and is unlinked.
unsafe fn free_node(p: *mut Hdr) {
    let l = layout(NodePtr(NonNull::new_unchecked(p)).size());
    dealloc(p as *mut u8, l);
}

fn hasher() -> &'static ahash::RandomState {
    use std::sync::OnceLock;
    static H: OnceLock<ahash::RandomState> = OnceLock::new();
    H.get_or_init(|| {
        use rand::RngCore;
        let mut r = rand::thread_rng();
        ahash::RandomState::with_seeds(r.next_u64(), r.next_u64(), r.next_u64(), r.next_u64())
    })
}

#[inline]
fn hash(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

pub struct Table {
    buckets: Box<[*mut Hdr]>,
    len: usize,
    /// Bytes of all nodes as malloc hands them out (for MEMORY USAGE in O(1)).
    node_bytes: usize,
}

/// The malloc chunk a node of this size takes (glibc: 8 bytes of header, 16-byte steps).
fn chunk(n: NodePtr) -> usize {
    ((n.size() + 8 + 15) & !15).max(32)
}

// Tables are owned by values reached only through the shard lock.
unsafe impl Send for Table {}
unsafe impl Sync for Table {}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        for b in self.buckets.iter_mut() {
            let mut p = *b;
            while !p.is_null() {
                // SAFETY: every chained node is live and owned by us.
                unsafe {
                    let n = (*p).next;
                    free_node(p);
                    p = n;
                }
            }
            *b = ptr::null_mut();
        }
    }
}

impl Table {
    pub fn new() -> Table {
        Table { buckets: Box::new([]), len: 0, node_bytes: 0 }
    }

    pub fn with_capacity(n: usize) -> Table {
        let mut t = Table::new();
        t.resize(n.max(4).next_power_of_two());
        t
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    fn resize(&mut self, size: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![ptr::null_mut(); size].into_boxed_slice());
        let mask = size - 1;
        for mut p in old.into_vec() {
            while !p.is_null() {
                // SAFETY: p is a live node being moved between chains.
                unsafe {
                    let n = (*p).next;
                    let b = hash(NodePtr(NonNull::new_unchecked(p)).key()) as usize & mask;
                    (*p).next = self.buckets[b];
                    self.buckets[b] = p;
                    p = n;
                }
            }
        }
    }

    /// Find the link that points at `key`'s node (or at the chain's end).
    fn link(&mut self, key: &[u8]) -> Option<*mut *mut Hdr> {
        if self.buckets.is_empty() {
            return None;
        }
        let b = hash(key) as usize & self.mask();
        let mut l: *mut *mut Hdr = &mut self.buckets[b];
        // SAFETY: links point into the bucket array or into live nodes' `next` fields.
        unsafe {
            while !(*l).is_null() {
                if NodePtr(NonNull::new_unchecked(*l)).key() == key {
                    return Some(l);
                }
                l = &mut (**l).next;
            }
        }
        None
    }

    /// Batched lookups (see `Keyspace::prefetch`), stage 1: start loading the bucket of
    /// `key`; returns its hash for stage 2.
    #[inline]
    pub fn prefetch_bucket(&self, key: &[u8]) -> Option<u64> {
        if self.buckets.is_empty() {
            return None;
        }
        let h = hash(key);
        crate::keyspace::dict::prefetch(self.buckets.as_ptr().wrapping_add(h as usize & self.mask()) as *const u8);
        Some(h)
    }

    /// Stage 2: start loading the chain head of hash `h`.
    #[inline]
    pub fn prefetch_chain(&self, h: u64) {
        if let Some(&p) = self.buckets.get(h as usize & self.mask()) {
            if !p.is_null() {
                crate::keyspace::dict::prefetch(p as *const u8);
                crate::keyspace::dict::prefetch((p as *const u8).wrapping_add(63));
            }
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<NodePtr> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut p = self.buckets[hash(key) as usize & self.mask()];
        while !p.is_null() {
            // SAFETY: chained nodes are live.
            let n = NodePtr(unsafe { NonNull::new_unchecked(p) });
            if n.key() == key {
                return Some(n);
            }
            p = unsafe { (*p).next };
        }
        None
    }

    #[inline]
    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Insert a key known to be absent; returns its node.
    pub fn insert_new(&mut self, key: &[u8], val: &[u8]) -> NodePtr {
        if self.len >= self.buckets.len() {
            self.resize((self.buckets.len() * 2).max(4));
        }
        let p = new_node(key, val);
        let b = hash(key) as usize & self.mask();
        // SAFETY: p is a fresh node.
        unsafe { (*p).next = self.buckets[b] };
        self.buckets[b] = p;
        self.len += 1;
        let n = NodePtr(unsafe { NonNull::new_unchecked(p) });
        self.node_bytes += chunk(n);
        n
    }

    /// Insert or overwrite; true if the key was new.
    pub fn set(&mut self, key: &[u8], val: &[u8]) -> bool {
        match self.get(key) {
            Some(n) => {
                self.set_val(n, val);
                false
            }
            None => {
                self.insert_new(key, val);
                true
            }
        }
    }

    /// Replace a node's value. The node may move (its old NodePtr becomes invalid).
    pub fn set_val(&mut self, n: NodePtr, val: &[u8]) -> NodePtr {
        if n.val().len() == val.len() {
            // SAFETY: same size: overwrite the value bytes in place.
            unsafe { ptr::copy_nonoverlapping(val.as_ptr(), n.val().as_ptr() as *mut u8, val.len()) };
            return n;
        }
        let key = n.key().to_vec();
        let l = self.link(&key).expect("node in table");
        let fresh = new_node(&key, val);
        self.node_bytes -= chunk(n);
        // SAFETY: l points at n's link; splice the new node in and free the old one.
        let fresh = unsafe {
            (*fresh).next = (*n.0.as_ptr()).next;
            *l = fresh;
            free_node(n.0.as_ptr());
            NodePtr(NonNull::new_unchecked(fresh))
        };
        self.node_bytes += chunk(fresh);
        fresh
    }

    /// Remove a key; true if it was there.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let Some(l) = self.link(key) else { return false };
        // SAFETY: l points at the node's link.
        unsafe {
            let p = *l;
            *l = (*p).next;
            self.node_bytes -= chunk(NodePtr(NonNull::new_unchecked(p)));
            free_node(p);
        }
        self.len -= 1;
        if self.buckets.len() > 4 && self.len * 8 < self.buckets.len() {
            self.resize((self.len * 2).next_power_of_two().max(4));
        }
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = NodePtr> + '_ {
        self.buckets.iter().flat_map(|&head| {
            let mut p = head;
            std::iter::from_fn(move || {
                if p.is_null() {
                    return None;
                }
                // SAFETY: chained nodes are live while the table is borrowed.
                let n = unsafe { NodePtr(NonNull::new_unchecked(p)) };
                p = unsafe { (*p).next };
                Some(n)
            })
        })
    }

    /// A random node: a random non-empty bucket, then a random node of its chain.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<NodePtr> {
        if self.len == 0 {
            return None;
        }
        loop {
            let head = self.buckets[rng.gen_range(0..self.buckets.len())];
            if head.is_null() {
                continue;
            }
            let mut chain = 0;
            let mut p = head;
            while !p.is_null() {
                chain += 1;
                p = unsafe { (*p).next };
            }
            let mut p = head;
            for _ in 0..rng.gen_range(0..chain) {
                p = unsafe { (*p).next };
            }
            return Some(unsafe { NodePtr(NonNull::new_unchecked(p)) });
        }
    }

    /// One SCAN step (Redis's reverse-binary cursor over buckets): calls `f` for the nodes
    /// of the bucket at `cursor`, returns the next cursor (0 when done).
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(NodePtr)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = self.mask() as u64;
        let mut p = self.buckets[(cursor & mask) as usize];
        while !p.is_null() {
            // SAFETY: chained nodes are live.
            f(unsafe { NodePtr(NonNull::new_unchecked(p)) });
            p = unsafe { (*p).next };
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// A SCAN call: steps until `count` nodes were produced or `10 * count` buckets were
    /// visited, as Redis does (it doubles COUNT for pairs and counts two items per node).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(NodePtr)) -> u64 {
        let mut cur = cursor;
        let mut seen = 0;
        let mut budget = count.max(1).saturating_mul(10);
        loop {
            cur = self.scan_step(cur, |n| {
                seen += 1;
                f(n)
            });
            budget -= 1;
            if cur == 0 || seen >= count || budget == 0 {
                return cur;
            }
        }
    }

    /// Heap bytes used (approximate, with malloc's per-chunk overhead).
    pub fn mem_usage(&self) -> usize {
        self.node_bytes + self.buckets.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_grow_shrink() {
        let mut t = Table::new();
        for i in 0..1000 {
            assert!(t.set(format!("k{i}").as_bytes(), format!("v{i}").as_bytes()));
        }
        assert!(!t.set(b"k5", b"longer value"));
        assert_eq!(t.get(b"k5").unwrap().val(), b"longer value");
        assert_eq!(t.len(), 1000);
        for i in 0..990 {
            assert!(t.remove(format!("k{i}").as_bytes()));
        }
        assert!(!t.remove(b"k1"));
        assert_eq!(t.len(), 10);
        assert!(t.buckets.len() <= 64);
        assert_eq!(t.get(b"k999").unwrap().val(), b"v999");
        assert_eq!(t.iter().count(), 10);
        assert_eq!(t.mem_usage(), t.iter().map(chunk).sum::<usize>() + t.buckets.len() * 8);
    }

    #[test]
    fn scan_survives_resize() {
        let mut t = Table::new();
        for i in 0..500 {
            t.set(format!("{i}").as_bytes(), b"");
        }
        let mut seen = std::collections::HashSet::new();
        let mut cur = 0;
        let mut steps = 0;
        loop {
            cur = t.scan_step(cur, |n| {
                seen.insert(n.key().to_vec());
            });
            steps += 1;
            if steps == 50 {
                for i in 100..500 {
                    t.remove(format!("{i}").as_bytes());
                }
            }
            if steps == 60 {
                for i in 1000..3000 {
                    t.set(format!("{i}").as_bytes(), b"");
                }
            }
            if cur == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("{i}").as_bytes()));
        }
    }

    #[test]
    fn scores_in_place() {
        let mut t = Table::new();
        let n = t.insert_new(b"m", &1.5f64.to_ne_bytes());
        assert_eq!(n.score(), 1.5);
        n.set_score(-3.0);
        assert_eq!(t.get(b"m").unwrap().score(), -3.0);
    }
}
