//! SORT and SORT_RO over lists, sets and sorted sets, with Redis 7.0's rules (sort.c):
//! numeric by default (strtod of the element or of the BY key, ties broken by comparing
//! the elements' bytes; "One or more scores can't be converted into double"), ALPHA
//! (byte order; elements with no BY value first), BY without `*` = no sorting (native
//! order for lists and zsets; sets are then sorted ALPHA with STORE or in a script), LIMIT,
//! GET `#` / `pattern*` / `pattern*->field`, ASC/DESC, STORE (a list; empty deletes).
//! BY and GET read arbitrary keys, so SORT locks every shard.

use super::{flags, notify, Ctx, Ks, Registration, NOT_INT, SYNTAX_ERR, WRONGTYPE};
use crate::keyspace::Value;
use crate::types::list::ListValue;
use std::cmp::Ordering;

pub const COMMANDS: &[Registration] = &[("sort", sort, flags::ALL_SHARDS), ("sort_ro", sort_ro, flags::ALL_SHARDS)];

fn sort(ctx: &mut Ctx, argv: &[&[u8]]) {
    sort_generic(ctx, argv, false)
}

fn sort_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    sort_generic(ctx, argv, true)
}

/// The value a BY/GET pattern points at for element `subst` (lookupKeyByPattern):
/// `#` is the element itself; `*` is replaced by the element; `key->field` reads a hash field.
fn lookup_by_pattern(ks: &Ks, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(subst.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after = &pattern[star + 1..];
    let (postfix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(i) if i + 2 < after.len() => (&after[..i], Some(&after[i + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(postfix);
    match (ks.get(&key)?, field) {
        (Value::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
        (v, None) if v.is_string() => v.as_bytes().map(|b| b.into_owned()),
        _ => None,
    }
}

/// Redis's sort weight parse: strtod over the bytes up to the first NUL, all consumed,
/// no overflow/underflow, not NaN (leading spaces and "" are accepted, as in C).
fn weight(b: &[u8]) -> Option<f64> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let c = std::ffi::CString::new(&b[..end]).ok()?;
    let mut eptr: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: c is NUL-terminated; eptr is set by strtod inside it.
    let (v, ok) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(c.as_ptr(), &mut eptr);
        (v, *eptr == 0 && *libc::__errno_location() != libc::ERANGE)
    };
    (ok && !v.is_nan()).then_some(v)
}

struct Item {
    ele: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

impl Item {
    fn new(ele: Vec<u8>) -> Item {
        Item { ele, score: 0.0, cmp: None }
    }
}

fn sort_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly: bool) {
    let (mut desc, mut alpha, mut dontsort) = (false, false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut sortby: Option<&[u8]> = None;
    let mut storekey: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    // BY/GET patterns read arbitrary keys: only for users with read access to all keys.
    let full_key_access = ctx.client.user.as_ref().is_none_or(|u| {
        let cmd = &ctx.srv.table.cmds[ctx.client.cmd];
        ctx.srv.acl.has_unrestricted_read(&ctx.srv.table, u, cmd, argv)
    });
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if a.eq_ignore_ascii_case(b"asc") {
            desc = false;
        } else if a.eq_ignore_ascii_case(b"desc") {
            desc = true;
        } else if a.eq_ignore_ascii_case(b"alpha") {
            alpha = true;
        } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            let (Some(s), Some(c)) = (crate::util::numfmt::parse_i64(argv[j + 1]), crate::util::numfmt::parse_i64(argv[j + 2]))
            else {
                return ctx.out.error(NOT_INT);
            };
            (limit_start, limit_count) = (s, c);
            j += 2;
        } else if !readonly && a.eq_ignore_ascii_case(b"store") && left >= 1 {
            storekey = Some(argv[j + 1]);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"by") && left >= 1 {
            sortby = Some(argv[j + 1]);
            dontsort = !argv[j + 1].contains(&b'*');
            if !dontsort && !full_key_access {
                return ctx.out.error("ERR BY option of SORT denied due to insufficient ACL permissions.");
            }
            j += 1;
        } else if a.eq_ignore_ascii_case(b"get") && left >= 1 {
            if !full_key_access {
                return ctx.out.error("ERR GET option of SORT denied due to insufficient ACL permissions.");
            }
            gets.push(argv[j + 1]);
            j += 1;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        j += 1;
    }
    let is_set = match ctx.ks.get(argv[1]) {
        None | Some(Value::List(_)) | Some(Value::ZSet(_)) => false,
        Some(Value::Set(_)) => true,
        Some(_) => return ctx.out.error(WRONGTYPE),
    };
    // A set has no order of its own: with STORE, or called from a script, it is sorted
    // ALPHA instead (the result must be the same on replicas).
    let from_script = ctx.client.flag(crate::net::client::cflags::SCRIPT);
    if dontsort && is_set && (storekey.is_some() || from_script) {
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    let (mut items, mut start, mut end) = load(&ctx.ks, argv[1], dontsort, desc, limit_start, limit_count);
    let mut conversion_error = false;
    if !dontsort {
        for it in items.iter_mut() {
            let by = match sortby {
                Some(p) => match lookup_by_pattern(&ctx.ks, p, &it.ele) {
                    Some(v) => v,
                    None => continue,
                },
                None => {
                    if !alpha {
                        match weight(&it.ele) {
                            Some(s) => it.score = s,
                            None => conversion_error = true,
                        }
                    }
                    continue;
                }
            };
            if alpha {
                it.cmp = Some(by);
            } else {
                match weight(&by) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let by_pattern = sortby.is_some();
        items.sort_by(|a, b| {
            let c = if !alpha {
                match a.score.partial_cmp(&b.score) {
                    Some(Ordering::Equal) | None => a.ele.cmp(&b.ele),
                    Some(o) => o,
                }
            } else if by_pattern {
                a.cmp.cmp(&b.cmp)
            } else {
                a.ele.cmp(&b.ele)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }
    if conversion_error {
        return ctx.out.error("ERR One or more scores can't be converted into double");
    }
    if start < 0 {
        // empty output (end < start)
        start = 0;
        end = -1;
    }
    let range = if end >= start { &items[start as usize..=(end as usize).min(items.len().saturating_sub(1))] } else { &items[..0] };
    let outputlen = if gets.is_empty() { range.len() } else { gets.len() * range.len() };
    match storekey {
        None => {
            ctx.out.array(outputlen);
            for it in range {
                if gets.is_empty() {
                    ctx.out.bulk(&it.ele);
                }
                for g in &gets {
                    match lookup_by_pattern(&ctx.ks, g, &it.ele) {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut l = ListValue::default();
            for it in range {
                if gets.is_empty() {
                    l.push(&it.ele, false);
                }
                for g in &gets {
                    l.push(&lookup_by_pattern(&ctx.ks, g, &it.ele).unwrap_or_default(), false);
                }
            }
            if outputlen > 0 {
                ctx.ks.set_key(dst, Value::List(Box::new(l)), false);
                ctx.ks.notify(notify::LIST, "sortstore", dst);
                ctx.ks.dirty(outputlen as u64);
            } else if ctx.ks.delete(dst) {
                ctx.ks.notify(notify::GENERIC, "del", dst);
                ctx.ks.dirty(1);
            }
            ctx.out.int(outputlen as i64);
        }
    }
}

/// Load the elements to sort and the output range (start, end) within them, as Redis does:
/// lists and zsets that are not sorted load only the LIMIT range, in their own order.
fn load(ks: &Ks, key: &[u8], dontsort: bool, desc: bool, limit_start: i64, limit_count: i64) -> (Vec<Item>, i64, i64) {
    let vlen = match ks.peek(key) {
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => z.len(),
        _ => 0,
    } as i64;
    let mut start = limit_start.max(0).min(vlen);
    let count = limit_count.max(-1).min(vlen);
    let mut end = if count < 0 { vlen - 1 } else { start + count - 1 };
    if start >= vlen {
        start = vlen - 1;
        end = vlen - 2;
    }
    if end >= vlen {
        end = vlen - 1;
    }
    let ranged = dontsort && (start != 0 || end != vlen - 1);
    let mut items: Vec<Item> = Vec::new();
    match ks.peek(key) {
        Some(Value::List(l)) if dontsort => {
            if end >= start {
                let n = if ranged { (end - start + 1) as usize } else { l.len() };
                let from = if desc { l.len() - 1 - start as usize } else { start as usize };
                items.extend(l.iter_from(from, desc).take(n).map(|e| Item::new(e.to_vec())));
                end -= start;
                start = 0;
            }
        }
        Some(Value::List(l)) => items.extend(l.iter().map(|e| Item::new(e.to_vec()))),
        Some(Value::Set(s)) => s.for_each(|e| items.push(Item::new(e.to_vec()))),
        Some(Value::ZSet(z)) if dontsort => {
            let v = z.view();
            let n = if ranged { (end - start + 1).max(0) as usize } else { v.len() };
            for k in 0..n {
                let rank = start as usize + k;
                let r = if desc { v.len() - 1 - rank } else { rank };
                items.push(Item::new(v.at(r).0.to_vec()));
            }
            end -= start;
            start = 0;
        }
        Some(Value::ZSet(z)) => z.for_each(|e, _| items.push(Item::new(e.to_vec()))),
        _ => {}
    }
    (items, start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_like_strtod() {
        assert_eq!(weight(b"1.5"), Some(1.5));
        assert_eq!(weight(b" 12"), Some(12.0));
        assert_eq!(weight(b""), Some(0.0));
        assert_eq!(weight(b"0x10"), Some(16.0));
        assert_eq!(weight(b"abc"), None);
        assert_eq!(weight(b"1e400"), None);
        assert_eq!(weight(b"nan"), None);
        assert_eq!(weight(b"3\0junk"), Some(3.0));
    }
}
