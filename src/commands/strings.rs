//! String commands: GET/SET and their variants (SETNX, SETEX, PSETEX, GETSET, GETEX,
//! GETDEL), MGET/MSET/MSETNX, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, the INCR family,
//! INCRBYFLOAT and LCS — with Redis 7.0's replies, errors, keyspace events, dirty counts
//! and what each write propagates (relative expires become absolute PXAT/PEXPIREAT).
//!
//! Encodings follow Redis: values stored as given go through `Value::from_bytes`
//! (int / embstr / raw by content and length); values mutated in place (APPEND, SETRANGE,
//! and the bit commands) become raw (`raw_buf`), as Redis's dbUnshareStringValue does.

use super::{arg_i64, eq_ic, notify, Ctx, Registration, NOT_INT, SYNTAX_ERR, WRONGTYPE};
use crate::keyspace::{lazyfree, Value};
use crate::net::client::cflags;
use crate::protocol::ReplyBuf;
use crate::util::numfmt::{self, LdAdd};
use std::sync::atomic::Ordering::Relaxed;

pub const COMMANDS: &[Registration] = &[
    ("get", get, 0),
    ("set", set, 0),
    ("setnx", setnx, 0),
    ("setex", setex, 0),
    ("psetex", psetex, 0),
    ("getset", getset, 0),
    ("getex", getex, 0),
    ("getdel", getdel, 0),
    ("mget", mget, 0),
    ("mset", mset, 0),
    ("msetnx", msetnx, 0),
    ("append", append, 0),
    ("strlen", strlen, 0),
    ("getrange", getrange, 0),
    ("substr", getrange, 0),
    ("setrange", setrange, 0),
    ("incr", incr, 0),
    ("decr", decr, 0),
    ("incrby", incrby, 0),
    ("decrby", decrby, 0),
    ("incrbyfloat", incrbyfloat, 0),
    ("lcs", lcs, 0),
];

// ---------------------------------------------------------------------------------------
// Helpers shared with the bit commands.

/// A string value's bytes as a bulk reply; false (after a WRONGTYPE error) for other types.
#[inline]
pub fn reply_string(out: &mut ReplyBuf, v: &Value) -> bool {
    match v {
        Value::Int(i) => out.bulk_i64(*i),
        Value::Inline(s) => out.bulk(s.as_bytes()),
        Value::Heap(b) => out.bulk(b),
        _ => {
            out.error(WRONGTYPE);
            return false;
        }
    }
    true
}

/// Redis's getGenericCommand: reply the value of `key` (null if missing).
/// Err(()) if the key holds another type (WRONGTYPE already replied).
fn get_generic(ctx: &mut Ctx, key: &[u8]) -> Result<(), ()> {
    match ctx.ks.get(key) {
        None => {
            ctx.out.null();
            Ok(())
        }
        Some(v) => reply_string(ctx.out, v).then_some(()).ok_or(()),
    }
}

/// The replica link and AOF loading are exempt from size limits (Redis's mustObeyClient).
pub fn obeys_master(ctx: &Ctx) -> bool {
    ctx.client.flag(cflags::MASTER)
}

/// Redis's checkStringLength: would a string of `size + append` bytes exceed
/// proto-max-bulk-len? Replies the error and returns false if so.
pub fn check_string_length(ctx: &mut Ctx, size: u64, append: u64) -> bool {
    if obeys_master(ctx) {
        return true;
    }
    let max = ctx.srv.hot.proto_max_bulk_len.load(Relaxed);
    match size.checked_add(append) {
        Some(total) if total <= i64::MAX as u64 && (total as i64) <= max => true,
        _ => {
            ctx.out.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            false
        }
    }
}

/// Make a string value mutable in place and raw-encoded (dbUnshareStringValue).
/// None if the value is not a string.
pub fn raw_buf(v: &mut Value) -> Option<&mut Vec<u8>> {
    let b = v.make_heap()?;
    keep_raw(b);
    Some(b)
}

/// A heap buffer whose capacity equals its length reads as embstr (see
/// `Value::encoding`); mutated strings are raw in Redis, so keep one spare byte.
#[inline]
pub fn keep_raw(b: &mut Vec<u8>) {
    if b.capacity() == b.len() {
        b.reserve_exact(1);
    }
}

/// A new raw-encoded string of `len` zero bytes (Redis's createObject on a fresh sds).
pub fn new_raw(len: usize) -> Value {
    let mut b = Vec::with_capacity(len + 1);
    b.resize(len, 0);
    Value::Heap(Box::new(b))
}

