//! Packed entry lists: the compact small form of hashes, sets and sorted sets.
//!
//! A packed list is one exact-size byte buffer of entries (no per-entry back-length, no
//! header: the owner keeps the count). Each entry is a tag byte and its payload:
//!
//! | tag            | entry                                                      |
//! |----------------|------------------------------------------------------------|
//! | `0x00..=0x7F`  | integer 0..127 (the tag is the value)                      |
//! | `0x80..=0xBF`  | string of length 0..63                                     |
//! | `0xC0..=0xDF`  | string of length 64..8255 (13 bits: tag low bits, 1 byte)  |
//! | `0xE0`         | string, u32 LE length follows                              |
//! | `0xE1..=0xE8`  | integer in 1..8 bytes, LE, sign-extended                   |
//! | `0xE9..=0xF0`  | double: the top 1..8 bytes of its IEEE bits, rest zero     |
//!
//! Invariant: a string that is a canonical integer (Redis `string2ll`) is always stored
//! as an integer, so an entry equals a query iff both are integers of the same value or
//! both strings with the same bytes (see `Query`). Doubles only appear as zset scores.

use crate::util::numfmt;

/// One decoded entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ele<'a> {
    Str(&'a [u8]),
    Int(i64),
    Dbl(f64),
}

impl<'a> Ele<'a> {
    /// Call `f` with the entry's string form (integers formatted; doubles as %.17g).
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Ele::Str(s) => f(s),
            Ele::Int(i) => f(itoa::Buffer::new().format(i).as_bytes()),
            Ele::Dbl(d) => f(numfmt::fmt_double_17g(d).as_bytes()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Byte length of the string form.
    pub fn str_len(&self) -> usize {
        match *self {
            Ele::Str(s) => s.len(),
            _ => self.with_bytes(|b| b.len()),
        }
    }

    /// The numeric value of a score entry.
    #[inline]
    pub fn as_f64(&self) -> f64 {
        match *self {
            Ele::Int(i) => i as f64,
            Ele::Dbl(d) => d,
            Ele::Str(s) => numfmt::parse_f64(s).unwrap_or(0.0),
        }
    }

    /// Binary comparison of the string forms (memcmp order, as Redis compares members).
    pub fn cmp_bytes(&self, other: &[u8]) -> std::cmp::Ordering {
        self.with_bytes(|b| b.cmp(other))
    }
}

/// A lookup key, pre-classified so comparisons against entries are cheap.
#[derive(Clone, Copy)]
pub struct Query<'a> {
    pub bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Query<'a> {
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Query<'a> {
        Query { bytes, int: as_int(bytes) }
    }

    #[inline]
    pub fn matches(&self, e: &Ele) -> bool {
        match (e, self.int) {
            (Ele::Int(i), Some(q)) => *i == q,
            (Ele::Str(s), None) => *s == self.bytes,
            _ => false,
        }
    }
}

/// The integer a string stands for, if it is canonical (Redis string2ll).
#[inline]
pub fn as_int(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    numfmt::parse_i64(b)
}

/// Decode the entry at `off`; returns it and the offset of the next entry.
#[inline]
pub fn decode(buf: &[u8], off: usize) -> (Ele<'_>, usize) {
    let t = buf[off];
    let p = off + 1;
    match t {
        0x00..=0x7F => (Ele::Int(t as i64), p),
        0x80..=0xBF => {
            let n = (t & 0x3F) as usize;
            (Ele::Str(&buf[p..p + n]), p + n)
        }
        0xC0..=0xDF => {
            let n = ((((t & 0x1F) as usize) << 8) | buf[p] as usize) + 64;
            (Ele::Str(&buf[p + 1..p + 1 + n]), p + 1 + n)
        }
        0xE0 => {
            let n = u32::from_le_bytes(buf[p..p + 4].try_into().unwrap()) as usize;
            (Ele::Str(&buf[p + 4..p + 4 + n]), p + 4 + n)
        }
        0xE1..=0xE8 => {
            let k = (t - 0xE0) as usize;
            let mut b = [0u8; 8];
            b[..k].copy_from_slice(&buf[p..p + k]);
            let shift = 64 - 8 * k as u32;
            let v = (i64::from_le_bytes(b) << shift) >> shift;
            (Ele::Int(v), p + k)
        }
        _ => {
            let k = (t - 0xE8) as usize;
            let mut b = [0u8; 8];
            b[..k].copy_from_slice(&buf[p..p + k]);
            (Ele::Dbl(f64::from_bits(u64::from_be_bytes(b))), p + k)
        }
    }
}

/// Offset just past the entry at `off`, without building it.
#[inline]
pub fn skip(buf: &[u8], off: usize) -> usize {
    decode(buf, off).1
}

