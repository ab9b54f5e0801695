//! The list type: a sequence of packed chunks (Redis's quicklist of listpacks).
//!
//! A chunk is one byte buffer of entries in the listpack entry format (a public spec):
//! `header [payload] backlen`, where the header says "small int" (1, 2, 3, 4, 5 or 9 bytes
//! in all) or "string of n bytes" (1, 2 or 5 header bytes), and `backlen` (1-5 bytes, read
//! right to left) is the length of header+payload so the chunk can be walked both ways.
//! Strings that are the canonical form of an integer are stored as integers.
//! Unlike a listpack, a chunk keeps its live bytes in `data[start..]`, so pops at the head
//! are O(1) and pushes at the head reuse the room they leave.
//!
//! Chunks are filled up to `list-max-listpack-size` (read when the list is created, as
//! Redis's quicklist does): negative = 4/8/16/32/64 KiB per chunk, positive = entries per
//! chunk (and at most 8 KiB). A list with one chunk keeps it inline (no chunk array).
//! OBJECT ENCODING is "quicklist" whatever the size, as in Redis 7.0.

use smallvec::SmallVec;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};

const SIZE_LIMITS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
const SAFETY_LIMIT: usize = 8192;

/// Elements at least this large get a chunk of their own (DEBUG QUICKLIST-PACKED-THRESHOLD).
static PACKED_THRESHOLD: AtomicU64 = AtomicU64::new(1 << 30);

/// DEBUG QUICKLIST-PACKED-THRESHOLD: false if out of range (at most 4 GiB - 1 MiB); 0 restores 1 GiB.
pub fn set_packed_threshold(bytes: u64) -> bool {
    if bytes > (1u64 << 32) - (1 << 20) {
        return false;
    }
    PACKED_THRESHOLD.store(if bytes == 0 { 1 << 30 } else { bytes }, Relaxed);
    true
}

/// list-max-listpack-size, for lists created from now on (set with the other type limits).
static FILL: AtomicI32 = AtomicI32::new(-2);

pub fn set_fill(v: i64) {
    FILL.store(v.clamp(i32::MIN as i64, i32::MAX as i64) as i32, Relaxed);
}

pub fn fill() -> i32 {
    FILL.load(Relaxed)
}

/// One element as stored: an integer or a byte string borrowed from the chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Elem<'a> {
    /// How a value given by a client is stored: canonical integers become `Int`.
    #[inline]
    pub fn of(bytes: &'a [u8]) -> Elem<'a> {
        match crate::util::numfmt::parse_i64(bytes) {
            Some(i) => Elem::Int(i),
            None => Elem::Str(bytes),
        }
    }

    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Elem::Int(i) => f(itoa::Buffer::new().format(i).as_bytes()),
            Elem::Str(s) => f(s),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    pub fn to_owned(&self) -> Owned {
        match *self {
            Elem::Int(i) => Owned::Int(i),
            Elem::Str(s) => Owned::Str(s.to_vec()),
        }
    }

    /// Same value as a client argument prepared with `Elem::of`.
    #[inline]
    pub fn matches(&self, arg: &Elem) -> bool {
        self == arg
    }
}

/// An element taken out of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owned {
    Int(i64),
    Str(Vec<u8>),
}

impl Owned {
    pub fn as_elem(&self) -> Elem<'_> {
        match self {
            Owned::Int(i) => Elem::Int(*i),
            Owned::Str(s) => Elem::Str(s),
        }
    }
}

// ---- entry encoding -------------------------------------------------------------------

/// Bytes of header+payload for a value.
#[inline]
fn body_len(e: &Elem) -> usize {
    match *e {
        Elem::Int(v) => {
            if (0..=127).contains(&v) {
                1
            } else if (-4096..=4095).contains(&v) {
                2
            } else if (-32768..=32767).contains(&v) {
                3
            } else if (-8388608..=8388607).contains(&v) {
                4
            } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                5
            } else {
                9
            }
        }
        Elem::Str(s) => {
            s.len()
                + if s.len() < 64 {
                    1
                } else if s.len() < 4096 {
                    2
                } else {
                    5
                }
        }
    }
}

#[inline]
fn backlen_size(l: usize) -> usize {
    if l < 128 {
        1
    } else if l < 16384 {
        2
    } else if l < 2097152 {
        3
    } else if l < 268435456 {
        4
    } else {
        5
    }
}

/// Total encoded size of an entry.
#[inline]
fn entry_size(e: &Elem) -> usize {
    let b = body_len(e);
    b + backlen_size(b)
}

