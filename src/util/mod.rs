//! Small shared helpers: Redis glob matching, number parsing and formatting.
pub mod glob;
pub mod numfmt;
