//! List commands, including the blocking pops (BLPOP, BRPOP, BLMPOP, BRPOPLPUSH, BLMOVE)
//! built on `crate::blocking`. Replies, errors, keyspace events and what is propagated
//! follow Redis 7.0's t_list.c.

use super::{notify, Ctx, Ks, Registration, NOT_INT, SYNTAX_ERR, WRONGTYPE};
use crate::blocking;
use crate::keyspace::Value;
use crate::protocol::ReplyBuf;
use crate::types::list::{Elem, ListValue, Owned};
use crate::util::numfmt::parse_i64;

pub const COMMANDS: &[Registration] = &[
    ("lpush", lpush, 0),
    ("rpush", rpush, 0),
    ("lpushx", lpushx, 0),
    ("rpushx", rpushx, 0),
    ("llen", llen, 0),
    ("linsert", linsert, 0),
    ("lset", lset, 0),
    ("lrem", lrem, 0),
    ("lpop", lpop, 0),
    ("rpop", rpop, 0),
    ("lindex", lindex, 0),
    ("lrange", lrange, 0),
    ("ltrim", ltrim, 0),
    ("lpos", lpos, 0),
    ("rpoplpush", rpoplpush, 0),
    ("lmove", lmove, 0),
    ("lmpop", lmpop, 0),
    ("blpop", blpop, 0),
    ("brpop", brpop, 0),
    ("brpoplpush", brpoplpush, 0),
    ("blmove", blmove, 0),
    ("blmpop", blmpop, 0),
    // CLIENT UNBLOCK lives with the blocking mechanism.
    ("client|unblock", blocking::client_unblock, 0),
];

/// A new empty list with the configured chunk size.
fn new_list() -> ListValue {
    ListValue::default()
}

#[inline]
pub fn reply_elem(out: &mut ReplyBuf, e: Elem) {
    match e {
        Elem::Int(i) => out.bulk_i64(i),
        Elem::Str(s) => out.bulk(s),
    }
}

/// Redis getLongFromObjectOrReply with an optional custom message.
fn arg_long(out: &mut ReplyBuf, a: &[u8], msg: Option<&str>) -> Option<i64> {
    let v = parse_i64(a);
    if v.is_none() {
        out.error(msg.unwrap_or(NOT_INT));
    }
    v
}

/// getRangeLongFromObjectOrReply.
fn arg_range(out: &mut ReplyBuf, a: &[u8], min: i64, max: i64, msg: Option<&str>) -> Option<i64> {
    let v = arg_long(out, a, msg)?;
    if v < min || v > max {
        match msg {
            Some(m) => out.error(m),
            None => out.error(&format!("ERR value is out of range, value must between {min} and {max}")),
        }
        return None;
    }
    Some(v)
}

/// LEFT / RIGHT: true for the head.
fn parse_where(out: &mut ReplyBuf, a: &[u8]) -> Option<bool> {
    if a.eq_ignore_ascii_case(b"left") {
        Some(true)
    } else if a.eq_ignore_ascii_case(b"right") {
        Some(false)
    } else {
        out.error(SYNTAX_ERR);
        None
    }
}

fn side_name(front: bool) -> &'static [u8] {
    if front {
        b"left"
    } else {
        b"right"
    }
}

/// Bookkeeping after elements were taken from a list (listElementsRemoved). True if the key was deleted.
fn elements_removed(ks: &mut Ks, key: &[u8], front: bool, count: usize) -> bool {
    ks.notify(notify::LIST, if front { "lpop" } else { "rpop" }, key);
    let empty = matches!(ks.peek(key), Some(Value::List(l)) if l.is_empty());
    if empty {
        ks.delete(key);
        ks.notify(notify::GENERIC, "del", key);
    }
    ks.signal_modified(key);
    ks.dirty(count as u64);
    empty
}

/// Redis's start/end index rules (negative from the tail, clamped): the inclusive range
/// of 0-based indexes, or None if it is empty.
pub fn clamp_range(mut start: i64, mut end: i64, llen: i64) -> Option<(i64, i64)> {
    if start < 0 {
        start += llen;
    }
    if end < 0 {
        end += llen;
    }
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    Some((start, end.min(llen - 1)))
}

