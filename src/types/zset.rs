//! The sorted set type: a packed list of member/score pairs ordered by (score, member) while
//! small (Redis's "listpack", same thresholds), else a `Table` of member -> score plus an
//! ordered index of the table's nodes ("skiplist"). The index is a list of blocks of node
//! pointers with the rank of each block's first element, which gives O(log n) search by
//! score, member or rank with ~10 bytes per element.
//!
//! Both forms are read through `View`, a random-access sequence in (score, member) order,
//! so the range commands have one implementation.

use super::packed::{self, Ele, Query};
use super::table::{NodePtr, Table};
use std::cmp::Ordering;

/// The conversion thresholds (zset-max-listpack-entries / -value).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

enum Repr {
    Small { buf: Box<[u8]>, n: u32 },
    Big(Box<Big>),
}

pub struct ZSetValue(Repr);

impl ZSetValue {
    /// The member table of a large sorted set (for prefetching).
    pub fn table(&self) -> Option<&crate::types::table::Table> {
        match &self.0 {
            Repr::Big(b) => Some(&b.dict),
            _ => None,
        }
    }

    /// The ordered index of a large sorted set (for prefetching).
    pub fn index(&self) -> Option<&OrdIdx> {
        match &self.0 {
            Repr::Big(b) => Some(&b.idx),
            _ => None,
        }
    }
}

struct Big {
    dict: Table,
    idx: OrdIdx,
}

