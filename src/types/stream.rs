//! The stream type: entries ordered by ID, consumer groups with their pending entries
//! lists (PEL) and consumers — Redis 7.0's t_stream.c data model.
//!
//! Entries live in nodes kept in a `BTreeMap` keyed by the node's first ("master") ID, like
//! Redis's radix tree of listpacks. A node is one byte buffer: the master field list, then
//! each entry as a flags byte (deleted, same-fields-as-master), its ID as varint deltas
//! from the master ID, and its fields and values as varint-length strings (only the values
//! when the fields equal the master's). Deletion sets the flag in place; a node whose
//! entries are all deleted is dropped. A node is closed as Redis closes a listpack
//! (`stream-node-max-bytes` measured as the listpack Redis would build, and
//! `stream-node-max-entries`), so node counts, trimming with `~` and the RDB form (one
//! listpack per node, see `to_listpacks`) match Redis.

use crate::persist::rdb::{RdbConsumer, RdbGroup, RdbStream};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// A stream entry ID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Debug, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID (streamIncrID); None past the maximum.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID (streamDecrID); None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    pub fn to_bytes(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(42);
        v.extend_from_slice(itoa::Buffer::new().format(self.ms).as_bytes());
        v.push(b'-');
        v.extend_from_slice(itoa::Buffer::new().format(self.seq).as_bytes());
        v
    }

    /// 16 bytes big endian (the radix tree key / RDB form).
    pub fn encode(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<StreamId> {
        if b.len() != 16 {
            return None;
        }
        Some(StreamId::new(u64::from_be_bytes(b[..8].try_into().ok()?), u64::from_be_bytes(b[8..].try_into().ok()?)))
    }
}

/// Redis string2ull: an unsigned decimal (optional leading '+'), no trailing bytes.
fn parse_u64(s: &[u8]) -> Option<u64> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    if s.is_empty() || !s.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

/// The result of parsing an ID argument.
pub struct ParsedId {
    pub id: StreamId,
    /// False for the `<ms>-*` form (only accepted when asked for).
    pub seq_given: bool,
}

/// streamGenericParseIDOrReply: `-`, `+` (unless strict), `<ms>`, `<ms>-<seq>`, and
/// `<ms>-*` when `allow_auto_seq`. A missing sequence is `missing_seq`.
pub fn parse_id(s: &[u8], missing_seq: u64, strict: bool, allow_auto_seq: bool) -> Option<ParsedId> {
    if s.len() > 127 {
        return None;
    }
    if s == b"-" || s == b"+" {
        if strict {
            return None;
        }
        let id = if s == b"-" { StreamId::MIN } else { StreamId::MAX };
        return Some(ParsedId { id, seq_given: true });
    }
    match s.iter().position(|&c| c == b'-') {
        Some(d) => {
            let ms = parse_u64(&s[..d])?;
            let rest = &s[d + 1..];
            if allow_auto_seq && rest == b"*" {
                return Some(ParsedId { id: StreamId::new(ms, 0), seq_given: false });
            }
            Some(ParsedId { id: StreamId::new(ms, parse_u64(rest)?), seq_given: true })
        }
        None => Some(ParsedId { id: StreamId::new(parse_u64(s)?, missing_seq), seq_given: true }),
    }
}

// ---- node limits ----------------------------------------------------------------------

static NODE_MAX_BYTES: AtomicUsize = AtomicUsize::new(4096);
static NODE_MAX_ENTRIES: AtomicUsize = AtomicUsize::new(100);

/// stream-node-max-bytes / stream-node-max-entries from the config.
pub fn set_node_limits(bytes: i64, entries: i64) {
    NODE_MAX_BYTES.store(bytes.max(0) as usize, Relaxed);
    NODE_MAX_ENTRIES.store(entries.max(0) as usize, Relaxed);
}

pub fn node_max_entries() -> usize {
    NODE_MAX_ENTRIES.load(Relaxed)
}

/// Redis's STREAM_LISTPACK_MAX_SIZE.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

// ---- listpack sizes (what Redis would store) -------------------------------------------

