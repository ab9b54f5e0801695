//! Persistence commands: SAVE, BGSAVE [SCHEDULE], DUMP, RESTORE.
//! The work is done in `crate::persist`.

use super::{eq_ic, flags, Ctx, Registration};
use crate::persist::{self, rdb};
use std::sync::atomic::Ordering::Relaxed;

pub const COMMANDS: &[Registration] = &[
    ("save", save, flags::ALL_SHARDS),
    ("bgsave", bgsave, flags::ALL_SHARDS),
    ("dump", dump, 0),
    ("restore", restore, 0),
    ("bgrewriteaof", bgrewriteaof, flags::ALL_SHARDS),
];

fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let aof = &ctx.srv.aof;
    if aof.rewrite_in_progress.load(Relaxed) {
        return ctx.out.error("ERR Background append only file rewriting already in progress");
    }
    if ctx.srv.persist.bgsave_in_progress.load(Relaxed) || ctx.client.in_exec {
        aof.rewrite_scheduled.store(true, Relaxed);
        return ctx.out.simple("Background append only file rewriting scheduled");
    }
    match crate::persist::aof::begin_rewrite(ctx.srv, &mut ctx.ks.locks, false) {
        Ok(()) => ctx.out.simple("Background append only file rewriting started"),
        Err(e) => ctx.out.error(e),
    }
}

fn save(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.srv.persist.bgsave_in_progress.load(Relaxed) {
        return ctx.out.error("ERR Background save already in progress");
    }
    match persist::save_locked(ctx.srv, &ctx.ks.locks) {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error("ERR"),
    }
}

fn bgsave(ctx: &mut Ctx, argv: &[&[u8]]) {
    let schedule = match argv.get(1) {
        None => false,
        Some(a) if eq_ic(a, "schedule") => true,
        Some(_) => return ctx.out.error(super::SYNTAX_ERR),
    };
    if argv.len() > 2 {
        return ctx.out.error(super::SYNTAX_ERR);
    }
    if ctx.srv.persist.bgsave_in_progress.load(Relaxed) {
        if schedule {
            ctx.srv.persist.bgsave_scheduled.store(true, Relaxed);
            return ctx.out.simple("Background saving scheduled");
        }
        return ctx.out.error("ERR Background save already in progress");
    }
    match persist::bgsave_locked(ctx.srv, &mut ctx.ks.locks) {
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(e) => ctx.out.error(e),
    }
}

fn dump(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(v) = ctx.ks.get(argv[1]) else { return ctx.out.null() };
    match persist::value_to_rdb(v) {
        Some(r) => ctx.out.bulk(&rdb::dump_payload(&r)),
        None => ctx.out.error("ERR this value type cannot be dumped yet"),
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let mut replace = false;
    let mut absttl = false;
    let mut i = 4;
    while i < argv.len() {
        let a = argv[i];
        if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "absttl") {
            absttl = true;
        } else if eq_ic(a, "idletime") && i + 1 < argv.len() {
            i += 1;
            match crate::util::numfmt::parse_i64(argv[i]) {
                Some(v) if v >= 0 => {}
                Some(_) => return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0"),
                None => return ctx.out.error(super::NOT_INT),
            }
        } else if eq_ic(a, "freq") && i + 1 < argv.len() {
            i += 1;
            match crate::util::numfmt::parse_i64(argv[i]) {
                Some(v) if (0..=255).contains(&v) => {}
                Some(_) => return ctx.out.error("ERR Invalid FREQ value, must be >= 0 and <= 255"),
                None => return ctx.out.error(super::NOT_INT),
            }
        } else {
            return ctx.out.error(super::SYNTAX_ERR);
        }
        i += 1;
    }
    let Some(ttl) = crate::util::numfmt::parse_i64(argv[2]) else {
        return ctx.out.error(super::NOT_INT);
    };
    if ttl < 0 {
        return ctx.out.error("ERR Invalid TTL value, must be >= 0");
    }
    if !replace && ctx.ks.exists(key) {
        return ctx.out.error("BUSYKEY Target key name already exists.");
    }
    let value = match rdb::restore_payload(argv[3]) {
        Ok(v) => v,
        Err(e) => return ctx.out.error(e),
    };
    let value = match persist::rdb_to_value(value) {
        Ok(v) => v,
        Err(_) => return ctx.out.error("ERR Bad data format"),
    };
    let expire = if ttl == 0 {
        None
    } else if absttl {
        Some(ttl)
    } else {
        Some(ctx.ks.now.saturating_add(ttl))
    };
    let existed = ctx.ks.delete(key);
    if let Some(t) = expire {
        if t <= ctx.ks.now {
            // Already expired: the key is not created (and an old one is gone).
            if existed {
                ctx.ks.notify(super::notify::GENERIC, "del", key);
                ctx.ks.dirty(1);
                ctx.ks.propagate_as(vec![vec![b"DEL".to_vec(), key.to_vec()]]);
            }
            return ctx.out.ok();
        }
    }
    ctx.ks.add_key(key, value);
    if let Some(t) = expire {
        ctx.ks.set_expire(key, t);
        if !absttl {
            // A relative TTL is propagated as the absolute time (Redis appends ABSTTL).
            let mut args: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
            args[2] = t.to_string().into_bytes();
            args.push(b"ABSTTL".to_vec());
            ctx.ks.propagate_as(vec![args]);
        }
    }
    ctx.ks.notify(super::notify::GENERIC, "restore", key);
    ctx.ks.dirty(1);
    ctx.out.ok();
}
