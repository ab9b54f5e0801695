//! A counting global allocator: the server's `used_memory` (Redis's zmalloc_used_memory).
//!
//! Every allocation adds its size to one of a few cache-line-padded counters (each
//! thread picks one once, so threads do not fight over a line), every free subtracts it;
//! `used_memory` sums them. The binary installs it with `#[global_allocator]`; when it
//! is not installed (unit tests) `used_memory` reports 0 and callers fall back to RSS.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

const SLOTS: usize = 16;

#[repr(align(64))]
struct Slot(AtomicIsize);

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Slot = Slot(AtomicIsize::new(0));
static COUNTERS: [Slot; SLOTS] = [ZERO; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn slot() -> &'static AtomicIsize {
    let i = MY_SLOT
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT_SLOT.fetch_add(1, Relaxed) % SLOTS;
                s.set(i);
            }
            i
        })
        .unwrap_or(0);
    &COUNTERS[i].0
}

pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            slot().fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        slot().fetch_sub(layout.size() as isize, Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            slot().fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        p
    }
}

/// Called once by the binary that installs `Counting` as its global allocator.
pub fn mark_installed() {
    INSTALLED.store(true, Relaxed);
}

/// Bytes currently allocated through the counting allocator (0 if not installed).
pub fn used_memory() -> u64 {
    if !INSTALLED.load(Relaxed) {
        return 0;
    }
    COUNTERS
        .iter()
        .map(|c| c.0.load(Relaxed))
        .sum::<isize>()
        .max(0) as u64
}
