//! Per-command latency histograms, bucketed exactly as the HdrHistogram Redis 7.0 uses
//! for `latency-tracking` (lowest value 1 ns, highest 1 s, 2 significant figures), so
//! INFO latencystats percentiles and LATENCY HISTOGRAM buckets print the same numbers.
//!
//! Layout: 256 sub-buckets per bucket (the lower half shared with the previous bucket),
//! bucket `b` has a resolution of 2^b ns. Counts are atomics: the owning worker thread
//! records, INFO / LATENCY on any thread read (`snapshot`, then merge and query).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Recorded values are clamped into [MIN, MAX] ns, as Redis does.
pub const MIN: u64 = 1;
pub const MAX: u64 = 1_000_000_000;
const SUB_BUCKET_COUNT: u64 = 256;
const HALF_COUNT: u64 = 128;
const HALF_MAGNITUDE: u32 = 7;
const SUB_BUCKET_MASK: u64 = SUB_BUCKET_COUNT - 1;
/// Buckets needed to cover MAX: 256 << 22 > 1e9.
const BUCKETS: usize = 23;
pub const COUNTS_LEN: usize = (BUCKETS + 1) * HALF_COUNT as usize;

fn bucket_index(v: u64) -> u32 {
    let pow2ceiling = 64 - (v | SUB_BUCKET_MASK).leading_zeros();
    pow2ceiling - (HALF_MAGNITUDE + 1)
}

fn counts_index(v: u64) -> usize {
    let b = bucket_index(v);
    let sub = v >> b;
    (((b as u64 + 1) << HALF_MAGNITUDE) + sub - HALF_COUNT) as usize
}

fn value_at_index(i: usize) -> u64 {
    let mut b = (i as i64 >> HALF_MAGNITUDE) - 1;
    let mut sub = (i as u64 & (HALF_COUNT - 1)) + HALF_COUNT;
    if b < 0 {
        sub -= HALF_COUNT;
        b = 0;
    }
    sub << b
}

fn lowest_equivalent(v: u64) -> u64 {
    let b = bucket_index(v);
    (v >> b) << b
}

fn range_size(v: u64) -> u64 {
    let b = bucket_index(v);
    let sub = v >> b;
    let adjusted = if sub >= SUB_BUCKET_COUNT { b + 1 } else { b };
    1 << adjusted
}

pub fn highest_equivalent(v: u64) -> u64 {
    lowest_equivalent(v) + range_size(v) - 1
}

/// A live histogram, written by one thread and read by others.
pub struct Hdr {
    counts: Box<[AtomicU64]>,
}

impl Default for Hdr {
    fn default() -> Self {
        Hdr {
            counts: (0..COUNTS_LEN).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Hdr {
    /// Count one value. `exclusive`: the caller is the only thread writing this
    /// histogram, so a plain load and store does (no locked instruction).
    #[inline]
    pub fn record(&self, ns: u64, exclusive: bool) {
        let c = &self.counts[counts_index(ns.clamp(MIN, MAX))];
        if exclusive {
            c.store(c.load(Relaxed) + 1, Relaxed);
        } else {
            c.fetch_add(1, Relaxed);
        }
    }

    /// Values recorded (the sum of the buckets: one locked add per value instead of two).
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Relaxed)).sum()
    }

    pub fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Relaxed);
        }
    }

    /// Add this histogram's counts into `into` (zeroed or from another worker).
    pub fn add_to(&self, into: &mut Snapshot) {
        for (d, c) in into.counts.iter_mut().zip(self.counts.iter()) {
            let n = c.load(Relaxed);
            *d += n;
            into.total += n;
        }
    }
}

/// Plain counts, merged over the workers.
pub struct Snapshot {
    pub counts: Vec<u64>,
    pub total: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            counts: vec![0; COUNTS_LEN],
            total: 0,
        }
    }
}

impl Snapshot {
    /// hdr_value_at_percentile: the highest value equivalent to the one where the
    /// cumulative count reaches `p` percent of the total.
    pub fn value_at_percentile(&self, p: f64) -> u64 {
        let p = p.min(100.0);
        let want = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let want = want.min(self.total);
        let (mut seen, mut value) = (0u64, 0u64);
        for (i, &c) in self.counts.iter().enumerate() {
            if seen >= want {
                break;
            }
            seen += c;
            value = value_at_index(i);
        }
        if p == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// LATENCY HISTOGRAM buckets: (upper bound in µs, cumulative count) at the power-of-two
    /// reporting levels 1024 ns, 2048 ns, ... (hdr log iterator, base 2), keeping only
    /// levels where the cumulative count grew.
    pub fn log_buckets(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut cum = 0u64;
        let mut idx = 0usize;
        let mut level = 1024u64;
        let mut prev = 0u64;
        while prev < self.total && idx < COUNTS_LEN {
            let limit = counts_index(lowest_equivalent(level).min(MAX));
            while idx <= limit && idx < COUNTS_LEN {
                cum += self.counts[idx];
                idx += 1;
            }
            if cum > prev {
                out.push((highest_equivalent(level) / 1000, cum));
                prev = cum;
            }
            level *= 2;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_redis() {
        // Redis 7.0.15 printed p50=12.031 for one 12 µs call and 8.031 for an 8 µs one.
        let h = Hdr::default();
        h.record(12_000, false);
        let mut s = Snapshot::default();
        h.add_to(&mut s);
        assert_eq!(s.value_at_percentile(50.0), 12_031);
        let h = Hdr::default();
        h.record(8_000, true);
        let mut s = Snapshot::default();
        h.add_to(&mut s);
        assert_eq!(s.value_at_percentile(99.9), 8_031);
    }

    #[test]
    fn log_buckets_match_redis() {
        // Redis reported for 5 SET calls (4 of them <= 8 µs): 8 => 4, 16 => 5.
        let h = Hdr::default();
        for us in [5, 6, 7, 8, 12] {
            h.record(us * 1000, false);
        }
        let mut s = Snapshot::default();
        h.add_to(&mut s);
        assert_eq!(s.log_buckets(), vec![(8, 4), (16, 5)]);
        // Bounds Redis prints: 1, 2, 4, 8, 16, 33, 66, 132, 264, ..., 1056.
        assert_eq!(highest_equivalent(32768) / 1000, 33);
        assert_eq!(highest_equivalent(1 << 20) / 1000, 1056);
        let h = Hdr::default();
        h.record(300, false);
        h.record(MAX * 5, true);
        let mut s = Snapshot::default();
        h.add_to(&mut s);
        let b = s.log_buckets();
        assert_eq!(b.first(), Some(&(1, 1)));
        assert_eq!(b.last().unwrap().1, 2);
    }
}
