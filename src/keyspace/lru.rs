//! The per-key access clock kept in `Entry::lru` (Redis's robj.lru), in one of two forms
//! chosen by maxmemory-policy:
//! - LRU: the LRU clock, unix seconds modulo 2^24, at the last access;
//! - LFU: `minutes << 8 | counter`, where minutes is unix minutes modulo 2^16 at the
//!   last update and counter a logarithmic access counter (0..=255, new keys start at 5)
//!   that loses one point per `lfu-decay-time` minutes of idleness.
//!
//! Read by OBJECT IDLETIME / FREQ, DEBUG OBJECT, eviction; written on every key lookup
//! that is not "no touch", and by RESTORE IDLETIME / FREQ.

use std::cell::Cell;

pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Counter of a freshly created key under an LFU policy.
pub const LFU_INIT_VAL: u32 = 5;

/// Redis's MAXMEMORY_FLAG_LFU bit in the maxmemory-policy value.
pub const POLICY_FLAG_LRU: u32 = 1 << 0;
pub const POLICY_FLAG_LFU: u32 = 1 << 1;

/// LRU clock at `now_ms`.
#[inline]
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Milliseconds since the last access recorded in an LRU-form clock (wraps like Redis).
pub fn idle_ms(lru: u32, now_ms: i64) -> u64 {
    let clock = lru_clock(now_ms);
    let lru = lru & LRU_CLOCK_MAX;
    let secs = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    secs as u64 * 1000
}

/// The LRU-form value for a key that was last accessed `idle_secs` ago (RESTORE IDLETIME).
pub fn lru_for_idle(idle_secs: i64, now_ms: i64) -> u32 {
    let clock = lru_clock(now_ms) as i64;
    let v = clock - idle_secs.clamp(0, LRU_CLOCK_MAX as i64);
    (if v < 0 { v + LRU_CLOCK_MAX as i64 } else { v }) as u32
}

#[inline]
fn minutes(now_ms: i64) -> u32 {
    ((now_ms / 1000 / 60) as u32) & 0xFFFF
}

/// The LFU-form value of a new key.
#[inline]
pub fn lfu_init(now_ms: i64) -> u32 {
    minutes(now_ms) << 8 | LFU_INIT_VAL
}

/// The LFU-form value with a given counter, stamped now (RESTORE FREQ).
pub fn lfu_with_counter(counter: u8, now_ms: i64) -> u32 {
    minutes(now_ms) << 8 | counter as u32
}

/// The counter after applying the decay for the minutes elapsed since the stamp
/// (Redis's LFUDecrAndReturn; does not store anything).
pub fn lfu_decayed(lru: u32, now_ms: i64, decay_time: u32) -> u8 {
    let stamp = lru >> 8;
    let counter = lru & 255;
    let now = minutes(now_ms);
    let elapsed = if now >= stamp { now - stamp } else { 65535 - stamp + now };
    let periods = if decay_time > 0 { elapsed / decay_time } else { 0 };
    counter.saturating_sub(periods) as u8
}

/// Logarithmic increment: the higher the counter, the less likely it grows.
pub fn lfu_log_incr(counter: u8, log_factor: u32, r: f64) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = (counter as f64 - LFU_INIT_VAL as f64).max(0.0);
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// How the clock is kept, from the hot config.
#[derive(Clone, Copy)]
pub struct Policy {
    pub lfu: bool,
    pub log_factor: u32,
    pub decay_time: u32,
}

impl Policy {
    /// The clock value of a key created now.
    #[inline]
    pub fn initial(&self, now_ms: i64) -> u32 {
        if self.lfu {
            lfu_init(now_ms)
        } else {
            lru_clock(now_ms)
        }
    }

    /// Record an access (Redis's lookupKey update).
    #[inline]
    pub fn touch(&self, lru: &Cell<u32>, now_ms: i64) {
        if self.lfu {
            let c = lfu_decayed(lru.get(), now_ms, self.decay_time);
            let c = lfu_log_incr(c, self.log_factor, rand::random::<f64>());
            lru.set(lfu_with_counter(c, now_ms));
        } else {
            lru.set(lru_clock(now_ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_idle_and_wrap() {
        let now = 1_700_000_000_000i64;
        let l = lru_clock(now - 5000);
        assert_eq!(idle_ms(l, now), 5000);
        assert_eq!(idle_ms(lru_for_idle(1000, now), now), 1_000_000);
        // a clock value "ahead" of now wraps around the 24-bit space
        let ahead = (lru_clock(now) + 10) & LRU_CLOCK_MAX;
        assert_eq!(idle_ms(ahead, now), (LRU_CLOCK_MAX - 10) as u64 * 1000);
    }

    #[test]
    fn lfu_counter() {
        let now = 1_700_000_000_000i64;
        let v = lfu_init(now);
        assert_eq!(lfu_decayed(v, now, 1), 5);
        // three minutes idle with decay-time 1: three points lost
        assert_eq!(lfu_decayed(v, now + 180_000, 1), 2);
        assert_eq!(lfu_decayed(v, now + 180_000, 0), 5);
        assert_eq!(lfu_decayed(lfu_with_counter(100, now), now, 1), 100);
        // below the initial value the counter always grows; at 255 it stays
        assert_eq!(lfu_log_incr(3, 10, 0.99), 4);
        assert_eq!(lfu_log_incr(255, 10, 0.0), 255);
        // at 105 with factor 10, p = 1/1001
        assert_eq!(lfu_log_incr(105, 10, 0.5), 105);
        assert_eq!(lfu_log_incr(105, 10, 0.0005), 106);
    }
}
