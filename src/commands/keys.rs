//! Generic keyspace commands: DEL, DBSIZE, FLUSHDB, FLUSHALL, ...

use super::{flags, Ctx, Registration};

pub const COMMANDS: &[Registration] = &[
    ("del", del, 0),
    ("dbsize", dbsize, flags::ALL_SHARDS),
    ("flushdb", flushdb, flags::ALL_SHARDS),
    ("flushall", flushall, flags::ALL_SHARDS),
];

fn del(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut n = 0;
    for k in &argv[1..] {
        if ctx.ks.delete(k) {
            n += 1;
        }
    }
    ctx.ks.dirty(n);
    ctx.out.int(n as i64);
}

fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    let n: usize = ctx.ks.locks.iter().map(|s| s.dbs[db].len()).sum();
    ctx.out.int(n as i64);
}

fn flushdb(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    for s in ctx.ks.locks.iter_mut() {
        s.dbs[db].clear();
    }
    ctx.ks.dirty(1);
    ctx.out.ok();
}

fn flushall(ctx: &mut Ctx, _argv: &[&[u8]]) {
    for s in ctx.ks.locks.iter_mut() {
        for d in s.dbs.iter_mut() {
            d.clear();
        }
    }
    ctx.ks.dirty(1);
    ctx.out.ok();
}