/// Write an entry into `dst` (exactly `entry_size` bytes).
fn write_entry(dst: &mut [u8], e: &Elem) {
    let b = body_len(e);
    match *e {
        Elem::Int(v) => match b {
            1 => dst[0] = v as u8,
            2 => {
                let u = (v as u16) & 0x1fff;
                dst[0] = 0xc0 | (u >> 8) as u8;
                dst[1] = u as u8;
            }
            3 => {
                dst[0] = 0xf1;
                dst[1..3].copy_from_slice(&(v as i16).to_le_bytes());
            }
            4 => {
                dst[0] = 0xf2;
                dst[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            5 => {
                dst[0] = 0xf3;
                dst[1..5].copy_from_slice(&(v as i32).to_le_bytes());
            }
            _ => {
                dst[0] = 0xf4;
                dst[1..9].copy_from_slice(&v.to_le_bytes());
            }
        },
        Elem::Str(s) => {
            let n = s.len();
            let h = if n < 64 {
                dst[0] = 0x80 | n as u8;
                1
            } else if n < 4096 {
                dst[0] = 0xe0 | (n >> 8) as u8;
                dst[1] = n as u8;
                2
            } else {
                dst[0] = 0xf0;
                dst[1..5].copy_from_slice(&(n as u32).to_le_bytes());
                5
            };
            dst[h..h + n].copy_from_slice(s);
        }
    }
    // backlen, read right to left: the rightmost byte holds the low 7 bits; bit 7 is set on
    // every byte but the leftmost ("more bytes to the left").
    let n = backlen_size(b);
    for i in 0..n {
        let bits = ((b >> (7 * (n - 1 - i))) & 127) as u8;
        dst[b + i] = if i > 0 { bits | 128 } else { bits };
    }
}

/// Decode the entry at `off`: the value and its header+payload length.
#[inline]
fn read_entry(d: &[u8], off: usize) -> (Elem<'_>, usize) {
    let h = d[off];
    if h < 0x80 {
        (Elem::Int(h as i64), 1)
    } else if h < 0xc0 {
        let n = (h & 0x3f) as usize;
        (Elem::Str(&d[off + 1..off + 1 + n]), 1 + n)
    } else if h < 0xe0 {
        let u = (((h & 0x1f) as u16) << 8) | d[off + 1] as u16;
        // sign-extend 13 bits
        let v = ((u << 3) as i16 >> 3) as i64;
        (Elem::Int(v), 2)
    } else if h < 0xf0 {
        let n = (((h & 0x0f) as usize) << 8) | d[off + 1] as usize;
        (Elem::Str(&d[off + 2..off + 2 + n]), 2 + n)
    } else {
        match h {
            0xf0 => {
                let n = u32::from_le_bytes(d[off + 1..off + 5].try_into().unwrap()) as usize;
                (Elem::Str(&d[off + 5..off + 5 + n]), 5 + n)
            }
            0xf1 => (Elem::Int(i16::from_le_bytes([d[off + 1], d[off + 2]]) as i64), 3),
            0xf2 => {
                let v = i32::from_le_bytes([0, d[off + 1], d[off + 2], d[off + 3]]) >> 8;
                (Elem::Int(v as i64), 4)
            }
            0xf3 => (Elem::Int(i32::from_le_bytes(d[off + 1..off + 5].try_into().unwrap()) as i64), 5),
            _ => (Elem::Int(i64::from_le_bytes(d[off + 1..off + 9].try_into().unwrap())), 9),
        }
    }
}

/// Length of header+payload of the entry that ends just before `end` (from its backlen).
#[inline]
fn read_backlen(d: &[u8], end: usize) -> (usize, usize) {
    let mut p = end - 1;
    let mut v = (d[p] & 127) as usize;
    let mut shift = 7;
    let mut n = 1;
    while d[p] & 128 != 0 {
        p -= 1;
        v |= ((d[p] & 127) as usize) << shift;
        shift += 7;
        n += 1;
    }
    (v, n)
}

// ---- chunk ------------------------------------------------------------------------------

/// Packed entries in `data[start..]`.
#[derive(Clone, Default)]
struct Chunk {
    data: Vec<u8>,
    start: u32,
    count: u32,
}

/// Capacity with no waste under glibc's malloc (chunk sizes are 16k, usable 16k-8).
#[inline]
fn good_cap(n: usize) -> usize {
    if n <= 24 {
        24
    } else {
        ((n + 8 + 15) & !15) - 8
    }
}

/// Chunks below this size grow to fit exactly (as a listpack does); above it by 1/8.
const EXACT_GROWTH: usize = 4096;

#[inline]
fn grown_cap(need: usize, cur: usize) -> usize {
    if need < EXACT_GROWTH {
        good_cap(need)
    } else {
        good_cap(need.max(cur + cur / 8))
    }
}

impl Chunk {
    #[inline]
    fn bytes(&self) -> usize {
        self.data.len() - self.start as usize
    }

    #[inline]
    fn first(&self) -> usize {
        self.start as usize
    }

    /// Offset just past the entry at `off`.
    #[inline]
    fn next(&self, off: usize) -> usize {
        let (_, b) = read_entry(&self.data, off);
        off + b + backlen_size(b)
    }

    /// Offset of the entry before the one at `off` (`off` may be `data.len()`).
    #[inline]
    fn prev(&self, off: usize) -> usize {
        let (b, n) = read_backlen(&self.data, off);
        off - n - b
    }

    #[inline]
    fn last(&self) -> usize {
        self.prev(self.data.len())
    }

    #[inline]
    fn get(&self, off: usize) -> Elem<'_> {
        read_entry(&self.data, off).0
    }

    fn reserve_back(&mut self, extra: usize) {
        let need = self.data.len() + extra;
        if need <= self.data.capacity() {
            return;
        }
        if self.start > 0 && self.bytes() + extra <= self.data.capacity() {
            // reuse the room at the head
            let s = self.start as usize;
            self.data.copy_within(s.., 0);
            self.data.truncate(self.data.len() - s);
            self.start = 0;
            return;
        }
        let want = grown_cap(need, self.data.capacity());
        self.data.reserve_exact(want - self.data.len());
    }

    fn push_back(&mut self, e: &Elem) {
        let n = entry_size(e);
        self.reserve_back(n);
        let at = self.data.len();
        self.data.resize(at + n, 0);
        write_entry(&mut self.data[at..], e);
        self.count += 1;
    }

    fn push_front(&mut self, e: &Elem) {
        let n = entry_size(e);
        if (self.start as usize) < n {
            // make room at the head: this entry, plus 1/8 of the live size for big chunks;
            // all free bytes of the buffer go to the head
            let live = self.bytes();
            let (s, len, cap) = (self.start as usize, self.data.len(), self.data.capacity());
            if s + cap - len >= n {
                let shift = cap - len;
                self.data.resize(cap, 0);
                self.data.copy_within(s..len, s + shift);
                self.start = (s + shift) as u32;
            } else {
                let want = if live < EXACT_GROWTH { n } else { n + (live / 8).min(1024) };
                let cap = good_cap(want + live);
                let mut nd = Vec::with_capacity(cap);
                nd.resize(cap - live, 0);
                nd.extend_from_slice(&self.data[s..]);
                self.start = (cap - live) as u32;
                self.data = nd;
            }
        }
        self.start -= n as u32;
        let s = self.start as usize;
        write_entry(&mut self.data[s..s + n], e);
        self.count += 1;
    }

    /// Remove the bytes `a..b` holding `k` entries.
    fn remove_span(&mut self, a: usize, b: usize, k: usize) {
        if a == self.start as usize {
            self.start = b as u32;
        } else if b == self.data.len() {
            self.data.truncate(a);
        } else {
            self.data.drain(a..b);
        }
        self.count -= k as u32;
        if self.count == 0 {
            self.data.clear();
            self.start = 0;
        }
        self.shrink();
    }

    /// Give memory back after large removals.
    fn shrink(&mut self) {
        let live = self.bytes();
        if self.data.capacity() > 64 && live < self.data.capacity() / 4 {
            let s = self.start as usize;
            let mut nd = Vec::with_capacity(good_cap(live + live / 8));
            nd.extend_from_slice(&self.data[s..]);
            self.data = nd;
            self.start = 0;
        }
    }

    /// Insert an entry at byte offset `off` (before the entry there, or at the end).
    fn insert_at(&mut self, off: usize, e: &Elem) {
        if off == self.start as usize {
            return self.push_front(e);
        }
        let n = entry_size(e);
        let rel = off - self.start as usize;
        self.reserve_back(n);
        let off = self.start as usize + rel;
        let old = self.data.len();
        self.data.resize(old + n, 0);
        self.data.copy_within(off..old, off + n);
        write_entry(&mut self.data[off..off + n], e);
        self.count += 1;
    }

    /// Replace the entry at `off` with `e`.
    fn replace_at(&mut self, off: usize, e: &Elem) {
        let end = self.next(off);
        let n = entry_size(e);
        let mut buf = [0u8; 32];
        if n <= buf.len() {
            write_entry(&mut buf[..n], e);
            self.data.splice(off..end, buf[..n].iter().copied());
        } else {
            let mut v = vec![0u8; n];
            write_entry(&mut v, e);
            self.data.splice(off..end, v);
        }
    }

    fn split_off_entries(&mut self, keep: usize) -> Chunk {
        // find the offset after `keep` entries
        let mut off = self.first();
        for _ in 0..keep {
            off = self.next(off);
        }
        let tail = self.data[off..].to_vec();
        let moved = self.count - keep as u32;
        self.data.truncate(off);
        self.count = keep as u32;
        self.shrink();
        Chunk { data: tail, start: 0, count: moved }
    }

    fn iter(&self) -> ChunkIter<'_> {
        ChunkIter { c: self, off: self.first() }
    }
}

