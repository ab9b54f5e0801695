//! Stream commands (Redis 7.0's t_stream.c): XADD, XRANGE, XREAD and the consumer-group
//! commands, including blocking XREAD / XREADGROUP built on `crate::blocking`. Replies,
//! error texts, keyspace events and what is propagated (XADD with its generated ID,
//! XREADGROUP / XCLAIM / XAUTOCLAIM as XCLAIM ... + XGROUP SETID) follow Redis.

use super::{eq_ic, notify, Ctx, Ks, Registration, NOT_INT, SYNTAX_ERR, WRONGTYPE};
use crate::blocking;
use crate::keyspace::Value;
use crate::net::client::cflags;
use crate::protocol::ReplyBuf;
use crate::types::stream::{self, parse_id, EntryRef, Group, StreamId, StreamValue, Trim, INVALID_ENTRIES_READ};
use crate::util::numfmt::parse_i64;
use std::sync::Arc;

pub const COMMANDS: &[Registration] = &[
    ("xadd", xadd, 0),
    ("xlen", xlen, 0),
    ("xrange", xrange, 0),
    ("xrevrange", xrevrange, 0),
    ("xdel", xdel, 0),
    ("xtrim", xtrim, 0),
    ("xread", xread, 0),
    ("xreadgroup", xread, 0),
    ("xsetid", xsetid, 0),
    ("xack", xack, 0),
    ("xpending", xpending, 0),
    ("xclaim", xclaim, 0),
    ("xautoclaim", xautoclaim, 0),
    ("xgroup|create", xgroup, 0),
    ("xgroup|setid", xgroup, 0),
    ("xgroup|destroy", xgroup, 0),
    ("xgroup|createconsumer", xgroup, 0),
    ("xgroup|delconsumer", xgroup, 0),
    ("xgroup|help", xgroup, 0),
    ("xinfo|stream", xinfo, 0),
    ("xinfo|groups", xinfo, 0),
    ("xinfo|consumers", xinfo, 0),
    ("xinfo|help", xinfo, 0),
];

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

// ---- helpers ----------------------------------------------------------------------------

fn reply_id(out: &mut ReplyBuf, id: StreamId) {
    out.bulk(&id.to_bytes());
}

/// One entry: [id, [field, value, ...]].
fn reply_entry(out: &mut ReplyBuf, e: &EntryRef) {
    out.array(2);
    reply_id(out, e.id);
    out.array(e.num_fields() * 2);
    for (f, v) in e.fields() {
        out.bulk(f);
        out.bulk(v);
    }
}

/// Entries start..=end (count 0 = all) as an array; returns how many.
fn reply_range(out: &mut ReplyBuf, s: &StreamValue, start: StreamId, end: StreamId, count: usize, rev: bool) -> usize {
    let at = out.deferred();
    let mut n = 0;
    s.range(start, end, rev, |e| {
        reply_entry(out, &e);
        n += 1;
        count == 0 || n < count
    });
    out.fill_deferred(at, b'*', n);
    n
}

/// Parse an ID argument, replying Redis's error on failure.
fn arg_id(out: &mut ReplyBuf, a: &[u8], missing_seq: u64, strict: bool) -> Option<StreamId> {
    match parse_id(a, missing_seq, strict, false) {
        Some(p) => Some(p.id),
        None => {
            out.error(INVALID_ID);
            None
        }
    }
}

/// streamParseIntervalIDOrReply + the "(" exclusive prefix handling.
fn arg_interval(out: &mut ReplyBuf, a: &[u8], start: bool) -> Option<StreamId> {
    let missing = if start { 0 } else { u64::MAX };
    if a.len() > 1 && a[0] == b'(' {
        let id = arg_id(out, &a[1..], missing, true)?;
        let r = if start { id.incr() } else { id.decr() };
        if r.is_none() {
            out.error(if start { "ERR invalid start ID for the interval" } else { "ERR invalid end ID for the interval" });
        }
        r
    } else {
        arg_id(out, a, missing, false)
    }
}

fn arg_ll(out: &mut ReplyBuf, a: &[u8], msg: Option<&str>) -> Option<i64> {
    let v = parse_i64(a);
    if v.is_none() {
        out.error(msg.unwrap_or(NOT_INT));
    }
    v
}

/// The stream at `key` for reading: Ok(None) if missing, Err after a WRONGTYPE reply.
fn read_stream<'a>(ks: &'a Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a StreamValue>, ()> {
    match ks.get(key) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => {
            out.error(WRONGTYPE);
            Err(())
        }
    }
}

fn stream_mut<'a>(ks: &'a mut Ks, key: &[u8]) -> Option<&'a mut StreamValue> {
    match ks.get_mut(key) {
        Some(Value::Stream(s)) => Some(s),
        _ => None,
    }
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Commands from the AOF or a master are not limited (mustObeyClient).
fn must_obey(ctx: &Ctx) -> bool {
    ctx.client.id == 0 || ctx.client.flag(cflags::MASTER)
}

// ---- XADD / XTRIM -----------------------------------------------------------------------

struct AddTrimArgs {
    /// XADD: the ID (None for `*`) and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    idpos: usize,
    nomkstream: bool,
    trim: Trim,
    approx: bool,
    limit: u64,
    /// Index of the MAXLEN count / MINID id argument (for rewriting).
    trim_arg: usize,
}

