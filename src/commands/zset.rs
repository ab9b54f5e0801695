//! Sorted set commands: ZADD, ZINCRBY, ZCARD, ZCOUNT, ZLEXCOUNT, ZSCORE, ZMSCORE, ZRANK,
//! ZREVRANK, ZRANGE (+BYSCORE/BYLEX/REV/LIMIT/WITHSCORES), ZRANGESTORE, the legacy
//! ZREVRANGE / Z[REV]RANGEBYSCORE / Z[REV]RANGEBYLEX, ZREM, ZREMRANGEBY{RANK,SCORE,LEX},
//! ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD, ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, ZSCAN.
//! BZPOPMIN, BZPOPMAX, BZMPOP block through `crate::blocking`; `pop_generic` is the core
//! of every pop.

use super::coll::{self, bulk_ele};
use super::{notify, Ctx, Ks, Registration, SYNTAX_ERR};
use crate::blocking;
use crate::keyspace::Value;
use crate::protocol::ReplyBuf;
use crate::types::packed::Ele;
use crate::types::zset::View;
use crate::types::ZSetValue;
use crate::util::numfmt;

pub const COMMANDS: &[Registration] = &[
    ("zadd", zadd, 0),
    ("zincrby", zincrby, 0),
    ("zcard", zcard, 0),
    ("zcount", zcount, 0),
    ("zlexcount", zlexcount, 0),
    ("zscore", zscore, 0),
    ("zmscore", zmscore, 0),
    ("zrank", zrank, 0),
    ("zrevrank", zrevrank, 0),
    ("zrange", zrange, 0),
    ("zrangestore", zrangestore, 0),
    ("zrevrange", zrevrange, 0),
    ("zrangebyscore", zrangebyscore, 0),
    ("zrevrangebyscore", zrevrangebyscore, 0),
    ("zrangebylex", zrangebylex, 0),
    ("zrevrangebylex", zrevrangebylex, 0),
    ("zrem", zrem, 0),
    ("zremrangebyrank", zremrangebyrank, 0),
    ("zremrangebyscore", zremrangebyscore, 0),
    ("zremrangebylex", zremrangebylex, 0),
    ("zunion", zunion, 0),
    ("zinter", zinter, 0),
    ("zdiff", zdiff, 0),
    ("zunionstore", zunionstore, 0),
    ("zinterstore", zinterstore, 0),
    ("zdiffstore", zdiffstore, 0),
    ("zintercard", zintercard, 0),
    ("zpopmin", zpopmin, 0),
    ("zpopmax", zpopmax, 0),
    ("zmpop", zmpop, 0),
    ("bzpopmin", bzpopmin, 0),
    ("bzpopmax", bzpopmax, 0),
    ("bzmpop", bzmpop, 0),
    ("zrandmember", zrandmember, 0),
    ("zscan", zscan, 0),
];

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";
const SCORE_RANGE_ERR: &str = "ERR min or max is not a float";
const LEX_RANGE_ERR: &str = "ERR min or max not valid string range item";

fn read<'a>(ks: &'a Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a ZSetValue>, coll::Replied> {
    coll::read::<ZSetValue>(ks, out, key)
}

/// A score reply: bulk "%.17g" in RESP2, a double in RESP3.
#[inline]
fn score_reply(out: &mut ReplyBuf, s: f64) {
    out.double(s)
}

// ---------------------------------------------------------------------------------------
// ZADD / ZINCRBY

const F_NX: u8 = 1;
const F_XX: u8 = 2;
const F_GT: u8 = 4;
const F_LT: u8 = 8;
const F_INCR: u8 = 16;

fn zadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, 0)
}

fn zincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, F_INCR)
}