/// addListRangeReply: elements start..=end (negative indexes from the tail), optionally reversed.
fn reply_range(out: &mut ReplyBuf, l: &ListValue, start: i64, end: i64, reverse: bool) {
    let Some((start, end)) = clamp_range(start, end, l.len() as i64) else {
        return out.raw(b"*0\r\n");
    };
    let n = (end - start + 1) as usize;
    out.array(n);
    let from = if reverse { end } else { start };
    for e in l.iter_from(from as usize, reverse).take(n) {
        reply_elem(out, e);
    }
}

// ---- push -------------------------------------------------------------------------------

fn push_generic(ctx: &mut Ctx, argv: &[&[u8]], front: bool, xx: bool) {
    let key = argv[1];
    let n = match ctx.ks.get_mut(key) {
        Some(Value::List(l)) => {
            for v in &argv[2..] {
                l.push(v, front);
            }
            l.len()
        }
        Some(_) => return ctx.out.error(WRONGTYPE),
        None => {
            if xx {
                return ctx.out.int(0);
            }
            let mut l = new_list();
            for v in &argv[2..] {
                l.push(v, front);
            }
            let n = l.len();
            ctx.ks.add_key(key, Value::List(Box::new(l)));
            n
        }
    };
    ctx.ks.dirty((argv.len() - 2) as u64);
    ctx.out.int(n as i64);
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::LIST, if front { "lpush" } else { "rpush" }, key);
}

fn lpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, true, false)
}
fn rpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, false, false)
}
fn lpushx(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, true, true)
}
fn rpushx(ctx: &mut Ctx, argv: &[&[u8]]) {
    push_generic(ctx, argv, false, true)
}

// ---- read -------------------------------------------------------------------------------

fn llen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get(argv[1]) {
        None => ctx.out.int(0),
        Some(Value::List(l)) => ctx.out.int(l.len() as i64),
        Some(_) => ctx.out.error(WRONGTYPE),
    }
}

fn lindex(ctx: &mut Ctx, argv: &[&[u8]]) {
    let l = match ctx.ks.get(argv[1]) {
        None => return ctx.out.null(),
        Some(Value::List(l)) => l,
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    let Some(idx) = arg_long(ctx.out, argv[2], None) else { return };
    match l.norm_index(idx).and_then(|i| l.get(i)) {
        Some(e) => reply_elem(ctx.out, e),
        None => ctx.out.null(),
    }
}

fn lrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(start) = arg_long(ctx.out, argv[2], None) else { return };
    let Some(end) = arg_long(ctx.out, argv[3], None) else { return };
    match ctx.ks.get(argv[1]) {
        None => ctx.out.raw(b"*0\r\n"),
        Some(Value::List(l)) => reply_range(ctx.out, l, start, end, false),
        Some(_) => ctx.out.error(WRONGTYPE),
    }
}

