//! Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HKEYS, HVALS, HLEN, HEXISTS,
//! HSTRLEN, HDEL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.

use super::coll::{self, bulk_ele};
use super::{notify, Ctx, Ks, Registration};
use crate::protocol::ReplyBuf;
use crate::types::packed::{self, Ele};
use crate::types::HashValue;
use crate::util::numfmt::{self, LdAdd};

pub const COMMANDS: &[Registration] = &[
    ("hset", hset, 0),
    ("hmset", hset, 0),
    ("hsetnx", hsetnx, 0),
    ("hget", hget, 0),
    ("hmget", hmget, 0),
    ("hgetall", hgetall, 0),
    ("hkeys", hkeys, 0),
    ("hvals", hvals, 0),
    ("hlen", hlen, 0),
    ("hexists", hexists, 0),
    ("hstrlen", hstrlen, 0),
    ("hdel", hdel, 0),
    ("hincrby", hincrby, 0),
    ("hincrbyfloat", hincrbyfloat, 0),
    ("hrandfield", hrandfield, 0),
    ("hscan", hscan, 0),
];

fn read<'a>(ks: &'a Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a HashValue>, coll::Replied> {
    coll::read::<HashValue>(ks, out, key)
}

/// HSET / HMSET key field value [field value ...]
fn hset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 == 1 {
        let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
        return ctx.out.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let lim = crate::types::limits().hash;
    let Ok(h) = coll::write_or_create(&mut ctx.ks, ctx.out, argv[1], HashValue::new) else { return };
    h.fit_lengths(&argv[2..], lim);
    let created = argv[2..].chunks(2).filter(|p| h.set(p[0], p[1], lim)).count();
    if argv[0].eq_ignore_ascii_case(b"hmset") {
        ctx.out.ok();
    } else {
        ctx.out.int(created as i64);
    }
    ctx.ks.signal_modified(argv[1]);
    ctx.ks.notify(notify::HASH, "hset", argv[1]);
    ctx.ks.dirty((argv.len() as u64 - 2) / 2);
}

fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    let lim = crate::types::limits().hash;
    let Ok(h) = coll::write_or_create(&mut ctx.ks, ctx.out, argv[1], HashValue::new) else { return };
    h.fit_lengths(&argv[2..4], lim);
    if h.contains(argv[2]) {
        return ctx.out.int(0);
    }
    h.set(argv[2], argv[3], lim);
    ctx.out.int(1);
    ctx.ks.signal_modified(argv[1]);
    ctx.ks.notify(notify::HASH, "hset", argv[1]);
    ctx.ks.dirty(1);
}

fn hget(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    match h.and_then(|h| h.get(argv[2])) {
        Some(v) => bulk_ele(ctx.out, &v),
        None => ctx.out.null(),
    }
}

fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    ctx.out.array(argv.len() - 2);
    for f in &argv[2..] {
        match h.and_then(|h| h.get(f)) {
            Some(v) => bulk_ele(ctx.out, &v),
            None => ctx.out.null(),
        }
    }
}

/// HGETALL / HKEYS / HVALS.
fn getall(ctx: &mut Ctx, key: &[u8], keys: bool, vals: bool) {
    let Ok(h) = read(&ctx.ks, ctx.out, key) else { return };
    let n = h.map_or(0, |h| h.len());
    if keys && vals {
        ctx.out.map(n);
    } else {
        ctx.out.array(n);
    }
    if let Some(h) = h {
        h.for_each(|k, v| {
            if keys {
                bulk_ele(ctx.out, &k);
            }
            if vals {
                bulk_ele(ctx.out, &v);
            }
        });
    }
}

fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall(ctx, argv[1], true, true)
}

fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall(ctx, argv[1], true, false)
}

fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall(ctx, argv[1], false, true)
}

fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let n = h.map_or(0, |h| h.len());
    ctx.out.int(n as i64);
}

fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let found = h.is_some_and(|h| h.contains(argv[2]));
    ctx.out.int(found as i64);
}

fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let n = h.and_then(|h| h.get(argv[2])).map_or(0, |v| v.str_len());
    ctx.out.int(n as i64);
}

fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Ok(h) = coll::write::<HashValue>(&mut ctx.ks, ctx.out, argv[1]) else { return };
    let Some(h) = h else { return ctx.out.int(0) };
    let mut deleted = 0;
    for f in &argv[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    ctx.out.int(deleted);
    if deleted > 0 {
        ctx.ks.notify(notify::HASH, "hdel", argv[1]);
        coll::after_write::<HashValue>(&mut ctx.ks, argv[1]);
        ctx.ks.dirty(deleted as u64);
    }
}