fn cmd_vec(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

// ---------------------------------------------------------------------------------------
// GET / SET family

fn get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let _ = get_generic(ctx, argv[1]);
}

// Option flags of SET / GETEX, as Redis's OBJ_* flags.
const NX: u32 = 1 << 0;
const XX: u32 = 1 << 1;
const EX: u32 = 1 << 2;
const PX: u32 = 1 << 3;
const KEEPTTL: u32 = 1 << 4;
const GET: u32 = 1 << 5;
const EXAT: u32 = 1 << 6;
const PXAT: u32 = 1 << 7;
const PERSIST: u32 = 1 << 8;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

/// Redis's parseExtendedStringArgumentsOrReply: options from argv[first..] for SET
/// (`is_set`) or GETEX. Returns the flags and the expire argument, or None after
/// replying a syntax error.
fn parse_ext<'a>(ctx: &mut Ctx, argv: &[&'a [u8]], is_set: bool) -> Option<(u32, Option<&'a [u8]>)> {
    let mut flags = 0u32;
    let mut expire = None;
    let mut j = if is_set { 3 } else { 2 };
    while j < argv.len() {
        let opt = argv[j];
        let next = argv.get(j + 1).copied();
        let expire_kind = [("ex", EX), ("px", PX), ("exat", EXAT), ("pxat", PXAT)]
            .into_iter()
            .find(|(n, _)| eq_ic(opt, n))
            .map(|(_, f)| f);
        if is_set && eq_ic(opt, "nx") && flags & XX == 0 {
            flags |= NX;
        } else if is_set && eq_ic(opt, "xx") && flags & NX == 0 {
            flags |= XX;
        } else if is_set && eq_ic(opt, "get") {
            flags |= GET;
        } else if is_set && eq_ic(opt, "keepttl") && flags & (PERSIST | ANY_EXPIRE) == 0 {
            flags |= KEEPTTL;
        } else if !is_set && eq_ic(opt, "persist") && flags & (ANY_EXPIRE | KEEPTTL) == 0 {
            flags |= PERSIST;
        } else if let Some(kind) =
            expire_kind.filter(|&k| next.is_some() && flags & ((KEEPTTL | PERSIST | ANY_EXPIRE) & !k) == 0)
        {
            flags |= kind;
            expire = next;
            j += 1;
        } else {
            ctx.out.error(SYNTAX_ERR);
            return None;
        }
        j += 1;
    }
    Some((flags, expire))
}

/// Redis's getExpireMillisecondsOrReply: the absolute deadline in ms.
fn expire_deadline(ctx: &mut Ctx, arg: &[u8], flags: u32, cmd: &str) -> Option<i64> {
    let v = arg_i64(ctx, arg)?;
    let seconds = flags & (EX | EXAT) != 0;
    let mut ms = v;
    let mut ok = v > 0 && !(seconds && v > i64::MAX / 1000);
    if ok {
        if seconds {
            ms *= 1000;
        }
        if flags & (EX | PX) != 0 {
            ms = ms.wrapping_add(ctx.ks.now);
        }
        ok = ms > 0;
    }
    if !ok {
        ctx.out.error(&format!("ERR invalid expire time in '{cmd}' command"));
        return None;
    }
    Some(ms)
}

/// How SET-like commands answer when they set (`ok`) or skip because of NX/XX (`abort`).
#[derive(Clone, Copy)]
enum SetReply {
    /// +OK / null (SET, SETEX, PSETEX)
    Ok,
    /// :1 / :0 (SETNX)
    Int,
}

/// Redis's setGenericCommand.
fn set_generic(ctx: &mut Ctx, argv: &[&[u8]], flags: u32, val: &[u8], expire: Option<&[u8]>, reply: SetReply, cmd: &str) {
    let key = argv[1];
    let deadline = match expire {
        Some(arg) => match expire_deadline(ctx, arg, flags, cmd) {
            Some(ms) => Some(ms),
            None => return,
        },
        None => None,
    };
    if flags & GET != 0 && get_generic(ctx, key).is_err() {
        return;
    }
    if flags & (NX | XX) != 0 {
        let found = ctx.ks.exists(key);
        if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
            if flags & GET == 0 {
                match reply {
                    SetReply::Ok => ctx.out.null(),
                    SetReply::Int => ctx.out.int(0),
                }
            }
            return;
        }
    }
    ctx.ks.set_key(key, Value::from_bytes(val), flags & KEEPTTL != 0);
    ctx.ks.dirty(1);
    ctx.ks.notify(notify::STRING, "set", key);
    if let Some(ms) = deadline {
        ctx.ks.set_expire(key, ms);
        let ms = ms.to_string();
        ctx.ks.propagate_as(vec![cmd_vec(&[b"SET", key, val, b"PXAT", ms.as_bytes()])]);
        ctx.ks.notify(notify::GENERIC, "expire", key);
    }
    if flags & GET == 0 {
        match reply {
            SetReply::Ok => ctx.out.ok(),
            SetReply::Int => ctx.out.int(1),
        }
    } else if deadline.is_none() {
        // Propagate without the GET option(s).
        let kept: Vec<&[u8]> =
            argv.iter().enumerate().filter(|&(j, a)| j < 3 || !eq_ic(a, "get")).map(|(_, a)| *a).collect();
        ctx.ks.propagate_as(vec![cmd_vec(&kept)]);
    }
}