struct ChunkIter<'a> {
    c: &'a Chunk,
    off: usize,
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = (usize, Elem<'a>);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.c.data.len() {
            return None;
        }
        let at = self.off;
        let (e, b) = read_entry(&self.c.data, at);
        self.off = at + b + backlen_size(b);
        Some((at, e))
    }
}

impl Chunk {
    /// Remove the entries at the given offsets (ascending), in one pass.
    fn remove_offsets(&mut self, offs: &[usize]) {
        if offs.is_empty() {
            return;
        }
        let s = self.start as usize;
        let mut nd = Vec::with_capacity(good_cap(self.bytes()));
        let mut from = s;
        for &o in offs {
            nd.extend_from_slice(&self.data[from..o]);
            from = self.next(o);
        }
        nd.extend_from_slice(&self.data[from..]);
        self.data = nd;
        self.start = 0;
        self.count -= offs.len() as u32;
        self.shrink();
    }
}

// ---- list -------------------------------------------------------------------------------

/// A list: one chunk inline (most lists), or a vector of chunks with the total length.
pub struct ListValue(Repr);

enum Repr {
    /// One chunk and list-max-listpack-size at creation.
    One(Chunk, i32),
    Many(Box<Many>),
}

struct Many {
    chunks: Vec<Chunk>,
    len: usize,
    fill: i32,
}