fn zadd_generic(ctx: &mut Ctx, argv: &[&[u8]], mut flags: u8) {
    let key = argv[1];
    let mut ch = false;
    let mut i = 2;
    while i < argv.len() {
        let o = argv[i];
        match () {
            _ if super::eq_ic(o, "nx") => flags |= F_NX,
            _ if super::eq_ic(o, "xx") => flags |= F_XX,
            _ if super::eq_ic(o, "ch") => ch = true,
            _ if super::eq_ic(o, "incr") => flags |= F_INCR,
            _ if super::eq_ic(o, "gt") => flags |= F_GT,
            _ if super::eq_ic(o, "lt") => flags |= F_LT,
            _ => break,
        }
        i += 1;
    }
    let pairs = &argv[i..];
    if pairs.is_empty() || pairs.len() % 2 == 1 {
        return ctx.out.error(SYNTAX_ERR);
    }
    let has = |f: u8| flags & f != 0;
    if has(F_NX) && has(F_XX) {
        return ctx.out.error("ERR XX and NX options at the same time are not compatible");
    }
    if (has(F_GT) && has(F_NX)) || (has(F_LT) && has(F_NX)) || (has(F_GT) && has(F_LT)) {
        return ctx.out.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if has(F_INCR) && pairs.len() > 2 {
        return ctx.out.error("ERR INCR option supports a single increment-element pair");
    }
    let mut scores = Vec::with_capacity(pairs.len() / 2);
    for p in pairs.chunks(2) {
        match numfmt::parse_f64(p[0]) {
            Some(s) => scores.push(s),
            None => return ctx.out.error(super::NOT_FLOAT),
        }
    }
    let lim = crate::types::limits().zset;
    if !coll::check_type::<ZSetValue>(&ctx.ks, ctx.out, key) {
        return;
    }
    if !ctx.ks.exists(key) {
        if has(F_XX) {
            return if has(F_INCR) { ctx.out.null() } else { ctx.out.int(0) };
        }
        ctx.ks.add_key(key, Value::ZSet(Box::new(ZSetValue::new_for(pairs[1].len(), lim))));
    }
    let Ok(Some(z)) = coll::write::<ZSetValue>(&mut ctx.ks, ctx.out, key) else { return };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    let mut nan = false;
    for (p, &score) in pairs.chunks(2).zip(&scores) {
        let m = p[1];
        match z.score(m) {
            Some(cur) => {
                if has(F_NX) {
                    continue;
                }
                let new = if has(F_INCR) { score + cur } else { score };
                if new.is_nan() {
                    nan = true;
                    break;
                }
                if (has(F_LT) && new >= cur) || (has(F_GT) && new <= cur) {
                    continue;
                }
                last = new;
                processed += 1;
                if new != cur {
                    z.set_score(m, new);
                    updated += 1;
                }
            }
            None => {
                if has(F_XX) {
                    continue;
                }
                z.insert(m, score, lim);
                last = score;
                added += 1;
                processed += 1;
            }
        }
    }
    if nan {
        ctx.out.error(NAN_ERR);
    } else {
        ctx.ks.dirty(added + updated);
        if has(F_INCR) {
            if processed > 0 {
                score_reply(ctx.out, last);
            } else {
                ctx.out.null();
            }
        } else {
            ctx.out.int((if ch { added + updated } else { added }) as i64);
        }
    }
    if added + updated > 0 {
        ctx.ks.signal_modified(key);
        ctx.ks.notify(notify::ZSET, if has(F_INCR) { "zincr" } else { "zadd" }, key);
    }
}

// ---------------------------------------------------------------------------------------
// Simple reads

fn zcard(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let n = z.map_or(0, |z| z.len());
    ctx.out.int(n as i64);
}

fn zscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    match z.and_then(|z| z.score(argv[2])) {
        Some(s) => score_reply(ctx.out, s),
        None => ctx.out.null(),
    }
}

fn zmscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    ctx.out.array(argv.len() - 2);
    for m in &argv[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => score_reply(ctx.out, s),
            None => ctx.out.null(),
        }
    }
}

fn rank_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) {
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let Some(z) = z else { return ctx.out.null() };
    match z.rank(argv[2]) {
        Some((r, _)) => ctx.out.int(if rev { z.len() - 1 - r } else { r } as i64),
        None => ctx.out.null(),
    }
}

fn zrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    rank_generic(ctx, argv, false)
}

fn zrevrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    rank_generic(ctx, argv, true)
}

// ---------------------------------------------------------------------------------------
// Ranges

/// A score interval (Redis's zrangespec).
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

/// One bound: "(x" exclusive or "x", parsed as C strtod over the whole argument.
fn parse_score_bound(a: &[u8]) -> Option<(f64, bool)> {
    let (ex, body) = if a.first() == Some(&b'(') { (true, &a[1..]) } else { (false, a) };
    let body = &body[..body.iter().position(|&c| c == 0).unwrap_or(body.len())];
    let c = std::ffi::CString::new(body).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: c is NUL-terminated; strtod sets `end` inside it.
    let (v, used) = unsafe {
        let v = libc::strtod(c.as_ptr(), &mut end);
        (v, end.offset_from(c.as_ptr()) as usize)
    };
    if used != body.len() || v.is_nan() {
        return None;
    }
    Some((v, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, minex) = parse_score_bound(min)?;
    let (max, maxex) = parse_score_bound(max)?;
    Some(ScoreRange { min, max, minex, maxex })
}

impl ScoreRange {
    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }
    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
    /// Ranks [start, end) of the elements in range.
    fn ranks(&self, v: &View) -> (usize, usize) {
        let start = v.partition_point(|_, s| !self.gte_min(s));
        let end = v.partition_point(|_, s| self.lte_max(s));
        (start, end.max(start))
    }
}