fn put_int(out: &mut Vec<u8>, v: i64) {
    if (0..=0x7F).contains(&v) {
        out.push(v as u8);
        return;
    }
    let mut k = 1;
    while k < 8 {
        let shift = 64 - 8 * k as u32;
        if (v << shift) >> shift == v {
            break;
        }
        k += 1;
    }
    out.push(0xE0 + k as u8);
    out.extend_from_slice(&v.to_le_bytes()[..k]);
}

/// Append a string entry (as an integer when it is a canonical one).
pub fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    if let Some(i) = as_int(s) {
        return put_int(out, i);
    }
    let n = s.len();
    if n < 64 {
        out.push(0x80 | n as u8);
    } else if n < 64 + 8192 {
        let m = n - 64;
        out.push(0xC0 | (m >> 8) as u8);
        out.push(m as u8);
    } else {
        out.push(0xE0);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// Append a decoded entry as it is.
pub fn put_ele(out: &mut Vec<u8>, e: &Ele) {
    match *e {
        Ele::Str(s) => put_str(out, s),
        Ele::Int(i) => put_int(out, i),
        Ele::Dbl(d) => put_f64(out, d),
    }
}

/// Append a score: integral values that fit as integers (-0 becomes 0, as in Redis's
/// listpacks), others as trimmed doubles.
pub fn put_f64(out: &mut Vec<u8>, d: f64) {
    if d.fract() == 0.0 && d.abs() < 9.0e18 {
        return put_int(out, d as i64);
    }
    let b = d.to_bits().to_be_bytes();
    let mut k = 8;
    while k > 1 && b[k - 1] == 0 {
        k -= 1;
    }
    out.push(0xE8 + k as u8);
    out.extend_from_slice(&b[..k]);
}

/// Encoded size of a string entry.
pub fn str_size(s: &[u8]) -> usize {
    let mut v = Vec::new();
    if as_int(s).is_some() {
        put_str(&mut v, s);
        return v.len();
    }
    s.len() + if s.len() < 64 { 1 } else if s.len() < 64 + 8192 { 2 } else { 5 }
}

/// Iterator over the entries of a buffer, with their offsets.
pub struct Iter<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (usize, Ele<'a>);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.buf.len() {
            return None;
        }
        let at = self.off;
        let (e, n) = decode(self.buf, at);
        self.off = n;
        Some((at, e))
    }
}

pub fn iter(buf: &[u8]) -> Iter<'_> {
    Iter { buf, off: 0 }
}

/// Iterator over consecutive pairs (field/value, member/score).
pub fn pairs(buf: &[u8]) -> impl Iterator<Item = (usize, Ele<'_>, Ele<'_>)> {
    let mut it = iter(buf);
    std::iter::from_fn(move || {
        let (at, a) = it.next()?;
        let (_, b) = it.next()?;
        Some((at, a, b))
    })
}

/// Replace `buf[range]` with `with`, keeping the buffer exactly sized.
pub fn splice(buf: &mut Box<[u8]>, range: std::ops::Range<usize>, with: &[u8]) {
    let old = std::mem::take(buf);
    let mut v = old.into_vec();
    if with.len() > range.len() {
        v.reserve_exact(with.len() - range.len());
    }
    v.splice(range, with.iter().copied());
    *buf = v.into_boxed_slice();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_entries() {
        let mut v = Vec::new();
        let strs: Vec<Vec<u8>> = vec![
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-1".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"9223372036854775807".to_vec(),
            b"9223372036854775808".to_vec(),
            b"007".to_vec(),
            b"".to_vec(),
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 8255],
            vec![b'w'; 8256],
            vec![b'q'; 70000],
        ];
        for s in &strs {
            put_str(&mut v, s);
        }
        let got: Vec<Vec<u8>> = iter(&v).map(|(_, e)| e.to_vec()).collect();
        assert_eq!(got, strs);
        assert_eq!(str_size(b"hello"), 6);
        assert_eq!(str_size(b"5"), 1);
        assert_eq!(str_size(&[b'a'; 100]), 102);
        for s in &strs {
            let q = Query::new(s);
            assert_eq!(iter(&v).filter(|(_, e)| q.matches(e)).count(), 1);
        }
    }

    #[test]
    fn scores() {
        let vals = [0.0, -0.0, 1.5, -2.0, 0.1, 1e300, f64::INFINITY, f64::NEG_INFINITY, 3.0e18, 1e19, 42.0];
        let mut v = Vec::new();
        for d in vals {
            put_f64(&mut v, d);
        }
        let got: Vec<f64> = iter(&v).map(|(_, e)| e.as_f64()).collect();
        for (a, b) in got.iter().zip(vals) {
            assert_eq!(a.to_bits(), (b + 0.0).to_bits());
        }
        let mut w = Vec::new();
        put_f64(&mut w, 1.5);
        assert_eq!(w.len(), 3);
    }
}