/// Bytes of the backlen field for an entry of `l` bytes.
fn lp_backlen(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Encoded size (with backlen) of an integer element in a listpack.
pub fn lp_int_size(v: i64) -> usize {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if (-32768..=32767).contains(&v) {
        3
    } else if (-8388608..=8388607).contains(&v) {
        4
    } else if (-2147483648..=2147483647).contains(&v) {
        5
    } else {
        9
    };
    enc + lp_backlen(enc)
}

/// Encoded size (with backlen) of a string element (strings that are integers are ints).
pub fn lp_str_size(s: &[u8]) -> usize {
    if let Some(v) = lp_as_int(s) {
        return lp_int_size(v);
    }
    let enc = if s.len() < 64 {
        1 + s.len()
    } else if s.len() < 4096 {
        2 + s.len()
    } else {
        5 + s.len()
    };
    enc + lp_backlen(enc)
}

/// lpStringToInt64: a canonical integer of at most 20 bytes.
pub fn lp_as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    crate::util::numfmt::parse_i64(s)
}

// ---- varints ----------------------------------------------------------------------------

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn get_varint(b: &[u8], p: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let c = b[*p];
        *p += 1;
        v |= ((c & 0x7f) as u64) << shift;
        if c < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

#[inline]
fn get_str<'a>(b: &'a [u8], p: &mut usize) -> &'a [u8] {
    let n = get_varint(b, p) as usize;
    let s = &b[*p..*p + n];
    *p += n;
    s
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

// ---- nodes ------------------------------------------------------------------------------

const F_DELETED: u8 = 1;
const F_SAME: u8 = 2;

/// One node: master fields, then entries (see the module comment).
pub struct Node {
    /// Entries not deleted / marked deleted.
    live: u32,
    deleted: u32,
    /// Number of master fields; where the entries start in `buf`.
    nmaster: u32,
    entries_at: u32,
    /// Size of the listpack Redis would hold for this node (for closing it).
    lp_bytes: u32,
    buf: Vec<u8>,
}

/// A view of one entry.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    node: &'a Node,
    /// Offset just after the ID.
    body: usize,
    flags: u8,
}

impl<'a> EntryRef<'a> {
    pub fn deleted(&self) -> bool {
        self.flags & F_DELETED != 0
    }

    pub fn num_fields(&self) -> usize {
        if self.flags & F_SAME != 0 {
            self.node.nmaster as usize
        } else {
            let mut p = self.body;
            get_varint(&self.node.buf, &mut p) as usize
        }
    }

    /// The field-value pairs, in order.
    pub fn fields(&self) -> FieldIter<'a> {
        let b = &self.node.buf;
        let mut p = self.body;
        if self.flags & F_SAME != 0 {
            let mut mp = 0;
            let n = get_varint(b, &mut mp) as usize;
            FieldIter { buf: b, p, master: Some(mp), left: n }
        } else {
            let n = get_varint(b, &mut p) as usize;
            FieldIter { buf: b, p, master: None, left: n }
        }
    }

    /// Offset of the next entry in the node.
    fn end(&self) -> usize {
        let mut it = self.fields();
        for _ in it.by_ref() {}
        it.p
    }
}

pub struct FieldIter<'a> {
    buf: &'a [u8],
    p: usize,
    master: Option<usize>,
    left: usize,
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let f = match &mut self.master {
            Some(mp) => get_str(self.buf, mp),
            None => get_str(self.buf, &mut self.p),
        };
        let v = get_str(self.buf, &mut self.p);
        Some((f, v))
    }
}

impl Node {
    fn new(master_fields: &[&[u8]]) -> Node {
        let mut buf = Vec::new();
        put_varint(&mut buf, master_fields.len() as u64);
        // listpack header + count + deleted + num-fields + fields + terminator + end byte
        let mut lp = 6 + 2 + 2 + lp_int_size(master_fields.len() as i64) + 2 + 1;
        for f in master_fields {
            put_str(&mut buf, f);
            lp += lp_str_size(f);
        }
        let entries_at = buf.len() as u32;
        Node { live: 0, deleted: 0, nmaster: master_fields.len() as u32, entries_at, lp_bytes: lp as u32, buf }
    }

    fn master_fields(&self) -> Vec<&[u8]> {
        let mut p = 0;
        let n = get_varint(&self.buf, &mut p) as usize;
        (0..n).map(|_| get_str(&self.buf, &mut p)).collect()
    }