fn set(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 3 {
        // Plain SET: the hot path.
        ctx.ks.set_key(argv[1], Value::from_bytes(argv[2]), false);
        ctx.ks.dirty(1);
        ctx.ks.notify(notify::STRING, "set", argv[1]);
        return ctx.out.ok();
    }
    let Some((flags, expire)) = parse_ext(ctx, argv, true) else { return };
    set_generic(ctx, argv, flags, argv[2], expire, SetReply::Ok, "set");
}

fn setnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    set_generic(ctx, argv, NX, argv[2], None, SetReply::Int, "setnx");
}

fn setex(ctx: &mut Ctx, argv: &[&[u8]]) {
    set_generic(ctx, argv, EX, argv[3], Some(argv[2]), SetReply::Ok, "setex");
}

fn psetex(ctx: &mut Ctx, argv: &[&[u8]]) {
    set_generic(ctx, argv, PX, argv[3], Some(argv[2]), SetReply::Ok, "psetex");
}

fn getset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if get_generic(ctx, argv[1]).is_err() {
        return;
    }
    ctx.ks.set_key(argv[1], Value::from_bytes(argv[2]), false);
    ctx.ks.notify(notify::STRING, "set", argv[1]);
    ctx.ks.dirty(1);
    ctx.ks.propagate_as(vec![cmd_vec(&[b"SET", argv[1], argv[2]])]);
}

/// Delete `key` for GETDEL / GETEX in the past: propagated as DEL or UNLINK.
fn delete_propagated(ctx: &mut Ctx, key: &[u8], lazy: bool) {
    if let Some(owned) = ctx.ks.db(key).remove(key) {
        lazyfree::free_entry(owned, lazy);
    }
    ctx.ks.signal_modified(key);
    let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
    ctx.ks.propagate_as(vec![cmd_vec(&[cmd, key])]);
    ctx.ks.notify(notify::GENERIC, "del", key);
    ctx.ks.dirty(1);
}

fn getex(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some((flags, expire)) = parse_ext(ctx, argv, false) else { return };
    let key = argv[1];
    match ctx.ks.get(key) {
        None => return ctx.out.null(),
        Some(v) if !v.is_string() => return ctx.out.error(WRONGTYPE),
        Some(_) => {}
    }
    let deadline = match expire {
        Some(arg) => match expire_deadline(ctx, arg, flags, "getex") {
            Some(ms) => Some(ms),
            None => return,
        },
        None => None,
    };
    if let Some(v) = ctx.ks.peek(key) {
        reply_string(ctx.out, v);
    }
    match deadline {
        Some(ms) if flags & (EXAT | PXAT) != 0 && ms <= crate::server::now_ms() => {
            delete_propagated(ctx, key, ctx.srv.hot.lazy_expire.load(Relaxed));
        }
        Some(ms) => {
            ctx.ks.set_expire(key, ms);
            let ms = ms.to_string();
            ctx.ks.propagate_as(vec![cmd_vec(&[b"PEXPIREAT", key, ms.as_bytes()])]);
            ctx.ks.signal_modified(key);
            ctx.ks.notify(notify::GENERIC, "expire", key);
            ctx.ks.dirty(1);
        }
        None if flags & PERSIST != 0 => {
            if ctx.ks.persist(key) {
                ctx.ks.signal_modified(key);
                ctx.ks.propagate_as(vec![cmd_vec(&[b"PERSIST", key])]);
                ctx.ks.notify(notify::GENERIC, "persist", key);
                ctx.ks.dirty(1);
            }
        }
        None => {}
    }
}

fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    if get_generic(ctx, argv[1]).is_err() {
        return;
    }
    if ctx.ks.exists(argv[1]) {
        delete_propagated(ctx, argv[1], ctx.srv.hot.lazy_user_del.load(Relaxed));
    }
}

fn mget(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.array(argv.len() - 1);
    for k in &argv[1..] {
        match ctx.ks.get(k) {
            Some(v) if v.is_string() => {
                reply_string(ctx.out, v);
            }
            _ => ctx.out.null(),
        }
    }
}

fn mset_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) {
    if argv.len() % 2 == 0 {
        let name = if nx { "msetnx" } else { "mset" };
        return ctx.out.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    if nx && argv[1..].chunks(2).any(|kv| ctx.ks.exists(kv[0])) {
        return ctx.out.int(0);
    }
    for kv in argv[1..].chunks(2) {
        ctx.ks.set_key(kv[0], Value::from_bytes(kv[1]), false);
        ctx.ks.notify(notify::STRING, "set", kv[0]);
    }
    ctx.ks.dirty((argv.len() as u64 - 1) / 2);
    if nx {
        ctx.out.int(1)
    } else {
        ctx.out.ok()
    }
}

fn mset(ctx: &mut Ctx, argv: &[&[u8]]) {
    mset_generic(ctx, argv, false);
}

fn msetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    mset_generic(ctx, argv, true);
}

// ---------------------------------------------------------------------------------------
// APPEND, STRLEN, GETRANGE, SETRANGE

fn append(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, add) = (argv[1], argv[2]);
    let total = match ctx.ks.peek(key) {
        None => {
            ctx.ks.add_key(key, Value::from_bytes(add));
            add.len()
        }
        Some(v) => {
            let Some(len) = v.str_len() else { return ctx.out.error(WRONGTYPE) };
            if !check_string_length(ctx, len as u64, add.len() as u64) {
                return;
            }
            let b = raw_buf(ctx.ks.get_mut(key).expect("key checked above")).expect("string checked above");
            b.extend_from_slice(add);
            keep_raw(b);
            b.len()
        }
    };
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::STRING, "append", key);
    ctx.ks.dirty(1);
    ctx.out.int(total as i64);
}

fn strlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get(argv[1]) {
        None => ctx.out.int(0),
        Some(v) => match v.str_len() {
            Some(n) => ctx.out.int(n as i64),
            None => ctx.out.error(WRONGTYPE),
        },
    }
}

/// GETRANGE's index arithmetic: the byte range [start, end] of a `len`-byte string, or None if empty.
fn substr_range(mut start: i64, mut end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(start) = arg_i64(ctx, argv[2]) else { return };
    let Some(end) = arg_i64(ctx, argv[3]) else { return };
    let Some(v) = ctx.ks.get(argv[1]) else { return ctx.out.bulk(b"") };
    let out = &mut *ctx.out;
    let done = v.with_bytes(|s| match substr_range(start, end, s.len()) {
        Some((a, b)) => out.bulk(&s[a..=b]),
        None => out.bulk(b""),
    });
    if done.is_none() {
        ctx.out.error(WRONGTYPE);
    }
}

fn setrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, val) = (argv[1], argv[3]);
    let Some(offset) = arg_i64(ctx, argv[2]) else { return };
    if offset < 0 {
        return ctx.out.error("ERR offset is out of range");
    }
    let offset = offset as u64;
    match ctx.ks.peek(key) {
        None => {
            if val.is_empty() {
                return ctx.out.int(0);
            }
            if !check_string_length(ctx, offset, val.len() as u64) {
                return;
            }
            ctx.ks.add_key(key, new_raw(offset as usize + val.len()));
        }
        Some(v) => {
            let Some(len) = v.str_len() else { return ctx.out.error(WRONGTYPE) };
            if val.is_empty() {
                return ctx.out.int(len as i64);
            }
            if !check_string_length(ctx, offset, val.len() as u64) {
                return;
            }
        }
    }
    let b = raw_buf(ctx.ks.get_mut(key).expect("key present")).expect("string value");
    let off = offset as usize;
    if b.len() < off + val.len() {
        b.resize(off + val.len(), 0);
    }
    b[off..off + val.len()].copy_from_slice(val);
    keep_raw(b);
    let total = b.len();
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::STRING, "setrange", key);
    ctx.ks.dirty(1);
    ctx.out.int(total as i64);
}

// ---------------------------------------------------------------------------------------
// INCR family