/// A lex bound: "-", "+", "[x" or "(x".
#[derive(Clone, Copy)]
enum Lex<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

fn parse_lex(a: &[u8]) -> Option<Lex<'_>> {
    match a.first()? {
        b'+' if a.len() == 1 => Some(Lex::Max),
        b'-' if a.len() == 1 => Some(Lex::Min),
        b'(' => Some(Lex::Excl(&a[1..])),
        b'[' => Some(Lex::Incl(&a[1..])),
        _ => None,
    }
}

#[derive(Clone, Copy)]
struct LexRange<'a> {
    min: Lex<'a>,
    max: Lex<'a>,
}

impl LexRange<'_> {
    fn gte_min(&self, m: &Ele) -> bool {
        match self.min {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(b) => m.cmp_bytes(b).is_ge(),
            Lex::Excl(b) => m.cmp_bytes(b).is_gt(),
        }
    }
    fn lte_max(&self, m: &Ele) -> bool {
        match self.max {
            Lex::Max => true,
            Lex::Min => false,
            Lex::Incl(b) => m.cmp_bytes(b).is_le(),
            Lex::Excl(b) => m.cmp_bytes(b).is_lt(),
        }
    }
    fn ranks(&self, v: &View) -> (usize, usize) {
        let start = v.partition_point(|m, _| !self.gte_min(m));
        let end = v.partition_point(|m, _| self.lte_max(m));
        (start, end.max(start))
    }
}

fn parse_lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
    Some(LexRange { min: parse_lex(min)?, max: parse_lex(max)? })
}

/// Redis's rank sanitizing: negative indexes from the end, clamp; None if empty.
fn rank_span(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize + 1))
}

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The ranks a ZRANGE-family call selects, in reply order.
fn select_ranks(view: &View, kind: RangeType, rev: bool, bounds: &Bounds, offset: i64, limit: i64) -> Vec<usize> {
    let len = view.len();
    let (start, end) = match (kind, bounds) {
        (RangeType::Score, Bounds::Score(r)) => r.ranks(view),
        (RangeType::Lex, Bounds::Lex(r)) => r.ranks(view),
        (_, Bounds::Rank(a, b)) => {
            return match rank_span(*a, *b, len) {
                None => Vec::new(),
                Some((s, e)) if rev => (len - e..len - s).rev().collect(),
                Some((s, e)) => (s..e).collect(),
            };
        }
        _ => unreachable!("bounds match the range type"),
    };
    if offset < 0 {
        return Vec::new();
    }
    let n = end - start;
    let skip = (offset as usize).min(n);
    let take = if limit < 0 { n - skip } else { (limit as usize).min(n - skip) };
    if rev {
        (end - skip - take..end - skip).rev().collect()
    } else {
        (start + skip..start + skip + take).collect()
    }
}

