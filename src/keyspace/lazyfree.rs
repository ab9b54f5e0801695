//! Freeing big values and whole databases off the request path (Redis's lazyfree):
//! UNLINK, FLUSHDB/FLUSHALL ASYNC and the lazyfree-lazy-* options hand what they removed
//! to one background thread that drops it. The counters are INFO's
//! `lazyfree_pending_objects` and `lazyfreed_objects`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;

/// Values whose free "effort" is above this are freed in the background (Redis's
/// LAZYFREE_THRESHOLD, counted in elements; we count in bytes of heap / 64).
pub const THRESHOLD: usize = 64;

pub static PENDING: AtomicU64 = AtomicU64::new(0);
pub static FREED: AtomicU64 = AtomicU64::new(0);

type Job = Box<dyn Send>;

fn sender() -> &'static Sender<Job> {
    static TX: OnceLock<Sender<Job>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for job in rx {
                    drop(job);
                    PENDING.fetch_sub(1, Relaxed);
                    FREED.fetch_add(1, Relaxed);
                }
            })
            .expect("start lazyfree thread");
        tx
    })
}

/// Free a removed key, in the background if `lazy` and its value is big (Redis's
/// dbAsyncDelete); small values are freed in place either way.
pub fn free_entry(owned: super::entry::OwnedEntry, lazy: bool) {
    if lazy && owned.entry().value.free_effort() > THRESHOLD {
        free_later(owned);
    }
}

/// Drop `x` on the background thread.
pub fn free_later<T: Send + 'static>(x: T) {
    PENDING.fetch_add(1, Relaxed);
    if let Err(e) = sender().send(Box::new(x)) {
        // The thread is gone (process exiting): free here.
        drop(e.0);
        PENDING.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_in_background() {
        let before = FREED.load(Relaxed);
        free_later(vec![0u8; 1 << 20]);
        let t = std::time::Instant::now();
        while FREED.load(Relaxed) == before && t.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(FREED.load(Relaxed) > before);
    }
}