/// Redis's incrDecrCommand: integers are updated in place.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) {
    let result = match ctx.ks.get_mut(key) {
        None => None,
        Some(v) => {
            let cur = match &*v {
                Value::Int(i) => *i,
                s if s.is_string() => match s.as_i64() {
                    Some(i) => i,
                    None => return ctx.out.error(NOT_INT),
                },
                _ => return ctx.out.error(WRONGTYPE),
            };
            let Some(n) = cur.checked_add(by) else {
                return ctx.out.error("ERR increment or decrement would overflow");
            };
            *v = Value::Int(n);
            Some(n)
        }
    };
    let n = match result {
        Some(n) => n,
        None => {
            ctx.ks.add_key(key, Value::Int(by));
            by
        }
    };
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::STRING, "incrby", key);
    ctx.ks.dirty(1);
    ctx.out.int(n);
}

fn incr(ctx: &mut Ctx, argv: &[&[u8]]) {
    incr_by(ctx, argv[1], 1);
}

fn decr(ctx: &mut Ctx, argv: &[&[u8]]) {
    incr_by(ctx, argv[1], -1);
}

fn incrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    if let Some(by) = arg_i64(ctx, argv[2]) {
        incr_by(ctx, argv[1], by);
    }
}

fn decrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(by) = arg_i64(ctx, argv[2]) else { return };
    if by == i64::MIN {
        return ctx.out.error("ERR decrement would overflow");
    }
    incr_by(ctx, argv[1], -by);
}

fn incrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let sum = match ctx.ks.peek(key) {
        None => numfmt::ld_add(b"0", argv[2]),
        Some(v) => match v.with_bytes(|cur| numfmt::ld_add(cur, argv[2])) {
            Some(r) => r,
            None => return ctx.out.error(WRONGTYPE),
        },
    };
    let new = match sum {
        LdAdd::Ok(s) => s,
        LdAdd::NotFloat => return ctx.out.error(super::NOT_FLOAT),
        LdAdd::Overflow => return ctx.out.error("ERR increment would produce NaN or Infinity"),
    };
    // Stored as a plain string (Redis's createStringObject: embstr or raw, never int).
    match ctx.ks.get_mut(key) {
        Some(v) => *v = Value::raw_bytes(&new),
        None => {
            ctx.ks.add_key(key, Value::raw_bytes(&new));
        }
    }
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::STRING, "incrbyfloat", key);
    ctx.ks.dirty(1);
    ctx.out.bulk(&new);
    ctx.ks.propagate_as(vec![vec![b"SET".to_vec(), key.to_vec(), new, b"KEEPTTL".to_vec()]]);
}

// ---------------------------------------------------------------------------------------
// LCS

/// One matching range of LCS IDX: (a_start, a_end, b_start, b_end).
type LcsMatch = (u32, u32, u32, u32);

