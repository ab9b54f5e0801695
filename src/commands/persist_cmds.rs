//! Persistence commands: SAVE, BGSAVE [SCHEDULE], DUMP, RESTORE, and MIGRATE (DUMP to
//! another server, RESTORE there, DEL here). The work is done in `crate::persist`.

use super::{eq_ic, flags, Ctx, Registration};
use crate::keyspace::lru;
use crate::persist::{self, rdb};
use std::sync::atomic::Ordering::Relaxed;

pub const COMMANDS: &[Registration] = &[
    ("save", save, flags::ALL_SHARDS),
    ("bgsave", bgsave, flags::ALL_SHARDS),
    ("dump", dump, 0),
    ("restore", restore, 0),
    ("migrate", migrate, 0),
    ("bgrewriteaof", bgrewriteaof, flags::ALL_SHARDS),
];

fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let aof = &ctx.srv.aof;
    if aof.rewrite_in_progress.load(Relaxed) {
        return ctx.out.error("ERR Background append only file rewriting already in progress");
    }
    if ctx.srv.persist.bgsave_in_progress.load(Relaxed) || ctx.client.in_exec {
        aof.rewrite_scheduled.store(true, Relaxed);
        // asked for by hand: not delayed by earlier failures
        aof.consecutive_failures.store(0, Relaxed);
        return ctx.out.simple("Background append only file rewriting scheduled");
    }
    // with the AOF waiting for its first rewrite, this is that rewrite
    let enable = aof.enable_pending.load(Relaxed) && !aof.is_enabled();
    match crate::persist::aof::begin_rewrite(ctx.srv, &mut ctx.ks.locks, enable) {
        Ok(()) => ctx.out.simple("Background append only file rewriting started"),
        Err(e) => ctx.out.error(e),
    }
}

