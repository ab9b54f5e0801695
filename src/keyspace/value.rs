//! Values stored under keys.
//!
//! `Value` is exactly 24 bytes and lives inline in its key's `Entry`, so a key with a short
//! string value is one allocation. Strings come in three forms, all of which behave as the
//! same Redis string:
//! - `Int`:    a canonical decimal integer ("integers stored as integers", Redis's INT encoding);
//! - `Inline`: up to 22 bytes stored in the value itself (Redis's EMBSTR, without an allocation);
//! - `Heap`:   a heap buffer (Redis's RAW); growable so APPEND/SETRANGE are amortised.
//! Collection types each have their own module under `crate::types`.

use crate::types::{HashValue, ListValue, SetValue, StreamValue, ZSetValue};
use crate::util::numfmt;
use std::borrow::Cow;

pub const INLINE_CAP: usize = 22;

#[derive(Clone, Copy)]
pub struct InlineStr {
    len: u8,
    data: [u8; INLINE_CAP],
}

impl InlineStr {
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
}

pub enum Value {
    Int(i64),
    Inline(InlineStr),
    Heap(Box<Vec<u8>>),
    List(Box<ListValue>),
    Hash(Box<HashValue>),
    Set(Box<SetValue>),
    ZSet(Box<ZSetValue>),
    Stream(Box<StreamValue>),
}

const _: () = assert!(std::mem::size_of::<Value>() == 24);

/// The Redis type of a value, as TYPE names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ValueType {
    String,
    List,
    Hash,
    Set,
    ZSet,
    Stream,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::Stream => "stream",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<ValueType> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"string" => ValueType::String,
            b"list" => ValueType::List,
            b"hash" => ValueType::Hash,
            b"set" => ValueType::Set,
            b"zset" => ValueType::ZSet,
            b"stream" => ValueType::Stream,
            _ => return None,
        })
    }
}

impl Value {
    /// A string value in its most compact form: integers that round-trip become `Int`.
    pub fn from_bytes(b: &[u8]) -> Value {
        if b.len() <= 20 && !b.is_empty() {
            if let Some(i) = numfmt::parse_i64(b) {
                return Value::Int(i);
            }
        }
        Value::raw_bytes(b)
    }

