//! The hash type: a packed list of field/value pairs in insertion order while small (Redis's
//! "listpack" encoding, same thresholds), a `Table` of field -> value once
//! `hash-max-listpack-entries` or `hash-max-listpack-value` is exceeded ("hashtable").
//! As in Redis the conversion is one way.

use super::packed::{self, Ele, Query};
use super::table::{NodePtr, Table};

/// The conversion thresholds (hash-max-listpack-entries / -value).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

enum Repr {
    Small { buf: Box<[u8]>, n: u32 },
    Big(Box<Table>),
}

pub struct HashValue(Repr);

impl HashValue {
    /// The field table of a large hash (for prefetching).
    pub fn table(&self) -> Option<&crate::types::table::Table> {
        match &self.0 {
            Repr::Big(t) => Some(t),
            _ => None,
        }
    }
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

/// Where a field sits in the packed list: field offset, value offset, end of the pair.
struct Slot {
    at: usize,
    val: usize,
    end: usize,
}

impl HashValue {
    pub fn new() -> HashValue {
        HashValue(Repr::Small { buf: Box::new([]), n: 0 })
    }

    /// An empty hash already in table form (when the size is known to exceed the limits).
    pub fn new_big() -> HashValue {
        HashValue(Repr::Big(Box::default()))
    }

    pub fn encoding(&self) -> &'static str {
        match self.0 {
            Repr::Small { .. } => "listpack",
            Repr::Big(_) => "hashtable",
        }
    }

    pub fn is_small(&self) -> bool {
        matches!(self.0, Repr::Small { .. })
    }

    pub fn mem_usage(&self) -> usize {
        32 + match &self.0 {
            Repr::Small { buf, .. } => (buf.len() + 8 + 15) & !15,
            Repr::Big(t) => 32 + t.mem_usage(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small { n, .. } => *n as usize,
            Repr::Big(t) => t.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find(buf: &[u8], field: &[u8]) -> Option<Slot> {
        let q = Query::new(field);
        let mut off = 0;
        while off < buf.len() {
            let (f, v) = packed::decode(buf, off);
            let end = packed::skip(buf, v);
            if q.matches(&f) {
                return Some(Slot { at: off, val: v, end });
            }
            off = end;
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<Ele<'_>> {
        match &self.0 {
            Repr::Small { buf, .. } => Self::find(buf, field).map(|s| packed::decode(buf, s.val).0),
            Repr::Big(t) => t.get(field).map(|n| Ele::Str(n.val())),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.0 {
            Repr::Small { buf, .. } => Self::find(buf, field).is_some(),
            Repr::Big(t) => t.contains(field),
        }
    }

    /// Convert to the table form if any of these strings is longer than `lim.value`
    /// (Redis checks the arguments of a write before applying it).
    pub fn fit_lengths(&mut self, items: &[&[u8]], lim: Limits) {
        if self.is_small() && items.iter().any(|s| s.len() > lim.value) {
            self.convert();
        }
    }

    /// Set a field; true if it is new. Converts past `lim.entries` fields.
    pub fn set(&mut self, field: &[u8], val: &[u8], lim: Limits) -> bool {
        let fresh = match &mut self.0 {
            Repr::Small { buf, n } => {
                let mut enc = Vec::with_capacity(val.len() + 5);
                match Self::find(buf, field) {
                    Some(s) => {
                        packed::put_str(&mut enc, val);
                        packed::splice(buf, s.val..s.end, &enc);
                        false
                    }
                    None => {
                        packed::put_str(&mut enc, field);
                        packed::put_str(&mut enc, val);
                        let end = buf.len();
                        packed::splice(buf, end..end, &enc);
                        *n += 1;
                        true
                    }
                }
            }
            Repr::Big(t) => return t.set(field, val),
        };
        if fresh && self.len() > lim.entries {
            self.convert();
        }
        fresh
    }

    /// Remove a field; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.0 {
            Repr::Small { buf, n } => match Self::find(buf, field) {
                Some(s) => {
                    packed::splice(buf, s.at..s.end, &[]);
                    *n -= 1;
                    true
                }
                None => false,
            },
            Repr::Big(t) => t.remove(field),
        }
    }

    fn convert(&mut self) {
        if let Repr::Small { buf, n } = &self.0 {
            let mut t = Table::with_capacity(*n as usize);
            let mut kb = Vec::new();
            for (_, f, v) in packed::pairs(buf) {
                kb.clear();
                f.with_bytes(|b| kb.extend_from_slice(b));
                v.with_bytes(|vb| t.insert_new(&kb, vb));
            }
            self.0 = Repr::Big(Box::new(t));
        }
    }

    /// Every field/value pair (insertion order while small, table order after).
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(Ele<'a>, Ele<'a>)) {
        match &self.0 {
            Repr::Small { buf, .. } => packed::pairs(buf).for_each(|(_, k, v)| f(k, v)),
            Repr::Big(t) => t.iter().for_each(|n| f(Ele::Str(n.key()), Ele::Str(n.val()))),
        }
    }

    /// The pair at position `i` (0-based, in `for_each` order) of a small hash.
    fn small_nth(buf: &[u8], i: usize) -> (Ele<'_>, Ele<'_>) {
        let (_, k, v) = packed::pairs(buf).nth(i).expect("index in range");
        (k, v)
    }

    /// A uniformly chosen pair.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<(Ele<'_>, Ele<'_>)> {
        match &self.0 {
            Repr::Small { buf, n } => (*n > 0).then(|| Self::small_nth(buf, rng.gen_range(0..*n as usize))),
            Repr::Big(t) => t.random(rng).map(|n: NodePtr| (Ele::Str(n.key()), Ele::Str(n.val()))),
        }
    }

    /// All pairs in a vector (for sampling without replacement).
    pub fn pairs(&self) -> Vec<(Ele<'_>, Ele<'_>)> {
        let mut v = Vec::with_capacity(self.len());
        match &self.0 {
            Repr::Small { buf, .. } => v.extend(packed::pairs(buf).map(|(_, k, x)| (k, x))),
            Repr::Big(t) => v.extend(t.iter().map(|n| (Ele::Str(n.key()), Ele::Str(n.val())))),
        }
        v
    }

    /// One HSCAN step: small hashes return everything with cursor 0, as Redis does for
    /// listpacks; tables walk buckets until `count` pairs were seen.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Ele, Ele)) -> u64 {
        match &self.0 {
            Repr::Small { .. } => {
                self.for_each(f);
                0
            }
            Repr::Big(t) => t.scan(cursor, count, |n| f(Ele::Str(n.key()), Ele::Str(n.val()))),
        }
    }