fn save(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.srv.persist.bgsave_in_progress.load(Relaxed) {
        return ctx.out.error("ERR Background save already in progress");
    }
    ctx.srv.persist.rdb_saves.fetch_add(1, Relaxed);
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
    // As Redis: a save already running is an error even with SCHEDULE; an AOF rewrite
    // running (one snapshot at a time, as Redis's one child process) or MULTI/EXEC
    // defers the save to the cron.
    if ctx.srv.persist.bgsave_in_progress.load(Relaxed) {
        return ctx.out.error("ERR Background save already in progress");
    }
    if ctx.srv.aof.rewrite_in_progress.load(Relaxed) || ctx.client.in_exec {
        if schedule || ctx.client.in_exec {
            ctx.srv.persist.bgsave_scheduled.store(true, Relaxed);
            return ctx.out.simple("Background saving scheduled");
        }
        return ctx.out.error(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        );
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
    let mut idle: Option<i64> = None;
    let mut freq: Option<u8> = None;
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
                Some(v) if v >= 0 => idle = Some(v),
                Some(_) => return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0"),
                None => return ctx.out.error(super::NOT_INT),
            }
        } else if eq_ic(a, "freq") && i + 1 < argv.len() {
            i += 1;
            match crate::util::numfmt::parse_i64(argv[i]) {
                Some(v) if (0..=255).contains(&v) => freq = Some(v as u8),
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
    let skip_crc = ctx.srv.introspect.skip_checksum_validation.load(Relaxed);
    let value = match rdb::restore_payload_opt(argv[3], skip_crc) {
        Ok(v) => v,
        Err(e) => return ctx.out.error(e),
    };
    let value = match persist::rdb_to_value(value) {
        Ok(v) => v,
        Err(e) => {
            crate::log::verbose(&format!("Internal error in RDB reading offset 0, function at rdb.c:0 -> {e}"));
            return ctx.out.error("ERR Bad data format");
        }
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
    let now = ctx.ks.now;
    let policy = ctx.srv.hot.maxmemory_policy.load(Relaxed);
    let e = ctx.ks.add_key(key, value);
    // Redis's objectSetLRUOrLFU: FREQ applies under an LFU policy, IDLETIME under an LRU one.
    if policy & lru::POLICY_FLAG_LFU != 0 {
        if let Some(f) = freq {
            e.lru.set(lru::lfu_with_counter(f, now));
        }
    } else if policy & lru::POLICY_FLAG_LRU != 0 {
        if let Some(secs) = idle {
            e.lru.set(lru::lru_for_idle(secs, now));
        }
    }
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

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key ...]. Synchronous, as in Redis: the worker waits for
/// the target (up to `timeout` ms per step) while holding the keys' shards. One connection
/// per call (Redis caches them); on success the moved keys are deleted and the command is
/// propagated as DEL of them.
fn migrate(ctx: &mut Ctx, argv: &[&[u8]]) {
    use std::io::{BufRead, BufReader, Write};
    let (mut copy, mut replace) = (false, false);
    let (mut user, mut pass): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let (mut first_key, mut num_keys) = (3, 1);
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = argv[j];
        if eq_ic(a, "copy") {
            copy = true;
        } else if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "auth") {
            if more == 0 {
                return ctx.out.error(super::SYNTAX_ERR);
            }
            j += 1;
            pass = Some(argv[j]);
            ctx.client.redact_arg(j);
        } else if eq_ic(a, "auth2") {
            if more < 2 {
                return ctx.out.error(super::SYNTAX_ERR);
            }
            user = Some(argv[j + 1]);
            pass = Some(argv[j + 2]);
            ctx.client.redact_arg(j + 1);
            ctx.client.redact_arg(j + 2);
            j += 2;
        } else if eq_ic(a, "keys") {
            if !argv[3].is_empty() {
                return ctx.out.error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
            }
            first_key = j + 1;
            num_keys = argv.len() - j - 1;
            break;
        } else {
            return ctx.out.error(super::SYNTAX_ERR);
        }
        j += 1;
    }
    let Some(timeout) = super::arg_i64(ctx, argv[5]) else { return };
    let Some(dbid) = super::arg_i64(ctx, argv[4]) else { return };
    let timeout = std::time::Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    // Keys that exist, with their remaining TTL (expired ones are skipped).
    let mut keys: Vec<(&[u8], Vec<u8>, i64)> = Vec::new();
    let now = ctx.ks.now;
    for &k in &argv[first_key..first_key + num_keys] {
        let Some(v) = ctx.ks.get(k) else { continue };
        let Some(r) = persist::value_to_rdb(v) else {
            return ctx.out.error("ERR this value type cannot be dumped yet");
        };
        let payload = rdb::dump_payload(&r);
        let ttl = match ctx.ks.get_expire(k) {
            Some(at) if at - now < 0 => continue,
            Some(at) => (at - now).max(1),
            None => 0,
        };
        keys.push((k, payload, ttl));
    }
    if keys.is_empty() {
        return ctx.out.simple("NOKEY");
    }
    let host = String::from_utf8_lossy(argv[1]).into_owned();
    let port = String::from_utf8_lossy(argv[2]).into_owned();
    let addr = format!("{host}:{port}");
    use std::net::ToSocketAddrs;
    let Some(sa) = addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return ctx.out.error("IOERR error or timeout connecting to the client");
    };
    let Ok(sock) = std::net::TcpStream::connect_timeout(&sa, timeout) else {
        return ctx.out.error("IOERR error or timeout connecting to the client");
    };
    let _ = sock.set_read_timeout(Some(timeout));
    let _ = sock.set_write_timeout(Some(timeout));
    let _ = sock.set_nodelay(true);
    let mut cmd = Vec::new();
    let enc = |args: &[&[u8]], out: &mut Vec<u8>| {
        crate::wstream::encode_command(&args.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), out)
    };
    if let Some(p) = pass {
        match user {
            Some(u) => enc(&[b"AUTH", u, p], &mut cmd),
            None => enc(&[b"AUTH", p], &mut cmd),
        }
    }
    enc(&[b"SELECT", dbid.to_string().as_bytes()], &mut cmd);
    for (k, payload, ttl) in &keys {
        let ttl = ttl.to_string();
        if replace {
            enc(&[b"RESTORE", k, ttl.as_bytes(), payload, b"REPLACE"], &mut cmd);
        } else {
            enc(&[b"RESTORE", k, ttl.as_bytes(), payload], &mut cmd);
        }
    }
    if (&sock).write_all(&cmd).is_err() {
        return ctx.out.error("IOERR error or timeout writing to target instance");
    }
    let mut rd = BufReader::new(&sock);
    let mut line = || -> Option<String> {
        let mut l = String::new();
        match rd.read_line(&mut l) {
            Ok(n) if n > 0 => Some(l.trim_end_matches(['\r', '\n']).to_string()),
            _ => None,
        }
    };
    let mut target_err: Option<String> = None;
    for _ in 0..(pass.is_some() as usize + 1) {
        match line() {
            Some(l) if l.starts_with('-') => target_err = target_err.or(Some(l)),
            Some(_) => {}
            None => return ctx.out.error("IOERR error or timeout reading to target instance"),
        }
    }
    let mut moved: Vec<Vec<u8>> = vec![b"DEL".to_vec()];
    let mut socket_error = false;
    for (k, _, _) in &keys {
        match line() {
            None => {
                socket_error = true;
                break;
            }
            Some(l) if l.starts_with('-') || target_err.is_some() => {
                target_err = target_err.or(Some(l));
            }
            Some(_) => {
                if !copy && ctx.ks.delete(k) {
                    ctx.ks.notify(super::notify::GENERIC, "del", k);
                    ctx.ks.dirty(1);
                    moved.push(k.to_vec());
                }
            }
        }
    }
    if moved.len() > 1 {
        ctx.ks.propagate_as(vec![moved]);
    } else {
        ctx.ks.propagate_as(vec![]);
    }
    if let Some(e) = target_err {
        return ctx.out.error(&format!("ERR Target instance replied with error: {}", &e[1..]));
    }
    if socket_error {
        return ctx.out.error("IOERR error or timeout reading to target instance");
    }
    ctx.out.ok();
}
