//! Command names to table indexes, for the lookup every command makes.
//!
//! Open addressing (linear probing) over a 64-bit FNV-1a hash of the lower-cased name,
//! computed in the same pass that lower-cases it: one pass over the name, no allocation,
//! one slot compare in the common case. The table is at most a quarter full. Removal
//! (rename-command, at start-up only) rebuilds it. Names longer than `MAX_NAME` bytes
//! are never found (no command has one).

pub const MAX_NAME: usize = 32;

#[derive(Default)]
pub struct NameIndex {
    /// (hash, index into `names`/`ids` + 1; 0 = empty)
    slots: Vec<(u64, u32)>,
    names: Vec<Box<[u8]>>,
    ids: Vec<usize>,
}

/// Lower-case `name` into `buf` and hash it; None when it is too long to be a name.
#[inline]
fn fold(name: &[u8], buf: &mut [u8; MAX_NAME]) -> Option<u64> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (d, &s) in buf.iter_mut().zip(name) {
        let c = s.to_ascii_lowercase();
        *d = c;
        h = (h ^ c as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    Some(h)
}

impl NameIndex {
    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The id registered under `name` (any case).
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut buf = [0u8; MAX_NAME];
        let h = fold(name, &mut buf)?;
        let key = &buf[..name.len()];
        let mut i = h as usize & self.mask();
        loop {
            let (sh, e) = self.slots[i];
            if e == 0 {
                return None;
            }
            if sh == h && &*self.names[e as usize - 1] == key {
                return Some(self.ids[e as usize - 1]);
            }
            i = (i + 1) & self.mask();
        }
    }

    pub fn contains_key(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// Register `name` (stored lower-cased) for `id`, replacing an earlier entry.
    pub fn insert(&mut self, name: &[u8], id: usize) {
        let mut buf = [0u8; MAX_NAME];
        let Some(h) = fold(name, &mut buf) else { return };
        let key = &buf[..name.len()];
        if let Some(pos) = self.names.iter().position(|n| &**n == key) {
            self.ids[pos] = id;
            return;
        }
        self.names.push(key.into());
        self.ids.push(id);
        if self.slots.len() < self.names.len() * 4 {
            self.rebuild();
        } else {
            self.place(h, self.names.len() as u32);
        }
    }

    /// Unregister `name`; its id, if it was there.
    pub fn remove(&mut self, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; MAX_NAME];
        fold(name, &mut buf)?;
        let key = &buf[..name.len()];
        let pos = self.names.iter().position(|n| &**n == key)?;
        self.names.remove(pos);
        let id = self.ids.remove(pos);
        self.rebuild();
        Some(id)
    }

    fn place(&mut self, h: u64, entry: u32) {
        let mut i = h as usize & self.mask();
        while self.slots[i].1 != 0 {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = (h, entry);
    }

    fn rebuild(&mut self) {
        let size = (self.names.len() * 4).next_power_of_two().max(16);
        self.slots = vec![(0, 0); size];
        let mut buf = [0u8; MAX_NAME];
        let hashes: Vec<u64> = self.names.iter().map(|n| fold(n, &mut buf).expect("stored names fit")).collect();
        for (e, h) in hashes.into_iter().enumerate() {
            self.place(h, e as u32 + 1);
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
        assert_eq!(ix.names.len(), 500);
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
        assert_eq!(ix.names.len(), 500);
    }
}