fn lpos(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut rank, mut count, mut maxlen) = (1i64, -1i64, 0i64);
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let opt = argv[j];
        if opt.eq_ignore_ascii_case(b"rank") && more {
            j += 1;
            let Some(r) = arg_long(ctx.out, argv[j], None) else { return };
            if r == 0 {
                return ctx.out.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
            }
            rank = r;
        } else if opt.eq_ignore_ascii_case(b"count") && more {
            j += 1;
            let Some(c) = arg_range(ctx.out, argv[j], 0, i64::MAX, Some("ERR COUNT can't be negative")) else { return };
            count = c;
        } else if opt.eq_ignore_ascii_case(b"maxlen") && more {
            j += 1;
            let Some(m) = arg_range(ctx.out, argv[j], 0, i64::MAX, Some("ERR MAXLEN can't be negative")) else { return };
            maxlen = m;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        j += 1;
    }
    let reverse = rank < 0;
    if reverse {
        rank = rank.wrapping_neg();
    }
    let l = match ctx.ks.get(argv[1]) {
        None => {
            return if count != -1 { ctx.out.raw(b"*0\r\n") } else { ctx.out.null() };
        }
        Some(Value::List(l)) => l,
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    let target = Elem::of(argv[2]);
    let llen = l.len() as i64;
    let start = if reverse { l.len().wrapping_sub(1) } else { 0 };
    let mut found: Vec<i64> = Vec::new();
    let mut matches = 0i64;
    for (index, e) in l.iter_from(start, reverse).enumerate() {
        let index = index as i64;
        if maxlen != 0 && index >= maxlen {
            break;
        }
        if e == target {
            matches += 1;
            if matches >= rank {
                found.push(if reverse { llen - index - 1 } else { index });
                if count == -1 || (count != 0 && matches - rank + 1 >= count) {
                    break;
                }
            }
        }
    }
    if count != -1 {
        ctx.out.array(found.len());
        for i in found {
            ctx.out.int(i);
        }
    } else {
        match found.first() {
            Some(&i) => ctx.out.int(i),
            None => ctx.out.null(),
        }
    }
}

// ---- modify -----------------------------------------------------------------------------

fn linsert(ctx: &mut Ctx, argv: &[&[u8]]) {
    let after = if argv[2].eq_ignore_ascii_case(b"after") {
        true
    } else if argv[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return ctx.out.error(SYNTAX_ERR);
    };
    let key = argv[1];
    let n = match ctx.ks.get_mut(key) {
        None => return ctx.out.int(0),
        Some(Value::List(l)) => {
            if !l.insert(argv[3], after, argv[4]) {
                return ctx.out.int(-1);
            }
            l.len()
        }
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::LIST, "linsert", key);
    ctx.ks.dirty(1);
    ctx.out.int(n as i64);
}

fn lset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let l = match ctx.ks.get_mut(key) {
        None => return ctx.out.error("ERR no such key"),
        Some(Value::List(l)) => l,
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    let Some(idx) = arg_long(ctx.out, argv[2], None) else { return };
    let Some(i) = l.norm_index(idx) else { return ctx.out.error("ERR index out of range") };
    l.set(i, argv[3]);
    ctx.out.ok();
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::LIST, "lset", key);
    ctx.ks.dirty(1);
}

fn lrem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(count) = arg_long(ctx.out, argv[2], None) else { return };
    let key = argv[1];
    let (removed, empty) = match ctx.ks.get_mut(key) {
        None => return ctx.out.int(0),
        Some(Value::List(l)) => {
            let r = l.remove(argv[3], count);
            (r, l.is_empty())
        }
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    if removed > 0 {
        ctx.ks.dirty(removed as u64);
        ctx.ks.signal_modified(key);
        ctx.ks.notify(notify::LIST, "lrem", key);
    }
    if empty {
        ctx.ks.delete(key);
        ctx.ks.notify(notify::GENERIC, "del", key);
    }
    ctx.out.int(removed as i64);
}