/// streamParseAddOrTrimArgsOrReply.
fn parse_add_trim(ctx: &mut Ctx, argv: &[&[u8]], xadd: bool) -> Option<AddTrimArgs> {
    let out = &mut *ctx.out;
    let mut a = AddTrimArgs { id: None, idpos: 0, nomkstream: false, trim: Trim::None, approx: false, limit: 0, trim_arg: 0 };
    let mut limit_given = false;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = argv[i];
        if xadd && opt == b"*" {
            break;
        } else if (eq_ic(opt, "maxlen") || eq_ic(opt, "minid")) && more > 0 {
            if a.trim != Trim::None {
                out.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return None;
            }
            let maxlen = eq_ic(opt, "maxlen");
            a.approx = false;
            let next = argv[i + 1];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            if maxlen {
                let v = arg_ll(out, argv[i + 1], None)?;
                if v < 0 {
                    out.error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                a.trim = Trim::MaxLen(v as u64);
            } else {
                a.trim = Trim::MinId(arg_id(out, argv[i + 1], 0, true)?);
            }
            i += 1;
            a.trim_arg = i;
        } else if eq_ic(opt, "limit") && more > 0 {
            let v = arg_ll(out, argv[i + 1], None)?;
            if v < 0 {
                out.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            a.limit = v as u64;
            limit_given = true;
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            a.nomkstream = true;
        } else if xadd {
            let Some(p) = parse_id(opt, 0, true, true) else {
                out.error(INVALID_ID);
                return None;
            };
            a.id = Some((p.id, p.seq_given));
            break;
        } else {
            out.error(SYNTAX_ERR);
            return None;
        }
        i += 1;
    }
    a.idpos = i;
    if a.limit > 0 && a.trim == Trim::None {
        out.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && a.trim == Trim::None {
        out.error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if must_obey(ctx) {
        a.limit = 0;
    } else if limit_given {
        if !a.approx {
            ctx.out.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if a.approx {
        let l = 100 * stream::node_max_entries() as i64;
        a.limit = if l <= 0 { 10000 } else { l.min(1_000_000) } as u64;
    } else {
        a.limit = 0;
    }
    Some(a)
}

/// After an approximate trim, the propagated command says exactly what was kept
/// (MAXLEN = <length> or MINID = <first id>).
fn rewrite_trim(argv: &mut [Vec<u8>], s: &StreamValue, a: &AddTrimArgs) {
    argv[a.trim_arg - 1] = b"=".to_vec();
    argv[a.trim_arg] = match a.trim {
        Trim::MaxLen(_) => s.len().to_string().into_bytes(),
        _ => s.first_entry_id().to_bytes(),
    };
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
fn xadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_add_trim(ctx, argv, true) else { return };
    let field_pos = a.idpos + 1;
    if argv.len() < field_pos + 2 || (argv.len() - field_pos) % 2 == 1 {
        return ctx.out.error("ERR wrong number of arguments for 'xadd' command");
    }
    if let Some((id, true)) = a.id {
        if id.is_zero() {
            return ctx.out.error("ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let key = argv[1];
    let created = match ctx.ks.get_mut(key) {
        Some(Value::Stream(_)) => false,
        Some(_) => return ctx.out.error(WRONGTYPE),
        None if a.nomkstream => return ctx.out.null(),
        None => true,
    };
    if created {
        ctx.ks.add_key(key, Value::Stream(Box::default()));
    }
    let now = ctx.ks.now.max(0) as u64;
    let s = stream_mut(&mut ctx.ks, key).expect("stream present");
    if s.last_id == StreamId::MAX {
        return ctx.out.error("ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let id = match s.next_id(a.id, now) {
        Ok(id) => id,
        Err(_) => return ctx.out.error("ERR The ID specified in XADD is equal or smaller than the target stream top item"),
    };
    if s.append(id, &argv[field_pos..]).is_err() {
        return ctx.out.error("ERR Elements are too large to be stored");
    }
    let trimmed = s.trim(a.trim, a.approx, a.limit);
    let mut prop: Option<Vec<Vec<u8>>> = None;
    if a.trim != Trim::None && a.approx {
        let mut v: Vec<Vec<u8>> = argv.iter().map(|x| x.to_vec()).collect();
        rewrite_trim(&mut v, s, &a);
        prop = Some(v);
    }
    let idb = id.to_bytes();
    ctx.out.bulk(&idb);
    if !matches!(a.id, Some((_, true))) {
        let v = prop.get_or_insert_with(|| argv.iter().map(|x| x.to_vec()).collect());
        v[a.idpos] = idb;
    }
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::STREAM, "xadd", key);
    ctx.ks.dirty(1);
    if trimmed > 0 {
        ctx.ks.notify(notify::STREAM, "xtrim", key);
    }
    if let Some(v) = prop {
        ctx.ks.propagate_as(vec![v]);
    }
    if !created {
        blocking::signal_ready(ctx.srv, ctx.ks.db, key);
    }
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_add_trim(ctx, argv, false) else { return };
    let key = argv[1];
    match ctx.ks.get_mut(key) {
        None => return ctx.out.int(0),
        Some(Value::Stream(_)) => {}
        Some(_) => return ctx.out.error(WRONGTYPE),
    }
    let s = stream_mut(&mut ctx.ks, key).unwrap();
    let deleted = s.trim(a.trim, a.approx, a.limit);
    if deleted > 0 {
        if a.approx {
            let mut v: Vec<Vec<u8>> = argv.iter().map(|x| x.to_vec()).collect();
            rewrite_trim(&mut v, s, &a);
            ctx.ks.propagate_as(vec![v]);
        }
        ctx.ks.notify(notify::STREAM, "xtrim", key);
        ctx.ks.signal_modified(key);
        ctx.ks.dirty(deleted);
    }
    ctx.out.int(deleted as i64);
}

// ---- reading ----------------------------------------------------------------------------

/// XLEN key
fn xlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read_stream(&ctx.ks, ctx.out, argv[1]) {
        Ok(Some(s)) => ctx.out.int(s.len() as i64),
        Ok(None) => ctx.out.int(0),
        Err(()) => {}
    }
}

/// XRANGE key start end [COUNT count]
fn xrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    range_generic(ctx, argv, false)
}

/// XREVRANGE key end start [COUNT count]
fn xrevrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    range_generic(ctx, argv, true)
}

fn range_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) {
    let (sa, ea) = if rev { (argv[3], argv[2]) } else { (argv[2], argv[3]) };
    let Some(start) = arg_interval(ctx.out, sa, true) else { return };
    let Some(end) = arg_interval(ctx.out, ea, false) else { return };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if eq_ic(argv[j], "count") && j + 1 < argv.len() {
            let Some(c) = arg_ll(ctx.out, argv[j + 1], None) else { return };
            count = c.max(0);
            j += 2;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
    }
    let s = match read_stream(&ctx.ks, ctx.out, argv[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return ctx.out.array(0),
        Err(()) => return,
    };
    if count == 0 {
        return ctx.out.null_array();
    }
    reply_range(ctx.out, s, start, end, count.max(0) as usize, rev);
}

/// What XREAD / XREADGROUP asked for.
struct ReadArgs {
    block: Option<i64>,
    count: usize,
    noack: bool,
    group: Option<(Vec<u8>, Vec<u8>)>,
    streams_at: usize,
    nstreams: usize,
}

fn parse_read(ctx: &mut Ctx, argv: &[&[u8]]) -> Option<ReadArgs> {
    let xreadgroup = argv[0].len() == 10;
    let mut a = ReadArgs { block: None, count: 0, noack: false, group: None, streams_at: 0, nstreams: 0 };
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let o = argv[i];
        if eq_ic(o, "block") && more > 0 {
            if ctx.client.flag(cflags::SCRIPT) {
                ctx.out.error(&format!("ERR {} command is not allowed with BLOCK option from scripts", s(argv[0])));
                return None;
            }
            i += 1;
            a.block = Some(blocking::parse_timeout(ctx, argv[i], false)?);
        } else if eq_ic(o, "count") && more > 0 {
            i += 1;
            a.count = arg_ll(ctx.out, argv[i], None)?.max(0) as usize;
        } else if eq_ic(o, "streams") && more > 0 {
            a.streams_at = i + 1;
            let n = argv.len() - a.streams_at;
            if n % 2 != 0 {
                ctx.out.error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return None;
            }
            a.nstreams = n / 2;
            break;
        } else if eq_ic(o, "group") && more >= 2 {
            if !xreadgroup {
                ctx.out.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            a.group = Some((argv[i + 1].to_vec(), argv[i + 2].to_vec()));
            i += 2;
        } else if eq_ic(o, "noack") {
            if !xreadgroup {
                ctx.out.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            a.noack = true;
        } else {
            ctx.out.error(SYNTAX_ERR);
            return None;
        }
        i += 1;
    }
    if a.streams_at == 0 {
        ctx.out.error(SYNTAX_ERR);
        return None;
    }
    if xreadgroup && a.group.is_none() {
        ctx.out.error("ERR Missing GROUP option for XREADGROUP");
        return None;
    }
    Some(a)
}

/// The ID a read waits beyond: `>` (new to the group) or an explicit ID.
#[derive(Clone, Copy)]
enum ReadFrom {
    New,
    After(StreamId),
}

/// Deliver entries after `after` (exclusive) from the stream at `key` to the group's
/// `consumer` (creating it), as streamReplyWithRange with a group: PEL entries, group
/// last ID and read counter, XCLAIM / XGROUP SETID propagation.
fn deliver_group(ks: &mut Ks, out: &mut ReplyBuf, key: &[u8], gname: &[u8], cname: &[u8], after: StreamId, count: usize, noack: bool) {
    let now = ks.now;
    let record = ks.record;
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let Some(s) = stream_mut(ks, key) else { return };
    let mut g = s.groups.remove(gname).expect("group present");
    let mut created_consumer = false;
    let ckey = match g.consumer_key(cname) {
        Some(k) => k,
        None => {
            g.create_consumer(cname, now);
            created_consumer = true;
            g.consumer_key(cname).unwrap()
        }
    };
    g.consumers.get_mut(&ckey).unwrap().seen_time = now;
    if created_consumer && noack && record {
        props.push(vec![b"XGROUP".to_vec(), b"CREATECONSUMER".to_vec(), key.to_vec(), gname.to_vec(), cname.to_vec()]);
    }
    let at = out.deferred();
    let mut ids = Vec::new();
    if let Some(start) = after.incr() {
        s.range(start, StreamId::MAX, false, |e| {
            reply_entry(out, &e);
            ids.push(e.id);
            count == 0 || ids.len() < count
        });
    }
    out.fill_deferred(at, b'*', ids.len());
    let mut advanced = false;
    for id in &ids {
        if s.advance_group(&mut g, *id) && noack {
            advanced = true;
        }
        if !noack {
            g.assign(*id, &ckey, now, 1);
            if record {
                props.push(xclaim_prop(key, gname, cname, *id, now, 1, g.last_id));
            }
        }
    }
    if advanced && record {
        props.push(setid_prop(key, gname, &g));
    }
    s.groups.insert(gname.to_vec(), g);
    if created_consumer {
        ks.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    for p in props {
        ks.also(p);
    }
}

/// XCLAIM <key> <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <id>
fn xclaim_prop(key: &[u8], g: &[u8], c: &[u8], id: StreamId, time: i64, count: u64, last: StreamId) -> Vec<Vec<u8>> {
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        g.to_vec(),
        c.to_vec(),
        b"0".to_vec(),
        id.to_bytes(),
        b"TIME".to_vec(),
        time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_bytes(),
    ]
}

/// XGROUP SETID <key> <group> <last id> ENTRIESREAD <n>
fn setid_prop(key: &[u8], gname: &[u8], g: &Group) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        gname.to_vec(),
        g.last_id.to_bytes(),
        b"ENTRIESREAD".to_vec(),
        g.entries_read.to_string().into_bytes(),
    ]
}

/// A consumer's own history (streamReplyWithRangeFromConsumerPEL).
fn deliver_history(ks: &mut Ks, out: &mut ReplyBuf, key: &[u8], gname: &[u8], cname: &[u8], start: StreamId, count: usize) {
    let now = ks.now;
    let Some(s) = stream_mut(ks, key) else { return };
    let mut g = s.groups.remove(gname).expect("group present");
    let mut created = false;
    if !g.consumers.contains_key(cname) {
        g.create_consumer(cname, now);
        created = true;
    }
    let ckey = g.consumer_key(cname).unwrap();
    let c = g.consumers.get_mut(&ckey).unwrap();
    c.seen_time = now;
    let ids: Vec<StreamId> =
        c.pel.range(start..).take(if count == 0 { usize::MAX } else { count }).copied().collect();
    out.array(ids.len());
    for id in ids {
        match s.get(id) {
            Some(e) => {
                reply_entry(out, &e);
                if let Some(n) = g.pel.get_mut(&id) {
                    n.delivery_time = now;
                    n.delivery_count += 1;
                }
            }
            None => {
                out.array(2);
                reply_id(out, id);
                out.null_array();
            }
        }
    }
    s.groups.insert(gname.to_vec(), g);
    if created {
        ks.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key... id...  /  XREADGROUP GROUP g c [COUNT n]
/// [BLOCK ms] [NOACK] STREAMS key... id...
fn xread(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_read(ctx, argv) else { return };
    let xreadgroup = a.group.is_some();
    let keys = &argv[a.streams_at..a.streams_at + a.nstreams];
    let idargs = &argv[a.streams_at + a.nstreams..];
    let mut from: Vec<ReadFrom> = Vec::with_capacity(a.nstreams);
    // resolve types, groups and IDs
    for (k, ida) in keys.iter().zip(idargs) {
        let st = match read_stream(&ctx.ks, ctx.out, k) {
            Ok(s) => s,
            Err(()) => return,
        };
        if let Some((g, _)) = &a.group {
            if !st.is_some_and(|s| s.groups.contains_key(g)) {
                return ctx.out.error(&format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    s(k),
                    s(g)
                ));
            }
        }
        if *ida == b"$" {
            if xreadgroup {
                return ctx.out.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
            }
            from.push(ReadFrom::After(st.map(|s| s.last_id).unwrap_or(StreamId::MIN)));
        } else if *ida == b">" {
            if !xreadgroup {
                return ctx.out.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
            }
            from.push(ReadFrom::New);
        } else {
            let Some(id) = arg_id(ctx.out, ida, 0, true) else { return };
            from.push(ReadFrom::After(id));
        }
    }
    // serve synchronously what can be served
    let mut served = 0;
    let mut at = 0;
    for (i, k) in keys.iter().enumerate() {
        let Some(Value::Stream(st)) = ctx.ks.peek(k) else { continue };
        let (serve, history, gt) = match (&a.group, from[i]) {
            (Some(_), ReadFrom::After(id)) => (true, true, id),
            (Some((g, _)), ReadFrom::New) => {
                let last = st.groups[g].last_id;
                (st.len() > 0 && st.last_valid_id() > last, false, last)
            }
            (None, ReadFrom::After(id)) => (st.len() > 0 && st.last_valid_id() > id, false, id),
            (None, ReadFrom::New) => (false, false, StreamId::MIN),
        };
        if !serve {
            continue;
        }
        served += 1;
        if served == 1 {
            at = ctx.out.deferred();
        }
        if ctx.out.resp == 2 {
            ctx.out.array(2);
        }
        ctx.out.bulk(k);
        match &a.group {
            None => {
                let st = match ctx.ks.get(k) {
                    Some(Value::Stream(s)) => s,
                    _ => unreachable!(),
                };
                match gt.incr() {
                    Some(start) => {
                        reply_range(ctx.out, st, start, StreamId::MAX, a.count, false);
                    }
                    None => ctx.out.array(0),
                }
            }
            Some((g, c)) => {
                if history {
                    let start = gt.incr().unwrap_or(StreamId::MAX);
                    deliver_history(&mut ctx.ks, ctx.out, k, g, c, start, a.count);
                } else {
                    deliver_group(&mut ctx.ks, ctx.out, k, g, c, gt, a.count, a.noack);
                }
                ctx.ks.dirty(1);
            }
        }
    }
    // the command itself is never propagated (XREADGROUP's effects went through `also`)
    ctx.ks.propagate_as(Vec::new());
    if served > 0 {
        let kind = if ctx.out.resp == 2 { b'*' } else { b'%' };
        ctx.out.fill_deferred(at, kind, served);
        return;
    }
    let Some(deadline) = a.block else { return ctx.out.null_array() };
    if !blocking::may_block(ctx) {
        return ctx.out.null_array();
    }
    // Blocked form: [cmd, count, noack, group, consumer, key, id, key, id...]
    let count = if a.count > 0 { a.count } else { 1000 };
    let mut bargv: Vec<Vec<u8>> = vec![
        argv[0].to_vec(),
        count.to_string().into_bytes(),
        vec![a.noack as u8 + b'0'],
        a.group.as_ref().map(|g| g.0.clone()).unwrap_or_default(),
        a.group.as_ref().map(|g| g.1.clone()).unwrap_or_default(),
    ];
    for (k, f) in keys.iter().zip(&from) {
        bargv.push(k.to_vec());
        bargv.push(match f {
            ReadFrom::New => b">".to_vec(),
            ReadFrom::After(id) => id.to_bytes(),
        });
    }
    blocking::block(ctx, keys, deadline, bargv, serve_blocked, blocking::reply_null_array);
}

/// Serve a client blocked in XREAD / XREADGROUP from the stream at `key`
/// (serveClientsBlockedOnStreamKey, unblockDeletedStreamReadgroupClients).
fn serve_blocked(ks: &mut Ks, out: &mut ReplyBuf, argv: &[&[u8]], key: &[u8]) -> bool {
    let count = parse_i64(argv[1]).unwrap_or(1000).max(0) as usize;
    let noack = argv[2] == b"1";
    let group = if argv[0].len() == 10 { Some((argv[3], argv[4])) } else { None };
    let Some(pos) = (5..argv.len()).step_by(2).find(|&i| argv[i] == key) else { return false };
    let st = match ks.peek(key) {
        Some(Value::Stream(s)) => s,
        _ => {
            if group.is_some() {
                out.error("UNBLOCKED the stream key no longer exists");
                return true;
            }
            return false;
        }
    };
    let gt = match group {
        Some((g, _)) => match st.groups.get(g) {
            Some(gr) => gr.last_id,
            None => {
                out.error("NOGROUP the consumer group this client was blocked on no longer exists");
                return true;
            }
        },
        None => match parse_id(argv[pos + 1], 0, true, false) {
            Some(p) => p.id,
            None => return false,
        },
    };
    if st.last_id <= gt {
        return false;
    }
    if out.resp == 2 {
        out.array(1);
        out.array(2);
    } else {
        out.map(1);
    }
    out.bulk(key);
    match group {
        None => {
            reply_range(out, st, gt.incr().unwrap(), StreamId::MAX, count, false);
        }
        Some((g, c)) => {
            deliver_group(ks, out, key, g, c, gt, count, noack);
            ks.dirty(1);
        }
    }
    true
}

// ---- XDEL / XSETID ----------------------------------------------------------------------

/// XDEL key id [id ...]
fn xdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    match ctx.ks.get_mut(key) {
        None => return ctx.out.int(0),
        Some(Value::Stream(_)) => {}
        Some(_) => return ctx.out.error(WRONGTYPE),
    }
    let mut ids = Vec::with_capacity(argv.len() - 2);
    for a in &argv[2..] {
        let Some(id) = arg_id(ctx.out, a, 0, true) else { return };
        ids.push(id);
    }
    let s = stream_mut(&mut ctx.ks, key).unwrap();
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            if id == s.first_id {
                first = true;
            }
            if id > s.max_deleted {
                s.max_deleted = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.len() == 0 {
            s.first_id = StreamId::MIN;
        } else if first {
            s.first_id = s.first_entry_id();
        }
        ctx.ks.signal_modified(key);
        ctx.ks.notify(notify::STREAM, "xdel", key);
        ctx.ks.dirty(deleted);
    }
    ctx.out.int(deleted as i64);
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]
fn xsetid(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(id) = arg_id(ctx.out, argv[2], 0, true) else { return };
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if eq_ic(argv[i], "entriesadded") && more > 0 {
            let Some(v) = arg_ll(ctx.out, argv[i + 1], None) else { return };
            if v < 0 {
                return ctx.out.error("ERR entries_added must be positive");
            }
            entries_added = v;
            i += 2;
        } else if eq_ic(argv[i], "maxdeletedid") && more > 0 {
            let Some(m) = arg_id(ctx.out, argv[i + 1], 0, true) else { return };
            if id < m {
                return ctx.out.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
            }
            max_xdel = m;
            i += 2;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
    }
    let key = argv[1];
    match ctx.ks.get_mut(key) {
        None => return ctx.out.error("ERR no such key"),
        Some(Value::Stream(_)) => {}
        Some(_) => return ctx.out.error(WRONGTYPE),
    }
    let s = stream_mut(&mut ctx.ks, key).unwrap();
    if s.len() > 0 {
        if id < s.last_valid_id() {
            return ctx.out.error("ERR The ID specified in XSETID is smaller than the target stream top item");
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return ctx.out.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted = max_xdel;
    }
    ctx.out.ok();
    ctx.ks.dirty(1);
    ctx.ks.notify(notify::STREAM, "xsetid", key);
}

// ---- XGROUP -----------------------------------------------------------------------------

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// XGROUP CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER | HELP
fn xgroup(ctx: &mut Ctx, argv: &[&[u8]]) {
    let opt = argv[1].to_ascii_lowercase();
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut exists = false;
    let mut has_group = false;
    if argv.len() >= 4 {
        let create = opt == b"create";
        let setid = opt == b"setid";
        let mut i = 5;
        while i < argv.len() {
            if create && eq_ic(argv[i], "mkstream") {
                mkstream = true;
                i += 1;
            } else if (create || setid) && eq_ic(argv[i], "entriesread") && i + 1 < argv.len() {
                let Some(v) = arg_ll(ctx.out, argv[i + 1], None) else { return };
                if v < 0 && v != INVALID_ENTRIES_READ {
                    return ctx.out.error("ERR value for ENTRIESREAD must be positive or -1");
                }
                entries_read = v;
                i += 2;
            } else {
                return super::reply_subcommand_syntax_error(ctx.out, argv);
            }
        }
        match ctx.ks.get_mut(argv[2]) {
            Some(Value::Stream(s)) => {
                exists = true;
                has_group = s.groups.contains_key(argv[3]);
            }
            Some(_) => return ctx.out.error(WRONGTYPE),
            None => {}
        }
        if !mkstream {
            if !exists {
                return ctx.out.error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
            }
            if !has_group && matches!(opt.as_slice(), b"setid" | b"createconsumer" | b"delconsumer") {
                return ctx.out.error(&format!("NOGROUP No such consumer group '{}' for key name '{}'", s(argv[3]), s(argv[2])));
            }
        }
    }
    let key = argv.get(2).copied().unwrap_or_default();
    let now = ctx.ks.now;
    match opt.as_slice() {
        b"help" if argv.len() == 2 => super::reply_help(ctx.out, argv[0], XGROUP_HELP),
        b"create" if (5..=8).contains(&argv.len()) => {
            let id = if argv[4] == b"$" {
                match ctx.ks.peek(key) {
                    Some(Value::Stream(s)) => s.last_id,
                    _ => StreamId::MIN,
                }
            } else {
                let Some(id) = arg_id(ctx.out, argv[4], 0, true) else { return };
                id
            };
            if !exists {
                ctx.ks.add_key(key, Value::Stream(Box::default()));
                ctx.ks.signal_modified(key);
            }
            let s = stream_mut(&mut ctx.ks, key).unwrap();
            if s.groups.contains_key(argv[3]) {
                return ctx.out.error("BUSYGROUP Consumer Group name already exists");
            }
            s.groups.insert(argv[3].to_vec(), Group::new(id, entries_read));
            ctx.out.ok();
            ctx.ks.dirty(1);
            ctx.ks.notify(notify::STREAM, "xgroup-create", key);
        }
        b"setid" if argv.len() == 5 || argv.len() == 7 => {
            let s = stream_mut(&mut ctx.ks, key).unwrap();
            let id = if argv[4] == b"$" {
                s.last_id
            } else {
                let Some(id) = arg_id(ctx.out, argv[4], 0, false) else { return };
                id
            };
            let g = s.groups.get_mut(argv[3]).unwrap();
            g.last_id = id;
            g.entries_read = entries_read;
            ctx.out.ok();
            ctx.ks.dirty(1);
            ctx.ks.notify(notify::STREAM, "xgroup-setid", key);
        }
        b"destroy" if argv.len() == 4 => {
            let s = stream_mut(&mut ctx.ks, key).unwrap();
            if s.groups.remove(argv[3]).is_some() {
                ctx.out.int(1);
                ctx.ks.dirty(1);
                ctx.ks.notify(notify::STREAM, "xgroup-destroy", key);
                blocking::signal_ready(ctx.srv, ctx.ks.db, key);
            } else {
                ctx.out.int(0);
            }
        }
        b"createconsumer" if argv.len() == 5 => {
            let s = stream_mut(&mut ctx.ks, key).unwrap();
            let created = s.groups.get_mut(argv[3]).unwrap().create_consumer(argv[4], now);
            if created {
                ctx.ks.dirty(1);
                ctx.ks.notify(notify::STREAM, "xgroup-createconsumer", key);
            }
            ctx.out.int(created as i64);
        }
        b"delconsumer" if argv.len() == 5 => {
            let s = stream_mut(&mut ctx.ks, key).unwrap();
            let pending = s.groups.get_mut(argv[3]).unwrap().delete_consumer(argv[4]);
            if pending.is_some() {
                ctx.ks.dirty(1);
                ctx.ks.notify(notify::STREAM, "xgroup-delconsumer", key);
            }
            ctx.out.int(pending.unwrap_or(0) as i64);
        }
        _ => super::reply_subcommand_syntax_error(ctx.out, argv),
    }
}

// ---- XACK / XPENDING / XCLAIM / XAUTOCLAIM -----------------------------------------------

/// XACK key group id [id ...]
fn xack(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    match ctx.ks.get(key) {
        Some(Value::Stream(s)) if s.groups.contains_key(argv[2]) => {}
        Some(Value::Stream(_)) | None => return ctx.out.int(0),
        Some(_) => return ctx.out.error(WRONGTYPE),
    }
    let mut ids = Vec::with_capacity(argv.len() - 3);
    for a in &argv[3..] {
        let Some(id) = arg_id(ctx.out, a, 0, true) else { return };
        ids.push(id);
    }
    let s = stream_mut(&mut ctx.ks, key).unwrap();
    let g = s.groups.get_mut(argv[2]).unwrap();
    let n = ids.into_iter().filter(|id| g.ack(*id)).count();
    ctx.ks.dirty(n as u64);
    ctx.out.int(n as i64);
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
fn xpending(ctx: &mut Ctx, argv: &[&[u8]]) {
    let justinfo = argv.len() == 3;
    if argv.len() != 3 && !(6..=9).contains(&argv.len()) {
        return ctx.out.error(SYNTAX_ERR);
    }
    let mut minidle = 0;
    let mut count = 0;
    let mut start = StreamId::MIN;
    let mut end = StreamId::MAX;
    let mut consumer: Option<&[u8]> = None;
    if argv.len() >= 6 {
        let mut si = 3;
        if eq_ic(argv[3], "idle") {
            let Some(v) = arg_ll(ctx.out, argv[4], None) else { return };
            minidle = v;
            if argv.len() < 8 {
                return ctx.out.error(SYNTAX_ERR);
            }
            si += 2;
        }
        let Some(c) = arg_ll(ctx.out, argv[si + 2], None) else { return };
        count = c.max(0);
        let Some(st) = arg_interval(ctx.out, argv[si], true) else { return };
        let Some(en) = arg_interval(ctx.out, argv[si + 1], false) else { return };
        start = st;
        end = en;
        if si + 3 < argv.len() {
            consumer = Some(argv[si + 3]);
        }
    }
    let key = argv[1];
    let s = match read_stream(&ctx.ks, ctx.out, key) {
        Err(()) => return,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get(argv[2])) else {
        return ctx.out.error(&format!("NOGROUP No such key '{}' or consumer group '{}'", s_(key), s_(argv[2])));
    };
    let out = &mut *ctx.out;
    let now = ctx.ks.now;
    if justinfo {
        out.array(4);
        out.int(g.pel.len() as i64);
        if g.pel.is_empty() {
            out.null();
            out.null();
            out.null_array();
        } else {
            reply_id(out, *g.pel.keys().next().unwrap());
            reply_id(out, *g.pel.keys().next_back().unwrap());
            let with: Vec<_> = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).collect();
            out.array(with.len());
            for (name, c) in with {
                out.array(2);
                out.bulk(name);
                out.bulk_i64(c.pel.len() as i64);
            }
        }
        return;
    }
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            None => return out.array(0),
            Some(c) => {
                if start > end {
                    Vec::new()
                } else {
                    c.pel.range(start..=end).copied().collect()
                }
            }
        },
        None => {
            if start > end {
                Vec::new()
            } else {
                g.pel.range(start..=end).map(|(k, _)| *k).collect()
            }
        }
    };
    let at = out.deferred();
    let mut n = 0;
    for id in ids {
        if count == 0 {
            break;
        }
        let nack = &g.pel[&id];
        if minidle > 0 && now - nack.delivery_time < minidle {
            continue;
        }
        n += 1;
        count -= 1;
        out.array(4);
        reply_id(out, id);
        out.bulk(&nack.consumer);
        out.int((now - nack.delivery_time).max(0));
        out.int(nack.delivery_count as i64);
    }
    out.fill_deferred(at, b'*', n);
}

fn s_(b: &[u8]) -> String {
    s(b)
}

/// The NOGROUP error of XCLAIM / XAUTOCLAIM.
fn nogroup(out: &mut ReplyBuf, key: &[u8], g: &[u8]) {
    out.error(&format!("NOGROUP No such key '{}' or consumer group '{}'", s(key), s(g)));
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
/// [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
fn xclaim(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let gname = argv[2];
    match ctx.ks.get(key) {
        Some(Value::Stream(s)) if s.groups.contains_key(gname) => {}
        Some(Value::Stream(_)) | None => return nogroup(ctx.out, key, gname),
        Some(_) => return ctx.out.error(WRONGTYPE),
    }
    let Some(minidle) = arg_ll(ctx.out, argv[4], Some("ERR Invalid min-idle-time argument for XCLAIM")) else { return };
    let minidle = minidle.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_id(argv[j], 0, true, false) {
            Some(p) => ids.push(p.id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.ks.now;
    let (mut force, mut justid) = (false, false);
    let mut retrycount: i64 = -1;
    let mut deliverytime: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let o = argv[j];
        if eq_ic(o, "force") {
            force = true;
        } else if eq_ic(o, "justid") {
            justid = true;
        } else if eq_ic(o, "idle") && more > 0 {
            j += 1;
            let Some(v) = arg_ll(ctx.out, argv[j], Some("ERR Invalid IDLE option argument for XCLAIM")) else { return };
            deliverytime = now - v;
        } else if eq_ic(o, "time") && more > 0 {
            j += 1;
            let Some(v) = arg_ll(ctx.out, argv[j], Some("ERR Invalid TIME option argument for XCLAIM")) else { return };
            deliverytime = v;
        } else if eq_ic(o, "retrycount") && more > 0 {
            j += 1;
            let Some(v) = arg_ll(ctx.out, argv[j], Some("ERR Invalid RETRYCOUNT option argument for XCLAIM")) else { return };
            retrycount = v;
        } else if eq_ic(o, "lastid") && more > 0 {
            j += 1;
            let Some(id) = arg_id(ctx.out, argv[j], 0, true) else { return };
            last_id = id;
        } else {
            return ctx.out.error(&format!("ERR Unrecognized XCLAIM option '{}'", s(o)));
        }
        j += 1;
    }
    if deliverytime != -1 {
        if deliverytime < 0 || deliverytime > now {
            deliverytime = now;
        }
    } else {
        deliverytime = now;
    }
    let record = ctx.ks.record;
    let mut props = Vec::new();
    let mut dirty = 0u64;
    let s = stream_mut(&mut ctx.ks, key).unwrap();
    let mut g = s.groups.remove(gname).unwrap();
    let mut propagate_last_id = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        propagate_last_id = true;
    }
    let mut consumer: Option<Arc<[u8]>> = None;
    let out = &mut *ctx.out;
    let at = out.deferred();
    let mut n = 0;
    let mut events = 0;
    for id in ids {
        let exists = s.exists(id);
        if !exists {
            if let Some(nack) = g.pel.get(&id) {
                if record {
                    props.push(xclaim_prop(key, gname, &nack.consumer, id, nack.delivery_time, nack.delivery_count, g.last_id));
                }
                propagate_last_id = false;
                dirty += 1;
                g.ack(id);
            }
            continue;
        }
        let had = g.pel.contains_key(&id);
        if !had && !force {
            continue;
        }
        if had && minidle > 0 && now - g.pel[&id].delivery_time < minidle {
            continue;
        }
        let ckey = match &consumer {
            Some(c) => c.clone(),
            None => {
                let c = match g.consumer_key(argv[3]) {
                    Some(k) => {
                        g.consumers.get_mut(&k).unwrap().seen_time = now;
                        k
                    }
                    None => {
                        g.create_consumer(argv[3], now);
                        dirty += 1;
                        events += 1;
                        g.consumer_key(argv[3]).unwrap()
                    }
                };
                consumer = Some(c.clone());
                c
            }
        };
        let old_count = g.pel.get(&id).map(|x| x.delivery_count).unwrap_or(0);
        let count = if retrycount >= 0 {
            retrycount as u64
        } else if !justid {
            old_count + 1
        } else {
            old_count
        };
        g.assign(id, &ckey, deliverytime, count);
        if justid {
            reply_id(out, id);
        } else {
            reply_entry(out, &s.get(id).unwrap());
        }
        n += 1;
        if record {
            props.push(xclaim_prop(key, gname, &ckey, id, deliverytime, count, g.last_id));
        }
        propagate_last_id = false;
        dirty += 1;
    }
    if propagate_last_id {
        if record {
            props.push(setid_prop(key, gname, &g));
        }
        dirty += 1;
    }
    out.fill_deferred(at, b'*', n);
    s.groups.insert(gname.to_vec(), g);
    for _ in 0..events {
        ctx.ks.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    ctx.ks.dirty(dirty);
    for p in props {
        ctx.ks.also(p);
    }
    ctx.ks.propagate_as(Vec::new());
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let gname = argv[2];
    let Some(minidle) = arg_ll(ctx.out, argv[4], Some("ERR Invalid min-idle-time argument for XAUTOCLAIM")) else { return };
    let minidle = minidle.max(0);
    let Some(start) = arg_interval(ctx.out, argv[5], true) else { return };
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq_ic(argv[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            match parse_i64(argv[j + 1]) {
                Some(v) if (1..=max).contains(&v) => count = v,
                _ => return ctx.out.error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if eq_ic(argv[j], "justid") {
            justid = true;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        j += 1;
    }
    match ctx.ks.get(key) {
        Some(Value::Stream(s)) if s.groups.contains_key(gname) => {}
        Some(Value::Stream(_)) | None => return nogroup(ctx.out, key, gname),
        Some(_) => return ctx.out.error(WRONGTYPE),
    }
    let now = ctx.ks.now;
    let record = ctx.ks.record;
    let mut props = Vec::new();
    let mut dirty = 0u64;
    let mut events = 0;
    let s = stream_mut(&mut ctx.ks, key).unwrap();
    let mut g = s.groups.remove(gname).unwrap();
    let mut attempts = count.saturating_mul(10);
    let mut consumer: Option<Arc<[u8]>> = None;
    let mut deleted_ids = Vec::new();
    let out = &mut *ctx.out;
    out.array(3);
    let mut body = ReplyBuf::new(out.resp);
    let mut n = 0;
    let mut cursor = start;
    let mut next: Option<StreamId> = None;
    loop {
        let Some((&id, _)) = g.pel.range(cursor..).next() else { break };
        if attempts == 0 || count == 0 {
            next = Some(id);
            break;
        }
        attempts -= 1;
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let last_round = id == StreamId::MAX;
        if !s.exists(id) {
            let nack = g.pel[&id].clone();
            if record {
                props.push(xclaim_prop(key, gname, &nack.consumer, id, nack.delivery_time, nack.delivery_count, g.last_id));
            }
            dirty += 1;
            g.ack(id);
            deleted_ids.push(id);
            count -= 1;
            if last_round {
                break;
            }
            continue;
        }
        if minidle > 0 && now - g.pel[&id].delivery_time < minidle {
            if last_round {
                break;
            }
            continue;
        }
        let ckey = match &consumer {
            Some(c) => c.clone(),
            None => {
                let c = match g.consumer_key(argv[3]) {
                    Some(k) => {
                        g.consumers.get_mut(&k).unwrap().seen_time = now;
                        k
                    }
                    None => {
                        g.create_consumer(argv[3], now);
                        dirty += 1;
                        events += 1;
                        g.consumer_key(argv[3]).unwrap()
                    }
                };
                consumer = Some(c.clone());
                c
            }
        };
        let old = g.pel[&id].delivery_count;
        let dc = if justid { old } else { old + 1 };
        g.assign(id, &ckey, now, dc);
        if justid {
            reply_id(&mut body, id);
        } else {
            reply_entry(&mut body, &s.get(id).unwrap());
        }
        n += 1;
        count -= 1;
        if record {
            props.push(xclaim_prop(key, gname, &ckey, id, now, dc, g.last_id));
        }
        dirty += 1;
        if last_round {
            break;
        }
    }
    reply_id(out, next.unwrap_or(StreamId::MIN));
    out.array(n);
    out.raw(&body.buf);
    out.array(deleted_ids.len());
    for id in deleted_ids {
        reply_id(out, id);
    }
    s.groups.insert(gname.to_vec(), g);
    for _ in 0..events {
        ctx.ks.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    ctx.ks.dirty(dirty);
    for p in props {
        ctx.ks.also(p);
    }
    ctx.ks.propagate_as(Vec::new());
}

// ---- XINFO ------------------------------------------------------------------------------

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn reply_lag(out: &mut ReplyBuf, s: &StreamValue, g: &Group) {
    match s.group_lag(g) {
        Some(l) => out.int(l),
        None => out.null(),
    }
}

fn reply_entries_read(out: &mut ReplyBuf, g: &Group) {
    if g.entries_read != INVALID_ENTRIES_READ {
        out.int(g.entries_read)
    } else {
        out.null()
    }
}

/// XINFO STREAM key [FULL [COUNT n]] | GROUPS key | CONSUMERS key group | HELP
fn xinfo(ctx: &mut Ctx, argv: &[&[u8]]) {
    if eq_ic(argv[1], "help") {
        if argv.len() != 2 {
            return super::reply_subcommand_syntax_error(ctx.out, argv);
        }
        return super::reply_help(ctx.out, argv[0], XINFO_HELP);
    } else if argv.len() < 3 {
        return super::reply_subcommand_syntax_error(ctx.out, argv);
    }
    let key = argv[2];
    let s = match read_stream(&ctx.ks, ctx.out, key) {
        Err(()) => return,
        Ok(None) => return ctx.out.error("ERR no such key"),
        Ok(Some(s)) => s,
    };
    let out = &mut *ctx.out;
    let now = ctx.ks.now;
    let opt = argv[1].to_ascii_lowercase();
    if opt == b"consumers" && argv.len() == 4 {
        let Some(g) = s.groups.get(argv[3]) else {
            return out.error(&format!("NOGROUP No such consumer group '{}' for key name '{}'", s_(argv[3]), s_(key)));
        };
        out.array(g.consumers.len());
        for (name, c) in &g.consumers {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"pending");
            out.int(c.pel.len() as i64);
            out.bulk(b"idle");
            out.int((now - c.seen_time).max(0));
        }
    } else if opt == b"groups" && argv.len() == 3 {
        out.array(s.groups.len());
        for (name, g) in &s.groups {
            out.map(6);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"consumers");
            out.int(g.consumers.len() as i64);
            out.bulk(b"pending");
            out.int(g.pel.len() as i64);
            out.bulk(b"last-delivered-id");
            reply_id(out, g.last_id);
            out.bulk(b"entries-read");
            reply_entries_read(out, g);
            out.bulk(b"lag");
            reply_lag(out, s, g);
        }
    } else if opt == b"stream" {
        xinfo_stream(out, s, &argv[3..], argv);
    } else {
        super::reply_subcommand_syntax_error(out, argv);
    }
}

fn xinfo_stream(out: &mut ReplyBuf, s: &StreamValue, opts: &[&[u8]], argv: &[&[u8]]) {
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !eq_ic(opts[0], "full") {
            return super::reply_subcommand_syntax_error(out, argv);
        }
        full = true;
        if opts.len() == 3 {
            if !eq_ic(opts[1], "count") {
                return super::reply_subcommand_syntax_error(out, argv);
            }
            let Some(c) = arg_ll(out, opts[2], None) else { return };
            count = if c < 0 { 10 } else { c };
        }
    }
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.rax_nodes() as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        for (name, rev) in [(&b"first-entry"[..], false), (&b"last-entry"[..], true)] {
            out.bulk(name);
            let mut emitted = false;
            s.range(StreamId::MIN, StreamId::MAX, rev, |e| {
                reply_entry(out, &e);
                emitted = true;
                false
            });
            if !emitted {
                out.null();
            }
        }
        return;
    }
    let count = count as usize;
    out.bulk(b"entries");
    reply_range(out, s, StreamId::MIN, StreamId::MAX, count, false);
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g);
        out.bulk(b"lag");
        reply_lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let shown: Vec<_> = g.pel.iter().take(if count == 0 { usize::MAX } else { count }).collect();
        out.array(shown.len());
        for (id, n) in shown {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&n.consumer);
            out.int(n.delivery_time);
            out.int(n.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let shown: Vec<_> = c.pel.iter().take(if count == 0 { usize::MAX } else { count }).collect();
            out.array(shown.len());
            for id in shown {
                let n = &g.pel[id];
                out.array(3);
                reply_id(out, *id);
                out.int(n.delivery_time);
                out.int(n.delivery_count as i64);
            }
        }
    }
}