/// Set `field` to `val` in the hash at `key` (created if missing) after a numeric update.
fn put_number(ctx: &mut Ctx, key: &[u8], field: &[u8], val: &[u8], event: &str) {
    let lim = crate::types::limits().hash;
    if let Ok(h) = coll::write_or_create(&mut ctx.ks, ctx.out, key, HashValue::new) {
        h.fit_lengths(&[field, val], lim);
        h.set(field, val, lim);
    }
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::HASH, event, key);
    ctx.ks.dirty(1);
}

fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(incr) = super::arg_i64(ctx, argv[3]) else { return };
    let Ok(h) = coll::peek::<HashValue>(&ctx.ks, ctx.out, argv[1]) else { return };
    let old = match h.and_then(|h| h.get(argv[2])) {
        None => 0,
        Some(e) => match e {
            Ele::Int(i) => i,
            Ele::Str(s) => match packed::as_int(s) {
                Some(i) => i,
                None => return ctx.out.error("ERR hash value is not an integer"),
            },
            Ele::Dbl(_) => unreachable!("hash values are strings"),
        },
    };
    let Some(new) = old.checked_add(incr) else {
        return ctx.out.error("ERR increment or decrement would overflow");
    };
    let s = itoa::Buffer::new().format(new).as_bytes().to_vec();
    put_number(ctx, argv[1], argv[2], &s, "hincrby");
    ctx.out.int(new);
}

fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !numfmt::is_long_double(argv[3]) {
        return ctx.out.error(super::NOT_FLOAT);
    }
    if numfmt::parse_f64(argv[3]).is_some_and(|v| v.is_infinite()) {
        return ctx.out.error("ERR value is NaN or Infinity");
    }
    let Ok(h) = coll::peek::<HashValue>(&ctx.ks, ctx.out, argv[1]) else { return };
    let old = match h.and_then(|h| h.get(argv[2])) {
        None => b"0".to_vec(),
        Some(e) => e.to_vec(),
    };
    let new = match numfmt::ld_add(&old, argv[3]) {
        LdAdd::Ok(v) => v,
        LdAdd::NotFloat => return ctx.out.error("ERR hash value is not a float"),
        LdAdd::Overflow => return ctx.out.error("ERR increment would produce NaN or Infinity"),
    };
    put_number(ctx, argv[1], argv[2], &new, "hincrbyfloat");
    ctx.out.bulk(&new);
    let cmd: Vec<Vec<u8>> = vec![b"HSET".to_vec(), argv[1].to_vec(), argv[2].to_vec(), new];
    ctx.ks.propagate_as(vec![cmd]);
}

fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 2 {
        let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
        let mut rng = rand::thread_rng();
        return match h.and_then(|h| h.random(&mut rng)) {
            Some((k, _)) => bulk_ele(ctx.out, &k),
            None => ctx.out.null(),
        };
    }
    let Some(l) = coll::parse_rand_count(ctx.out, argv[2]) else { return };
    let withvalues = match argv.len() {
        3 => false,
        4 if super::eq_ic(argv[3], "withvalues") => true,
        _ => return ctx.out.error(super::SYNTAX_ERR),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return ctx.out.error("ERR value is out of range");
    }
    let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let Some(h) = h else { return ctx.out.array(0) };
    let resp3 = ctx.out.resp >= 3;
    let n = coll::rand_reply_len(h.len(), l);
    ctx.out.array(if withvalues && !resp3 { n * 2 } else { n });
    coll::rand_sample(
        ctx.out,
        &mut ctx.client.close_after_reply,
        h.len(),
        l,
        || h.pairs(),
        |rng| h.random(rng).expect("non-empty hash"),
        |p| p.0.to_vec(),
        |out, (k, v)| {
            if withvalues && resp3 {
                out.array(2);
            }
            bulk_ele(out, k);
            if withvalues {
                bulk_ele(out, v);
            }
        },
    );
}

fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = coll::parse_cursor(ctx.out, argv[2]) else { return };
    let Ok(h) = read(&ctx.ks, ctx.out, argv[1]) else { return };
    let Some(h) = h else { return coll::scan_reply(ctx.out, 0, &[]) };
    let Some(opts) = coll::parse_scan_opts(ctx.out, &argv[3..]) else { return };
    let mut items = Vec::new();
    let next = h.scan(cursor, opts.count, |k, v| {
        if opts.keep(&k) {
            items.push(k.to_vec());
            items.push(v.to_vec());
        }
    });
    coll::scan_reply(ctx.out, next, &items);
}
