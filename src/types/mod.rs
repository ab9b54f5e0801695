//! Collection data structures, one module per Redis type. Each type owns its
//! representation (compact small form, large form, conversion thresholds) and exposes
//! `encoding()` (Redis's OBJECT ENCODING name) and `mem_usage()`.
//!
//! The command families in `crate::commands` operate on these; the keyspace only stores them.

pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::StreamValue;
pub use zset::ZSetValue;

/// A collection value in its RDB form (used by SAVE, BGSAVE, DUMP). None until the
/// type provides one.
pub fn to_rdb(v: &crate::keyspace::Value) -> Option<crate::persist::rdb::RdbValue> {
    let _ = v;
    None
}

/// A collection value from its RDB form (loading, RESTORE).
pub fn from_rdb(v: crate::persist::rdb::RdbValue) -> Result<crate::keyspace::Value, String> {
    let _ = v;
    Err("this collection type cannot be loaded yet".into())
}
