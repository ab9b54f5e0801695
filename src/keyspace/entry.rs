//! A key/value entry: one heap allocation holding the chain link, the value, the LRU/LFU
//! clock, flags, and the key bytes inline after a fixed 40-byte header.
//!
//! Invariants:
//! - the key never changes for the life of an entry (RENAME makes a new entry);
//! - `value` is always a valid `Value` and is dropped exactly once, in `free`;
//! - an entry is owned by exactly one dict chain (or by an `OwnedEntry` after removal),
//!   so raw pointers to it are stable until it is freed: the expire table keys on them.

use super::value::Value;
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ptr::{self, NonNull};

/// The entry has a TTL (it is in the db's expire table).
pub const FLAG_EXPIRE: u32 = 1 << 31;
const LEN_MASK: u32 = !FLAG_EXPIRE;

#[repr(C)]
pub struct Entry {
    pub(crate) next: *mut Entry,
    pub value: Value,
    /// LRU clock (seconds resolution, 24 bits used) or LFU time+counter, as Redis's robj.lru
    /// (see `keyspace::lru`). A `Cell` so read lookups can touch it under the shard lock.
    pub lru: Cell<u32>,
    /// Key length in the low 31 bits, FLAG_EXPIRE in the top bit.
    key_len: u32,
}

const HEADER: usize = std::mem::size_of::<Entry>();
const _: () = assert!(HEADER == 40);

impl Entry {
    fn layout(key_len: usize) -> Layout {
        Layout::from_size_align(HEADER + key_len, 8).expect("entry layout")
    }

    /// Allocate a new entry. Keys are limited to 2^31-1 bytes (proto-max-bulk-len tops at 2^31-1... and
    /// larger keys are refused earlier).
    pub fn alloc(key: &[u8], value: Value, lru: u32) -> NonNull<Entry> {
        assert!(key.len() < (1 << 31));
        let layout = Self::layout(key.len());
        // SAFETY: layout has non-zero size; we initialise every header field and the key bytes.
        unsafe {
            let p = alloc(layout) as *mut Entry;
            if p.is_null() {
                handle_alloc_error(layout);
            }
            ptr::write(p, Entry { next: ptr::null_mut(), value, lru: Cell::new(lru), key_len: key.len() as u32 });
            ptr::copy_nonoverlapping(key.as_ptr(), (p as *mut u8).add(HEADER), key.len());
            NonNull::new_unchecked(p)
        }
    }

    /// Drop the value and release the allocation.
    ///
    /// # Safety
    /// `e` must come from `alloc` and not be used afterwards.
    pub unsafe fn free(e: NonNull<Entry>) {
        let p = e.as_ptr();
        let layout = Self::layout(((*p).key_len & LEN_MASK) as usize);
        ptr::drop_in_place(&mut (*p).value);
        dealloc(p as *mut u8, layout);
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        // SAFETY: the key bytes follow the header in the same allocation.
        unsafe {
            std::slice::from_raw_parts((self as *const Entry as *const u8).add(HEADER), (self.key_len & LEN_MASK) as usize)
        }
    }

    #[inline]
    pub fn has_expire(&self) -> bool {
        self.key_len & FLAG_EXPIRE != 0
    }

    #[inline]
    pub(crate) fn set_has_expire(&mut self, on: bool) {
        if on {
            self.key_len |= FLAG_EXPIRE
        } else {
            self.key_len &= LEN_MASK
        }
    }

    /// Bytes used by the entry allocation itself.
    pub fn alloc_size(&self) -> usize {
        HEADER + (self.key_len & LEN_MASK) as usize
    }
}

/// An entry removed from its dict: frees itself on drop unless taken apart.
pub struct OwnedEntry(NonNull<Entry>);

impl OwnedEntry {
    /// # Safety
    /// `e` must be unlinked from every structure and owned by nobody else.
    pub unsafe fn from_raw(e: NonNull<Entry>) -> OwnedEntry {
        OwnedEntry(e)
    }

    pub fn entry(&self) -> &Entry {
        // SAFETY: we own the entry.
        unsafe { self.0.as_ref() }
    }

    pub fn entry_mut(&mut self) -> &mut Entry {
        // SAFETY: we own the entry.
        unsafe { self.0.as_mut() }
    }

    /// Take the value out, freeing the entry.
    pub fn into_value(self) -> Value {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        // SAFETY: we own p; the value is moved out and the rest deallocated without dropping it again.
        unsafe {
            let v = ptr::read(&(*p).value);
            let layout = Entry::layout(((*p).key_len & LEN_MASK) as usize);
            dealloc(p as *mut u8, layout);
            v
        }
    }

    pub fn into_raw(self) -> NonNull<Entry> {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl Drop for OwnedEntry {
    fn drop(&mut self) {
        // SAFETY: we own the entry.
        unsafe { Entry::free(self.0) }
    }
}

// Entries hold plain data; the shard lock serialises all access.
unsafe impl Send for OwnedEntry {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_roundtrip() {
        let e = Entry::alloc(b"hello", Value::from_bytes(b"world"), 7);
        let mut o = unsafe { OwnedEntry::from_raw(e) };
        assert_eq!(o.entry().key(), b"hello");
        assert!(!o.entry().has_expire());
        o.entry_mut().set_has_expire(true);
        assert!(o.entry().has_expire());
        assert_eq!(o.entry().key(), b"hello");
        let v = o.into_value();
        assert_eq!(&*v.as_bytes().unwrap(), b"world");
    }
}