fn ltrim(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(start) = arg_long(ctx.out, argv[2], None) else { return };
    let Some(end) = arg_long(ctx.out, argv[3], None) else { return };
    let key = argv[1];
    let (removed, empty) = match ctx.ks.get_mut(key) {
        None => return ctx.out.ok(),
        Some(Value::List(l)) => {
            let llen = l.len() as i64;
            let (lt, rt) = match clamp_range(start, end, llen) {
                None => (llen, 0),
                Some((s, e)) => (s, llen - e - 1),
            };
            l.trim_end(lt as usize, true);
            l.trim_end(rt as usize, false);
            ((lt + rt) as u64, l.is_empty())
        }
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    ctx.ks.notify(notify::LIST, "ltrim", key);
    if empty {
        ctx.ks.delete(key);
        ctx.ks.notify(notify::GENERIC, "del", key);
    }
    ctx.ks.signal_modified(key);
    ctx.ks.dirty(removed);
    ctx.out.ok();
}

// ---- pop --------------------------------------------------------------------------------

fn pop_generic(ctx: &mut Ctx, argv: &[&[u8]], front: bool) {
    if argv.len() > 3 {
        return ctx.out.error(&format!("ERR wrong number of arguments for '{}' command", if front { "lpop" } else { "rpop" }));
    }
    let count = if argv.len() == 3 {
        match arg_range(ctx.out, argv[2], 0, i64::MAX, Some("ERR value is out of range, must be positive")) {
            Some(c) => Some(c as usize),
            None => return,
        }
    } else {
        None
    };
    let key = argv[1];
    let l = match ctx.ks.get_mut(key) {
        None => return if count.is_some() { ctx.out.null_array() } else { ctx.out.null() },
        Some(Value::List(l)) => l,
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    let n = match count {
        Some(0) => return ctx.out.raw(b"*0\r\n"),
        None => {
            l.pop(front, |e| reply_elem(ctx.out, e));
            1
        }
        Some(c) => pop_range_reply(ctx.out, l, front, c),
    };
    elements_removed(&mut ctx.ks, key, front, n);
}

/// Reply with up to `count` elements from one end (in pop order) and remove them.
fn pop_range_reply(out: &mut ReplyBuf, l: &mut ListValue, front: bool, count: usize) -> usize {
    let n = count.min(l.len());
    if front {
        reply_range(out, l, 0, n as i64 - 1, false);
    } else {
        reply_range(out, l, -(n as i64), -1, true);
    }
    l.trim_end(n, front);
    n
}

fn lpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    pop_generic(ctx, argv, true)
}
fn rpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    pop_generic(ctx, argv, false)
}

/// Pop up to `count` from the list at `key` replying `[key, [elements]]`, propagated as
/// LPOP/RPOP key count (listPopRangeAndReplyWithKey). The list must exist and be non-empty.
fn mpop_key(ks: &mut Ks, out: &mut ReplyBuf, key: &[u8], front: bool, count: usize) {
    let Some(Value::List(l)) = ks.get_mut(key) else { unreachable!("mpop_key on a missing list") };
    out.array(2);
    out.bulk(key);
    let n = pop_range_reply(out, l, front, count);
    elements_removed(ks, key, front, n);
    let cmd: &[u8] = if front { b"LPOP" } else { b"RPOP" };
    ks.propagate_as(vec![vec![cmd.to_vec(), key.to_vec(), n.to_string().into_bytes()]]);
}

/// Pop one element replying `[key, element]`, propagated as LPOP/RPOP key.
fn bpop_key(ks: &mut Ks, out: &mut ReplyBuf, key: &[u8], front: bool) {
    let Some(Value::List(l)) = ks.get_mut(key) else { unreachable!("bpop_key on a missing list") };
    out.array(2);
    out.bulk(key);
    l.pop(front, |e| reply_elem(out, e));
    elements_removed(ks, key, front, 1);
    let cmd: &[u8] = if front { b"LPOP" } else { b"RPOP" };
    ks.propagate_as(vec![vec![cmd.to_vec(), key.to_vec()]]);
}

/// Parsed LMPOP/BLMPOP arguments: key range in argv, side, count.
struct MpopArgs {
    first_key: usize,
    numkeys: usize,
    front: bool,
    count: usize,
}

fn parse_mpop(out: &mut ReplyBuf, argv: &[&[u8]], numkeys_idx: usize) -> Option<MpopArgs> {
    let numkeys = arg_range(out, argv[numkeys_idx], 1, i64::MAX, Some("ERR numkeys should be greater than 0"))? as usize;
    let where_idx = numkeys_idx.checked_add(numkeys)?.checked_add(1).filter(|&w| w < argv.len());
    let Some(where_idx) = where_idx else {
        out.error(SYNTAX_ERR);
        return None;
    };
    let front = parse_where(out, argv[where_idx])?;
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count == -1 && argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() {
            j += 1;
            count = arg_range(out, argv[j], 1, i64::MAX, Some("ERR count should be greater than 0"))?;
        } else {
            out.error(SYNTAX_ERR);
            return None;
        }
        j += 1;
    }
    Some(MpopArgs { first_key: numkeys_idx + 1, numkeys, front, count: if count == -1 { 1 } else { count as usize } })
}

