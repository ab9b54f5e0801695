//! Set commands: SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SMOVE, SPOP,
//! SRANDMEMBER, SINTER / SUNION / SDIFF (+STORE), SINTERCARD, SSCAN.

use super::coll::{self, bulk_ele};
use super::{notify, Ctx, Ks, Registration};
use crate::protocol::ReplyBuf;
use crate::types::packed::Ele;
use crate::types::SetValue;

pub const COMMANDS: &[Registration] = &[
    ("sadd", sadd, 0),
    ("srem", srem, 0),
    ("scard", scard, 0),
    ("sismember", sismember, 0),
    ("smismember", smismember, 0),
    ("smembers", smembers, 0),
    ("smove", smove, 0),
    ("spop", spop, 0),
    ("srandmember", srandmember, 0),
    ("sinter", sinter, 0),
    ("sinterstore", sinterstore, 0),
    ("sintercard", sintercard, 0),
    ("sunion", sunion, 0),
    ("sunionstore", sunionstore, 0),
    ("sdiff", sdiff, 0),
    ("sdiffstore", sdiffstore, 0),
    ("sscan", sscan, 0),
];

fn read<'a>(ks: &'a Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a SetValue>, coll::Replied> {
    coll::read::<SetValue>(ks, out, key)
}

fn sadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let max = crate::types::limits().intset;
    let Ok(s) = coll::write_or_create(&mut ctx.ks, ctx.out, argv[1], || SetValue::for_first(argv[2])) else {
        return;
    };
    let added = s.add_many(&argv[2..], max);
    ctx.out.int(added as i64);
    if added > 0 {
        ctx.ks.signal_modified(argv[1]);
        ctx.ks.notify(notify::SET, "sadd", argv[1]);
        ctx.ks.dirty(added as u64);
    }
}

fn srem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(s) = coll::write::<SetValue>(&mut ctx.ks, ctx.out, argv[1]) else { return };
    let Some(s) = s else { return ctx.out.int(0) };
    let removed = s.remove_many(&argv[2..]);
    ctx.out.int(removed as i64);
    if removed > 0 {
        ctx.ks.notify(notify::SET, "srem", argv[1]);
        coll::after_write::<SetValue>(&mut ctx.ks, argv[1]);
        ctx.ks.dirty(removed as u64);
    }
}

fn scard(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(s) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let n = s.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
}

fn sismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(s) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let found = s.is_some_and(|s| s.contains(argv[2]));
    ctx.out.int(found as i64);
}

fn smismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(s) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    ctx.out.array(argv.len() - 2);
    for m in &argv[2..] {
        ctx.out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
}

fn smembers(ctx: &mut Ctx, argv: &[&[u8]]) {
    inter(ctx, &argv[1..], None, None);
}

fn smove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (src, dst, m) = (argv[1], argv[2], argv[3]);
    let max = crate::types::limits().intset;
    let Ok(s) = coll::peek::<SetValue>(&ctx.ks, ctx.out, src) else { return };
    if s.is_none() {
        return ctx.out.int(0);
    }
    if !coll::check_type::<SetValue>(&ctx.ks, ctx.out, dst) {
        return;
    }
    if src == dst {
        let found = s.is_some_and(|s| s.contains(m));
        return ctx.out.int(found as i64);
    }
    let Ok(Some(s)) = coll::write::<SetValue>(&mut ctx.ks, ctx.out, src) else { return };
    if !s.remove(m) {
        return ctx.out.int(0);
    }
    ctx.ks.notify(notify::SET, "srem", src);
    coll::after_write::<SetValue>(&mut ctx.ks, src);
    ctx.ks.dirty(1);
    let Ok(d) = coll::write_or_create(&mut ctx.ks, ctx.out, dst, || SetValue::for_first(m)) else { return };
    if d.add(m, max) {
        ctx.ks.dirty(1);
        ctx.ks.signal_modified(dst);
        ctx.ks.notify(notify::SET, "sadd", dst);
    }
    ctx.out.int(1);
}

