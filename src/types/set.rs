//! The set type. Redis 7.0 has two encodings: "intset" (sorted integers, up to
//! `set-max-intset-entries`) and "hashtable". We keep three representations:
//! - `Ints`: Redis's intset, stored as sorted integers bit-packed as deltas (see `ints`);
//! - `Small`: a packed list of up to `SMALL_MAX` short members (Redis says "hashtable");
//! - `Big`: a `Table`.
//!
//! Like Redis, once a set is "hashtable" it never becomes an intset again.

use super::packed::{self, Ele, Query};
use super::table::Table;

/// Most members a `Small` set holds, and its longest member.
const SMALL_MAX: usize = 128;
const SMALL_MEMBER_MAX: usize = 64;

enum Repr {
    Ints { buf: Box<[u8]>, n: u32 },
    Small { buf: Box<[u8]>, n: u32 },
    Big(Box<Table>),
}

pub struct SetValue(Repr);

impl SetValue {
    /// The member table of a large set (for prefetching).
    pub fn table(&self) -> Option<&crate::types::table::Table> {
        match &self.0 {
            Repr::Big(t) => Some(t),
            _ => None,
        }
    }
}

/// Sorted distinct integers as: width byte, zigzag-varint first value, then each
/// `gap - 1` to the next value in `width` bits (LSB first). Consecutive runs cost 0 bits.
pub mod ints {
    fn zigzag(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }
    fn unzigzag(u: u64) -> i64 {
        ((u >> 1) as i64) ^ -((u & 1) as i64)
    }

    /// Encode sorted distinct values.
    pub fn encode(vals: &[i64]) -> Box<[u8]> {
        let Some(&first) = vals.first() else { return Box::new([]) };
        let max_gap = vals.windows(2).map(|w| (w[1] as u64).wrapping_sub(w[0] as u64) - 1).max().unwrap_or(0);
        let width = 64 - max_gap.leading_zeros();
        let mut out = Vec::with_capacity(11 + (vals.len() * width as usize).div_ceil(8));
        out.push(width as u8);
        let mut z = zigzag(first);
        loop {
            if z < 0x80 {
                out.push(z as u8);
                break;
            }
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        let mut acc: u128 = 0;
        let mut bits = 0u32;
        for w in vals.windows(2) {
            let gap = (w[1] as u64).wrapping_sub(w[0] as u64) - 1;
            acc |= (gap as u128) << bits;
            bits += width;
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
        if bits > 0 {
            out.push(acc as u8);
        }
        out.into_boxed_slice()
    }

    /// Streaming decoder over `n` values.
    pub struct Iter<'a> {
        buf: &'a [u8],
        left: u32,
        cur: i64,
        width: u32,
        pos: usize,
        first: bool,
    }

    pub fn iter(buf: &[u8], n: u32) -> Iter<'_> {
        if n == 0 {
            return Iter { buf, left: 0, cur: 0, width: 0, pos: 0, first: true };
        }
        let width = buf[0] as u32;
        let mut z: u64 = 0;
        let mut i = 1;
        let mut shift = 0;
        loop {
            let b = buf[i];
            z |= ((b & 0x7F) as u64) << shift;
            i += 1;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        Iter { buf, left: n, cur: unzigzag(z), width, pos: i * 8, first: true }
    }

    impl Iterator for Iter<'_> {
        type Item = i64;
        #[inline]
        fn next(&mut self) -> Option<i64> {
            if self.left == 0 {
                return None;
            }
            self.left -= 1;
            if self.first {
                self.first = false;
                return Some(self.cur);
            }
            let mut gap: u64 = 0;
            if self.width > 0 {
                let start = self.pos / 8;
                let shift = self.pos % 8;
                let nbytes = (shift + self.width as usize).div_ceil(8);
                let mut v: u128 = 0;
                for (k, &b) in self.buf[start..start + nbytes].iter().enumerate() {
                    v |= (b as u128) << (8 * k);
                }
                gap = ((v >> shift) & ((1u128 << self.width) - 1)) as u64;
                self.pos += self.width as usize;
            }
            self.cur = (self.cur as u64).wrapping_add(gap).wrapping_add(1) as i64;
            Some(self.cur)
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.left as usize, Some(self.left as usize))
        }
    }

    pub fn contains(buf: &[u8], n: u32, v: i64) -> bool {
        for x in iter(buf, n) {
            if x >= v {
                return x == v;
            }
        }
        false
    }
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::new_ints()
    }
}