enum Bounds<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// ZRANGE and its relatives. `at`: index of the source key; `dst`: ZRANGESTORE's target.
fn zrange_generic(ctx: &mut Ctx, argv: &[&[u8]], at: usize, dst: Option<&[u8]>, mut kind: RangeType, rev_fixed: Option<bool>) {
    let key = argv[at];
    let mut rev = rev_fixed.unwrap_or(false);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = at + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if dst.is_none() && super::eq_ic(a, "withscores") {
            withscores = true;
        } else if super::eq_ic(a, "limit") && left >= 2 {
            let Some(o) = super::arg_i64(ctx, argv[j + 1]) else { return };
            let Some(l) = super::arg_i64(ctx, argv[j + 2]) else { return };
            (offset, limit) = (o, l);
            j += 2;
        } else if rev_fixed.is_none() && super::eq_ic(a, "rev") {
            rev = true;
        } else if kind == RangeType::Auto && super::eq_ic(a, "bylex") {
            kind = RangeType::Lex;
        } else if kind == RangeType::Auto && super::eq_ic(a, "byscore") {
            kind = RangeType::Score;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        j += 1;
    }
    if kind == RangeType::Auto {
        kind = RangeType::Rank;
    }
    if limit != -1 && kind == RangeType::Rank {
        return ctx
            .out
            .error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if withscores && kind == RangeType::Lex {
        return ctx.out.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    let (mut lo, mut hi) = (argv[at + 1], argv[at + 2]);
    if rev && kind != RangeType::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let bounds = match kind {
        RangeType::Score => match parse_score_range(lo, hi) {
            Some(r) => Bounds::Score(r),
            None => return ctx.out.error(SCORE_RANGE_ERR),
        },
        RangeType::Lex => match parse_lex_range(lo, hi) {
            Some(r) => Bounds::Lex(r),
            None => return ctx.out.error(LEX_RANGE_ERR),
        },
        _ => {
            let Some(a) = super::arg_i64(ctx, lo) else { return };
            let Some(b) = super::arg_i64(ctx, hi) else { return };
            Bounds::Rank(a, b)
        }
    };
    let Ok(z) = read(&ctx.ks, ctx.out, key) else { return };
    let Some(z) = z else {
        return match dst {
            Some(d) => store_result(ctx, d, Vec::new(), "zrangestore"),
            None => ctx.out.array(0),
        };
    };
    let view = z.view();
    let ranks = select_ranks(&view, kind, rev, &bounds, offset, limit);
    match dst {
        Some(d) => {
            let items = ranks.iter().map(|&r| (view.at(r).0.to_vec(), view.at(r).1)).collect();
            store_result(ctx, d, items, "zrangestore");
        }
        None => reply_elements(ctx.out, ranks.iter().map(|&r| view.at(r)), ranks.len(), withscores),
    }
}

/// Reply member (and score) lists: flat in RESP2, [member, score] pairs in RESP3.
fn reply_elements<'a>(out: &mut ReplyBuf, it: impl Iterator<Item = (Ele<'a>, f64)>, n: usize, withscores: bool) {
    let resp3 = out.resp >= 3;
    out.array(if withscores && !resp3 { 2 * n } else { n });
    for (m, s) in it {
        if withscores && resp3 {
            out.array(2);
        }
        bulk_ele(out, &m);
        if withscores {
            score_reply(out, s);
        }
    }
}

/// Store a computed zset under `dst` (or delete it when empty) and reply its size.
fn store_result(ctx: &mut Ctx, dst: &[u8], items: Vec<(Vec<u8>, f64)>, event: &str) {
    let lim = crate::types::limits().zset;
    let n = items.len();
    let z = ZSetValue::build(items, lim, true);
    coll::store(&mut ctx.ks, dst, z, notify::ZSET, event);
    ctx.out.int(n as i64);
}

fn zrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Auto, None)
}

fn zrangestore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 2, Some(argv[1]), RangeType::Auto, None)
}

fn zrevrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Rank, Some(true))
}

fn zrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Some(true))
}

fn zrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Some(true))
}

fn zcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_score_range(argv[2], argv[3]) else { return ctx.out.error(SCORE_RANGE_ERR) };
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let n = z.map_or(0, |z| {
        let (s, e) = r.ranks(&z.view());
        e - s
    });
    ctx.out.int(n as i64);
}

fn zlexcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_lex_range(argv[2], argv[3]) else { return ctx.out.error(LEX_RANGE_ERR) };
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let n = z.map_or(0, |z| {
        let (s, e) = r.ranks(&z.view());
        e - s
    });
    ctx.out.int(n as i64);
}

// ---------------------------------------------------------------------------------------
// Removal

fn zrem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(z) = coll::write::<ZSetValue>(&mut ctx.ks, ctx.out, argv[1]) else { return };
    let Some(z) = z else { return ctx.out.int(0) };
    let mut deleted = 0;
    for m in &argv[2..] {
        if z.remove(m) {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    ctx.out.int(deleted);
    if deleted > 0 {
        ctx.ks.notify(notify::ZSET, "zrem", argv[1]);
        coll::after_write::<ZSetValue>(&mut ctx.ks, argv[1]);
        ctx.ks.dirty(deleted as u64);
    }
}

fn zremrange_generic(ctx: &mut Ctx, argv: &[&[u8]], kind: RangeType) {
    let bounds = match kind {
        RangeType::Score => match parse_score_range(argv[2], argv[3]) {
            Some(r) => Bounds::Score(r),
            None => return ctx.out.error(SCORE_RANGE_ERR),
        },
        RangeType::Lex => match parse_lex_range(argv[2], argv[3]) {
            Some(r) => Bounds::Lex(r),
            None => return ctx.out.error(LEX_RANGE_ERR),
        },
        _ => {
            let Some(a) = super::arg_i64(ctx, argv[2]) else { return };
            let Some(b) = super::arg_i64(ctx, argv[3]) else { return };
            Bounds::Rank(a, b)
        }
    };
    let Ok(z) = coll::write::<ZSetValue>(&mut ctx.ks, ctx.out, argv[1]) else { return };
    let Some(z) = z else { return ctx.out.int(0) };
    let (s, e) = {
        let v = z.view();
        match &bounds {
            Bounds::Score(r) => r.ranks(&v),
            Bounds::Lex(r) => r.ranks(&v),
            Bounds::Rank(a, b) => rank_span(*a, *b, v.len()).unwrap_or((0, 0)),
        }
    };
    z.remove_ranks(s, e);
    let deleted = e - s;
    ctx.out.int(deleted as i64);
    if deleted > 0 {
        let event = match kind {
            RangeType::Score => "zremrangebyscore",
            RangeType::Lex => "zremrangebylex",
            _ => "zremrangebyrank",
        };
        ctx.ks.notify(notify::ZSET, event, argv[1]);
        coll::after_write::<ZSetValue>(&mut ctx.ks, argv[1]);
        ctx.ks.dirty(deleted as u64);
    }
}

fn zremrangebyrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange_generic(ctx, argv, RangeType::Rank)
}

