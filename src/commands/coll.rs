//! Helpers shared by the hash, set and sorted-set command families: typed key lookups
//! (WRONGTYPE, create-on-write, delete-when-empty), *SCAN argument parsing and replies, and the count argument of the random-member
//! commands (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER).

use super::{notify, Ks, WRONGTYPE};
use crate::keyspace::Value;
use crate::protocol::ReplyBuf;
use crate::types::packed::Ele;
use crate::types::{HashValue, SetValue, ZSetValue};

/// The error of a lookup: the error reply (WRONGTYPE) was already written.
#[derive(Debug)]
pub struct Replied;

/// A collection type stored in a `Value` variant.
pub trait Coll: Sized {
    fn pick(v: &Value) -> Option<&Self>;
    fn pick_mut(v: &mut Value) -> Option<&mut Self>;
    fn wrap(self) -> Value;
    fn is_empty(&self) -> bool;
}

macro_rules! coll {
    ($t:ty, $variant:ident) => {
        impl Coll for $t {
            fn pick(v: &Value) -> Option<&Self> {
                if let Value::$variant(x) = v {
                    Some(x)
                } else {
                    None
                }
            }
            fn pick_mut(v: &mut Value) -> Option<&mut Self> {
                if let Value::$variant(x) = v {
                    Some(x)
                } else {
                    None
                }
            }
            fn wrap(self) -> Value {
                Value::$variant(Box::new(self))
            }
            fn is_empty(&self) -> bool {
                <$t>::is_empty(self)
            }
        }
    };
}
coll!(HashValue, Hash);
coll!(SetValue, Set);
coll!(ZSetValue, ZSet);

/// Read lookup (counts hits/misses). `Ok(None)`: no such key; `Err`: WRONGTYPE was replied.
pub fn read<'a, T: Coll>(ks: &'a Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a T>, Replied> {
    match ks.get(key) {
        None => Ok(None),
        Some(v) => match T::pick(v) {
            Some(x) => Ok(Some(x)),
            None => {
                out.error(WRONGTYPE);
                Err(Replied)
            }
        },
    }
}

/// Like `read` without touching the keyspace stats (for keys a command only inspects).
pub fn peek<'a, T: Coll>(ks: &'a Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a T>, Replied> {
    match ks.peek(key) {
        None => Ok(None),
        Some(v) => match T::pick(v) {
            Some(x) => Ok(Some(x)),
            None => {
                out.error(WRONGTYPE);
                Err(Replied)
            }
        },
    }
}

/// Write lookup of an existing key.
pub fn write<'a, T: Coll>(ks: &'a mut Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a mut T>, Replied> {
    match ks.peek(key).map(|v| T::pick(v).is_some()) {
        None => Ok(None),
        Some(false) => {
            out.error(WRONGTYPE);
            Err(Replied)
        }
        Some(true) => Ok(ks.get_mut(key).and_then(T::pick_mut)),
    }
}

/// Write lookup that creates the key with `create()` when it is missing.
pub fn write_or_create<'a, T: Coll>(
    ks: &'a mut Ks,
    out: &mut ReplyBuf,
    key: &[u8],
    create: impl FnOnce() -> T,
) -> Result<&'a mut T, Replied> {
    match ks.peek(key).map(|v| T::pick(v).is_some()) {
        Some(false) => {
            out.error(WRONGTYPE);
            return Err(Replied);
        }
        None => {
            ks.add_key(key, create().wrap());
        }
        Some(true) => {}
    }
    Ok(ks.get_mut(key).and_then(T::pick_mut).expect("key just checked"))
}

/// Check that a key is absent or of type T (replying WRONGTYPE otherwise).
pub fn check_type<T: Coll>(ks: &Ks, out: &mut ReplyBuf, key: &[u8]) -> bool {
    peek::<T>(ks, out, key).is_ok()
}

/// After a write: delete the key if its collection became empty (with the "del" event),
/// else signal the modification.
pub fn after_write<T: Coll>(ks: &mut Ks, key: &[u8]) {
    let empty = ks.peek(key).and_then(T::pick).is_some_and(|x| x.is_empty());
    if empty {
        ks.delete(key);
        ks.notify(notify::GENERIC, "del", key);
    } else {
        ks.signal_modified(key);
    }
}

/// Store a collection under `key` (the *STORE commands), or delete the key when it is
/// empty. Returns true if a value was stored; `event` is notified either way as Redis does
/// (store: the command's event; empty result: "del" if the key existed).
pub fn store<T: Coll>(ks: &mut Ks, key: &[u8], value: T, class: u32, event: &str) -> bool {
    if value.is_empty() {
        if ks.delete(key) {
            ks.notify(notify::GENERIC, "del", key);
            ks.dirty(1);
        }
        return false;
    }
    ks.set_key(key, value.wrap(), false);
    ks.notify(class, event, key);
    ks.dirty(1);
    true
}

/// Reply an entry as a bulk string.
#[inline]
pub fn bulk_ele(out: &mut ReplyBuf, e: &Ele) {
    match e {
        Ele::Str(s) => out.bulk(s),
        Ele::Int(i) => out.bulk_i64(*i),
        Ele::Dbl(d) => out.double(*d),
    }
}