/// Order of a (score, member) pair against another.
#[inline]
fn cmp_key(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

const BLOCK_MAX: usize = 128;

/// One block of the index: node pointers in order and, beside them, their scores, so
/// that a search inside the block reads nodes (cache misses) only among equal scores.
struct Block {
    nodes: Vec<NodePtr>,
    scores: Vec<f64>,
}

impl Block {
    fn new() -> Block {
        Block { nodes: Vec::with_capacity(BLOCK_MAX), scores: Vec::with_capacity(BLOCK_MAX) }
    }

    #[inline]
    fn len(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    fn last_score(&self) -> Option<f64> {
        self.scores.last().copied()
    }

    /// Offset of the first element not less than (s, m). Scores are never NaN.
    #[inline]
    fn lower_bound(&self, s: f64, m: &[u8]) -> usize {
        let lo = self.scores.partition_point(|&x| x < s);
        let ties = self.scores[lo..].partition_point(|&x| x <= s);
        lo + self.nodes[lo..lo + ties].partition_point(|n| n.key() < m)
    }

    fn insert(&mut self, off: usize, n: NodePtr, s: f64) {
        self.nodes.insert(off, n);
        self.scores.insert(off, s);
    }

    fn remove(&mut self, off: usize) -> NodePtr {
        self.scores.remove(off);
        self.nodes.remove(off)
    }

    /// Moves the elements from `at` on into a new block.
    fn split_off(&mut self, at: usize) -> Block {
        let mut tail = Block::new();
        tail.nodes.extend(self.nodes.drain(at..));
        tail.scores.extend(self.scores.drain(at..));
        tail
    }

    fn append(&mut self, other: Block) {
        self.nodes.extend(other.nodes);
        self.scores.extend(other.scores);
    }
}

/// Node pointers in (score, member) order, in blocks of at most BLOCK_MAX;
/// `starts[i]` is the rank of `blocks[i]`'s first element and `lasts[i]` the score of its
/// last, so the search among blocks reads no node (only ties on the score do).
#[derive(Default)]
pub struct OrdIdx {
    blocks: Vec<Block>,
    starts: Vec<usize>,
    lasts: Vec<f64>,
    len: usize,
}

impl OrdIdx {
    /// The block holding the first element not less than (s, m): the first block whose
    /// last element is not below it (`blocks.len()` when there is none). A node is read
    /// only when a block's last score equals s.
    #[inline]
    fn locate_block(&self, s: f64, m: &[u8]) -> usize {
        let (mut lo, mut hi) = (0, self.blocks.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let l = self.lasts[mid];
            if l < s || (l == s && self.blocks[mid].nodes.last().unwrap().key() < m) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Block and offset of the first element not less than (s, m).
    fn locate(&self, s: f64, m: &[u8]) -> (usize, usize) {
        let bi = self.locate_block(s, m);
        if bi == self.blocks.len() {
            return match self.blocks.len() {
                0 => (0, 0),
                k => (k - 1, self.blocks[k - 1].len()),
            };
        }
        (bi, self.blocks[bi].lower_bound(s, m))
    }

    /// Bring into the cache what the searches for `targets` (index, score, member) will
    /// read inside their blocks. The binary searches of all targets advance together, one
    /// level per round, so that their cache misses overlap instead of following one
    /// another (a pipelined batch of ZADDs to a large zset is bound by these misses).
    pub fn prefetch_searches(targets: &[(&OrdIdx, f64, &[u8])]) {
        let mut st: smallvec::SmallVec<[(&Block, usize, usize, f64); 32]> = targets
            .iter()
            .filter_map(|&(ix, s, m)| {
                let b = ix.blocks.get(ix.locate_block(s, m))?;
                Some((b, 0, b.len(), s))
            })
            .collect();
        loop {
            let mut active = false;
            for &(b, lo, hi, _) in st.iter() {
                if lo < hi {
                    crate::keyspace::dict::prefetch(&b.scores[(lo + hi) / 2] as *const f64 as *const u8);
                    active = true;
                }
            }
            if !active {
                break;
            }
            for e in st.iter_mut() {
                if e.1 < e.2 {
                    let mid = (e.1 + e.2) / 2;
                    if e.0.scores[mid] < e.3 {
                        e.1 = mid + 1;
                    } else {
                        e.2 = mid;
                    }
                }
            }
        }
        // an element with an equal score is ordered by member: its node will be read
        for &(b, lo, _, s) in st.iter() {
            if b.scores.get(lo) == Some(&s) {
                b.nodes[lo].prefetch();
            }
        }
    }

    /// Refresh the cached last score of block `bi` (if it exists) after a change there.
    #[inline]
    fn fix_last(&mut self, bi: usize) {
        if let Some(s) = self.blocks.get(bi).and_then(|b| b.last_score()) {
            self.lasts[bi] = s;
        }
    }

    fn shift_starts(&mut self, from: usize, up: bool) {
        for s in &mut self.starts[from..] {
            if up {
                *s += 1
            } else {
                *s -= 1
            }
        }
    }

    fn insert(&mut self, n: NodePtr) {
        let (s, m) = n.score_key();
        if self.blocks.is_empty() {
            let mut b = Block::new();
            b.insert(0, n, s);
            self.blocks.push(b);
            self.starts.push(0);
            self.lasts.push(s);
            self.len = 1;
            return;
        }
        let (mut bi, mut off) = self.locate(s, m);
        // A full block is split before the insertion (so no block outgrows its capacity);
        // at either end of it the new element starts a block of its own, which keeps
        // blocks full under ascending or descending inserts.
        let split = self.blocks[bi].len() == BLOCK_MAX;
        if split {
            if off == BLOCK_MAX {
                self.blocks.insert(bi + 1, Block::new());
                self.starts.insert(bi + 1, self.starts[bi] + BLOCK_MAX);
                self.lasts.insert(bi + 1, 0.0);
                (bi, off) = (bi + 1, 0);
            } else if off == 0 {
                self.blocks.insert(bi, Block::new());
                self.starts.insert(bi, self.starts[bi]);
                self.lasts.insert(bi, 0.0);
            } else {
                let half = BLOCK_MAX / 2;
                let tail = self.blocks[bi].split_off(half);
                self.blocks.insert(bi + 1, tail);
                self.starts.insert(bi + 1, self.starts[bi] + half);
                self.lasts.insert(bi + 1, 0.0);
                if off > half {
                    (bi, off) = (bi + 1, off - half);
                }
            }
        }
        self.blocks[bi].insert(off, n, s);
        self.shift_starts(bi + 1, true);
        if split {
            // the full block became two: both neighbours of bi may have changed
            self.fix_last(bi.wrapping_sub(1));
            self.fix_last(bi + 1);
        }
        self.fix_last(bi);
        self.len += 1;
    }

    /// Remove the element at (s, m); it must be present.
    fn remove(&mut self, s: f64, m: &[u8]) {
        let (bi, off) = self.locate(s, m);
        self.remove_at(bi, off);
    }

    fn remove_at(&mut self, bi: usize, off: usize) {
        self.blocks[bi].remove(off);
        self.shift_starts(bi + 1, false);
        self.len -= 1;
        let n = self.blocks[bi].len();
        if n == 0 {
            self.blocks.remove(bi);
            self.starts.remove(bi);
            self.lasts.remove(bi);
        } else if n < BLOCK_MAX / 4 && bi + 1 < self.blocks.len() && n + self.blocks[bi + 1].len() <= BLOCK_MAX {
            let next = self.blocks.remove(bi + 1);
            self.starts.remove(bi + 1);
            self.lasts.remove(bi + 1);
            self.blocks[bi].append(next);
        }
        self.fix_last(bi);
    }

    /// Give the element (old, m), node `n`, the score `new`: in place when its rank does
    /// not change (as Redis's zslUpdateScore), else by a removal and an insertion.
    fn update(&mut self, n: NodePtr, old: f64, m: &[u8], new: f64) {
        let (bi, off) = self.locate(old, m);
        let before = |s: f64, k: NodePtr| s < new || (s == new && k.key() < m);
        let prev_ok = match off.checked_sub(1) {
            Some(p) => before(self.blocks[bi].scores[p], self.blocks[bi].nodes[p]),
            None => bi == 0 || before(self.lasts[bi - 1], *self.blocks[bi - 1].nodes.last().unwrap()),
        };
        let next_ok = prev_ok && {
            let after = |s: f64, k: NodePtr| s > new || (s == new && k.key() > m);
            let b = &self.blocks[bi];
            if off + 1 < b.len() {
                after(b.scores[off + 1], b.nodes[off + 1])
            } else {
                match self.blocks.get(bi + 1) {
                    Some(nb) => after(nb.scores[0], nb.nodes[0]),
                    None => true,
                }
            }
        };
        n.set_score(new);
        if next_ok {
            self.blocks[bi].scores[off] = new;
            self.fix_last(bi);
        } else {
            self.remove_at(bi, off);
            self.insert(n);
        }
    }

    /// (block, offset) of a rank < len.
    fn pos(&self, rank: usize) -> (usize, usize) {
        let bi = self.starts.partition_point(|&s| s <= rank) - 1;
        (bi, rank - self.starts[bi])
    }

    fn get(&self, rank: usize) -> NodePtr {
        let (bi, off) = self.pos(rank);
        self.blocks[bi].nodes[off]
    }

    fn rank(&self, s: f64, m: &[u8]) -> usize {
        let (bi, off) = self.locate(s, m);
        self.starts.get(bi).copied().unwrap_or(0) + off
    }

    /// Number of leading elements for which `pred` holds (pred must be monotone).
    fn partition_point(&self, pred: impl Fn(NodePtr) -> bool) -> usize {
        debug_assert_eq!(self.lasts.len(), self.blocks.len());
        let bi = self.blocks.partition_point(|b| pred(*b.nodes.last().unwrap()));
        if bi == self.blocks.len() {
            return self.len;
        }
        self.starts[bi] + self.blocks[bi].nodes.partition_point(|n| pred(*n))
    }

    /// Every node, in order.
    fn nodes(&self) -> impl Iterator<Item = NodePtr> + '_ {
        self.blocks.iter().flat_map(|b| b.nodes.iter().copied())
    }
}

/// A random-access view of a zset in (score, member) order.
pub enum View<'a> {
    Small(Vec<(Ele<'a>, f64)>),
    Big(&'a OrdIdx),
}

impl<'a> View<'a> {
    pub fn len(&self) -> usize {
        match self {
            View::Small(v) => v.len(),
            View::Big(x) => x.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element of a rank (< len).
    #[inline]
    pub fn at(&self, rank: usize) -> (Ele<'a>, f64) {
        match self {
            View::Small(v) => v[rank],
            View::Big(x) => {
                let (s, m) = x.get(rank).score_key();
                (Ele::Str(m), s)
            }
        }
    }

    /// Number of leading elements for which `pred(member, score)` holds (monotone pred).
    pub fn partition_point(&self, pred: impl Fn(&Ele, f64) -> bool) -> usize {
        match self {
            View::Small(v) => v.partition_point(|(m, s)| pred(m, *s)),
            View::Big(x) => x.partition_point(|n| {
                let (s, m) = n.score_key();
                pred(&Ele::Str(m), s)
            }),
        }
    }
}

fn small_view(buf: &[u8]) -> Vec<(Ele<'_>, f64)> {
    packed::pairs(buf).map(|(_, m, s)| (m, s.as_f64())).collect()
}

/// Find a member in a small zset: (pair offset, end of pair, score, rank).
fn small_find(buf: &[u8], m: &[u8]) -> Option<(usize, usize, f64, usize)> {
    let q = Query::new(m);
    let mut off = 0;
    let mut rank = 0;
    while off < buf.len() {
        let (e, so) = packed::decode(buf, off);
        let (s, end) = packed::decode(buf, so);
        if q.matches(&e) {
            return Some((off, end, s.as_f64(), rank));
        }
        off = end;
        rank += 1;
    }
    None
}

fn small_insert(buf: &mut Box<[u8]>, m: &[u8], score: f64) {
    let mut at = buf.len();
    for (off, e, s) in packed::pairs(buf) {
        let sc = s.as_f64();
        if sc > score || (sc == score && e.cmp_bytes(m) == Ordering::Greater) {
            at = off;
            break;
        }
    }
    let mut enc = Vec::with_capacity(m.len() + 10);
    packed::put_str(&mut enc, m);
    packed::put_f64(&mut enc, score);
    packed::splice(buf, at..at, &enc);
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::new_small()
    }
}

impl ZSetValue {
    pub fn new_small() -> ZSetValue {
        ZSetValue(Repr::Small { buf: Box::new([]), n: 0 })
    }

    pub fn new_big() -> ZSetValue {
        ZSetValue(Repr::Big(Box::new(Big { dict: Table::new(), idx: OrdIdx::default() })))
    }

    /// The empty zset ZADD creates for its first member (Redis: skiplist when the
    /// listpack limits are 0 entries or shorter than that member).
    pub fn new_for(first_member_len: usize, lim: Limits) -> ZSetValue {
        if lim.entries == 0 || lim.value < first_member_len {
            ZSetValue::new_big()
        } else {
            ZSetValue::new_small()
        }
    }

    /// A zset of distinct members, in the listpack form when `small_ok` and it fits.
    pub fn build(items: Vec<(Vec<u8>, f64)>, lim: Limits, small_ok: bool) -> ZSetValue {
        let small = small_ok && items.len() <= lim.entries && items.iter().all(|(m, _)| m.len() <= lim.value);
        let mut z = if small { ZSetValue::new_small() } else { ZSetValue::new_big() };
        let mut items = items;
        // sorted first: the packed list needs it, and the index fills its blocks
        items.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
        match &mut z.0 {
            Repr::Small { buf, n } => {
                let mut v = Vec::new();
                for (m, s) in &items {
                    packed::put_str(&mut v, m);
                    packed::put_f64(&mut v, *s);
                }
                *buf = v.into_boxed_slice();
                *n = items.len() as u32;
            }
            Repr::Big(b) => {
                b.dict = Table::with_capacity(items.len());
                for (m, s) in &items {
                    let node = b.dict.insert_new(m, &s.to_ne_bytes());
                    b.idx.insert(node);
                }
            }
        }
        z
    }

    pub fn encoding(&self) -> &'static str {
        match self.0 {
            Repr::Small { .. } => "listpack",
            Repr::Big(_) => "skiplist",
        }
    }

    pub fn is_small(&self) -> bool {
        matches!(self.0, Repr::Small { .. })
    }

    pub fn mem_usage(&self) -> usize {
        32 + match &self.0 {
            Repr::Small { buf, .. } => (buf.len() + 8 + 15) & !15,
            Repr::Big(b) => {
                let blocks = b.idx.blocks.len() * (BLOCK_MAX * 16 + 2 * 24 + 16 + 8);
                64 + b.dict.mem_usage() + blocks
            }
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small { n, .. } => *n as usize,
            Repr::Big(b) => b.dict.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.0 {
            Repr::Small { buf, .. } => small_find(buf, m).map(|x| x.2),
            Repr::Big(b) => b.dict.get(m).map(|n| n.score()),
        }
    }

    /// 0-based rank in ascending order and score.
    pub fn rank(&self, m: &[u8]) -> Option<(usize, f64)> {
        match &self.0 {
            Repr::Small { buf, .. } => small_find(buf, m).map(|x| (x.3, x.2)),
            Repr::Big(b) => b.dict.get(m).map(|n| (b.idx.rank(n.score(), m), n.score())),
        }
    }

    /// Add a member known to be absent, converting to the large form past the limits.
    pub fn insert(&mut self, m: &[u8], score: f64, lim: Limits) {
        if let Repr::Small { n, .. } = &self.0 {
            if *n as usize + 1 > lim.entries || m.len() > lim.value {
                self.convert_big();
            }
        }
        match &mut self.0 {
            Repr::Small { buf, n } => {
                small_insert(buf, m, score);
                *n += 1;
            }
            Repr::Big(b) => {
                let node = b.dict.insert_new(m, &score.to_ne_bytes());
                b.idx.insert(node);
            }
        }
    }

    /// Change the score of a present member.
    pub fn set_score(&mut self, m: &[u8], score: f64) {
        match &mut self.0 {
            Repr::Small { buf, .. } => {
                if let Some((a, b, old, _)) = small_find(buf, m) {
                    if old.to_bits() == score.to_bits() {
                        return;
                    }
                    packed::splice(buf, a..b, &[]);
                    small_insert(buf, m, score);
                }
            }
            Repr::Big(b) => {
                if let Some(node) = b.dict.get(m) {
                    let old = node.score();
                    if old.to_bits() != score.to_bits() {
                        b.idx.update(node, old, m, score);
                    }
                }
            }
        }
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.0 {
            Repr::Small { buf, n } => match small_find(buf, m) {
                Some((a, b, _, _)) => {
                    packed::splice(buf, a..b, &[]);
                    *n -= 1;
                    true
                }
                None => false,
            },
            Repr::Big(b) => match b.dict.get(m) {
                Some(node) => {
                    b.idx.remove(node.score(), m);
                    b.dict.remove(m);
                    true
                }
                None => false,
            },
        }
    }

    /// Remove the elements of ranks `from..to` (ascending order).
    pub fn remove_ranks(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        match &mut self.0 {
            Repr::Small { buf, n } => {
                let offs: Vec<usize> = packed::pairs(buf).map(|p| p.0).collect();
                let end = offs.get(to).copied().unwrap_or(buf.len());
                packed::splice(buf, offs[from]..end, &[]);
                *n -= (to - from) as u32;
            }
            Repr::Big(b) => {
                for _ in from..to {
                    let (bi, off) = b.idx.pos(from);
                    let node = b.idx.blocks[bi].nodes[off];
                    let key = node.key().to_vec();
                    b.idx.remove_at(bi, off);
                    b.dict.remove(&key);
                }
            }
        }
    }

    fn convert_big(&mut self) {
        if let Repr::Small { buf, n } = &self.0 {
            let mut big = Big { dict: Table::with_capacity(*n as usize + 1), idx: OrdIdx::default() };
            let mut kb = Vec::new();
            for (_, m, s) in packed::pairs(buf) {
                kb.clear();
                m.with_bytes(|b| kb.extend_from_slice(b));
                let node = big.dict.insert_new(&kb, &s.as_f64().to_ne_bytes());
                big.idx.insert(node);
            }
            self.0 = Repr::Big(Box::new(big));
        }
    }

    /// The ordered view used by range commands.
    pub fn view(&self) -> View<'_> {
        match &self.0 {
            Repr::Small { buf, .. } => View::Small(small_view(buf)),
            Repr::Big(b) => View::Big(&b.idx),
        }
    }

    /// Every member and score, in table order for large zsets (cheap, unordered).
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(Ele<'a>, f64)) {
        match &self.0 {
            Repr::Small { buf, .. } => packed::pairs(buf).for_each(|(_, m, s)| f(m, s.as_f64())),
            Repr::Big(b) => b.dict.iter().for_each(|n| f(Ele::Str(n.key()), n.score())),
        }
    }

    /// A random element.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<(Ele<'_>, f64)> {
        match &self.0 {
            Repr::Small { buf, n } => {
                (*n > 0).then(|| small_view(buf)[rng.gen_range(0..*n as usize)])
            }
            Repr::Big(b) => b.dict.random(rng).map(|n| (Ele::Str(n.key()), n.score())),
        }
    }

    /// One ZSCAN step (listpacks: everything, cursor 0).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Ele, f64)) -> u64 {
        match &self.0 {
            Repr::Small { .. } => {
                self.for_each(f);
                0
            }
            Repr::Big(b) => b.dict.scan(cursor, count, |n| f(Ele::Str(n.key()), n.score())),
        }
    }

    pub fn clone_deep(&self) -> ZSetValue {
        match &self.0 {
            Repr::Small { buf, n } => ZSetValue(Repr::Small { buf: buf.clone(), n: *n }),
            Repr::Big(b) => {
                let mut c = ZSetValue::new_big();
                if let Repr::Big(cb) = &mut c.0 {
                    cb.dict = Table::with_capacity(b.dict.len());
                    for n in b.idx.nodes() {
                        let node = cb.dict.insert_new(n.key(), n.val());
                        cb.idx.insert(node);
                    }
                }
                c
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits { entries: 128, value: 64 };

    fn order(z: &ZSetValue) -> Vec<(Vec<u8>, f64)> {
        let v = z.view();
        (0..v.len()).map(|i| (v.at(i).0.to_vec(), v.at(i).1)).collect()
    }

    fn check_both(lim: Limits) {
        let mut z = ZSetValue::new_for(1, lim);
        let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..3000 {
            let m = format!("m{}", rng.gen_range(0..400)).into_bytes();
            let s = rng.gen_range(0..50) as f64 / 2.0;
            match rng.gen_range(0..3) {
                0 => {
                    if z.remove(&m) {
                        model.retain(|x| x.0 != m);
                    }
                }
                _ => match z.score(&m) {
                    Some(_) => {
                        z.set_score(&m, s);
                        model.iter_mut().find(|x| x.0 == m).unwrap().1 = s;
                    }
                    None => {
                        z.insert(&m, s, lim);
                        model.push((m.clone(), s));
                    }
                },
            }
        }
        model.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
        assert_eq!(order(&z), model);
        assert_eq!(z.len(), model.len());
        for (i, (m, s)) in model.iter().enumerate() {
            assert_eq!(z.rank(m), Some((i, *s)));
        }
        let v = z.view();
        let p = v.partition_point(|_, s| s < 10.0);
        assert_eq!(p, model.iter().filter(|x| x.1 < 10.0).count());
        drop(v);
        z.remove_ranks(5, 50);
        model.drain(5..50);
        assert_eq!(order(&z), model);
    }

    /// Many blocks, many equal scores: the cached block scores and starts stay right.
    #[test]
    fn index_invariants_under_random_updates() {
        use rand::{Rng, SeedableRng};
        let lim = Limits { entries: 0, value: 64 };
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut z = ZSetValue::new_for(1, lim);
        let mut model: std::collections::HashMap<Vec<u8>, f64> = Default::default();
        for step in 0..40000 {
            let m = format!("m{}", rng.gen_range(0..6000)).into_bytes();
            let s = if rng.gen_bool(0.5) { 0.0 } else { rng.gen_range(-20..20) as f64 };
            if rng.gen_range(0..5) == 0 {
                assert_eq!(z.remove(&m), model.remove(&m).is_some());
            } else if model.contains_key(&m) {
                z.set_score(&m, s);
                model.insert(m, s);
            } else {
                z.insert(&m, s, lim);
                model.insert(m, s);
            }
            if step % 5000 == 4999 {
                let Repr::Big(b) = &z.0 else { panic!("big form expected") };
                let idx = &b.idx;
                assert!(idx.blocks.len() > 4);
                assert_eq!(idx.lasts.len(), idx.blocks.len());
                let mut rank = 0;
                for (i, blk) in idx.blocks.iter().enumerate() {
                    assert!(blk.len() > 0);
                    assert_eq!(blk.scores.len(), blk.len());
                    for (n, s) in blk.nodes.iter().zip(&blk.scores) {
                        assert_eq!(n.score().to_bits(), s.to_bits());
                    }
                    assert_eq!(idx.starts[i], rank);
                    assert_eq!(idx.lasts[i].to_bits(), blk.nodes.last().unwrap().score().to_bits());
                    rank += blk.len();
                }
                let mut want: Vec<(Vec<u8>, f64)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
                want.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
                assert_eq!(order(&z), want);
                for (i, (m, s)) in want.iter().enumerate().step_by(7) {
                    assert_eq!(z.rank(m), Some((i, *s)));
                }
            }
        }
    }

    #[test]
    fn small_and_big_agree_with_model() {
        check_both(Limits { entries: 100000, value: 64 });
        check_both(Limits { entries: 0, value: 64 });
    }

    #[test]
    fn index_blocks_stay_full_under_sorted_inserts() {
        let lim = Limits { entries: 0, value: 64 };
        for descending in [false, true] {
            let mut z = ZSetValue::new_big();
            let n = 5000;
            for i in 0..n {
                let s = if descending { (n - i) as f64 } else { i as f64 };
                z.insert(format!("m{i}").as_bytes(), s, lim);
            }
            let Repr::Big(b) = &z.0 else { panic!("big form") };
            assert!(b.idx.blocks.len() <= n / BLOCK_MAX + 2, "{} blocks", b.idx.blocks.len());
            assert!(b.idx.blocks.iter().all(|blk| blk.nodes.capacity() == BLOCK_MAX));
            for i in (0..n).step_by(37) {
                let rank = if descending { n - 1 - i } else { i };
                assert_eq!(z.rank(format!("m{i}").as_bytes()).unwrap().0, rank);
            }
        }
    }

    #[test]
    fn creation_and_conversion() {
        assert!(std::mem::size_of::<ZSetValue>() <= 24);
        let mut z = ZSetValue::new_for(1, LIM);
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"a", 1.0, Limits { entries: 1, value: 64 });
        z.insert(b"b", 2.0, Limits { entries: 1, value: 64 });
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.score(b"b"), Some(2.0));
        let b = ZSetValue::build(vec![(b"x".to_vec(), -0.0), (b"y".to_vec(), 0.5)], LIM, true);
        assert_eq!(b.encoding(), "listpack");
        assert!(!b.score(b"x").unwrap().is_sign_negative(), "listpacks store -0 as 0");
        assert_eq!(ZSetValue::new_for(65, LIM).encoding(), "skiplist");
    }
}