fn zremrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange_generic(ctx, argv, RangeType::Score)
}

fn zremrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange_generic(ctx, argv, RangeType::Lex)
}

// ---------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(acc: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *acc += v;
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Aggregate::Min => *acc = if v < *acc { v } else { *acc },
        Aggregate::Max => *acc = if v > *acc { v } else { *acc },
    }
}

/// A source of ZUNION & co: a zset, or a set (every member scores 1).
#[derive(Clone, Copy)]
enum Src<'a> {
    None,
    Z(&'a ZSetValue),
    S(&'a crate::types::SetValue),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::None => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::None => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
    fn for_each(&self, mut f: impl FnMut(Ele, f64)) {
        match self {
            Src::None => {}
            Src::Z(z) => z.for_each(f),
            Src::S(s) => s.for_each(|e| f(e, 1.0)),
        }
    }
    fn same(&self, o: &Src) -> bool {
        match (self, o) {
            (Src::Z(a), Src::Z(b)) => std::ptr::eq(*a, *b),
            (Src::S(a), Src::S(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

/// ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD. `nk`: index of numkeys.
fn zsetop(ctx: &mut Ctx, argv: &[&[u8]], nk: usize, dst: Option<&[u8]>, op: SetOp, card_only: bool) {
    let cmdname = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
    let Some(n) = super::arg_i64(ctx, argv[nk]) else { return };
    if n < 1 {
        return ctx.out.error(&format!("ERR at least 1 input key is needed for '{cmdname}' command"));
    }
    if n as usize > argv.len() - (nk + 1) {
        return ctx.out.error(SYNTAX_ERR);
    }
    let n = n as usize;
    let keys = &argv[nk + 1..nk + 1 + n];
    let mut srcs: Vec<(Src, f64)> = Vec::with_capacity(n);
    for k in keys {
        match ctx.ks.get(k) {
            None => srcs.push((Src::None, 1.0)),
            Some(Value::ZSet(z)) => srcs.push((Src::Z(z), 1.0)),
            Some(Value::Set(s)) => srcs.push((Src::S(s), 1.0)),
            Some(_) => return ctx.out.error(super::WRONGTYPE),
        }
    }
    let (mut how, mut withscores, mut limit) = (Aggregate::Sum, false, 0usize);
    let mut j = nk + 1 + n;
    while j < argv.len() {
        let left = argv.len() - j;
        let a = argv[j];
        if op != SetOp::Diff && !card_only && left > n && super::eq_ic(a, "weights") {
            for (i, w) in argv[j + 1..j + 1 + n].iter().enumerate() {
                match numfmt::parse_f64(w) {
                    Some(w) => srcs[i].1 = w,
                    None => return ctx.out.error("ERR weight value is not a float"),
                }
            }
            j += n + 1;
        } else if op != SetOp::Diff && !card_only && left >= 2 && super::eq_ic(a, "aggregate") {
            let v = argv[j + 1];
            how = match () {
                _ if super::eq_ic(v, "sum") => Aggregate::Sum,
                _ if super::eq_ic(v, "min") => Aggregate::Min,
                _ if super::eq_ic(v, "max") => Aggregate::Max,
                _ => return ctx.out.error(SYNTAX_ERR),
            };
            j += 2;
        } else if dst.is_none() && !card_only && super::eq_ic(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && left >= 2 && super::eq_ic(a, "limit") {
            match numfmt::parse_i64(argv[j + 1]) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
    }
    if op != SetOp::Diff {
        srcs.sort_by_key(|s| s.0.len());
    }
    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut card = 0usize;
    match op {
        SetOp::Inter => {
            let (first, w0) = srcs[0];
            let mut stop = false;
            first.for_each(|m, s| {
                if stop {
                    return;
                }
                let mut score = w0 * s;
                if score.is_nan() {
                    score = 0.0;
                }
                let bytes = m.to_vec();
                for (o, w) in &srcs[1..] {
                    let v = if o.same(&first) { Some(s) } else { o.score(&bytes) };
                    match v {
                        Some(v) => aggregate(&mut score, v * w, how),
                        None => return,
                    }
                }
                if card_only {
                    card += 1;
                    stop = limit > 0 && card >= limit;
                } else {
                    items.push((bytes, score));
                }
            });
        }
        SetOp::Union => {
            let mut acc: std::collections::HashMap<Vec<u8>, f64> = std::collections::HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            for (src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let bytes = m.to_vec();
                    match acc.get_mut(&bytes) {
                        Some(a) => aggregate(a, score, how),
                        None => {
                            acc.insert(bytes.clone(), score);
                            order.push(bytes);
                        }
                    }
                });
            }
            items = order.into_iter().map(|m| (acc[&m], m)).map(|(s, m)| (m, s)).collect();
        }
        SetOp::Diff => {
            let first = srcs[0].0;
            if !srcs[1..].iter().any(|o| o.0.same(&first)) {
                first.for_each(|m, s| {
                    let bytes = m.to_vec();
                    if !srcs[1..].iter().any(|o| o.0.score(&bytes).is_some()) {
                        items.push((bytes, s));
                    }
                });
            }
        }
    }
    if card_only {
        return ctx.out.int(card as i64);
    }
    match dst {
        Some(d) => {
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, d, items, event)
        }
        None => {
            items.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
            let n = items.len();
            reply_elements(ctx.out, items.iter().map(|(m, s)| (Ele::Str(m), *s)), n, withscores);
        }
    }
}

fn zunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Union, false)
}

fn zinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Inter, false)
}

fn zdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Diff, false)
}