/// Redis's parseScanCursorOrReply (strtoul over the whole argument).
pub fn parse_cursor(out: &mut ReplyBuf, a: &[u8]) -> Option<u64> {
    let (neg, digits) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        _ => (false, a),
    };
    let mut v: u64 = 0;
    let ok = !digits.is_empty()
        && digits.iter().all(|c| {
            v = match v.checked_mul(10).and_then(|x| x.checked_add((c.wrapping_sub(b'0')) as u64)) {
                Some(x) if c.is_ascii_digit() => x,
                _ => return false,
            };
            true
        });
    if !ok {
        out.error("ERR invalid cursor");
        return None;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options of HSCAN / SSCAN / ZSCAN (after key and cursor).
pub struct ScanOpts<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
}

pub fn parse_scan_opts<'a>(out: &mut ReplyBuf, args: &[&'a [u8]]) -> Option<ScanOpts<'a>> {
    let mut o = ScanOpts { count: 10, pattern: None };
    let mut i = 0;
    while i < args.len() {
        let more = i + 1 < args.len();
        if super::eq_ic(args[i], "count") && more {
            match crate::util::numfmt::parse_i64(args[i + 1]) {
                None => {
                    out.error(super::NOT_INT);
                    return None;
                }
                Some(c) if c < 1 => {
                    out.error(super::SYNTAX_ERR);
                    return None;
                }
                Some(c) => o.count = c as usize,
            }
        } else if super::eq_ic(args[i], "match") && more {
            o.pattern = if args[i + 1] == b"*" { None } else { Some(args[i + 1]) };
        } else {
            out.error(super::SYNTAX_ERR);
            return None;
        }
        i += 2;
    }
    Some(o)
}

impl ScanOpts<'_> {
    pub fn keep(&self, e: &Ele) -> bool {
        match self.pattern {
            None => true,
            Some(p) => e.with_bytes(|b| crate::util::glob::glob_match(p, b, false)),
        }
    }
}

/// The *SCAN reply: cursor, then the items.
pub fn scan_reply(out: &mut ReplyBuf, cursor: u64, items: &[Vec<u8>]) {
    out.array(2);
    out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    out.array(items.len());
    for i in items {
        out.bulk(i);
    }
}

/// The count argument of HRANDFIELD / SRANDMEMBER / ZRANDMEMBER: Redis accepts
/// -LONG_MAX..LONG_MAX; negative means "with repetitions".
pub fn parse_rand_count(out: &mut ReplyBuf, a: &[u8]) -> Option<i64> {
    match crate::util::numfmt::parse_i64(a) {
        None => {
            out.error(super::NOT_INT);
            None
        }
        Some(i64::MIN) => {
            out.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            None
        }
        Some(v) => Some(v),
    }
}

/// Replies bigger than this stop early (and the client is closed), as Redis stops when the
/// client hits its output limit: a count like -LONG_MAX must not exhaust memory.
const REPLY_GUARD: usize = 1 << 30;

/// How many elements a random-member command with this count replies.
pub fn rand_reply_len(len: usize, count: i64) -> usize {
    if count < 0 {
        count.unsigned_abs() as usize
    } else {
        (count as usize).min(len)
    }
}

/// The sampling of HRANDFIELD / SRANDMEMBER / ZRANDMEMBER with a count: negative counts
/// pick with repetitions, positive ones distinct elements (all of them if count >= len).
/// `all` lists every element, `random` picks one, `key` identifies one for deduplication;
/// `emit` writes one element. Small collections are sampled from `all`.
#[allow(clippy::too_many_arguments)]
pub fn rand_sample<T: Copy>(
    ctx_out: &mut ReplyBuf,
    close: &mut bool,
    len: usize,
    count: i64,
    all: impl FnOnce() -> Vec<T>,
    mut random: impl FnMut(&mut rand::rngs::ThreadRng) -> T,
    key: impl Fn(&T) -> Vec<u8>,
    mut emit: impl FnMut(&mut ReplyBuf, &T),
) {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let want = rand_reply_len(len, count);
    if count < 0 {
        let v = if len <= 512 { all() } else { Vec::new() };
        for _ in 0..want {
            let e = if v.is_empty() { random(&mut rng) } else { v[rng.gen_range(0..v.len())] };
            emit(ctx_out, &e);
            if ctx_out.len() > REPLY_GUARD {
                *close = true;
                return;
            }
        }
    } else if want == len {
        all().iter().for_each(|e| emit(ctx_out, e));
    } else if len <= 512 || want * 3 > len {
        let v = all();
        for i in rand::seq::index::sample(&mut rng, v.len(), want) {
            emit(ctx_out, &v[i]);
        }
    } else {
        let mut seen = std::collections::HashSet::with_capacity(want);
        while seen.len() < want {
            let e = random(&mut rng);
            if seen.insert(key(&e)) {
                emit(ctx_out, &e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        let mut out = ReplyBuf::new(2);
        assert_eq!(parse_cursor(&mut out, b"0"), Some(0));
        assert_eq!(parse_cursor(&mut out, b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(&mut out, b"-1"), Some(u64::MAX));
        assert!(out.buf.is_empty());
        assert_eq!(parse_cursor(&mut out, b"18446744073709551616"), None);
        assert_eq!(parse_cursor(&mut out, b"1x"), None);
        assert_eq!(parse_cursor(&mut out, b""), None);
        assert_eq!(out.buf, b"-ERR invalid cursor\r\n-ERR invalid cursor\r\n-ERR invalid cursor\r\n");
    }
}