    /// The entry at byte offset `p` (a flags byte).
    fn entry_at(&self, master: StreamId, p: usize) -> EntryRef<'_> {
        let b = &self.buf;
        let flags = b[p];
        let mut q = p + 1;
        let msd = get_varint(b, &mut q);
        let seqd = unzigzag(get_varint(b, &mut q));
        let id = StreamId::new(master.ms.wrapping_add(msd), master.seq.wrapping_add(seqd as u64));
        EntryRef { id, node: self, body: q, flags }
    }

    /// Offsets of every entry (deleted ones included), in order.
    fn offsets(&self, master: StreamId) -> smallvec::SmallVec<[u32; 128]> {
        let mut v = smallvec::SmallVec::new();
        let mut p = self.entries_at as usize;
        while p < self.buf.len() {
            v.push(p as u32);
            p = self.entry_at(master, p).end();
        }
        v
    }

    fn append(&mut self, master: StreamId, id: StreamId, pairs: &[&[u8]]) {
        let nf = pairs.len() / 2;
        let same = nf == self.nmaster as usize && {
            let mf = self.master_fields();
            (0..nf).all(|i| mf[i] == pairs[2 * i])
        };
        let b = &mut self.buf;
        b.push(if same { F_SAME } else { 0 });
        let msd = id.ms - master.ms;
        let seqd = id.seq.wrapping_sub(master.seq) as i64;
        put_varint(b, msd);
        put_varint(b, zigzag(seqd));
        let mut lp = 1 + 1 + lp_int_size(msd as i64) + lp_int_size(seqd);
        if !same {
            put_varint(b, nf as u64);
            lp += lp_int_size(nf as i64);
        }
        for i in 0..nf {
            if !same {
                put_str(b, pairs[2 * i]);
                lp += lp_str_size(pairs[2 * i]);
            }
            put_str(b, pairs[2 * i + 1]);
            lp += lp_str_size(pairs[2 * i + 1]);
        }
        let lp_count = if same { nf + 3 } else { 2 * nf + 4 };
        lp += lp_int_size(lp_count as i64);
        self.lp_bytes = self.lp_bytes.saturating_add(lp as u32);
        self.live += 1;
    }

    fn mark_deleted(&mut self, off: usize) {
        self.buf[off] |= F_DELETED;
        self.live -= 1;
        self.deleted += 1;
    }

    fn mem(&self) -> usize {
        self.buf.capacity() + 48
    }
}

// ---- consumer groups --------------------------------------------------------------------

/// A pending entry: delivered to `consumer`, not acknowledged yet.
#[derive(Clone, Debug)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Arc<[u8]>,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub last_id: StreamId,
    /// -1: unknown (SCG_INVALID_ENTRIES_READ).
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

pub const INVALID_ENTRIES_READ: i64 = -1;

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// The consumer's shared name (creating the consumer if `now` is given and it is missing).
    pub fn consumer_key(&self, name: &[u8]) -> Option<Arc<[u8]>> {
        self.consumers.get_key_value(name).map(|(k, _)| k.clone())
    }

    /// Create a consumer; false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(Arc::from(name), Consumer { seen_time: now, pel: BTreeSet::new() });
        true
    }

    /// Delete a consumer and its pending entries; the number of entries it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledge one entry; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Give pending entry `id` to `consumer` (which must exist), creating it if missing.
    pub fn assign(&mut self, id: StreamId, consumer: &Arc<[u8]>, time: i64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if old.consumer != *consumer {
                let oc = old.consumer.clone();
                if let Some(c) = self.consumers.get_mut(&oc) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(id, Nack { delivery_time: time, delivery_count: count, consumer: consumer.clone() });
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }
}

// ---- the stream -------------------------------------------------------------------------

#[derive(Default)]
pub struct StreamValue {
    nodes: BTreeMap<StreamId, Node>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

/// Why XADD could not append.
#[derive(Debug, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not greater than the last one (EDOM).
    NotGreater,
    /// Fields too large (ERANGE).
    TooLarge,
}

/// XADD / XTRIM trimming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    None,
    MaxLen(u64),
    MinId(StreamId),
}

impl StreamValue {
    pub fn new() -> StreamValue {
        StreamValue::default()
    }

    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A rough count of the nodes of the radix tree Redis would index the nodes with
    /// (XINFO radix-tree-nodes, the lazy-free effort).
    pub fn rax_nodes(&self) -> usize {
        self.nodes.len() + 1
    }

