//! Collection data structures, one module per Redis type. Each type owns its
//! representation (compact small form, large form, conversion thresholds) and exposes
//! `encoding()` (Redis's OBJECT ENCODING name) and `mem_usage()`.
//!
//! The command families in `crate::commands` operate on these; the keyspace only stores them.

pub mod hash;
pub mod list;
pub mod packed;
pub mod set;
pub mod stream;
pub mod table;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::StreamValue;
pub use zset::ZSetValue;

use crate::keyspace::Value;
use crate::persist::rdb::RdbValue;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The encoding thresholds of the collection types (from the config).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub hash: hash::Limits,
    pub zset: zset::Limits,
    /// set-max-intset-entries
    pub intset: usize,
}

static THRESHOLDS: [AtomicUsize; 5] =
    [AtomicUsize::new(512), AtomicUsize::new(64), AtomicUsize::new(128), AtomicUsize::new(64), AtomicUsize::new(512)];

/// Take the thresholds from the config (at start-up and after CONFIG SET).
pub fn set_limits(c: &crate::config::Config) {
    let names =
        ["hash-max-listpack-entries", "hash-max-listpack-value", "zset-max-listpack-entries", "zset-max-listpack-value", "set-max-intset-entries"];
    for (a, n) in THRESHOLDS.iter().zip(names) {
        a.store(c.get_i64(n).max(0) as usize, Relaxed);
    }
    list::set_fill(c.get_i64("list-max-listpack-size"));
    stream::set_node_limits(c.get_i64("stream-node-max-bytes"), c.get_i64("stream-node-max-entries"));
}

/// The current thresholds.
#[inline]
pub fn limits() -> Limits {
    let t = |i: usize| THRESHOLDS[i].load(Relaxed);
    Limits {
        hash: hash::Limits { entries: t(0), value: t(1) },
        zset: zset::Limits { entries: t(2), value: t(3) },
        intset: t(4),
    }
}

/// A collection value in its RDB form (used by SAVE, BGSAVE, DUMP).
pub fn to_rdb(v: &Value) -> Option<RdbValue> {
    match v {
        Value::Hash(h) => {
            let mut pairs = Vec::with_capacity(h.len());
            h.for_each(|k, v| pairs.push((k.to_vec(), v.to_vec())));
            Some(RdbValue::Hash(pairs))
        }
        Value::Set(s) => Some(RdbValue::Set(s.elements().iter().map(|e| e.to_vec()).collect())),
        Value::List(l) => Some(RdbValue::List(l.iter().map(|e| e.to_vec()).collect())),
        Value::ZSet(z) => {
            let v = z.view();
            Some(RdbValue::ZSet((0..v.len()).map(|i| (v.at(i).0.to_vec(), v.at(i).1)).collect()))
        }
        Value::Stream(s) => Some(RdbValue::Stream(Box::new(s.to_rdb()))),
        _ => None,
    }
}

/// A collection value from its RDB form (loading, RESTORE), encoded as Redis encodes a
/// loaded value under the current thresholds.
pub fn from_rdb(v: RdbValue) -> Result<Value, String> {
    let lim = limits();
    match v {
        RdbValue::Stream(st) => Ok(Value::Stream(Box::new(StreamValue::from_rdb(*st)?))),
        RdbValue::Hash(pairs) => {
            let mut h = HashValue::new();
            if pairs.len() > lim.hash.entries {
                h = HashValue::new_big();
            }
            for (k, v) in &pairs {
                h.fit_lengths(&[k, v], lim.hash);
                if !h.set(k, v, lim.hash) {
                    return Err("Duplicate hash fields detected".into());
                }
            }
            Ok(Value::Hash(Box::new(h)))
        }
        RdbValue::Set(members) => {
            let n = members.len();
            let s = SetValue::from_members(members.iter().map(|m| packed::Ele::Str(m)), lim.intset);
            if s.len() != n {
                return Err("Duplicate set members detected".into());
            }
            Ok(Value::Set(Box::new(s)))
        }
        RdbValue::ZSet(items) => {
            let n = items.len();
            let mut seen = std::collections::HashSet::with_capacity(n);
            if items.iter().any(|(m, s)| s.is_nan() || !seen.insert(m.as_slice())) {
                return Err("Duplicate zset fields detected".into());
            }
            Ok(Value::ZSet(Box::new(ZSetValue::build(items, lim.zset, true))))
        }
        RdbValue::List(items) => {
            if items.is_empty() {
                return Err("Empty list".into());
            }
            let mut l = ListValue::new(list::fill());
            for it in &items {
                l.push(it, false);
            }
            Ok(Value::List(Box::new(l)))
        }
        _ => Err("this collection type cannot be loaded yet".into()),
    }
}