fn spop(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return ctx.out.error(super::SYNTAX_ERR);
    }
    let count = if argv.len() == 3 {
        match crate::util::numfmt::parse_i64(argv[2]) {
            Some(c) if c >= 0 => Some(c as usize),
            _ => return ctx.out.error("ERR value is out of range, must be positive"),
        }
    } else {
        None
    };
    let key = argv[1];
    let Ok(s) = coll::write::<SetValue>(&mut ctx.ks, ctx.out, key) else { return };
    let Some(s) = s else {
        return if count.is_some() { ctx.out.set(0) } else { ctx.out.null() };
    };
    let mut rng = rand::thread_rng();
    let Some(count) = count else {
        let m = s.random(&mut rng).expect("sets are never empty").to_vec();
        s.remove(&m);
        ctx.ks.notify(notify::SET, "spop", key);
        ctx.out.bulk(&m);
        ctx.ks.propagate_as(vec![vec![b"SREM".to_vec(), key.to_vec(), m]]);
        coll::after_write::<SetValue>(&mut ctx.ks, key);
        ctx.ks.dirty(1);
        return;
    };
    if count == 0 {
        return ctx.out.set(0);
    }
    let size = s.len();
    if count >= size {
        let all = s.elements();
        ctx.out.set(all.len());
        all.iter().for_each(|e| bulk_ele(ctx.out, e));
        ctx.ks.notify(notify::SET, "spop", key);
        ctx.ks.dirty(size as u64);
        ctx.ks.delete(key);
        ctx.ks.notify(notify::GENERIC, "del", key);
        ctx.ks.propagate_as(vec![vec![b"DEL".to_vec(), key.to_vec()]]);
        return;
    }
    // Pop `count` random members, or when that is most of the set, keep `size - count`
    // random members in a fresh set (Redis re-creates it, so its encoding may change).
    let remaining = size - count;
    let popped: Vec<Vec<u8>> = if remaining * 5 > count && size > 1024 {
        // few from a large set: pick them one by one
        (0..count)
            .map(|_| {
                let m = s.random(&mut rng).expect("set larger than count").to_vec();
                s.remove(&m);
                m
            })
            .collect()
    } else {
        let all: Vec<Vec<u8>> = s.elements().iter().map(|e| e.to_vec()).collect();
        let mut kept = vec![false; size];
        rand::seq::index::sample(&mut rng, size, remaining).iter().for_each(|i| kept[i] = true);
        let (keep, pop): (Vec<_>, Vec<_>) = all.into_iter().zip(kept).partition(|(_, k)| *k);
        let pop: Vec<Vec<u8>> = pop.into_iter().map(|(m, _)| m).collect();
        if remaining * 5 > count {
            s.remove_many(&pop.iter().map(|m| m.as_slice()).collect::<Vec<_>>());
        } else {
            let max = crate::types::limits().intset;
            let rest: Vec<&[u8]> = keep.iter().map(|(m, _)| m.as_slice()).collect();
            let mut fresh = SetValue::for_first(rest[0]);
            fresh.add_many(&rest, max);
            *s = fresh;
        }
        pop
    };
    ctx.out.set(popped.len());
    popped.iter().for_each(|m| ctx.out.bulk(m));
    let props = popped.iter().map(|m| vec![b"SREM".to_vec(), key.to_vec(), m.to_vec()]).collect();
    ctx.ks.propagate_as(props);
    ctx.ks.notify(notify::SET, "spop", key);
    ctx.ks.dirty(count as u64);
    ctx.ks.signal_modified(key);
}

fn srandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return ctx.out.error(super::SYNTAX_ERR);
    }
    if argv.len() == 2 {
        let Ok(s) = read(&ctx.ks, ctx.out, argv[1]) else { return };
        let mut rng = rand::thread_rng();
        return match s.and_then(|s| s.random(&mut rng)) {
            Some(m) => bulk_ele(ctx.out, &m),
            None => ctx.out.null(),
        };
    }
    let Some(l) = coll::parse_rand_count(ctx.out, argv[2]) else { return };
    let Ok(s) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let Some(s) = s else { return ctx.out.array(0) };
    ctx.out.array(coll::rand_reply_len(s.len(), l));
    coll::rand_sample(
        ctx.out,
        &mut ctx.client.close_after_reply,
        s.len(),
        l,
        || s.elements(),
        |rng| s.random(rng).expect("non-empty set"),
        |m| m.to_vec(),
        bulk_ele,
    );
}

/// The sets named by `keys` (None for missing keys), or Err after WRONGTYPE.
fn lookup_all<'a>(ks: &'a Ks, out: &mut ReplyBuf, keys: &[&[u8]]) -> Result<Vec<Option<&'a SetValue>>, coll::Replied> {
    keys.iter().map(|k| read(ks, out, k)).collect()
}