    /// Redis's lazyfreeGetFreeEffort of a stream: radix tree nodes, plus per consumer
    /// group one allocation and its PEL (the first group's PEL size stands for all).
    pub fn free_effort(&self) -> usize {
        let groups = self.groups.len();
        let pel = self.groups.values().next().map_or(0, |g| g.pel.len());
        self.rax_nodes() + groups * (1 + pel)
    }

    pub fn mem_usage(&self) -> usize {
        let mut m = std::mem::size_of::<StreamValue>();
        for n in self.nodes.values() {
            m += n.mem() + 16;
        }
        for (name, g) in &self.groups {
            m += name.len() + 96 + g.pel.len() * 64;
            for (cn, c) in &g.consumers {
                m += cn.len() + 64 + c.pel.len() * 24;
            }
        }
        m
    }

    /// The ID the next XADD with `spec` would get (streamAppendItem's ID rules).
    /// `spec`: None for `*`, Some((id, seq_given)).
    pub fn next_id(&self, spec: Option<(StreamId, bool)>, now_ms: u64) -> Result<StreamId, AddError> {
        let id = match spec {
            None => {
                if now_ms > self.last_id.ms {
                    StreamId::new(now_ms, 0)
                } else {
                    self.last_id.incr().ok_or(AddError::NotGreater)?
                }
            }
            Some((id, true)) => id,
            Some((id, false)) => {
                if self.last_id.ms == id.ms {
                    if self.last_id.seq == u64::MAX {
                        return Err(AddError::NotGreater);
                    }
                    StreamId::new(id.ms, self.last_id.seq + 1)
                } else {
                    id
                }
            }
        };
        if id <= self.last_id {
            return Err(AddError::NotGreater);
        }
        Ok(id)
    }

