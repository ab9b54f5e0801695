//! maxmemory: key eviction (Redis's performEvictions) and the OOM verdict for commands.
//!
//! Before each command (when `maxmemory` is set) the dispatcher calls `perform_evictions`:
//! while `used_memory` is over the limit it deletes keys chosen by `maxmemory-policy` —
//! LRU / LFU / TTL by sampling `maxmemory-samples` keys per database and taking the best
//! candidate, random policies one database after the other — each eviction counted in
//! `evicted_keys`, announced as an `evicted` keyspace event, signalled to WATCH / client
//! tracking and propagated as a DEL. Each call is bounded in time by
//! `maxmemory-eviction-tenacity`; what is left is picked up by the next command or the
//! cron. `Fail` (nothing evictable, or `noeviction`) makes deny-oom commands fail with
//! -OOM. Nothing is evicted while clients are paused or a script runs (the dataset must
//! stay static), and CONFIG SET maxmemory schedules a pass (`schedule`) that runs as soon
//! as the command that set it has released its locks.

use crate::commands::{notify, Ks};
use crate::keyspace::lru;
use crate::server::{now_ms, Server};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

/// Redis's maxmemory-policy values (`MAXMEMORY_*`).
const FLAG_ALLKEYS: u32 = 1 << 2;
const VOLATILE_TTL: u32 = 2 << 8;
const VOLATILE_RANDOM: u32 = 3 << 8;
const ALLKEYS_RANDOM: u32 = (6 << 8) | FLAG_ALLKEYS;
const NO_EVICTION: u32 = 7 << 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// Under the limit (or eviction does not apply right now).
    Ok,
    /// Still over the limit with nothing left to evict (or `noeviction`).
    Fail,
}

/// maxmemory in bytes (0: none), for callers without the server at hand (`alloc_allowed`).
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// Record the maxmemory setting (the config refresh).
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes, Relaxed);
}

/// Would allocating `bytes` more keep used memory within maxmemory? (Redis's
/// !overMaxmemoryAfterAlloc; the keyspace dict asks before growing its table.)
pub fn alloc_allowed(bytes: usize) -> bool {
    let max = LIMIT.load(Relaxed);
    max == 0 || crate::util::alloc::used_memory() as u64 + bytes as u64 <= max
}

/// A pass was requested (CONFIG SET maxmemory) and has not run yet.
static PENDING: AtomicBool = AtomicBool::new(false);
/// The next database the random policies start from (Redis's static `next_db`).
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// Ask for an eviction pass outside of the current command (its locks are held).
pub fn schedule() {
    PENDING.store(true, Relaxed);
}

/// Run the pass `schedule` asked for, if any (the dispatcher after a command, the cron).
pub fn run_pending(srv: &Server) {
    // a plain load first: this runs after every command
    if PENDING.load(Relaxed) && PENDING.swap(false, Relaxed) {
        perform_evictions(srv, None);
    }
}

/// Bytes over `maxmemory`, or None when under it (or no limit is set).
fn over_limit(srv: &Server) -> Option<u64> {
    let max = srv.hot.maxmemory.load(Relaxed);
    if max == 0 {
        return None;
    }
    let used = crate::util::alloc::used_memory() as u64;
    (used > max).then(|| used - max)
}