    /// A deep copy (COPY).
    pub fn clone_deep(&self) -> HashValue {
        match &self.0 {
            Repr::Small { buf, n } => HashValue(Repr::Small { buf: buf.clone(), n: *n }),
            Repr::Big(t) => {
                let mut c = Table::with_capacity(t.len());
                for n in t.iter() {
                    c.insert_new(n.key(), n.val());
                }
                HashValue(Repr::Big(Box::new(c)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits { entries: 4, value: 8 };

    fn get(h: &HashValue, f: &[u8]) -> Option<Vec<u8>> {
        h.get(f).map(|e| e.to_vec())
    }

    #[test]
    fn small_then_table() {
        assert!(std::mem::size_of::<HashValue>() <= 24);
        let mut h = HashValue::new();
        assert!(h.set(b"a", b"1", LIM));
        assert!(h.set(b"b", b"hello", LIM));
        assert!(!h.set(b"a", b"100000", LIM));
        assert_eq!(get(&h, b"a").unwrap(), b"100000");
        assert_eq!(h.encoding(), "listpack");
        let mut order = Vec::new();
        h.for_each(|k, _| order.push(k.to_vec()));
        assert_eq!(order, vec![b"a".to_vec(), b"b".to_vec()]);
        for f in [b"c", b"d", b"e"] {
            h.set(f, b"x", LIM);
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(get(&h, b"b").unwrap(), b"hello");
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 4);
        let mut h2 = HashValue::new();
        h2.fit_lengths(&[b"123456789"], LIM);
        assert_eq!(h2.encoding(), "hashtable");
    }

    #[test]
    fn small_remove_and_ints() {
        let mut h = HashValue::new();
        h.set(b"1", b"-5", LIM);
        h.set(b"x", b"007", LIM);
        assert_eq!(get(&h, b"1").unwrap(), b"-5");
        assert_eq!(get(&h, b"x").unwrap(), b"007");
        assert!(h.get(b"01").is_none());
        assert!(h.remove(b"1"));
        assert_eq!(h.len(), 1);
        assert_eq!(get(&h, b"x").unwrap(), b"007");
    }
}