const _: () = assert!(std::mem::size_of::<ListValue>() <= 40);

/// Where an element is: chunk index and byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    ci: usize,
    off: usize,
}

impl Default for ListValue {
    fn default() -> Self {
        ListValue::new(fill())
    }
}

impl ListValue {
    pub fn new(fill: i32) -> ListValue {
        ListValue(Repr::One(Chunk::default(), fill.clamp(-5, 1 << 15)))
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::One(c, _) => c.count as usize,
            Repr::Many(m) => m.len,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes held by the list (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        let arr = match &self.0 {
            Repr::One(..) => 0,
            Repr::Many(m) => std::mem::size_of::<Many>() + m.chunks.capacity() * std::mem::size_of::<Chunk>(),
        };
        std::mem::size_of::<ListValue>() + arr + self.chunks().iter().map(|c| c.data.capacity()).sum::<usize>()
    }

    #[inline]
    fn chunks(&self) -> &[Chunk] {
        match &self.0 {
            Repr::One(c, _) if c.count == 0 => &[],
            Repr::One(c, _) => std::slice::from_ref(c),
            Repr::Many(m) => &m.chunks,
        }
    }

    #[inline]
    fn chunks_mut(&mut self) -> &mut [Chunk] {
        match &mut self.0 {
            Repr::One(c, _) if c.count == 0 => &mut [],
            Repr::One(c, _) => std::slice::from_mut(c),
            Repr::Many(m) => &mut m.chunks,
        }
    }

    #[inline]
    fn fill(&self) -> i32 {
        match &self.0 {
            Repr::One(_, f) => *f,
            Repr::Many(m) => m.fill,
        }
    }

    /// Elements were added (or removed, negative) outside the chunk counts' bookkeeping.
    #[inline]
    fn add_len(&mut self, d: isize) {
        if let Repr::Many(m) = &mut self.0 {
            m.len = (m.len as isize + d) as usize;
        }
    }

    fn insert_chunk(&mut self, at: usize, c: Chunk) {
        if let Repr::One(first, fill) = &mut self.0 {
            if first.count == 0 {
                *first = c;
                return;
            }
            let first = std::mem::take(first);
            let len = first.count as usize;
            self.0 = Repr::Many(Box::new(Many { chunks: vec![first], len, fill: *fill }));
        }
        if let Repr::Many(m) = &mut self.0 {
            m.len += c.count as usize;
            m.chunks.insert(at, c);
        }
    }

    /// Take chunk `at` out (its elements leave the length).
    fn remove_chunk(&mut self, at: usize) -> Chunk {
        match &mut self.0 {
            Repr::One(c, _) => std::mem::take(c),
            Repr::Many(m) => {
                let c = m.chunks.remove(at);
                m.len -= c.count as usize;
                if m.chunks.len() <= 1 {
                    let last = m.chunks.pop().unwrap_or_default();
                    self.0 = Repr::One(last, m.fill);
                }
                c
            }
        }
    }

    /// Number of chunks (Redis's quicklist node count).
    pub fn chunk_count(&self) -> usize {
        self.chunks().len()
    }

    /// May `e` (of encoded size `sz`) go into chunk `c`? Elements at least as long as the
    /// packed threshold get a chunk of their own (Redis's plain nodes).
    fn fits(&self, c: &Chunk, e: &Elem, sz: usize) -> bool {
        if c.count == 0 {
            return true;
        }
        let big = PACKED_THRESHOLD.load(Relaxed) as usize;
        let len = match e {
            Elem::Str(s) => s.len(),
            Elem::Int(i) => itoa::Buffer::new().format(*i).len(),
        };
        if len >= big || (c.count == 1 && c.bytes() > big) {
            return false;
        }
        let (new_sz, fill) = (c.bytes() + sz, self.fill());
        if fill >= 0 {
            (c.count as i64) < fill as i64 && new_sz <= SAFETY_LIMIT
        } else {
            new_sz <= SIZE_LIMITS[(-fill - 1) as usize]
        }
    }

    fn within_limit(&self, c: &Chunk) -> bool {
        self.limit_ok(c.count as usize, c.bytes())
    }

    fn limit_ok(&self, count: usize, bytes: usize) -> bool {
        let fill = self.fill();
        count <= 1
            || if fill >= 0 {
                count <= fill.max(1) as usize && bytes <= SAFETY_LIMIT
            } else {
                bytes <= SIZE_LIMITS[(-fill - 1) as usize]
            }
    }

    /// Split chunk `ci` while it is over the size limit.
    fn fix_chunk(&mut self, ci: usize) {
        if self.within_limit(&self.chunks()[ci]) {
            return;
        }
        let c = &mut self.chunks_mut()[ci];
        let keep = (c.count / 2) as usize;
        let tail = c.split_off_entries(keep);
        let moved = tail.count as isize;
        self.add_len(-moved); // insert_chunk counts them again
        self.insert_chunk(ci + 1, tail);
        self.fix_chunk(ci + 1);
        self.fix_chunk(ci);
    }

    pub fn push(&mut self, v: &[u8], front: bool) {
        self.push_elem(&Elem::of(v), front);
    }

    pub fn push_elem(&mut self, e: &Elem, front: bool) {
        let sz = entry_size(e);
        let n = self.chunks().len();
        let ci = if front { 0 } else { n.wrapping_sub(1) };
        if n == 0 || !self.fits(&self.chunks()[ci], e, sz) {
            let mut c = Chunk::default();
            c.push_back(e);
            return self.insert_chunk(if front { 0 } else { n }, c);
        }
        let c = &mut self.chunks_mut()[ci];
        if front {
            c.push_front(e);
        } else {
            c.push_back(e);
        }
        self.add_len(1);
    }

    /// Remove the head or tail element, handing it to `f` first.
    pub fn pop<R>(&mut self, front: bool, f: impl FnOnce(Elem) -> R) -> Option<R> {
        let n = self.chunks().len();
        if n == 0 {
            return None;
        }
        let ci = if front { 0 } else { n - 1 };
        let c = &mut self.chunks_mut()[ci];
        let (a, b) = if front {
            let a = c.first();
            (a, c.next(a))
        } else {
            (c.last(), c.data.len())
        };
        let r = f(c.get(a));
        c.remove_span(a, b, 1);
        let empty = c.count == 0;
        self.add_len(-1);
        if empty {
            self.remove_chunk(ci);
        }
        Some(r)
    }

    pub fn pop_owned(&mut self, front: bool) -> Option<Owned> {
        self.pop(front, |e| e.to_owned())
    }

    /// Position of element `idx` (0-based from the head; must be < len).
    fn locate(&self, idx: usize) -> Pos {
        let len = self.len();
        debug_assert!(idx < len);
        let chunks = self.chunks();
        if idx < len / 2 {
            let mut i = idx;
            for (ci, c) in chunks.iter().enumerate() {
                if i < c.count as usize {
                    return Pos { ci, off: Self::walk(c, i, true) };
                }
                i -= c.count as usize;
            }
        } else {
            let mut i = len - 1 - idx; // distance from the tail
            for (ci, c) in chunks.iter().enumerate().rev() {
                if i < c.count as usize {
                    return Pos { ci, off: Self::walk(c, i, false) };
                }
                i -= c.count as usize;
            }
        }
        unreachable!("list index out of range")
    }

    /// Offset of the i-th entry of a chunk, counted from its head or tail.
    fn walk(c: &Chunk, i: usize, from_head: bool) -> usize {
        if from_head && i <= c.count as usize / 2 || !from_head && i > c.count as usize / 2 {
            let k = if from_head { i } else { c.count as usize - 1 - i };
            let mut off = c.first();
            for _ in 0..k {
                off = c.next(off);
            }
            off
        } else {
            let k = if from_head { c.count as usize - 1 - i } else { i };
            let mut off = c.last();
            for _ in 0..k {
                off = c.prev(off);
            }
            off
        }
    }

    /// Redis index (negative counts from the tail) to a 0-based index, if in range.
    pub fn norm_index(&self, idx: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if idx < 0 { len + idx } else { idx };
        (i >= 0 && i < len).then_some(i as usize)
    }

    pub fn get(&self, idx: usize) -> Option<Elem<'_>> {
        if idx >= self.len() {
            return None;
        }
        let p = self.locate(idx);
        Some(self.chunks()[p.ci].get(p.off))
    }