/// Longest common subsequence of `a` and `b`: its length, the sequence itself and the
/// matching ranges (walked from the end, as Redis reports them).
fn lcs_compute(a: &[u8], b: &[u8], want_seq: bool) -> (u32, Vec<u8>, Vec<LcsMatch>) {
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let mut t = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for j in 1..=blen {
            t[i * w + j] =
                if a[i - 1] == b[j - 1] { t[(i - 1) * w + j - 1] + 1 } else { t[(i - 1) * w + j].max(t[i * w + j - 1]) };
        }
    }
    let total = t[alen * w + blen];
    if !want_seq {
        return (total, Vec::new(), Vec::new());
    }
    let mut seq = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges = Vec::new();
    // Current range, None when no match is being tracked.
    let mut cur: Option<LcsMatch> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            seq[idx - 1] = a[i - 1];
            let (ii, jj) = ((i - 1) as u32, (j - 1) as u32);
            match cur.as_mut() {
                None => cur = Some((ii, ii, jj, jj)),
                Some(r) if r.0 == ii + 1 && r.2 == jj + 1 => {
                    r.0 = ii;
                    r.2 = jj;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = cur {
                if r.0 == 0 || r.2 == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if t[(i - 1) * w + j] > t[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = cur.is_some();
        }
        if emit {
            if let Some(r) = cur.take() {
                ranges.push(r);
            }
        }
    }
    (total, seq, ranges)
}

/// LCS IDX: a map {matches: [[[a0, a1], [b0, b1], (len)], ...], len: total}
/// (a flat array of 4 in RESP2). Ranges shorter than `minmatchlen` are left out.
fn reply_lcs_idx(out: &mut ReplyBuf, total: u32, ranges: &[LcsMatch], minmatchlen: i64, withmatchlen: bool) {
    let shown: Vec<&LcsMatch> =
        ranges.iter().filter(|r| minmatchlen == 0 || (r.1 - r.0 + 1) as i64 >= minmatchlen).collect();
    out.map(2);
    out.bulk(b"matches");
    out.array(shown.len());
    for r in shown {
        out.array(2 + withmatchlen as usize);
        out.array(2);
        out.int(r.0 as i64);
        out.int(r.1 as i64);
        out.array(2);
        out.int(r.2 as i64);
        out.int(r.3 as i64);
        if withmatchlen {
            out.int((r.1 - r.0 + 1) as i64);
        }
    }
    out.bulk(b"len");
    out.int(total as i64);
}

fn lcs(ctx: &mut Ctx, argv: &[&[u8]]) {
    let a = ctx.ks.get(argv[1]).map(|v| v.as_bytes());
    let b = ctx.ks.get(argv[2]).map(|v| v.as_bytes());
    if matches!(a, Some(None)) || matches!(b, Some(None)) {
        return ctx.out.error("ERR The specified keys must contain string values");
    }
    let a = a.flatten().map(|c| c.into_owned()).unwrap_or_default();
    let b = b.flatten().map(|c| c.into_owned()).unwrap_or_default();
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < argv.len() {
        let opt = argv[j];
        if eq_ic(opt, "idx") {
            getidx = true;
        } else if eq_ic(opt, "len") {
            getlen = true;
        } else if eq_ic(opt, "withmatchlen") {
            withmatchlen = true;
        } else if eq_ic(opt, "minmatchlen") && j + 1 < argv.len() {
            let Some(m) = arg_i64(ctx, argv[j + 1]) else { return };
            minmatchlen = m.max(0);
            j += 1;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        j += 1;
    }
    if getlen && getidx {
        return ctx.out.error("ERR If you want both the length and indexes, please just use IDX.");
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return ctx.out.error("ERR String too long for LCS");
    }
    let table_bytes = (a.len() as u128 + 1) * (b.len() as u128 + 1) * 4;
    if table_bytes > ctx.srv.hot.proto_max_bulk_len.load(Relaxed).max(0) as u128 {
        return ctx.out.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let (total, seq, ranges) = lcs_compute(&a, &b, getidx || !getlen);
    if getidx {
        reply_lcs_idx(ctx.out, total, &ranges, minmatchlen, withmatchlen);
    } else if getlen {
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&seq);
    }
}

/// In-process harness for the string and bit command tests, on top of `testkit`: replies
/// through the real dispatcher, or a handler run directly to inspect its write effects.
#[cfg(test)]
pub(crate) mod harness {
    use crate::commands::testkit::{TestClient, TestServer};
    use crate::commands::{Ctx, Ks};
    use crate::keyspace::Value;
    use crate::protocol::ReplyBuf;
    use crate::server::now_ms;

    pub struct H {
        pub ts: TestServer,
        pub c: TestClient,
    }

    /// What one command did: its reply bytes, dirty count and propagation override.
    pub struct Ran {
        pub reply: Vec<u8>,
        pub dirty: u64,
        pub propagated: Option<Vec<Vec<Vec<u8>>>>,
    }

    impl H {
        pub fn new() -> H {
            let ts = TestServer::new(1);
            let c = ts.client();
            H { ts, c }
        }

        /// Run the command's handler directly (after the dispatcher's checks would pass).
        pub fn run(&mut self, argv: &[&[u8]]) -> Ran {
            let srv = &*self.ts.srv;
            let cmd = srv.table.lookup(argv[0]).expect("known command");
            let mut out = ReplyBuf::new(self.c.info.resp);
            let ks = Ks::new(srv, srv.keyspace.lock_all(), self.c.info.db, now_ms());
            let (dirty, propagated) = {
                let mut ctx = Ctx { srv, client: &mut self.c.info, out: &mut out, ks };
                (cmd.handler)(&mut ctx, argv);
                (ctx.ks.dirty, ctx.ks.propagate.take())
            };
            Ran { reply: out.buf, dirty, propagated }
        }

        /// Run through the real dispatcher; the reply bytes.
        pub fn reply(&mut self, argv: &[&[u8]]) -> Vec<u8> {
            self.ts.run(&mut self.c, argv)
        }

        /// Store an (empty) list under `key`: a value of the wrong type.
        pub fn make_list(&mut self, key: &[u8]) {
            let mut locks = self.ts.srv.keyspace.lock_all();
            locks.shard(0).dbs[self.c.info.db].insert(key, Value::List(Box::default()), 0);
        }

        /// OBJECT ENCODING of `key`.
        pub fn encoding(&self, key: &[u8]) -> Option<&'static str> {
            let mut locks = self.ts.srv.keyspace.lock_all();
            locks.shard(0).dbs[self.c.info.db].get(key).map(|e| e.value.encoding())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harness::H;
    use super::*;

    const WRONGTYPE_REPLY: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn wrong_type_errors() {
        let mut h = H::new();
        h.make_list(b"l");
        for args in [
            &[&b"set"[..], b"l", b"x", b"GET"][..],
            &[b"get", b"l"],
            &[b"getset", b"l", b"x"],
            &[b"getdel", b"l"],
            &[b"getex", b"l", b"persist"],
            &[b"append", b"l", b"x"],
            &[b"strlen", b"l"],
            &[b"getrange", b"l", b"0", b"1"],
            &[b"setrange", b"l", b"0", b"x"],
            &[b"incr", b"l"],
            &[b"decrby", b"l", b"3"],
            &[b"incrbyfloat", b"l", b"1.5"],
        ] {
            let r = h.run(args);
            assert_eq!(r.reply, WRONGTYPE_REPLY, "{:?}", String::from_utf8_lossy(args[0]));
            assert_eq!(r.dirty, 0);
        }
        h.reply(&[b"set", b"s", b"v"]);
        assert_eq!(h.reply(&[b"mget", b"s", b"l", b"nokey"]), b"*3\r\n$1\r\nv\r\n$-1\r\n$-1\r\n");
        assert_eq!(h.reply(&[b"lcs", b"s", b"l"]), b"-ERR The specified keys must contain string values\r\n");
        // Still a list; a plain SET replaces it.
        assert_eq!(h.reply(&[b"get", b"l"]), WRONGTYPE_REPLY);
        assert_eq!(h.reply(&[b"set", b"l", b"x"]), b"+OK\r\n");
        assert_eq!(h.reply(&[b"get", b"l"]), b"$1\r\nx\r\n");
    }

    fn stream(cmds: &[&[&str]]) -> Option<Vec<Vec<Vec<u8>>>> {
        Some(cmds.iter().map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect()).collect())
    }

    #[test]
    fn what_writes_propagate() {
        let mut h = H::new();
        let r = h.run(&[b"set", b"k", b"v", b"EX", b"100"]);
        let at = r.propagated.as_ref().unwrap()[0][4].clone();
        let at: i64 = String::from_utf8(at).unwrap().parse().unwrap();
        assert!((at - crate::server::now_ms() - 100_000).abs() < 5000);
        assert_eq!(r.propagated, stream(&[&["SET", "k", "v", "PXAT", &at.to_string()]]));
        let r = h.run(&[b"set", b"k", b"w", b"get", b"xx", b"GET"]);
        assert_eq!((r.reply.as_slice(), r.propagated), (&b"$1\r\nv\r\n"[..], stream(&[&["set", "k", "w", "xx"]])));
        let r = h.run(&[b"set", b"k", b"v", b"exat", b"4000000000", b"get"]);
        assert_eq!(r.propagated, stream(&[&["SET", "k", "v", "PXAT", "4000000000000"]]));
        assert_eq!(h.run(&[b"setex", b"k", b"1", b"v"]).propagated.unwrap()[0][3], b"PXAT");
        assert_eq!(h.run(&[b"getset", b"k", b"z"]).propagated, stream(&[&["SET", "k", "z"]]));
        let r = h.run(&[b"incrbyfloat", b"k2", b"1.5"]);
        assert_eq!(r.propagated, stream(&[&["SET", "k2", "1.5", "KEEPTTL"]]));
        let r = h.run(&[b"getex", b"k2", b"pxat", b"4000000000000"]);
        assert_eq!((r.dirty, r.propagated), (1, stream(&[&["PEXPIREAT", "k2", "4000000000000"]])));
        let r = h.run(&[b"getex", b"k2", b"persist"]);
        assert_eq!((r.dirty, r.propagated), (1, stream(&[&["PERSIST", "k2"]])));
        let r = h.run(&[b"getex", b"k2", b"persist"]);
        assert_eq!((r.dirty, r.propagated), (0, None));
        let r = h.run(&[b"getex", b"k2"]);
        assert_eq!((r.dirty, r.propagated), (0, None));
        let r = h.run(&[b"getdel", b"k2"]);
        assert_eq!((r.reply.as_slice(), r.dirty, r.propagated), (&b"$3\r\n1.5\r\n"[..], 1, stream(&[&["DEL", "k2"]])));
        let r = h.run(&[b"getdel", b"k2"]);
        assert_eq!((r.dirty, r.propagated), (0, None));
        h.reply(&[b"set", b"k3", b"v"]);
        let r = h.run(&[b"getex", b"k3", b"exat", b"1"]);
        assert_eq!((r.dirty, r.propagated), (1, stream(&[&["DEL", "k3"]])));
        // Plain writes go to the stream as received.
        let r = h.run(&[b"incr", b"n"]);
        assert_eq!((r.dirty, r.propagated), (1, None));
    }

    #[test]
    fn encodings_after_writes() {
        let mut h = H::new();
        h.reply(&[b"set", b"i", b"1234"]);
        assert_eq!(h.encoding(b"i"), Some("int"));
        h.reply(&[b"setrange", b"i", b"0", b""]);
        assert_eq!(h.encoding(b"i"), Some("int"));
        h.reply(&[b"setrange", b"i", b"0", b"2"]);
        assert_eq!(h.encoding(b"i"), Some("raw"));
        h.reply(&[b"incr", b"i"]);
        assert_eq!(h.encoding(b"i"), Some("int"));
        h.reply(&[b"append", b"a", b"123"]);
        assert_eq!(h.encoding(b"a"), Some("int"));
        h.reply(&[b"append", b"a", b"4"]);
        assert_eq!(h.encoding(b"a"), Some("raw"));
        h.reply(&[b"append", b"e", b"abc"]);
        assert_eq!(h.encoding(b"e"), Some("embstr"));
        h.reply(&[b"incrbyfloat", b"f", b"3"]);
        assert_eq!(h.encoding(b"f"), Some("embstr"));
        h.reply(&[b"setrange", b"r", b"0", b"x"]);
        assert_eq!(h.encoding(b"r"), Some("raw"));
        h.reply(&[b"set", b"long", &[b'x'; 45]]);
        assert_eq!(h.encoding(b"long"), Some("raw"));
        h.reply(&[b"set", b"mid", &[b'x'; 44]]);
        assert_eq!(h.encoding(b"mid"), Some("embstr"));
    }

    #[test]
    fn getrange_index_rules() {
        assert_eq!(substr_range(0, 3, 11), Some((0, 3)));
        assert_eq!(substr_range(-4, -1, 11), Some((7, 10)));
        assert_eq!(substr_range(5, 3, 11), None);
        assert_eq!(substr_range(-1, -5, 11), None);
        assert_eq!(substr_range(-5000, 10000, 11), Some((0, 10)));
        assert_eq!(substr_range(0, -1, 0), None);
        assert_eq!(substr_range(0, 4294967297, 3), Some((0, 2)));
    }

    #[test]
    fn lcs_ranges_like_redis() {
        let (len, seq, ranges) = lcs_compute(b"ohmytext", b"mynewtext", true);
        assert_eq!(len, 6);
        assert_eq!(seq, b"mytext");
        assert_eq!(ranges, vec![(4, 7, 5, 8), (2, 3, 0, 1)]);
        let (len, seq, ranges) = lcs_compute(b"", b"abc", true);
        assert_eq!((len, seq.len(), ranges.len()), (0, 0, 0));
        assert_eq!(lcs_compute(b"abc", b"abc", false).0, 3);
    }

    #[test]
    fn lcs_idx_reply_resp2_and_resp3() {
        let (len, _, ranges) = lcs_compute(b"ohmytext", b"mynewtext", true);
        let body = b"$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n";
        for (resp, head) in [(2, &b"*4\r\n"[..]), (3, &b"%2\r\n"[..])] {
            let mut out = ReplyBuf::new(resp);
            reply_lcs_idx(&mut out, len, &ranges, 4, true);
            assert_eq!(out.buf, [head, &body[..]].concat(), "RESP{resp}");
        }
    }

    #[test]
    fn mutated_strings_are_raw() {
        let mut v = Value::from_bytes(b"1234");
        assert_eq!(v.encoding(), "int");
        raw_buf(&mut v).unwrap()[0] = b'2';
        assert_eq!(v.encoding(), "raw");
        assert_eq!(new_raw(3).encoding(), "raw");
        let mut v = Value::from_bytes(&[b'x'; 30]);
        assert_eq!(v.encoding(), "embstr");
        raw_buf(&mut v).unwrap();
        assert_eq!(v.encoding(), "raw");
    }
}