fn zunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 2, Some(argv[1]), SetOp::Union, false)
}

fn zinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 2, Some(argv[1]), SetOp::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 2, Some(argv[1]), SetOp::Diff, false)
}

fn zintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop(ctx, argv, 1, None, SetOp::Inter, true)
}

// ---------------------------------------------------------------------------------------
// Pops

/// How a pop replies (Redis's genericZpopCommand switches).
#[derive(Clone, Copy)]
pub struct PopStyle {
    /// Emit the key name (BZPOP*, ZMPOP, BZMPOP).
    pub emit_key: bool,
    /// [member, score] pairs nested (RESP3 ZPOP with count, ZMPOP).
    pub nested: bool,
    /// Reply a null array when nothing can be popped (ZMPOP) instead of an empty array.
    pub nil_when_empty: bool,
}

/// Pop from the first existing key of `keys` (`max`: highest scores first). `count` None is
/// the plain single pop. Returns the key popped from and how many elements, or None (after
/// replying) when every key is missing, on WRONGTYPE, or for a count of 0.
pub fn pop_generic(
    ks: &mut Ks,
    out: &mut ReplyBuf,
    keys: &[&[u8]],
    max: bool,
    count: Option<usize>,
    style: PopStyle,
) -> Option<(Vec<u8>, usize)> {
    let mut found = None;
    for k in keys {
        match coll::peek::<ZSetValue>(ks, out, k) {
            Err(coll::Replied) => return None,
            Ok(Some(_)) => {
                found = Some(*k);
                break;
            }
            Ok(None) => {}
        }
    }
    let Some(key) = found else {
        if style.nil_when_empty {
            out.null_array();
        } else {
            out.array(0);
        }
        return None;
    };
    if count == Some(0) {
        out.array(0);
        return None;
    }
    let Ok(Some(z)) = coll::write::<ZSetValue>(ks, out, key) else { return None };
    let len = z.len();
    let n = count.unwrap_or(1).min(len);
    let popped: Vec<(Vec<u8>, f64)> = {
        let v = z.view();
        let ranks: Vec<usize> = if max { (len - n..len).rev().collect() } else { (0..n).collect() };
        ranks.iter().map(|&r| (v.at(r).0.to_vec(), v.at(r).1)).collect()
    };
    if max {
        z.remove_ranks(len - n, len);
    } else {
        z.remove_ranks(0, n);
    }
    match (style.nested, style.emit_key) {
        (false, false) => out.array(n * 2),
        (true, false) => out.array(n),
        (false, true) => {
            out.array(n * 2 + 1);
            out.bulk(key);
        }
        (true, true) => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    for (m, s) in &popped {
        if style.nested {
            out.array(2);
        }
        out.bulk(m);
        score_reply(out, *s);
    }
    ks.dirty(n as u64);
    ks.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    coll::after_write::<ZSetValue>(ks, key);
    Some((key.to_vec(), n))
}

/// ZMPOP and the blocking pops go to the write stream as ZPOPMIN/ZPOPMAX key [count].
fn propagate_pop(ks: &mut Ks, popped: Option<(Vec<u8>, usize)>, max: bool, with_count: bool) {
    let Some((key, n)) = popped else { return ks.propagate_as(Vec::new()) };
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut cmd = vec![name.to_vec(), key];
    if with_count {
        cmd.push(itoa::Buffer::new().format(n).as_bytes().to_vec());
    }
    ks.propagate_as(vec![cmd]);
}

fn zpop_minmax(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
    if argv.len() > 3 {
        return ctx.out.error(SYNTAX_ERR);
    }
    let count = if argv.len() == 3 {
        match numfmt::parse_i64(argv[2]) {
            Some(c) if c >= 0 => Some(c as usize),
            _ => return ctx.out.error("ERR value is out of range, must be positive"),
        }
    } else {
        None
    };
    let style = PopStyle { emit_key: false, nested: ctx.out.resp > 2 && count.is_some(), nil_when_empty: false };
    pop_generic(&mut ctx.ks, ctx.out, &argv[1..2], max, count, style);
}

fn zpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_minmax(ctx, argv, false)
}

