//! Small shared helpers: Redis glob matching, number parsing and formatting, the
//! counting allocator behind `used_memory`, latency histograms, the command clock.
pub mod alloc;
pub mod clock;
pub mod glob;
pub mod hdr;
pub mod numfmt;
