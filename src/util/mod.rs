//! Small shared helpers: Redis glob matching, number parsing and formatting, the
//! counting allocator behind `used_memory`, latency histograms.
pub mod alloc;
pub mod glob;
pub mod hdr;
pub mod numfmt;