fn zpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_minmax(ctx, argv, true)
}

/// The arguments of ZMPOP / BZMPOP from numkeys on: keys, max, count.
pub struct MpopArgs<'a> {
    pub keys: Vec<&'a [u8]>,
    pub max: bool,
    pub count: usize,
}

pub fn parse_mpop<'a>(out: &mut ReplyBuf, argv: &[&'a [u8]], nk: usize) -> Option<MpopArgs<'a>> {
    let numkeys = match numfmt::parse_i64(argv[nk]) {
        Some(n) if n >= 1 => n as usize,
        _ => {
            out.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_idx = nk + 1 + numkeys;
    if numkeys > argv.len() || where_idx >= argv.len() {
        out.error(SYNTAX_ERR);
        return None;
    }
    let max = match () {
        _ if super::eq_ic(argv[where_idx], "min") => false,
        _ if super::eq_ic(argv[where_idx], "max") => true,
        _ => {
            out.error(SYNTAX_ERR);
            return None;
        }
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count.is_none() && super::eq_ic(argv[j], "count") && j + 1 < argv.len() {
            match numfmt::parse_i64(argv[j + 1]) {
                Some(c) if c >= 1 => count = Some(c as usize),
                _ => {
                    out.error("ERR count should be greater than 0");
                    return None;
                }
            }
            j += 2;
        } else {
            out.error(SYNTAX_ERR);
            return None;
        }
    }
    Some(MpopArgs { keys: argv[nk + 1..where_idx].to_vec(), max, count: count.unwrap_or(1) })
}

fn zmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_mpop(ctx.out, argv, 1) else { return };
    let popped = pop_generic(&mut ctx.ks, ctx.out, &a.keys, a.max, Some(a.count), MPOP_STYLE);
    propagate_pop(&mut ctx.ks, popped, a.max, true);
}

const BZPOP_STYLE: PopStyle = PopStyle { emit_key: true, nested: false, nil_when_empty: true };
const MPOP_STYLE: PopStyle = PopStyle { emit_key: true, nested: true, nil_when_empty: true };

/// The first of `keys` holding a zset (Err after WRONGTYPE), as the blocking pops look.
fn first_zset<'k>(ks: &Ks, out: &mut ReplyBuf, keys: &[&'k [u8]]) -> Result<Option<&'k [u8]>, coll::Replied> {
    for k in keys {
        if coll::peek::<ZSetValue>(ks, out, k)?.is_some() {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// BZPOPMIN / BZPOPMAX / BZMPOP: pop now, or block until a zset appears (null array when
/// blocking is not allowed, as inside MULTI).
fn bpop(ctx: &mut Ctx, argv: &[&[u8]], keys: &[&[u8]], deadline: i64, max: bool, count: Option<usize>) {
    let style = if count.is_some() { MPOP_STYLE } else { BZPOP_STYLE };
    match first_zset(&ctx.ks, ctx.out, keys) {
        Err(coll::Replied) => {}
        Ok(Some(k)) => {
            let popped = pop_generic(&mut ctx.ks, ctx.out, &[k], max, count, style);
            propagate_pop(&mut ctx.ks, popped, max, count.is_some());
        }
        Ok(None) if !blocking::may_block(ctx) => ctx.out.null_array(),
        Ok(None) => {
            let owned = argv.iter().map(|a| a.to_vec()).collect();
            blocking::block(ctx, keys, deadline, owned, serve_blocked, blocking::reply_null_array);
        }
    }
}

fn bzpop_minmax(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
    let Some(deadline) = blocking::parse_timeout(ctx, argv[argv.len() - 1], true) else { return };
    bpop(ctx, argv, &argv[1..argv.len() - 1], deadline, max, None)
}

fn bzpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop_minmax(ctx, argv, false)
}

fn bzpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop_minmax(ctx, argv, true)
}