/// SINTER / SMEMBERS / SINTERSTORE / SINTERCARD. `card_limit`: Some(limit) for SINTERCARD
/// (0 = no limit).
fn inter(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, card_limit: Option<usize>) {
    let Ok(sets) = lookup_all(&ctx.ks, ctx.out, keys) else { return };
    let mut result: Vec<Ele> = Vec::new();
    if sets.iter().all(|s| s.is_some()) {
        let mut sets: Vec<&SetValue> = sets.into_iter().flatten().collect();
        sets.sort_by_key(|s| s.len());
        let limit = card_limit.filter(|&l| l > 0).unwrap_or(usize::MAX);
        for e in sets[0].elements() {
            let inall = sets[1..].iter().all(|o| std::ptr::eq(*o, sets[0]) || e.with_bytes(|b| o.contains(b)));
            if inall {
                result.push(e);
                if result.len() >= limit {
                    break;
                }
            }
        }
    }
    if card_limit.is_some() {
        return ctx.out.int(result.len() as i64);
    }
    match dst {
        None => {
            ctx.out.set(result.len());
            result.iter().for_each(|e| bulk_ele(ctx.out, e));
        }
        Some(d) => {
            let owned: Vec<Vec<u8>> = result.iter().map(|e| e.to_vec()).collect();
            store(ctx, d, owned, "sinterstore");
        }
    }
}

/// Store the members as a set under `dst` (deleting it when empty) and reply its size.
fn store(ctx: &mut Ctx, dst: &[u8], members: Vec<Vec<u8>>, event: &str) {
    let max = crate::types::limits().intset;
    let set = SetValue::from_members(members.iter().map(|m| Ele::Str(m)), max);
    let n = set.len();
    coll::store(&mut ctx.ks, dst, set, notify::SET, event);
    ctx.out.int(n as i64);
}

/// SUNION / SDIFF (+STORE): the result set, built as Redis builds its temporary set (so
/// all-integer results come back sorted).
fn union_diff(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, diff: bool) {
    let Ok(sets) = lookup_all(&ctx.ks, ctx.out, keys) else { return };
    let mut members: Vec<Vec<u8>> = Vec::new();
    if !diff {
        for s in sets.iter().flatten() {
            s.for_each(|e| members.push(e.to_vec()));
        }
    } else if let Some(first) = sets[0] {
        let same = sets[1..].iter().flatten().any(|o| std::ptr::eq(*o, first));
        if !same {
            first.for_each(|e| {
                if !e.with_bytes(|b| sets[1..].iter().flatten().any(|o| o.contains(b))) {
                    members.push(e.to_vec());
                }
            });
        }
    }
    match dst {
        Some(d) => store(ctx, d, members, if diff { "sdiffstore" } else { "sunionstore" }),
        None => {
            let max = crate::types::limits().intset;
            let set = SetValue::from_members(members.iter().map(|m| Ele::Str(m)), max);
            ctx.out.set(set.len());
            set.for_each(|e| bulk_ele(ctx.out, &e));
        }
    }
}

fn sinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    inter(ctx, &argv[1..], None, None);
}

fn sinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    inter(ctx, &argv[2..], Some(argv[1]), None);
}

fn sintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    let numkeys = match crate::util::numfmt::parse_i64(argv[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.out.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > argv.len() - 2 {
        return ctx.out.error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0;
    let mut j = 2 + numkeys;
    while j < argv.len() {
        if super::eq_ic(argv[j], "limit") && j + 1 < argv.len() {
            match crate::util::numfmt::parse_i64(argv[j + 1]) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.out.error(super::SYNTAX_ERR);
        }
    }
    inter(ctx, &argv[2..2 + numkeys], None, Some(limit));
}

fn sunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    union_diff(ctx, &argv[1..], None, false);
}

fn sunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    union_diff(ctx, &argv[2..], Some(argv[1]), false);
}

fn sdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    union_diff(ctx, &argv[1..], None, true);
}

fn sdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    union_diff(ctx, &argv[2..], Some(argv[1]), true);
}

fn sscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = coll::parse_cursor(ctx.out, argv[2]) else { return };
    let Ok(s) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let Some(s) = s else { return coll::scan_reply(ctx.out, 0, &[]) };
    let Some(opts) = coll::parse_scan_opts(ctx.out, &argv[3..]) else { return };
    let mut items = Vec::new();
    let next = s.scan(cursor, opts.count, |e| {
        if opts.keep(&e) {
            items.push(e.to_vec());
        }
    });
    coll::scan_reply(ctx.out, next, &items);
}