    /// Append an entry with ID `id` (already checked by `next_id`); `pairs` is
    /// field, value, field, value...
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]]) -> Result<(), AddError> {
        let total: usize = pairs.iter().map(|p| p.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AddError::TooLarge);
        }
        let mut max_bytes = NODE_MAX_BYTES.load(Relaxed);
        if max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE {
            max_bytes = LISTPACK_MAX_SIZE;
        }
        let max_entries = NODE_MAX_ENTRIES.load(Relaxed);
        let mut tail = self.nodes.iter_mut().next_back();
        if let Some((_, n)) = &mut tail {
            let full = n.lp_bytes as usize + total >= max_bytes
                || (max_entries > 0 && (n.live + n.deleted) as usize >= max_entries);
            if full {
                n.buf.shrink_to_fit();
                tail = None;
            }
        }
        match tail {
            Some((&master, n)) => n.append(master, id, pairs),
            None => {
                let fields: Vec<&[u8]> = pairs.iter().step_by(2).copied().collect();
                let mut n = Node::new(&fields);
                n.append(id, id, pairs);
                self.nodes.insert(id, n);
            }
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Visit the live entries with start <= id <= end, forward or reversed, until `f`
    /// returns false.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool, mut f: impl FnMut(EntryRef<'_>) -> bool) {
        if start > end {
            return;
        }
        if !rev {
            // the node holding `start` may begin before it
            let first = self.nodes.range(..=start).next_back().map(|(k, _)| *k).unwrap_or(StreamId::MIN);
            for (&master, n) in self.nodes.range(first..) {
                if master > end {
                    return;
                }
                let mut p = n.entries_at as usize;
                while p < n.buf.len() {
                    let e = n.entry_at(master, p);
                    p = e.end();
                    if e.id < start || e.deleted() {
                        continue;
                    }
                    if e.id > end {
                        return;
                    }
                    if !f(e) {
                        return;
                    }
                }
            }
        } else {
            for (&master, n) in self.nodes.range(..=end).rev() {
                let offs = n.offsets(master);
                for &o in offs.iter().rev() {
                    let e = n.entry_at(master, o as usize);
                    if e.id > end || e.deleted() {
                        continue;
                    }
                    if e.id < start {
                        return;
                    }
                    if !f(e) {
                        return;
                    }
                }
            }
        }
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let (&master, n) = self.nodes.range(..=id).next_back()?;
        let mut p = n.entries_at as usize;
        while p < n.buf.len() {
            let e = n.entry_at(master, p);
            if e.id == id {
                return if e.deleted() { None } else { Some(e) };
            }
            if e.id > id {
                return None;
            }
            p = e.end();
        }
        None
    }

    pub fn exists(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// First (or last) live entry ID (streamGetEdgeID with skip_tombstones).
    pub fn edge_id(&self, first: bool) -> Option<StreamId> {
        let mut out = None;
        self.range(StreamId::MIN, StreamId::MAX, !first, |e| {
            out = Some(e.id);
            false
        });
        out
    }

    /// streamLastValidID.
    pub fn last_valid_id(&self) -> StreamId {
        self.edge_id(false).unwrap_or(StreamId::MIN)
    }

    /// Delete one entry (streamDeleteItem); true if it existed. Does not touch
    /// first_id / max_deleted (the caller, XDEL, does).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, n)) = self.nodes.range_mut(..=id).next_back() else { return false };
        let mut p = n.entries_at as usize;
        let mut found = None;
        while p < n.buf.len() {
            let e = n.entry_at(master, p);
            if e.id == id {
                if !e.deleted() {
                    found = Some(p);
                }
                break;
            }
            if e.id > id {
                break;
            }
            p = e.end();
        }
        let Some(off) = found else { return false };
        n.mark_deleted(off);
        if n.live == 0 {
            self.nodes.remove(&master);
        }
        self.length -= 1;
        true
    }

    /// streamTrim: remove entries from the head. `approx` removes whole nodes only;
    /// `limit` (0 = none) caps the entries removed. Returns how many were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        if how == Trim::None {
            return 0;
        }
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(m) = how {
                if self.length <= m {
                    break;
                }
            }
            let Some((&master, n)) = self.nodes.iter_mut().next() else { break };
            let entries = n.live as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(m) => self.length - entries >= m,
                Trim::MinId(min) => {
                    let last = *n.offsets(master).last().unwrap();
                    n.entry_at(master, last as usize).id < min
                }
                Trim::None => false,
            };
            if remove {
                self.nodes.remove(&master);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut p = n.entries_at as usize;
            while p < n.buf.len() {
                let e = n.entry_at(master, p);
                let stop = match how {
                    Trim::MaxLen(m) => self.length <= m,
                    Trim::MinId(min) => e.id >= min,
                    Trim::None => true,
                };
                if stop {
                    break;
                }
                let was_deleted = e.deleted();
                let next = e.end();
                if !was_deleted {
                    n.mark_deleted(p);
                    self.length -= 1;
                    deleted += 1;
                }
                p = next;
            }
            // (Redis never drops the node here: it keeps at least one live entry.)
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true).unwrap_or(StreamId::MIN);
        }
        deleted
    }

    /// The first live ID or 0-0 (streamGetEdgeID(s,1,0,..) used to rewrite MINID ~).
    pub fn first_entry_id(&self) -> StreamId {
        self.edge_id(true).unwrap_or(StreamId::MIN)
    }

    /// streamRangeHasTombstones.
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        let s = start.unwrap_or(StreamId::MIN);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted && self.max_deleted <= e
    }

    /// streamEstimateDistanceFromFirstEverEntry; INVALID_ENTRIES_READ if unknown.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag, None when unknown (streamReplyWithCGLag).
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(g.last_id), None) {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let er = self.estimate_distance(g.last_id);
        if er != INVALID_ENTRIES_READ {
            Some(self.entries_added as i64 - er)
        } else {
            None
        }
    }

    /// Advance a group's last delivered ID to `id` (a delivered entry), keeping its read
    /// counter as streamReplyWithRange does.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) -> bool {
        if id <= g.last_id {
            return false;
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(id), None) {
            g.entries_read += 1;
        } else if self.entries_added > 0 {
            g.entries_read = self.estimate_distance(id);
        }
        g.last_id = id;
        true
    }

    /// A copy (COPY, RESTORE ... from DUMP of a copy).
    pub fn clone_deep(&self) -> StreamValue {
        StreamValue {
            nodes: self
                .nodes
                .iter()
                .map(|(k, n)| {
                    (
                        *k,
                        Node {
                            live: n.live,
                            deleted: n.deleted,
                            nmaster: n.nmaster,
                            entries_at: n.entries_at,
                            lp_bytes: n.lp_bytes,
                            buf: n.buf.clone(),
                        },
                    )
                })
                .collect(),
            length: self.length,
            last_id: self.last_id,
            first_id: self.first_id,
            max_deleted: self.max_deleted,
            entries_added: self.entries_added,
            groups: self.groups.clone(),
        }
    }

    // ---- RDB form ----

    /// Each node as (master ID, Redis listpack bytes) for RDB_TYPE_STREAM_LISTPACKS*.
    pub fn to_listpacks(&self) -> Vec<(StreamId, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.nodes.len());
        for (&master, n) in &self.nodes {
            let mut lp = LpWriter::new();
            lp.int(n.live as i64);
            lp.int(n.deleted as i64);
            let mf = n.master_fields();
            lp.int(mf.len() as i64);
            for f in &mf {
                lp.str(f);
            }
            lp.int(0);
            let mut p = n.entries_at as usize;
            while p < n.buf.len() {
                let e = n.entry_at(master, p);
                p = e.end();
                let mut flags = 0i64;
                if e.deleted() {
                    flags |= 1;
                }
                let same = e.flags & F_SAME != 0;
                if same {
                    flags |= 2;
                }
                lp.int(flags);
                lp.int(e.id.ms.wrapping_sub(master.ms) as i64);
                lp.int(e.id.seq.wrapping_sub(master.seq) as i64);
                let nf = e.num_fields();
                if !same {
                    lp.int(nf as i64);
                }
                for (f, v) in e.fields() {
                    if !same {
                        lp.str(f);
                    }
                    lp.str(v);
                }
                lp.int(if same { nf as i64 + 3 } else { 2 * nf as i64 + 4 });
            }
            out.push((master, lp.finish()));
        }
        out
    }

    /// Add a node read from a Redis listpack (RDB loading). Entries are re-encoded.
    pub fn load_listpack(&mut self, master: StreamId, lp: &[u8]) -> Result<(), String> {
        let els = crate::persist::encodings::listpack_entries(lp)?;
        let mut it = els.iter();
        let bad = || "bad stream listpack".to_string();
        let int = |e: Option<&Vec<u8>>| -> Result<i64, String> {
            crate::util::numfmt::parse_i64(e.ok_or_else(bad)?).ok_or_else(bad)
        };
        let count = int(it.next())?;
        let deleted = int(it.next())?;
        let nmaster = int(it.next())?;
        if count < 0 || deleted < 0 || nmaster < 0 || nmaster as usize > els.len() {
            return Err(bad());
        }
        let mut mf: Vec<&[u8]> = Vec::with_capacity(nmaster as usize);
        for _ in 0..nmaster {
            mf.push(it.next().ok_or_else(bad)?);
        }
        if int(it.next())? != 0 {
            return Err(bad());
        }
        let mut node = Node::new(&mf);
        let mut live = 0u64;
        let mut last = None;
        for _ in 0..(count + deleted) {
            let flags = int(it.next())?;
            let msd = int(it.next())? as u64;
            let seqd = int(it.next())? as u64;
            let id = StreamId::new(master.ms.wrapping_add(msd), master.seq.wrapping_add(seqd));
            let same = flags & 2 != 0;
            let nf = if same { nmaster } else { int(it.next())? };
            if nf < 0 || nf as usize > els.len() {
                return Err(bad());
            }
            let mut pairs: Vec<&[u8]> = Vec::with_capacity(nf as usize * 2);
            for i in 0..nf as usize {
                if same {
                    pairs.push(mf[i]);
                } else {
                    pairs.push(it.next().ok_or_else(bad)?);
                }
                pairs.push(it.next().ok_or_else(bad)?);
            }
            // the entry's trailing lp-count: its own element count (streamValidateListpackIntegrity)
            let lp_count = int(it.next())?;
            if lp_count != if same { nf + 3 } else { 2 * nf + 4 } {
                return Err(bad());
            }
            if last.is_some_and(|l| id <= l) || id < master {
                return Err(bad());
            }
            last = Some(id);
            node.append(master, id, &pairs);
            if flags & 1 != 0 {
                let off = node.offsets(master).last().copied().unwrap() as usize;
                node.mark_deleted(off);
            } else {
                live += 1;
            }
        }
        if it.next().is_some() || live != count as u64 {
            return Err(bad());
        }
        if live == 0 {
            return Err("empty stream node".into());
        }
        if self.nodes.range(master..).next().is_some() {
            return Err("stream nodes out of order".into());
        }
        node.buf.shrink_to_fit();
        self.nodes.insert(master, node);
        Ok(())
    }

    /// The RDB form (RDB_TYPE_STREAM_LISTPACKS_2).
    pub fn to_rdb(&self) -> RdbStream {
        let pair = |id: StreamId| (id.ms, id.seq);
        RdbStream {
            nodes: self.to_listpacks().into_iter().map(|(m, lp)| (m.encode(), lp)).collect(),
            length: self.length,
            last_id: pair(self.last_id),
            first_id: pair(self.first_id),
            max_deleted: pair(self.max_deleted),
            entries_added: self.entries_added,
            has_v2_fields: true,
            groups: self
                .groups
                .iter()
                .map(|(name, g)| RdbGroup {
                    name: name.clone(),
                    last_id: pair(g.last_id),
                    entries_read: g.entries_read,
                    pel: g.pel.iter().map(|(id, n)| (id.encode(), n.delivery_time, n.delivery_count)).collect(),
                    consumers: g
                        .consumers
                        .iter()
                        .map(|(cn, c)| RdbConsumer {
                            name: cn.to_vec(),
                            seen_time: c.seen_time,
                            pel: c.pel.iter().map(|id| id.encode()).collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// From the RDB form, checking it as Redis does (every PEL entry owned by exactly one
    /// consumer, node keys in order, the length matching the nodes).
    pub fn from_rdb(r: RdbStream) -> Result<StreamValue, String> {
        let id = |p: (u64, u64)| StreamId::new(p.0, p.1);
        let mut s = StreamValue::new();
        for (k, lp) in &r.nodes {
            s.load_listpack(StreamId::decode(k).unwrap(), lp).map_err(|_| "Stream listpack integrity check failed.".to_string())?;
        }
        s.length = r.length;
        if s.counted_len() != r.length {
            return Err("stream length does not match its entries".into());
        }
        s.last_id = id(r.last_id);
        if r.has_v2_fields {
            s.first_id = id(r.first_id);
            s.max_deleted = id(r.max_deleted);
            s.entries_added = r.entries_added;
        } else {
            s.entries_added = s.length;
            s.first_id = s.first_entry_id();
        }
        for rg in r.groups {
            let last = id(rg.last_id);
            let er = if r.has_v2_fields { rg.entries_read } else { s.estimate_distance(last) };
            let mut g = Group::new(last, er);
            let mut owners: BTreeMap<StreamId, Option<Arc<[u8]>>> = BTreeMap::new();
            let mut times = BTreeMap::new();
            for (pid, t, c) in &rg.pel {
                let pid = StreamId::decode(pid).unwrap();
                if owners.insert(pid, None).is_some() {
                    return Err("duplicated global PEL entry loading stream consumer group".into());
                }
                times.insert(pid, (*t, *c));
            }
            for rc in rg.consumers {
                let name: Arc<[u8]> = Arc::from(rc.name.as_slice());
                let mut pel = BTreeSet::new();
                for pid in &rc.pel {
                    let pid = StreamId::decode(pid).unwrap();
                    match owners.get_mut(&pid) {
                        Some(o @ None) => *o = Some(name.clone()),
                        Some(Some(_)) => return Err("Stream consumer PEL entry already has a consumer assigned".into()),
                        None => return Err("Consumer entry not found in group global PEL".into()),
                    }
                    pel.insert(pid);
                }
                if g.consumers.insert(name, Consumer { seen_time: rc.seen_time, pel }).is_some() {
                    return Err("Duplicate stream consumer detected.".into());
                }
            }
            for (pid, owner) in owners {
                let Some(consumer) = owner else { return Err("group PEL entry without a consumer".into()) };
                let (t, c) = times[&pid];
                g.pel.insert(pid, Nack { delivery_time: t, delivery_count: c, consumer });
            }
            if s.groups.insert(rg.name, g).is_some() {
                return Err("duplicated consumer group name".into());
            }
        }
        Ok(s)
    }

    /// Number of live entries in the nodes (to check a loaded length).
    pub fn counted_len(&self) -> u64 {
        self.nodes.values().map(|n| n.live as u64).sum()
    }
}

/// A minimal listpack writer (the format Redis stores stream nodes in).
pub struct LpWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for LpWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl LpWriter {
    pub fn new() -> LpWriter {
        LpWriter { buf: vec![0; 6], count: 0 }
    }

    fn backlen(&mut self, l: usize) {
        // backlen bytes are written so they can be read right to left
        let mut v = l;
        let n = lp_backlen(l);
        let mut bytes = [0u8; 5];
        for i in 0..n {
            bytes[i] = (v & 127) as u8;
            v >>= 7;
        }
        // first byte written is the most significant group, with the continuation bit
        for i in (0..n).rev() {
            let mut b = bytes[i];
            if i != n - 1 {
                b |= 128;
            }
            self.buf.push(b);
        }
        self.count += 1;
    }

    pub fn int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8388608..=8388607).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (-2147483648..=2147483647).contains(&v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        self.backlen(l);
    }

    pub fn str(&mut self, s: &[u8]) {
        if let Some(v) = lp_as_int(s) {
            return self.int(v);
        }
        let start = self.buf.len();
        if s.len() < 64 {
            self.buf.push(0x80 | s.len() as u8);
        } else if s.len() < 4096 {
            self.buf.push(0xE0 | (s.len() >> 8) as u8);
            self.buf.push(s.len() as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        self.backlen(l);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let c = if self.count < 65535 { self.count as u16 } else { 65535 };
        self.buf[4..6].copy_from_slice(&c.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &StreamValue) -> Vec<StreamId> {
        let mut v = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, false, |e| {
            v.push(e.id);
            true
        });
        v
    }

    #[test]
    fn append_range_delete_trim() {
        let mut s = StreamValue::new();
        for i in 1..=250u64 {
            let id = s.next_id(Some((StreamId::new(i, 0), true)), 0).unwrap();
            let v = i.to_string();
            let pairs: Vec<&[u8]> = if i % 7 == 0 { vec![b"other", v.as_bytes()] } else { vec![b"f", v.as_bytes()] };
            s.append(id, &pairs).unwrap();
        }
        assert_eq!(s.len(), 250);
        assert_eq!(s.node_count(), 3);
        assert_eq!(ids(&s).len(), 250);
        let e = s.get(StreamId::new(14, 0)).unwrap();
        assert_eq!(e.fields().collect::<Vec<_>>(), vec![(&b"other"[..], &b"14"[..])]);
        let mut rev = Vec::new();
        s.range(StreamId::new(10, 0), StreamId::new(105, 0), true, |e| {
            rev.push(e.id.ms);
            true
        });
        assert_eq!(rev.len(), 96);
        assert_eq!(rev[0], 105);
        assert!(s.delete(StreamId::new(5, 0)));
        assert!(!s.delete(StreamId::new(5, 0)));
        assert_eq!(s.len(), 249);
        assert_eq!(s.trim(Trim::MaxLen(200), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(150), true, 0), 99);
        assert_eq!(s.len(), 150);
        assert_eq!(s.trim(Trim::MaxLen(140), false, 0), 10);
        assert_eq!(s.first_id, StreamId::new(111, 0));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(200, 0)), false, 0), 89);
        assert_eq!(s.first_entry_id(), StreamId::new(200, 0));
    }

    #[test]
    fn listpack_roundtrip() {
        let mut s = StreamValue::new();
        for i in 1..=30u64 {
            let v = format!("value-{i}");
            let pairs: Vec<&[u8]> = if i % 3 == 0 { vec![b"a", v.as_bytes(), b"b", b"-5000"] } else { vec![b"a", v.as_bytes()] };
            s.append(StreamId::new(1000 + i, i), &pairs).unwrap();
        }
        s.delete(StreamId::new(1003, 3));
        let mut t = StreamValue::new();
        for (m, lp) in s.to_listpacks() {
            t.load_listpack(m, &lp).unwrap();
        }
        let a: Vec<_> = ids(&s);
        assert_eq!(a, ids(&t));
        let e = t.get(StreamId::new(1006, 6)).unwrap();
        assert_eq!(e.fields().collect::<Vec<_>>(), vec![(&b"a"[..], &b"value-6"[..]), (&b"b"[..], &b"-5000"[..])]);
    }

    #[test]
    fn parse_ids() {
        assert_eq!(parse_id(b"5", 7, false, false).unwrap().id, StreamId::new(5, 7));
        assert_eq!(parse_id(b"5-3", 0, false, false).unwrap().id, StreamId::new(5, 3));
        assert!(parse_id(b"-", 0, true, false).is_none());
        assert!(parse_id(b"5-*", 0, false, false).is_none());
        assert!(!parse_id(b"5-*", 0, false, true).unwrap().seq_given);
        assert!(parse_id(b"18446744073709551616", 0, false, false).is_none());
        assert_eq!(parse_id(b"+", 0, false, false).unwrap().id, StreamId::MAX);
    }
}