    /// LSET: replace element `idx` (must be in range).
    pub fn set(&mut self, idx: usize, v: &[u8]) {
        let p = self.locate(idx);
        self.chunks_mut()[p.ci].replace_at(p.off, &Elem::of(v));
        self.fix_chunk(p.ci);
    }

    /// Iterate from element `idx` towards the tail (or the head if `reverse`).
    pub fn iter_from(&self, idx: usize, reverse: bool) -> Iter<'_> {
        let pos = (idx < self.len()).then(|| self.locate(idx));
        Iter { chunks: self.chunks(), pos, reverse }
    }

    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, false)
    }

    /// LINSERT: insert `v` before/after the first element equal to `pivot`. False if not found.
    pub fn insert(&mut self, pivot: &[u8], after: bool, v: &[u8]) -> bool {
        let p = Elem::of(pivot);
        let Some(pos) = self.find_pos(|e| e == p) else { return false };
        let c = &mut self.chunks_mut()[pos.ci];
        let at = if after { c.next(pos.off) } else { pos.off };
        c.insert_at(at, &Elem::of(v));
        self.add_len(1);
        self.fix_chunk(pos.ci);
        true
    }

    fn find_pos(&self, mut pred: impl FnMut(Elem) -> bool) -> Option<Pos> {
        for (ci, c) in self.chunks().iter().enumerate() {
            for (off, e) in c.iter() {
                if pred(e) {
                    return Some(Pos { ci, off });
                }
            }
        }
        None
    }

    /// LREM: remove up to |count| elements equal to `v` (all if 0; from the tail if negative).
    pub fn remove(&mut self, v: &[u8], count: i64) -> usize {
        let target = Elem::of(v);
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
        let mut found: Vec<Pos> = Vec::new();
        let mut it = self.iter_from(if count < 0 { self.len().wrapping_sub(1) } else { 0 }, count < 0);
        while found.len() < limit {
            match it.next_pos() {
                Some((p, e)) => {
                    if e == target {
                        found.push(p);
                    }
                }
                None => break,
            }
        }
        if count < 0 {
            found.reverse();
        }
        let removed = found.len();
        // group by chunk, highest chunk first so indices stay valid when chunks vanish
        let mut i = found.len();
        while i > 0 {
            let ci = found[i - 1].ci;
            let mut j = i - 1;
            while j > 0 && found[j - 1].ci == ci {
                j -= 1;
            }
            let offs: SmallVec<[usize; 16]> = found[j..i].iter().map(|p| p.off).collect();
            let c = &mut self.chunks_mut()[ci];
            c.remove_offsets(&offs);
            let empty = c.count == 0; // (a lone empty chunk is no longer in chunks())
            self.add_len(-((i - j) as isize));
            if empty {
                self.remove_chunk(ci);
            }
            i = j;
        }
        self.merge_small();
        removed
    }

    /// Remove `n` elements from the head (or the tail).
    pub fn trim_end(&mut self, mut n: usize, front: bool) {
        n = n.min(self.len());
        while n > 0 {
            let ci = if front { 0 } else { self.chunks().len() - 1 };
            let cnt = self.chunks()[ci].count as usize;
            if cnt <= n {
                n -= cnt;
                self.remove_chunk(ci);
                continue;
            }
            let c = &mut self.chunks_mut()[ci];
            if front {
                let a = c.first();
                let mut b = a;
                for _ in 0..n {
                    b = c.next(b);
                }
                c.remove_span(a, b, n);
            } else {
                let b = c.data.len();
                let mut a = b;
                for _ in 0..n {
                    a = c.prev(a);
                }
                c.remove_span(a, b, n);
            }
            self.add_len(-(n as isize));
            n = 0;
        }
    }

    /// Merge neighbouring chunks that fit together (after removals in the middle).
    fn merge_small(&mut self) {
        let mut ci = 0;
        while ci + 1 < self.chunks().len() {
            let (a, b) = (&self.chunks()[ci], &self.chunks()[ci + 1]);
            let bytes = a.bytes() + b.bytes();
            let fits = self.limit_ok((a.count + b.count) as usize, bytes) && bytes <= self.byte_budget() / 2;
            if fits {
                let b = self.remove_chunk(ci + 1);
                let a = &mut self.chunks_mut()[ci];
                a.reserve_back(b.bytes());
                a.data.extend_from_slice(&b.data[b.start as usize..]);
                a.count += b.count;
                self.add_len(b.count as isize);
            } else {
                ci += 1;
            }
        }
    }

    fn byte_budget(&self) -> usize {
        let fill = self.fill();
        if fill >= 0 {
            SAFETY_LIMIT
        } else {
            SIZE_LIMITS[(-fill - 1) as usize]
        }
    }

    /// A copy (COPY).
    pub fn duplicate(&self) -> ListValue {
        ListValue(match &self.0 {
            Repr::One(c, f) => Repr::One(c.clone(), *f),
            Repr::Many(m) => Repr::Many(Box::new(Many { chunks: m.chunks.clone(), len: m.len, fill: m.fill })),
        })
    }
}