/// The first key (in order) holding a non-empty list; Err(()) after replying WRONGTYPE.
fn first_list<'k>(ks: &Ks, out: &mut ReplyBuf, keys: &[&'k [u8]]) -> Result<Option<&'k [u8]>, ()> {
    for &k in keys {
        match ks.peek(k) {
            None => continue,
            Some(Value::List(l)) if !l.is_empty() => return Ok(Some(k)),
            Some(Value::List(_)) => continue,
            Some(_) => {
                out.error(WRONGTYPE);
                return Err(());
            }
        }
    }
    Ok(None)
}

fn lmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_mpop(ctx.out, argv, 1) else { return };
    let keys = &argv[a.first_key..a.first_key + a.numkeys];
    match first_list(&ctx.ks, ctx.out, keys) {
        Err(()) => {}
        Ok(None) => ctx.out.null_array(),
        Ok(Some(k)) => mpop_key(&mut ctx.ks, ctx.out, k, a.front, a.count),
    }
}

// ---- move -------------------------------------------------------------------------------

/// LMOVE semantics once the source is known to be a non-empty list: checks the
/// destination type, moves one element, replies with it. False after replying WRONGTYPE.
fn move_one(ks: &mut Ks, out: &mut ReplyBuf, src: &[u8], dst: &[u8], from_front: bool, to_front: bool) -> bool {
    match ks.peek(dst) {
        Some(Value::List(_)) | None => {}
        Some(_) => {
            out.error(WRONGTYPE);
            return false;
        }
    }
    let Some(Value::List(l)) = ks.get_mut(src) else { unreachable!("move_one without a source list") };
    let v: Owned = l.pop_owned(from_front).expect("non-empty source");
    match ks.get_mut(dst) {
        Some(Value::List(d)) => d.push_elem(&v.as_elem(), to_front),
        _ => {
            let mut d = new_list();
            d.push_elem(&v.as_elem(), to_front);
            ks.add_key(dst, Value::List(Box::new(d)));
        }
    }
    ks.signal_modified(dst);
    ks.notify(notify::LIST, if to_front { "lpush" } else { "rpush" }, dst);
    reply_elem(out, v.as_elem());
    ks.notify(notify::LIST, if from_front { "lpop" } else { "rpop" }, src);
    if matches!(ks.peek(src), Some(Value::List(l)) if l.is_empty()) {
        ks.delete(src);
        ks.notify(notify::GENERIC, "del", src);
    }
    ks.signal_modified(src);
    ks.dirty(1);
    true
}

fn lmove_generic(ctx: &mut Ctx, argv: &[&[u8]], from_front: bool, to_front: bool) {
    match ctx.ks.peek(argv[1]) {
        None => return ctx.out.null(),
        Some(Value::List(l)) if l.is_empty() => return ctx.out.null(),
        Some(Value::List(_)) => {}
        Some(_) => return ctx.out.error(WRONGTYPE),
    }
    move_one(&mut ctx.ks, ctx.out, argv[1], argv[2], from_front, to_front);
}

fn lmove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(from) = parse_where(ctx.out, argv[3]) else { return };
    let Some(to) = parse_where(ctx.out, argv[4]) else { return };
    lmove_generic(ctx, argv, from, to);
}

fn rpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    lmove_generic(ctx, argv, false, true);
}

// ---- blocking ---------------------------------------------------------------------------

fn blpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop_generic(ctx, argv, true)
}
fn brpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop_generic(ctx, argv, false)
}

fn bpop_generic(ctx: &mut Ctx, argv: &[&[u8]], front: bool) {
    let Some(deadline) = blocking::parse_timeout(ctx, argv[argv.len() - 1], true) else { return };
    let keys = &argv[1..argv.len() - 1];
    match first_list(&ctx.ks, ctx.out, keys) {
        Err(()) => {}
        Ok(Some(k)) => bpop_key(&mut ctx.ks, ctx.out, k, front),
        Ok(None) if !blocking::may_block(ctx) => ctx.out.null_array(),
        Ok(None) => block_on(ctx, keys, deadline, argv),
    }
}