/// Redis's evictionTimeLimitUs: tenacity 0..10 is 0..500 µs, above that it grows
/// geometrically, and 100 means no limit.
fn time_limit_us(tenacity: i64) -> u64 {
    if tenacity <= 10 {
        return 50 * tenacity.max(0) as u64;
    }
    if tenacity < 100 {
        return (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64;
    }
    u64::MAX
}

/// Evict keys until used memory is under `maxmemory`, the time budget is spent, or
/// nothing is left to evict.
/// `me`: the client about to run a command; invalidations of evicted keys it tracks are
/// written into its reply buffer now, before that command's reply (as Redis, which
/// evicts in processCommand).
pub fn perform_evictions(
    srv: &Server,
    me: Option<(&std::sync::Arc<crate::net::client::ClientHandle>, &mut crate::protocol::reply::ReplyBuf)>,
) -> Verdict {
    // the dataset is static while clients are paused or a script runs
    if srv.paused().is_some() || srv.scripting.is_running() {
        return Verdict::Ok;
    }
    let Some(mut to_free) = over_limit(srv) else { return Verdict::Ok };
    let policy = srv.hot.maxmemory_policy.load(Relaxed);
    if policy == NO_EVICTION {
        return Verdict::Fail;
    }
    let (samples, tenacity) = {
        let c = srv.config.read();
        (c.get_i64("maxmemory-samples").max(1) as usize, c.get_i64("maxmemory-eviction-tenacity"))
    };
    let limit_us = time_limit_us(tenacity);
    let lazy = srv.config.read().get_bool("lazyfree-lazy-eviction");
    let start = Instant::now();
    let ks = &srv.keyspace;
    let mut k = Ks::new(srv, ks.lock_all(), 0, now_ms());
    if let Some((h, _)) = &me {
        k.client = h.id;
    }
    let mut freed: u64 = 0;
    let mut evicted = 0u64;
    let mut verdict = Verdict::Ok;
    let mut rng = rand::thread_rng();
    while freed < to_free {
        let Some((si, dbi, key)) = pick(&mut k, policy, samples, &mut rng) else {
            verdict = Verdict::Fail;
            break;
        };
        let before = crate::util::alloc::used_memory() as i64;
        if let Some(old) = k.locks.shard(si).dbs[dbi].remove(&key) {
            crate::keyspace::lazyfree::free_entry(old, lazy);
        }
        freed = freed.saturating_add((before - crate::util::alloc::used_memory() as i64).max(0) as u64);
        evicted += 1;
        srv.stats.evicted_keys.fetch_add(1, Relaxed);
        k.signal_modified_at(dbi, &key);
        k.notify_at(dbi, notify::EVICTED, "evicted", &key);
        if k.record {
            k.ops.push((dbi, vec![b"DEL".to_vec(), key]));
        }
        if evicted % 16 == 0 {
            // lazily freed values leave the counter later: look at the real figure
            match over_limit(srv) {
                None => break,
                Some(n) => to_free = n.min(to_free),
            }
            if start.elapsed().as_micros() as u64 > limit_us {
                // over budget: the next command (or the cron) goes on
                schedule();
                break;
            }
        }
    }
    crate::dispatch::propagate_background(srv, &mut k);
    let pending = std::mem::take(&mut k.track_pending);
    drop(k);
    if let (Some((h, out)), false) = (me, pending.is_empty()) {
        crate::tracking::flush_pending(srv, h, pending, out);
    }
    srv.latency_add("eviction-cycle", start.elapsed().as_millis() as u64);
    verdict
}

/// The key to evict next: (shard, db, key), or None when no key is evictable.
fn pick(k: &mut Ks, policy: u32, samples: usize, rng: &mut impl rand::Rng) -> Option<(usize, usize, Vec<u8>)> {
    let ks = &k.srv.keyspace;
    let (nshards, ndbs) = (ks.nshards(), ks.ndbs);
    let allkeys = policy & FLAG_ALLKEYS != 0;
    if policy == ALLKEYS_RANDOM || policy == VOLATILE_RANDOM {
        for _ in 0..nshards * ndbs {
            let i = NEXT_DB.fetch_add(1, Relaxed) % (nshards * ndbs);
            let (si, dbi) = (i % nshards, i / nshards);
            let db = &k.locks.shard(si).dbs[dbi];
            let e = if allkeys { db.dict.random(rng) } else { db.random_volatile(rng).map(|x| x.0) };
            if let Some(e) = e {
                return Some((si, dbi, e.key().to_vec()));
            }
        }
        return None;
    }
    // LRU / LFU / TTL: the best of `samples` keys of every database
    let now = k.now;
    let decay = k.srv.hot.lfu_decay_time.load(Relaxed);
    let mut best: Option<(u64, usize, usize, Vec<u8>)> = None;
    for si in 0..nshards {
        for dbi in 0..ndbs {
            let db = &k.locks.shard(si).dbs[dbi];
            let n = if allkeys { db.len() } else { db.expires_len() };
            if n == 0 {
                continue;
            }
            for _ in 0..samples.min(n) {
                let (e, deadline) = if allkeys {
                    match db.dict.random(rng) {
                        Some(e) => (e, 0),
                        None => break,
                    }
                } else {
                    match db.random_volatile(rng) {
                        Some(x) => x,
                        None => break,
                    }
                };
                let score = if policy == VOLATILE_TTL {
                    u64::MAX - deadline.max(0) as u64
                } else if policy & lru::POLICY_FLAG_LFU != 0 {
                    255 - lru::lfu_decayed(e.lru.get(), now, decay) as u64
                } else {
                    lru::idle_ms(e.lru.get(), now)
                };
                if best.as_ref().map_or(true, |b| score > b.0) {
                    best = Some((score, si, dbi, e.key().to_vec()));
                }
            }
        }
    }
    best.map(|(_, si, dbi, key)| (si, dbi, key))
}

#[cfg(test)]
mod tests {
    use super::time_limit_us;

    #[test]
    fn tenacity_time_limits() {
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(11), 575);
        assert_eq!(time_limit_us(100), u64::MAX);
    }
}