/// Walks a list one element at a time in either direction.
pub struct Iter<'a> {
    chunks: &'a [Chunk],
    pos: Option<Pos>,
    reverse: bool,
}

impl<'a> Iter<'a> {
    fn next_pos(&mut self) -> Option<(Pos, Elem<'a>)> {
        let p = self.pos?;
        let chunks = self.chunks;
        let c = &chunks[p.ci];
        let e = c.get(p.off);
        self.pos = if !self.reverse {
            let n = c.next(p.off);
            if n < c.data.len() {
                Some(Pos { ci: p.ci, off: n })
            } else if p.ci + 1 < chunks.len() {
                Some(Pos { ci: p.ci + 1, off: chunks[p.ci + 1].first() })
            } else {
                None
            }
        } else if p.off > c.first() {
            Some(Pos { ci: p.ci, off: c.prev(p.off) })
        } else if p.ci > 0 {
            Some(Pos { ci: p.ci - 1, off: chunks[p.ci - 1].last() })
        } else {
            None
        };
        Some((p, e))
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;
    #[inline]
    fn next(&mut self) -> Option<Elem<'a>> {
        self.next_pos().map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(l: &ListValue) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    #[test]
    fn entry_roundtrip() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let vals: Vec<Elem> = vec![
            Elem::Int(0),
            Elem::Int(127),
            Elem::Int(128),
            Elem::Int(-1),
            Elem::Int(-4096),
            Elem::Int(4095),
            Elem::Int(-4097),
            Elem::Int(32767),
            Elem::Int(-32769),
            Elem::Int(8388607),
            Elem::Int(-8388609),
            Elem::Int(i32::MAX as i64 + 1),
            Elem::Int(i64::MIN),
            Elem::Int(i64::MAX),
            Elem::Str(b""),
            Elem::Str(b"hello"),
            Elem::Str(&mid),
            Elem::Str(&long),
        ];
        let mut c = Chunk::default();
        for v in &vals {
            c.push_back(v);
        }
        let got: Vec<Elem> = c.iter().map(|(_, e)| e).collect();
        assert_eq!(got, vals);
        // walk backwards
        let mut off = c.data.len();
        let mut back = Vec::new();
        while off > c.first() {
            off = c.prev(off);
            back.push(c.get(off));
        }
        back.reverse();
        assert_eq!(back, vals);
    }

