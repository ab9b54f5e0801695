//! The server cron (Redis's serverCron), run by worker 0 `hz` times per second:
//! active expiry of volatile keys, incremental rehashing and table shrinking,
//! instantaneous ops/s sampling.
//!
//! Active expiry follows Redis's slow cycle: per database, sample up to 20 volatile keys,
//! delete the expired ones, repeat while more than 10% of the sample was expired, and
//! stop when the cycle's time budget (25% of a cron period) is spent. Each shard is locked
//! only while it is being worked on, so clients are served between shards.

use crate::commands::{notify, Ks};
use crate::server::{now_ms, Server};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

const SAMPLES: usize = 20;

pub fn server_cron(srv: &Server) {
    if srv.introspect.cron_paused.load(Relaxed) {
        return;
    }
    srv.cron_loops.fetch_add(1, Relaxed);
    let hz = srv.hot.hz.load(Relaxed).max(1) as u64;
    if srv.hot.active_expire_enabled() {
        active_expire_cycle(srv, Duration::from_micros(1_000_000 / hz * 25 / 100));
    }
    for (i, shard) in srv.keyspace.shards.iter().enumerate() {
        let _ = i;
        let mut s = shard.lock();
        for db in s.dbs.iter_mut() {
            db.dict.shrink_if_needed();
            if db.dict.is_rehashing() {
                db.dict.rehash_ms(1);
            }
        }
    }
    crate::commands::server_cmds::sample_ops(srv);
}

pub fn active_expire_cycle(srv: &Server, budget: Duration) {
    let start = Instant::now();
    let mut rng = rand::thread_rng();
    let ks = &srv.keyspace;
    for si in 0..ks.nshards() {
        for dbi in 0..ks.ndbs {
            loop {
                if start.elapsed() > budget {
                    return;
                }
                let locks = ks.lock_some(smallvec::smallvec![si]);
                let mut k = Ks { srv, locks, db: dbi, now: now_ms(), dirty: 0, propagate: None, also: Vec::new() };
                let db = &k.locks.shard(si).dbs[dbi];
                let n = db.expires_len();
                if n == 0 {
                    k.locks.shard(si).dbs[dbi].avg_ttl = 0;
                    break;
                }
                let mut expired_keys = Vec::new();
                let samples = SAMPLES.min(n);
                let (mut ttl_sum, mut ttl_samples) = (0i64, 0i64);
                for _ in 0..samples {
                    if let Some((e, when)) = db.random_volatile(&mut rng) {
                        if when <= k.now {
                            expired_keys.push(e.key().to_vec());
                        } else {
                            ttl_sum += when - k.now;
                            ttl_samples += 1;
                        }
                    }
                }
                if ttl_samples > 0 {
                    // Running estimate for INFO keyspace avg_ttl: 2% new sample, 98% history.
                    let db = &mut k.locks.shard(si).dbs[dbi];
                    let avg = ttl_sum / ttl_samples;
                    if db.avg_ttl == 0 {
                        db.avg_ttl = avg;
                    }
                    db.avg_ttl = (db.avg_ttl / 50) * 49 + avg / 50;
                }
                expired_keys.sort_unstable();
                expired_keys.dedup();
                for key in &expired_keys {
                    k.expire_if_needed(key);
                }
                let _ = notify::EXPIRED;
                crate::dispatch::propagate_background(srv, &mut k);
                if expired_keys.len() * 10 <= samples {
                    break;
                }
            }
        }
    }
}
