//! The dispatcher's monotonic clock: nanoseconds since the process's clock base, read
//! once per command (its duration, and through `server::ms_at` its "now").
//!
//! Where the kernel itself keeps time with the TSC (x86-64, `constant_tsc` and
//! `nonstop_tsc`, clocksource `tsc`), a reading is one `rdtsc` scaled by an anchor:
//! (tsc, ns, ns-per-tick in 32.32 fixed point), published under a seqlock. The anchor is
//! re-taken from the OS monotonic clock on every cron tick (`recalibrate`), which also
//! re-measures the tick rate over the interval, so readings never drift from
//! `Instant` by more than the rate error over one tick (nanoseconds). That saves the
//! vDSO's serialising `rdtscp`/`lfence` and its timespec arithmetic on every command
//! (Redis offers the same processor clock as a build option).
//! Anywhere else (or before `init`), a reading is `Instant::now()` since the base.
//! Readings from different anchors may step back by a few nanoseconds: callers take
//! differences with `saturating_sub`.

use std::sync::atomic::{fence, AtomicU64, AtomicU8, Ordering::*};
use std::sync::OnceLock;
use std::time::Instant;

static BASE: OnceLock<Instant> = OnceLock::new();

/// The instant every monotonic reading counts from.
pub fn base() -> Instant {
    *BASE.get_or_init(Instant::now)
}

const UNSET: u8 = 0;
const TSC: u8 = 1;
const OS: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(UNSET);
static SEQ: AtomicU64 = AtomicU64::new(0);
static ANCHOR_TSC: AtomicU64 = AtomicU64::new(0);
static ANCHOR_NS: AtomicU64 = AtomicU64::new(0);
static MULT: AtomicU64 = AtomicU64::new(0);
/// The last anchor actually measured (the writer's own copy; recalibration is serialised).
static WRITER: parking_lot::Mutex<(u64, u64)> = parking_lot::const_mutex((0, 0));

fn os_ns() -> u64 {
    Instant::now().saturating_duration_since(base()).as_nanos() as u64
}

/// Nanoseconds since `base()`.
#[inline]
pub fn mono_ns() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if MODE.load(Relaxed) == TSC {
        loop {
            let s = SEQ.load(Acquire);
            let t0 = ANCHOR_TSC.load(Relaxed);
            let n0 = ANCHOR_NS.load(Relaxed);
            let m = MULT.load(Relaxed);
            fence(Acquire);
            if s & 1 == 0 && SEQ.load(Relaxed) == s {
                // SAFETY: rdtsc has no preconditions on x86-64.
                let d = unsafe { core::arch::x86_64::_rdtsc() }.saturating_sub(t0);
                return n0 + ((d as u128 * m as u128) >> 32) as u64;
            }
            std::hint::spin_loop();
        }
    }
    os_ns()
}

/// Microseconds since `base()`.
#[inline]
pub fn mono_us() -> u64 {
    mono_ns() / 1000
}

#[cfg(target_arch = "x86_64")]
fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Does the kernel trust the TSC as its own clock?
#[cfg(target_arch = "x86_64")]
fn tsc_usable() -> bool {
    let cs = std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource").unwrap_or_default();
    if cs.trim() != "tsc" {
        return false;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let Some(flags) = cpuinfo.lines().find(|l| l.starts_with("flags")) else { return false };
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    has("constant_tsc") && has("nonstop_tsc")
}

/// A (tsc, ns) pair taken close together, or None if the thread was interrupted between
/// the reads (the pair would be off by the interruption).
#[cfg(target_arch = "x86_64")]
fn sample() -> Option<(u64, u64)> {
    for _ in 0..5 {
        let a = rdtsc();
        let n = os_ns();
        let b = rdtsc();
        if b > a && b - a < 20_000 {
            return Some((a + (b - a) / 2, n));
        }
    }
    None
}

#[cfg(target_arch = "x86_64")]
fn publish(t: u64, n: u64, mult: u64) {
    let s = SEQ.load(Relaxed);
    SEQ.store(s + 1, Relaxed);
    fence(Release);
    ANCHOR_TSC.store(t, Relaxed);
    ANCHOR_NS.store(n, Relaxed);
    MULT.store(mult, Relaxed);
    SEQ.store(s + 2, Release);
}

/// ns per tick in 32.32 fixed point from two samples, if plausible (0.05..20 GHz).
#[cfg(target_arch = "x86_64")]
fn rate((t0, n0): (u64, u64), (t1, n1): (u64, u64)) -> Option<u64> {
    if t1 <= t0 || n1 <= n0 {
        return None;
    }
    let m = (((n1 - n0) as u128) << 32) / (t1 - t0) as u128;
    ((1u128 << 32) / 20..=(20u128 << 32)).contains(&m).then_some(m as u64)
}

/// Choose the clock source (at start-up, before the workers run).
pub fn init() {
    if MODE.load(Relaxed) != UNSET {
        return;
    }
    base();
    #[cfg(target_arch = "x86_64")]
    if std::env::var_os("FERRODIS_OS_CLOCK").is_none() && tsc_usable() {
        let mut w = WRITER.lock();
        // a first rate over a short spin; recalibrate refines it every cron tick
        if let Some(first) = sample() {
            let until = Instant::now() + std::time::Duration::from_millis(2);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            if let Some(second) = sample() {
                if let Some(m) = rate(first, second) {
                    publish(second.0, second.1, m);
                    *w = second;
                    MODE.store(TSC, Release);
                    return;
                }
            }
        }
    }
    MODE.store(OS, Release);
}

/// Re-anchor the TSC clock on the OS clock and re-measure its rate (cron, every tick).
pub fn recalibrate() {
    #[cfg(target_arch = "x86_64")]
    if MODE.load(Relaxed) == TSC {
        let Some(mut w) = WRITER.try_lock() else { return };
        let Some(now) = sample() else { return };
        // a rate measured over less than 10 ms is too coarse: keep the last one
        if now.1 < w.1 + 10_000_000 {
            return;
        }
        let m = rate(*w, now).unwrap_or_else(|| MULT.load(Relaxed));
        publish(now.0, now.1, m);
        *w = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_os_clock() {
        init();
        let a = mono_ns();
        let o1 = os_ns();
        std::thread::sleep(std::time::Duration::from_millis(30));
        recalibrate();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let b = mono_ns();
        let o2 = os_ns();
        assert!(b > a);
        // within 1 ms of the OS clock over 60 ms, whichever source is in use
        let (d, od) = ((b - a) as i64, (o2 - o1) as i64);
        assert!((d - od).abs() < 1_000_000, "clock moved {d} ns while the OS clock moved {od} ns");
        assert!((b as i64 - o2 as i64).abs() < 1_000_000);
    }
}
