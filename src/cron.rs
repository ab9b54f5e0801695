//! The server cron (Redis's serverCron), run by worker 0 `hz` times per second:
//! active expiry of volatile keys, incremental rehashing and table shrinking,
//! instantaneous ops/s sampling.
//!
//! Active expiry follows Redis's slow cycle: each (shard, database) in turn, resuming where
//! the previous cycle stopped, samples up to 20 volatile keys (more with
//! active-expire-effort) walking the volatile list with a cursor, deletes the expired
//! ones, and repeats while more than 10% of the sample had expired. The cycle stops when
//! its time budget (25% of a cron period) is spent. A shard is locked only for one
//! sampling round, so clients are served in between. Nothing expires actively while
//! clients are paused or when `DEBUG SET-ACTIVE-EXPIRE 0` cleared `hot.active_expire`.

use crate::commands::Ks;
use crate::server::{now_ms, Server};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP, _SLOW_TIME_PERC, _ACCEPTABLE_STALE.
const KEYS_PER_LOOP: usize = 20;
const SLOW_TIME_PERC: u64 = 25;
const ACCEPTABLE_STALE: usize = 10;

/// How long the cron waits for a shard lock before leaving that shard for the next cycle
/// (the cron must never wait for a long-running command: it serves worker 0's clients).
const LOCK_WAIT: Duration = Duration::from_millis(2);

/// Next (shard, db) pair to work on, as `shard * ndbs + db`.
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

pub fn server_cron(srv: &Server) {
    crate::server::resync_clock();
    // A running script holds the shard locks of its command for as long as it runs (until
    // SCRIPT KILL): like Redis, whose cron does not run under a busy script, skip the
    // cycle rather than block this worker's clients behind those locks.
    if srv.introspect.cron_paused.load(Relaxed) || srv.scripting.run.running.load(Relaxed) {
        return;
    }
    // While the dataset loads nothing expires, rehashes or saves (Redis runs only its
    // whileBlockedCron then).
    if srv.persist.loading.load(Relaxed) {
        return;
    }
    srv.cron_loops.fetch_add(1, Relaxed);
    let hz = srv.hot.hz.load(Relaxed).max(1) as u64;
    if srv.hot.active_expire_enabled() && !srv.repl.is_replica() {
        let effort = (srv.config.read().get_i64("active-expire-effort").clamp(1, 10) - 1) as u64;
        let perc = SLOW_TIME_PERC + 2 * effort;
        active_expire_cycle(
            srv,
            Duration::from_micros((perc * 1_000_000 / hz / 100).max(1)),
            effort as usize,
        );
    }
    for shard in srv.keyspace.shards.iter() {
        // a shard busy with a command (a script, EXEC) is left for the next cycle
        let Some(mut s) = shard.try_lock_for(LOCK_WAIT) else { continue };
        for db in s.dbs.iter_mut() {
            db.dict.shrink_if_needed();
            if db.dict.is_rehashing() {
                db.dict.rehash_ms(1);
            }
        }
    }
    // eviction left over by a pass that ran out of time, or a CONFIG SET maxmemory
    crate::evict::run_pending(srv);
    // keep the client-tracking table within tracking-table-max-keys
    crate::tracking::limit(srv, &mut None);
    crate::commands::server_cmds::sample_ops(srv);
    crate::persist::cron(srv);
    crate::persist::aof::cron(srv);
    crate::commands::replication::cron(srv);
    crate::shutdown::cron(srv);
}

/// One slow active-expiry cycle within `budget`; `effort` is active-expire-effort - 1.
pub fn active_expire_cycle(srv: &Server, budget: Duration, effort: usize) {
    // a paused dataset is static: no expiry either
    if srv.paused().is_some() {
        return;
    }
    let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
    let acceptable_stale = ACCEPTABLE_STALE - effort;
    let start = Instant::now();
    let ks = &srv.keyspace;
    let pairs = ks.nshards() * ks.ndbs;
    let (mut total_sampled, mut total_expired) = (0usize, 0usize);
    let mut timed_out = false;
    'dbs: for _ in 0..pairs {
        let idx = NEXT_DB.fetch_add(1, Relaxed) % pairs;
        let (si, dbi) = (idx / ks.ndbs, idx % ks.ndbs);
        loop {
            let Some(g) = ks.shards[si].try_lock_for(LOCK_WAIT) else { break };
            let locks = crate::keyspace::LockSet { guards: smallvec::smallvec![(si, g)] };
            let mut k = Ks::new(srv, locks, dbi, now_ms());
            let Some((sampled, expired)) = expire_round(&mut k, si, dbi, keys_per_loop) else {
                break;
            };
            crate::dispatch::propagate_background(srv, &mut k);
            drop(k);
            total_sampled += sampled;
            total_expired += expired;
            if start.elapsed() > budget {
                timed_out = true;
                break 'dbs;
            }
            if expired * 100 / sampled <= acceptable_stale {
                break;
            }
        }
    }
    let elapsed = start.elapsed();
    let st = &srv.stats;
    if timed_out {
        st.expired_time_cap_reached_count.fetch_add(1, Relaxed);
    }
    st.expire_cycle_us.fetch_add(elapsed.as_micros() as u64, Relaxed);
    srv.latency_add("expire-cycle", elapsed.as_millis() as u64);
    // Running estimate of the stale fraction, this sample weighing 5%.
    let cur = if total_sampled > 0 {
        total_expired as f64 / total_sampled as f64
    } else {
        0.0
    };
    let prev = f64::from_bits(st.expired_stale_perc.load(Relaxed));
    st.expired_stale_perc
        .store((cur * 0.05 + prev * 0.95).to_bits(), Relaxed);
}

/// One sampling round in one db: check up to `n` volatile keys from the db's cursor,
/// delete the expired ones. Returns (sampled, expired), None if the db has no TTLs.
fn expire_round(k: &mut Ks, si: usize, dbi: usize, n: usize) -> Option<(usize, usize)> {
    let now = k.now;
    let db = &mut k.locks.shard(si).dbs[dbi];
    let len = db.expires_len();
    if len == 0 {
        db.avg_ttl = 0;
        return None;
    }
    let n = n.min(len);
    let mut expired_keys = Vec::new();
    let (mut ttl_sum, mut ttl_samples) = (0i64, 0i64);
    for j in 0..n {
        let Some((e, when)) = db.volatile_at(db.expires_cursor.wrapping_add(j)) else {
            break;
        };
        if now > when {
            expired_keys.push(e.key().to_vec());
        } else if when > now {
            ttl_sum = ttl_sum.saturating_add(when - now);
            ttl_samples += 1;
        }
    }
    db.expires_cursor = db.expires_cursor.wrapping_add(n);
    if ttl_samples > 0 {
        let avg = ttl_sum / ttl_samples;
        let prev = if db.avg_ttl == 0 { avg } else { db.avg_ttl };
        db.avg_ttl = prev / 50 * 49 + avg / 50;
    }
    for key in &expired_keys {
        k.expire_if_needed(key);
    }
    Some((n, expired_keys.len()))
}
