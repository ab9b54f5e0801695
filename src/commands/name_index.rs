//! Command names to table indexes, for the lookup every command makes.
//!
//! A name of up to `MAX_NAME` bytes is packed into four little-endian words, lower-cased
//! eight bytes at a time (SWAR: only `A`-`Z` change, bytes >= 0x80 are left alone, as
//! `to_ascii_lowercase`), and zero-padded. The words are the key: hashing is one multiply
//! per word used, and a probe compares words, with no byte loop and no memcmp call.
//! Open addressing with linear probing; the table is at most a quarter full. Removal
//! (rename-command, at start-up only) rebuilds it. Names longer than `MAX_NAME` bytes
//! are never found (no command has one).

pub const MAX_NAME: usize = 32;

/// The packed words and the length (a NUL byte is part of a name, not padding).
type Key = ([u64; 4], usize);

#[derive(Default)]
pub struct NameIndex {
    /// (first word of the key, entry + 1); 0 = empty slot.
    slots: Vec<(u64, u32)>,
    keys: Vec<Key>,
    ids: Vec<usize>,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// ASCII lower-case of the eight bytes of `w`.
#[inline]
fn lower_word(w: u64) -> u64 {
    let low7 = w & !HIGH;
    let above_z = low7.wrapping_add(ONES * (0x7f - b'Z' as u64));
    let from_a = low7.wrapping_add(ONES * (0x80 - b'A' as u64));
    let upper = from_a & !above_z & !w & HIGH;
    w | (upper >> 2)
}

/// The key of a name, or None if it is too long or empty.
#[inline]
fn key_of(name: &[u8]) -> Option<Key> {
    let n = name.len();
    if n == 0 || n > MAX_NAME {
        return None;
    }
    let mut k = [0u64; 4];
    let full = n / 8;
    for (i, chunk) in name.chunks_exact(8).enumerate() {
        k[i] = lower_word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
    }
    let tail = &name[full * 8..];
    if !tail.is_empty() {
        k[full] = lower_word(load_short(tail));
    }
    Some((k, n))
}

/// A name of 1 to 8 bytes as a little-endian word, as sent (not lower-cased).
#[inline]
pub fn raw_word(name: &[u8]) -> Option<u64> {
    match name.len() {
        1..=7 => Some(load_short(name)),
        8 => Some(u64::from_le_bytes(name.try_into().expect("8 bytes"))),
        _ => None,
    }
}

/// 1 to 7 bytes as a little-endian word, by two overlapping loads (the bytes they share
/// land on the same positions, so OR-ing them is exact).
#[inline]
fn load_short(t: &[u8]) -> u64 {
    let n = t.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as u64;
        let hi = u32::from_le_bytes([t[n - 4], t[n - 3], t[n - 2], t[n - 1]]) as u64;
        lo | (hi << (8 * (n - 4)))
    } else {
        (t[0] as u64) | ((t[n / 2] as u64) << (8 * (n / 2))) | ((t[n - 1] as u64) << (8 * (n - 1)))
    }
}

#[inline]
fn hash((k, n): &Key) -> u64 {
    let h = (k[0] ^ *n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let h = h ^ (k[1] ^ (k[2].rotate_left(21)) ^ k[3].rotate_left(42)).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    h ^ (h >> 29)
}

impl NameIndex {
    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let k = key_of(name)?;
        let mut i = hash(&k) as usize & self.mask();
        loop {
            let (w0, e) = self.slots[i];
            if e == 0 {
                return None;
            }
            if w0 == k.0[0] && self.keys[e as usize - 1] == k {
                return Some(self.ids[e as usize - 1]);
            }
            i = (i + 1) & self.mask();
        }
    }

    pub fn contains_key(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    pub fn insert(&mut self, name: &[u8], id: usize) {
        let Some(k) = key_of(name) else { return };
        if let Some(pos) = self.keys.iter().position(|x| *x == k) {
            self.ids[pos] = id;
            return;
        }
        self.keys.push(k);
        self.ids.push(id);
        if self.slots.len() < self.keys.len() * 4 {
            self.rebuild();
        } else {
            self.place(self.keys.len() - 1);
        }
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<usize> {
        let k = key_of(name)?;
        let pos = self.keys.iter().position(|x| *x == k)?;
        self.keys.remove(pos);
        let id = self.ids.remove(pos);
        self.rebuild();
        Some(id)
    }

    fn place(&mut self, entry: usize) {
        let k = self.keys[entry];
        let mut i = hash(&k) as usize & self.mask();
        while self.slots[i].1 != 0 {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = (k.0[0], entry as u32 + 1);
    }

    fn rebuild(&mut self) {
        let size = (self.keys.len() * 4).next_power_of_two().max(16);
        self.slots = vec![(0, 0); size];
        for e in 0..self.keys.len() {
            self.place(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_any_case() {
        let mut ix = NameIndex::default();
        let names: Vec<String> = (0..500).map(|i| format!("cmd{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            ix.insert(n.as_bytes(), i);
        }
        assert_eq!(ix.keys.len(), 500);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(ix.get(n.to_uppercase().as_bytes()), Some(i));
        }
        assert_eq!(ix.get(b"cmd500"), None);
        assert_eq!(ix.get(b""), None);
        assert_eq!(ix.get(&[b'a'; 40]), None);
        assert_eq!(ix.remove(b"CMD7"), Some(7));
        assert_eq!(ix.get(b"cmd7"), None);
        assert_eq!(ix.get(b"cmd8"), Some(8));
        ix.insert(b"Renamed", 7);
        assert_eq!(ix.get(b"renamed"), Some(7));
        ix.insert(b"renamed", 9);
        assert_eq!(ix.get(b"RENAMED"), Some(9));
        assert_eq!(ix.keys.len(), 500);
    }

    #[test]
    fn load_short_packs_every_length() {
        for n in 1..8 {
            let t: Vec<u8> = (0..n).map(|i| 0x41 + i as u8).collect();
            let mut want = [0u8; 8];
            want[..n].copy_from_slice(&t);
            assert_eq!(load_short(&t), u64::from_le_bytes(want), "length {n}");
        }
    }

    #[test]
    fn lower_word_is_ascii_lowercase_for_every_byte() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b, b'Q', 0xc3, b'@', b'[', b'z', 0xff, b'A']);
            let want = u64::from_le_bytes([b.to_ascii_lowercase(), b'q', 0xc3, b'@', b'[', b'z', 0xff, b'a']);
            assert_eq!(lower_word(w), want, "byte {b:#x}");
        }
    }

    #[test]
    fn names_of_every_length_and_case() {
        let mut ix = NameIndex::default();
        let names: Vec<Vec<u8>> = (1..=MAX_NAME).map(|n| (0..n).map(|i| b'a' + (i * 7 % 26) as u8).collect()).collect();
        for (i, n) in names.iter().enumerate() {
            ix.insert(n, i);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(ix.get(&n.to_ascii_uppercase()), Some(i));
            let mut longer = n.clone();
            longer.push(b'x');
            if longer.len() <= MAX_NAME && !names.contains(&longer) {
                assert_eq!(ix.get(&longer), None);
            }
            // a NUL byte is part of the name, not padding
            let mut nul = n.clone();
            nul.push(0);
            assert_eq!(ix.get(&nul), None);
        }
        assert_eq!(ix.get(b"\xc3\xa9"), None);
    }
}