    #[test]
    fn push_pop_both_ends() {
        let mut l = ListValue::new(-2);
        for i in 0..5000 {
            l.push(format!("v{i}").as_bytes(), i % 2 == 0);
        }
        assert_eq!(l.len(), 5000);
        assert!(l.chunk_count() > 1);
        let first = l.get(0).unwrap().to_vec();
        assert_eq!(first, b"v4998");
        assert_eq!(l.get(4999).unwrap().to_vec(), b"v4999");
        let mut n = 0;
        while let Some(v) = l.pop_owned(n % 3 == 0) {
            let _ = v;
            n += 1;
        }
        assert_eq!(n, 5000);
        assert_eq!(l.chunk_count(), 0);
    }

    #[test]
    fn index_insert_set_remove() {
        let mut l = ListValue::new(4);
        for i in 0..20 {
            l.push(i.to_string().as_bytes(), false);
        }
        assert_eq!(l.chunk_count(), 5);
        for i in 0..20 {
            assert_eq!(l.get(i).unwrap(), Elem::Int(i as i64));
        }
        assert!(l.insert(b"5", true, b"five"));
        assert!(l.insert(b"0", false, b"zero"));
        assert!(!l.insert(b"nope", false, b"x"));
        assert_eq!(l.get(0).unwrap(), Elem::Str(b"zero"));
        assert_eq!(l.get(7).unwrap(), Elem::Str(b"five"));
        l.set(3, b"drei");
        assert_eq!(l.get(3).unwrap(), Elem::Str(b"drei"));
        for e in [b"a", b"b", b"a", b"a"] {
            l.push(e, false);
        }
        assert_eq!(l.remove(b"a", -2), 2);
        assert_eq!(items(&l).iter().filter(|x| x.as_slice() == b"a").count(), 1);
        assert_eq!(l.remove(b"a", 0), 1);
        let all = items(&l);
        assert_eq!(all.len(), l.len());
        let rev: Vec<Vec<u8>> = l.iter_from(l.len() - 1, true).map(|e| e.to_vec()).collect();
        assert_eq!(rev.into_iter().rev().collect::<Vec<_>>(), all);
    }