fn blmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_mpop(ctx.out, argv, 2) else { return };
    let Some(deadline) = blocking::parse_timeout(ctx, argv[1], true) else { return };
    let keys = &argv[a.first_key..a.first_key + a.numkeys];
    match first_list(&ctx.ks, ctx.out, keys) {
        Err(()) => {}
        Ok(Some(k)) => mpop_key(&mut ctx.ks, ctx.out, k, a.front, a.count),
        Ok(None) if !blocking::may_block(ctx) => ctx.out.null_array(),
        Ok(None) => block_on(ctx, keys, deadline, argv),
    }
}

fn blmove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(from) = parse_where(ctx.out, argv[3]) else { return };
    let Some(to) = parse_where(ctx.out, argv[4]) else { return };
    let Some(deadline) = blocking::parse_timeout(ctx, argv[5], true) else { return };
    blmove_generic(ctx, argv, from, to, deadline);
}

fn brpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(deadline) = blocking::parse_timeout(ctx, argv[3], true) else { return };
    blmove_generic(ctx, argv, false, true, deadline);
}

fn blmove_generic(ctx: &mut Ctx, argv: &[&[u8]], from: bool, to: bool, deadline: i64) {
    match ctx.ks.peek(argv[1]) {
        Some(Value::List(l)) if !l.is_empty() => {
            if move_one(&mut ctx.ks, ctx.out, argv[1], argv[2], from, to) {
                propagate_move(&mut ctx.ks, argv, from, to);
            }
        }
        Some(Value::List(_)) | None => {
            if blocking::may_block(ctx) {
                block_on(ctx, &argv[1..2], deadline, argv);
            } else {
                ctx.out.null();
            }
        }
        Some(_) => ctx.out.error(WRONGTYPE),
    }
}

/// A BLMOVE / BRPOPLPUSH that moved an element goes to the stream as LMOVE / RPOPLPUSH.
fn propagate_move(ks: &mut Ks, argv: &[&[u8]], from: bool, to: bool) {
    let cmd = if argv[0].eq_ignore_ascii_case(b"brpoplpush") {
        vec![b"RPOPLPUSH".to_vec(), argv[1].to_vec(), argv[2].to_vec()]
    } else {
        vec![b"LMOVE".to_vec(), argv[1].to_vec(), argv[2].to_vec(), side_name(from).to_vec(), side_name(to).to_vec()]
    };
    ks.propagate_as(vec![cmd]);
}

fn block_on(ctx: &mut Ctx, keys: &[&[u8]], deadline: i64, argv: &[&[u8]]) {
    let owned = argv.iter().map(|a| a.to_vec()).collect();
    blocking::block(ctx, keys, deadline, owned, serve_blocked, blocking::reply_null_array);
}

/// Serve a client blocked by one of the list commands from the list at `key`.
fn serve_blocked(ks: &mut Ks, out: &mut ReplyBuf, argv: &[&[u8]], key: &[u8]) -> bool {
    if !matches!(ks.peek(key), Some(Value::List(l)) if !l.is_empty()) {
        return false;
    }
    let name = argv[0].to_ascii_lowercase();
    match name.as_slice() {
        b"blpop" => bpop_key(ks, out, key, true),
        b"brpop" => bpop_key(ks, out, key, false),
        b"blmpop" => {
            let mut scratch = ReplyBuf::new(2);
            let Some(a) = parse_mpop(&mut scratch, argv, 2) else { return false };
            mpop_key(ks, out, key, a.front, a.count);
        }
        b"brpoplpush" | b"blmove" => {
            let (from, to) = if name == b"blmove" {
                (argv[3].eq_ignore_ascii_case(b"left"), argv[4].eq_ignore_ascii_case(b"left"))
            } else {
                (false, true)
            };
            if move_one(ks, out, key, argv[2], from, to) {
                propagate_move(ks, argv, from, to);
            }
        }
        _ => return false,
    }
    true
}
