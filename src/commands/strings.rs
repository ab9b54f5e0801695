//! String commands.

use super::{Ctx, Registration, WRONGTYPE};
use crate::keyspace::Value;

pub const COMMANDS: &[Registration] = &[("get", get, 0), ("set", set, 0), ("incr", incr, 0), ("mset", mset, 0), ("mget", mget, 0)];

fn get(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get(argv[1]) {
        None => ctx.out.null(),
        Some(Value::Int(i)) => ctx.out.bulk_i64(*i),
        Some(v) => match v.with_bytes(|b| ctx.out.bulk(b)) {
            Some(()) => {}
            None => ctx.out.error(WRONGTYPE),
        },
    }
}

fn set(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.ks.set_key(argv[1], Value::from_bytes(argv[2]), false);
    ctx.ks.dirty(1);
    ctx.out.ok();
}

fn incr(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get_mut(argv[1]) {
        Some(v) if v.is_string() => match v.as_i64().and_then(|i| i.checked_add(1)) {
            Some(n) => {
                *v = Value::Int(n);
                ctx.out.int(n);
            }
            None => return ctx.out.error(super::NOT_INT),
        },
        Some(_) => return ctx.out.error(WRONGTYPE),
        None => {
            ctx.ks.add_key(argv[1], Value::Int(1));
            ctx.out.int(1);
        }
    }
    ctx.ks.signal_modified(argv[1]);
    ctx.ks.dirty(1);
}

fn mset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 != 1 {
        return ctx.out.error("ERR wrong number of arguments for 'mset' command");
    }
    for kv in argv[1..].chunks(2) {
        ctx.ks.set_key(kv[0], Value::from_bytes(kv[1]), false);
    }
    ctx.ks.dirty((argv.len() as u64 - 1) / 2);
    ctx.out.ok();
}

fn mget(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.array(argv.len() - 1);
    for k in &argv[1..] {
        match ctx.ks.get(k) {
            Some(v) if v.is_string() => {
                v.with_bytes(|b| ctx.out.bulk(b));
            }
            _ => ctx.out.null(),
        }
    }
}