fn bzmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_mpop(ctx.out, argv, 2) else { return };
    let Some(deadline) = blocking::parse_timeout(ctx, argv[1], true) else { return };
    bpop(ctx, argv, &a.keys, deadline, a.max, Some(a.count))
}

/// Serve a client blocked by BZPOPMIN / BZPOPMAX / BZMPOP from the zset at `key`.
fn serve_blocked(ks: &mut Ks, out: &mut ReplyBuf, argv: &[&[u8]], key: &[u8]) -> bool {
    if !matches!(ks.peek(key), Some(Value::ZSet(_))) {
        return false;
    }
    let (max, count) = if argv[0].eq_ignore_ascii_case(b"bzmpop") {
        let mut scratch = ReplyBuf::new(2);
        let Some(a) = parse_mpop(&mut scratch, argv, 2) else { return false };
        (a.max, Some(a.count))
    } else {
        (argv[0].eq_ignore_ascii_case(b"bzpopmax"), None)
    };
    let style = if count.is_some() { MPOP_STYLE } else { BZPOP_STYLE };
    let popped = pop_generic(ks, out, &[key], max, count, style);
    let served = popped.is_some();
    propagate_pop(ks, popped, max, count.is_some());
    served
}

// ---------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN

fn zrandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 2 {
        let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
        let mut rng = rand::thread_rng();
        return match z.and_then(|z| z.random(&mut rng)) {
            Some((m, _)) => bulk_ele(ctx.out, &m),
            None => ctx.out.null(),
        };
    }
    let Some(l) = coll::parse_rand_count(ctx.out, argv[2]) else { return };
    let withscores = match argv.len() {
        3 => false,
        4 if super::eq_ic(argv[3], "withscores") => true,
        _ => return ctx.out.error(SYNTAX_ERR),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return ctx.out.error("ERR value is out of range");
    }
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let Some(z) = z else { return ctx.out.array(0) };
    let resp3 = ctx.out.resp >= 3;
    let n = coll::rand_reply_len(z.len(), l);
    ctx.out.array(if withscores && !resp3 { n * 2 } else { n });
    coll::rand_sample(
        ctx.out,
        &mut ctx.client.close_after_reply,
        z.len(),
        l,
        || {
            // Redis walks zsets from the highest score when it returns all of them.
            let v = z.view();
            (0..v.len()).rev().map(|r| v.at(r)).collect()
        },
        |rng| z.random(rng).expect("non-empty zset"),
        |p| p.0.to_vec(),
        |out, (m, s)| {
            if withscores && resp3 {
                out.array(2);
            }
            bulk_ele(out, m);
            if withscores {
                score_reply(out, *s);
            }
        },
    );
}

fn zscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = coll::parse_cursor(ctx.out, argv[2]) else { return };
    let Ok(z) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let Some(z) = z else { return coll::scan_reply(ctx.out, 0, &[]) };
    let Some(opts) = coll::parse_scan_opts(ctx.out, &argv[3..]) else { return };
    let mut items = Vec::new();
    let next = z.scan(cursor, opts.count, |m, s| {
        if opts.keep(&m) {
            items.push(m.to_vec());
            items.push(numfmt::fmt_double_17g(s).into_bytes());
        }
    });
    coll::scan_reply(ctx.out, next, &items);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_score_bound(b"+inf"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"nan"), None);
        assert_eq!(parse_score_bound(b"1x"), None);
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert!(parse_lex(b"a").is_none() && parse_lex(b"+a").is_none());
        assert_eq!(rank_span(0, -1, 3), Some((0, 3)));
        assert_eq!(rank_span(-100, 100, 3), Some((0, 3)));
        assert_eq!(rank_span(2, 1, 3), None);
        assert_eq!(rank_span(3, 5, 3), None);
    }
}