    /// A string value that is never turned into an integer (keeps e.g. "007" as bytes).
    pub fn raw_bytes(b: &[u8]) -> Value {
        if b.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..b.len()].copy_from_slice(b);
            Value::Inline(InlineStr { len: b.len() as u8, data })
        } else {
            Value::Heap(Box::new(b.to_vec()))
        }
    }

    pub fn from_vec(v: Vec<u8>) -> Value {
        if v.len() <= INLINE_CAP {
            Value::from_bytes(&v)
        } else {
            Value::Heap(Box::new(v))
        }
    }

    pub fn vtype(&self) -> ValueType {
        match self {
            Value::Int(_) | Value::Inline(_) | Value::Heap(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
            Value::Stream(_) => ValueType::Stream,
        }
    }

    /// Creating a key of this type may serve clients blocked on it (lists, zsets, streams).
    #[inline]
    pub fn can_wake_blocked(&self) -> bool {
        matches!(self, Value::List(_) | Value::ZSet(_) | Value::Stream(_))
    }

    #[inline]
    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Inline(_) | Value::Heap(_))
    }

    /// The bytes of a string value (formatting an integer). None for other types.
    pub fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        match self {
            Value::Int(i) => Some(Cow::Owned(itoa::Buffer::new().format(*i).as_bytes().to_vec())),
            Value::Inline(s) => Some(Cow::Borrowed(s.as_bytes())),
            Value::Heap(v) => Some(Cow::Borrowed(v.as_slice())),
            _ => None,
        }
    }

    /// Call `f` with the string bytes without allocating for integers.
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        match self {
            Value::Int(i) => Some(f(itoa::Buffer::new().format(*i).as_bytes())),
            Value::Inline(s) => Some(f(s.as_bytes())),
            Value::Heap(v) => Some(f(v.as_slice())),
            _ => None,
        }
    }

    /// Length in bytes of a string value.
    pub fn str_len(&self) -> Option<usize> {
        match self {
            Value::Int(i) => Some(itoa::Buffer::new().format(*i).len()),
            Value::Inline(s) => Some(s.len as usize),
            Value::Heap(v) => Some(v.len()),
            _ => None,
        }
    }

    /// The integer value of a string, if it is one (Redis getLongLongFromObject).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Inline(s) => numfmt::parse_i64(s.as_bytes()),
            Value::Heap(v) => numfmt::parse_i64(v),
            _ => None,
        }
    }

    /// Make a string value growable in place and return its buffer (APPEND, SETRANGE, SETBIT).
    pub fn make_heap(&mut self) -> Option<&mut Vec<u8>> {
        if !self.is_string() {
            return None;
        }
        if !matches!(self, Value::Heap(_)) {
            let bytes = self.as_bytes().unwrap().into_owned();
            *self = Value::Heap(Box::new(bytes));
        }
        match self {
            Value::Heap(v) => Some(v),
            _ => unreachable!(),
        }
    }

    /// An independent copy (COPY, and anything else that duplicates a value). The one
    /// place that knows how to copy each type: returns None for a type that cannot be
    /// copied yet. Strings keep their form (and a heap string its capacity, so the copy
    /// reports the same OBJECT ENCODING).
    pub fn clone_deep(&self) -> Option<Value> {
        Some(match self {
            Value::Int(i) => Value::Int(*i),
            Value::Inline(s) => Value::Inline(*s),
            Value::Heap(v) => {
                let mut c = Vec::with_capacity(v.capacity());
                c.extend_from_slice(v);
                Value::Heap(Box::new(c))
            }
            Value::Hash(h) => Value::Hash(Box::new(h.clone_deep())),
            Value::Set(s) => Value::Set(Box::new(s.clone_deep())),
            Value::ZSet(z) => Value::ZSet(Box::new(z.clone_deep())),
            Value::List(l) => Value::List(Box::new(l.duplicate())),
            Value::Stream(s) => Value::Stream(Box::new(s.clone_deep())),
        })
    }

    /// Redis's lazyfreeGetFreeEffort, compared with `lazyfree::THRESHOLD` to decide
    /// whether UNLINK frees the value in the background: the number of allocations Redis
    /// would free (list chunks, hashtable / skiplist elements, stream nodes and consumer
    /// groups); 1 for strings and for the compact encodings.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::List(l) => l.chunk_count(),
            Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
            Value::Set(s) if s.encoding() == "hashtable" => s.len(),
            Value::ZSet(z) if z.encoding() == "skiplist" => z.len(),
            Value::Stream(s) => s.free_effort(),
            _ => 1,
        }
    }

    /// Redis's OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            // Redis: strings up to 44 bytes are embstr, longer are raw.
            Value::Inline(_) => "embstr",
            Value::Heap(v) => {
                if v.len() <= 44 && v.capacity() == v.len() {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// Approximate heap bytes used by the value beyond the entry (MEMORY USAGE, eviction).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) | Value::Inline(_) => 0,
            Value::Heap(v) => v.capacity() + 24,
            Value::List(l) => l.mem_usage(),
            Value::Hash(h) => h.mem_usage(),
            Value::Set(s) => s.mem_usage(),
            Value::ZSet(z) => z.mem_usage(),
            Value::Stream(s) => s.mem_usage(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms() {
        assert!(matches!(Value::from_bytes(b"123"), Value::Int(123)));
        assert!(matches!(Value::from_bytes(b"0123"), Value::Inline(_)));
        assert!(matches!(Value::from_bytes(&[b'x'; 22]), Value::Inline(_)));
        assert!(matches!(Value::from_bytes(&[b'x'; 23]), Value::Heap(_)));
        assert_eq!(&*Value::from_bytes(b"-5").as_bytes().unwrap(), b"-5");
        let mut v = Value::from_bytes(b"12");
        v.make_heap().unwrap().extend_from_slice(b"34");
        assert_eq!(v.as_i64(), Some(1234));
    }

    #[test]
    fn clone_deep_strings() {
        for v in [Value::from_bytes(b"42"), Value::from_bytes(b"abc"), Value::from_bytes(&[b'y'; 100])] {
            let c = v.clone_deep().unwrap();
            assert_eq!(c.as_bytes(), v.as_bytes());
            assert_eq!(c.encoding(), v.encoding());
        }
        let mut h = Value::from_bytes(b"ab");
        h.make_heap().unwrap().extend_from_slice(b"cd");
        let c = h.clone_deep().unwrap();
        h.make_heap().unwrap().push(b'!');
        assert_eq!(&*c.as_bytes().unwrap(), b"abcd");
        assert!(Value::Stream(Box::default()).clone_deep().is_some());
    }
}