    #[test]
    fn trim_ends() {
        let mut l = ListValue::new(3);
        for i in 0..10 {
            l.push(i.to_string().as_bytes(), false);
        }
        l.trim_end(4, true);
        l.trim_end(2, false);
        assert_eq!(items(&l), vec![b"4".to_vec(), b"5".to_vec(), b"6".to_vec(), b"7".to_vec()]);
        l.trim_end(10, true);
        assert!(l.is_empty());
    }

    /// Random operations on lists of every fill against a VecDeque, emptying them often
    /// (a list of one chunk and of many must behave the same).
    #[test]
    fn random_ops_match_a_model() {
        use rand::{rngs::SmallRng, Rng, SeedableRng};
        use std::collections::VecDeque;
        let mut rng = SmallRng::seed_from_u64(3343);
        for fill in [-5, -2, -1, 1, 2, 3, 16] {
            let mut l = ListValue::new(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..6000 {
                let v: Vec<u8> = if rng.gen_bool(0.5) {
                    rng.gen_range(0..8).to_string().into_bytes()
                } else {
                    let max = if rng.gen_bool(0.1) { 9000 } else { 40 };
                    let mut s = vec![b'x'; rng.gen_range(0..max)];
                    s.extend_from_slice(rng.gen_range(0..8).to_string().as_bytes());
                    s
                };
                match rng.gen_range(0..9) {
                    0 | 1 => {
                        let front = rng.gen_bool(0.5);
                        l.push(&v, front);
                        if front { m.push_front(v) } else { m.push_back(v) }
                    }
                    2 | 3 => {
                        let front = rng.gen_bool(0.5);
                        let got = l.pop_owned(front).map(|o| o.as_elem().to_vec());
                        assert_eq!(got, if front { m.pop_front() } else { m.pop_back() });
                    }
                    4 if !m.is_empty() => {
                        let i = rng.gen_range(0..m.len());
                        l.set(i, &v);
                        m[i] = v;
                    }
                    5 if !m.is_empty() => {
                        let pivot = m[rng.gen_range(0..m.len())].clone();
                        let after = rng.gen_bool(0.5);
                        assert!(l.insert(&pivot, after, &v));
                        let at = m.iter().position(|x| *x == pivot).unwrap() + after as usize;
                        m.insert(at, v);
                    }
                    6 if !m.is_empty() => {
                        let target = m[rng.gen_range(0..m.len())].clone();
                        let count: i64 = rng.gen_range(-3..4);
                        let mut left = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                        let mut idx: Vec<usize> = (0..m.len()).filter(|&i| m[i] == target).collect();
                        if count < 0 {
                            idx.reverse();
                        }
                        let mut gone = Vec::new();
                        for i in idx {
                            if left == 0 {
                                break;
                            }
                            gone.push(i);
                            left -= 1;
                        }
                        gone.sort_unstable();
                        for i in gone.iter().rev() {
                            m.remove(*i);
                        }
                        assert_eq!(l.remove(&target, count), gone.len());
                    }
                    7 => {
                        let n = rng.gen_range(0..4);
                        let front = rng.gen_bool(0.5);
                        l.trim_end(n, front);
                        for _ in 0..n.min(m.len()) {
                            if front { m.pop_front(); } else { m.pop_back(); }
                        }
                    }
                    _ => {
                        if let Some(i) = (!m.is_empty()).then(|| rng.gen_range(0..m.len())) {
                            assert_eq!(l.get(i).unwrap().to_vec(), m[i]);
                        }
                    }
                }
                assert_eq!(l.len(), m.len(), "fill {fill} step {step}");
                if step % 50 == 0 || m.len() < 3 {
                    assert_eq!(items(&l), m.iter().cloned().collect::<Vec<_>>(), "fill {fill} step {step}");
                    let rev: Vec<Vec<u8>> = if m.is_empty() {
                        vec![]
                    } else {
                        l.iter_from(m.len() - 1, true).map(|e| e.to_vec()).collect()
                    };
                    assert_eq!(rev, m.iter().rev().cloned().collect::<Vec<_>>());
                }
                assert_eq!(l.chunk_count() == 0, m.is_empty());
            }
        }
    }

    #[test]
    fn numeric_strings() {
        assert_eq!(Elem::of(b"10"), Elem::Int(10));
        assert_eq!(Elem::of(b"010"), Elem::Str(b"010"));
        assert_eq!(Elem::of(b"-0"), Elem::Str(b"-0"));
        assert_eq!(Elem::of(b"9223372036854775808"), Elem::Str(b"9223372036854775808"));
    }
}