impl SetValue {
    /// An empty intset (Redis creates one when the first member is an integer).
    pub fn new_ints() -> SetValue {
        SetValue(Repr::Ints { buf: Box::new([]), n: 0 })
    }

    /// An empty "hashtable" set.
    pub fn new_table() -> SetValue {
        SetValue(Repr::Small { buf: Box::new([]), n: 0 })
    }

    /// Redis's setTypeCreate: an intset if the first member is an integer.
    pub fn for_first(member: &[u8]) -> SetValue {
        if packed::as_int(member).is_some() {
            SetValue::new_ints()
        } else {
            SetValue::new_table()
        }
    }

    /// A set of these members (duplicates allowed), encoded as Redis would after adding
    /// them one by one to an empty intset (SINTERSTORE, SUNIONSTORE, SDIFFSTORE).
    pub fn from_members<'a>(members: impl IntoIterator<Item = Ele<'a>>, max_intset: usize) -> SetValue {
        let eles: Vec<Ele> = members.into_iter().collect();
        let mut s = SetValue::new_ints();
        if eles.iter().all(|e| matches!(e, Ele::Int(_)) || e.with_bytes(|b| packed::as_int(b).is_some())) {
            let mut v: Vec<i64> =
                eles.iter().map(|e| e.with_bytes(|b| packed::as_int(b).unwrap_or_default())).collect();
            v.sort_unstable();
            v.dedup();
            if v.len() <= max_intset {
                s.0 = Repr::Ints { n: v.len() as u32, buf: ints::encode(&v) };
                return s;
            }
        }
        s = SetValue::new_table();
        for e in eles {
            e.with_bytes(|b| s.add(b, max_intset));
        }
        s
    }

    pub fn encoding(&self) -> &'static str {
        match self.0 {
            Repr::Ints { .. } => "intset",
            _ => "hashtable",
        }
    }

    pub fn mem_usage(&self) -> usize {
        32 + match &self.0 {
            Repr::Ints { buf, .. } | Repr::Small { buf, .. } => (buf.len() + 8 + 15) & !15,
            Repr::Big(t) => 32 + t.mem_usage(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Ints { n, .. } | Repr::Small { n, .. } => *n as usize,
            Repr::Big(t) => t.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn small_find(buf: &[u8], m: &[u8]) -> Option<(usize, usize)> {
        let q = Query::new(m);
        packed::iter(buf).find(|(_, e)| q.matches(e)).map(|(at, _)| (at, packed::skip(buf, at)))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.0 {
            Repr::Ints { buf, n } => packed::as_int(m).is_some_and(|v| ints::contains(buf, *n, v)),
            Repr::Small { buf, .. } => Self::small_find(buf, m).is_some(),
            Repr::Big(t) => t.contains(m),
        }
    }

    /// Add one member; true if it is new.
    pub fn add(&mut self, m: &[u8], max_intset: usize) -> bool {
        self.add_many(&[m], max_intset) == 1
    }

    /// Add members (SADD); returns how many were new.
    pub fn add_many(&mut self, ms: &[&[u8]], max_intset: usize) -> usize {
        if let Repr::Ints { buf, n } = &mut self.0 {
            let mut vals: Vec<i64> = ints::iter(buf, *n).collect();
            let mut added = 0;
            let mut rest = ms.len();
            for m in ms {
                let Some(v) = packed::as_int(m) else { break };
                if vals.len() > max_intset {
                    break; // becoming a table anyway: stop the O(n) inserts here
                }
                if let Err(i) = vals.binary_search(&v) {
                    vals.insert(i, v);
                    added += 1;
                }
                rest -= 1;
            }
            *n = vals.len() as u32;
            *buf = ints::encode(&vals);
            if rest == 0 && vals.len() <= max_intset {
                return added;
            }
            self.convert(vals.len() + rest);
            return added + self.add_many(&ms[ms.len() - rest..], max_intset);
        }
        let mut added = 0;
        for (i, m) in ms.iter().enumerate() {
            match &mut self.0 {
                Repr::Small { buf, n } => {
                    if Self::small_find(buf, m).is_some() {
                        continue;
                    }
                    if *n as usize >= SMALL_MAX || m.len() > SMALL_MEMBER_MAX {
                        self.convert(ms.len() - i + SMALL_MAX);
                        added += self.add_many(&ms[i..], max_intset);
                        return added;
                    }
                    let mut enc = Vec::with_capacity(m.len() + 2);
                    packed::put_str(&mut enc, m);
                    let end = buf.len();
                    packed::splice(buf, end..end, &enc);
                    *n += 1;
                    added += 1;
                }
                Repr::Big(t) => {
                    if !t.contains(m) {
                        t.insert_new(m, &[]);
                        added += 1;
                    }
                }
                Repr::Ints { .. } => unreachable!(),
            }
        }
        added
    }

    /// Leave the intset / small forms for the next bigger one that fits `hint` members.
    fn convert(&mut self, hint: usize) {
        let eles: Vec<Vec<u8>> = match &self.0 {
            Repr::Big(_) => return,
            Repr::Small { n, .. } if (*n as usize) < SMALL_MAX && hint <= SMALL_MAX => return,
            _ => self.elements().iter().map(|e| e.to_vec()).collect(),
        };
        let small = matches!(self.0, Repr::Ints { .. })
            && hint <= SMALL_MAX
            && eles.iter().all(|e| e.len() <= SMALL_MEMBER_MAX);
        if small {
            let mut buf = Vec::new();
            for e in &eles {
                packed::put_str(&mut buf, e);
            }
            self.0 = Repr::Small { n: eles.len() as u32, buf: buf.into_boxed_slice() };
        } else {
            let mut t = Table::with_capacity(hint);
            for e in &eles {
                t.insert_new(e, &[]);
            }
            self.0 = Repr::Big(Box::new(t));
        }
    }

    /// Remove members (SREM); returns how many were there.
    pub fn remove_many(&mut self, ms: &[&[u8]]) -> usize {
        match &mut self.0 {
            Repr::Ints { buf, n } => {
                let mut vals: Vec<i64> = ints::iter(buf, *n).collect();
                let before = vals.len();
                for m in ms {
                    if let Some(v) = packed::as_int(m) {
                        if let Ok(i) = vals.binary_search(&v) {
                            vals.remove(i);
                        }
                    }
                }
                *n = vals.len() as u32;
                *buf = ints::encode(&vals);
                before - vals.len()
            }
            Repr::Small { buf, n } => {
                let mut k = 0;
                for m in ms {
                    if let Some((a, b)) = Self::small_find(buf, m) {
                        packed::splice(buf, a..b, &[]);
                        *n -= 1;
                        k += 1;
                    }
                }
                k
            }
            Repr::Big(t) => ms.iter().filter(|m| t.remove(m)).count(),
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.remove_many(&[m]) == 1
    }

    /// Every member (intsets in ascending order).
    pub fn elements(&self) -> Vec<Ele<'_>> {
        let mut v = Vec::with_capacity(self.len());
        match &self.0 {
            Repr::Ints { buf, n } => v.extend(ints::iter(buf, *n).map(Ele::Int)),
            Repr::Small { buf, .. } => v.extend(packed::iter(buf).map(|(_, e)| e)),
            Repr::Big(t) => v.extend(t.iter().map(|n| Ele::Str(n.key()))),
        }
        v
    }

    pub fn for_each<'a>(&'a self, mut f: impl FnMut(Ele<'a>)) {
        match &self.0 {
            Repr::Ints { buf, n } => ints::iter(buf, *n).for_each(|i| f(Ele::Int(i))),
            Repr::Small { buf, .. } => packed::iter(buf).for_each(|(_, e)| f(e)),
            Repr::Big(t) => t.iter().for_each(|n| f(Ele::Str(n.key()))),
        }
    }

    /// A random member.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<Ele<'_>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        match &self.0 {
            Repr::Ints { buf, n } => ints::iter(buf, *n).nth(rng.gen_range(0..*n as usize)).map(Ele::Int),
            Repr::Small { buf, .. } => packed::iter(buf).nth(rng.gen_range(0..n)).map(|(_, e)| e),
            Repr::Big(t) => t.random(rng).map(|x| Ele::Str(x.key())),
        }
    }

    /// One SSCAN step (small encodings: everything, cursor 0).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Ele)) -> u64 {
        match &self.0 {
            Repr::Big(t) => t.scan(cursor, count, |n| f(Ele::Str(n.key()))),
            _ => {
                self.for_each(f);
                0
            }
        }
    }

    pub fn clone_deep(&self) -> SetValue {
        SetValue(match &self.0 {
            Repr::Ints { buf, n } => Repr::Ints { buf: buf.clone(), n: *n },
            Repr::Small { buf, n } => Repr::Small { buf: buf.clone(), n: *n },
            Repr::Big(t) => {
                let mut c = Table::with_capacity(t.len());
                t.iter().for_each(|x| {
                    c.insert_new(x.key(), &[]);
                });
                Repr::Big(Box::new(c))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &SetValue) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.elements().iter().map(|e| e.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn int_codec() {
        for vals in [
            vec![],
            vec![5],
            (0..100).collect::<Vec<i64>>(),
            vec![i64::MIN, -1, 0, 1, i64::MAX],
            (0..300).map(|i| i * 7919 - 1_000_000).collect(),
        ] {
            let b = ints::encode(&vals);
            let got: Vec<i64> = ints::iter(&b, vals.len() as u32).collect();
            assert_eq!(got, vals);
            for v in &vals {
                assert!(ints::contains(&b, vals.len() as u32, *v));
            }
            assert!(!ints::contains(&b, vals.len() as u32, 4_000_000_000_000));
        }
        assert_eq!(ints::encode(&(0..100).collect::<Vec<i64>>()).len(), 2);
    }

    #[test]
    fn encodings_and_conversions() {
        assert!(std::mem::size_of::<SetValue>() <= 24);
        let mut s = SetValue::for_first(b"1");
        assert_eq!(s.add_many(&[b"3", b"1", b"2", b"3"], 512), 3);
        assert_eq!(s.encoding(), "intset");
        assert_eq!(members(&s), vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
        assert_eq!(s.add_many(&[b"4", b"x", b"5"], 512), 3);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 6);
        assert!(s.contains(b"5") && s.contains(b"x") && !s.contains(b"05"));
        assert_eq!(s.remove_many(&[b"x", b"1", b"nope"]), 2);
        assert_eq!(s.encoding(), "hashtable");
        let mut big = SetValue::new_table();
        for i in 0..300 {
            big.add(format!("m{i}").as_bytes(), 512);
        }
        assert_eq!(big.len(), 300);
        assert!(big.contains(b"m299"));
        let mut t = SetValue::new_ints();
        for i in 0..5 {
            t.add(format!("{i}").as_bytes(), 3);
        }
        assert_eq!(t.encoding(), "hashtable");
        assert_eq!(t.len(), 5);
        // a huge SADD of integers leaves the intset early instead of inserting into it
        let many: Vec<Vec<u8>> = (0..200_000).rev().map(|i: i64| i.to_string().into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|m| m.as_slice()).collect();
        let mut m = SetValue::new_ints();
        let t0 = std::time::Instant::now();
        assert_eq!(m.add_many(&refs, 512), 200_000);
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(m.encoding(), "hashtable");
        assert!(m.contains(b"0") && m.contains(b"199999"));
        let f = SetValue::from_members([Ele::Int(3), Ele::Str(b"3"), Ele::Int(1)], 512);
        assert_eq!(f.encoding(), "intset");
        assert_eq!(f.len(), 2);
    }
}
