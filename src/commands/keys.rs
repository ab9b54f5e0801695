//! Generic keyspace commands (Redis's db.c / expire.c / OBJECT): DEL, UNLINK, EXISTS, TYPE,
//! TOUCH, RENAME(NX), MOVE, COPY, SWAPDB, FLUSHDB, FLUSHALL, DBSIZE, RANDOMKEY, KEYS, SCAN,
//! OBJECT, and the TTL family (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME,
//! PEXPIRETIME, PERSIST).
//!
//! Expiry semantics: keys named as arguments were already lazily expired by the
//! dispatcher; KEYS skips keys past their TTL without deleting them, SCAN and RANDOMKEY
//! delete the ones they meet, DBSIZE counts them (all as Redis). The EXPIRE family goes to
//! the write stream as PEXPIREAT with the absolute time, or as DEL when the time is past.
//!
//! SCAN with several shards: the cursor is `dict_cursor * nshards + shard`, walking the
//! shards in order; with one shard it is the plain dict cursor.

use super::{arg_i64, eq_ic, flags, lookup, notify, Ctx, Registration, NOT_INT, SYNTAX_ERR};
use crate::keyspace::entry::Entry;
use crate::keyspace::{lazyfree, lru, Value};
use crate::util::glob::glob_match;

pub const COMMANDS: &[Registration] = &[
    ("del", del, 0),
    ("unlink", unlink, 0),
    ("exists", exists, 0),
    ("type", type_cmd, 0),
    ("touch", touch, 0),
    ("rename", rename, 0),
    ("renamenx", renamenx, 0),
    ("move", move_cmd, 0),
    ("copy", copy, 0),
    ("swapdb", swapdb, flags::ALL_SHARDS),
    ("flushdb", flushdb, flags::ALL_SHARDS),
    ("flushall", flushall, flags::ALL_SHARDS),
    ("dbsize", dbsize, flags::ALL_SHARDS),
    ("randomkey", randomkey, flags::ALL_SHARDS | flags::ARBITRARY_KEYS),
    ("keys", keys, flags::ALL_SHARDS),
    ("scan", scan, flags::ALL_SHARDS | flags::ARBITRARY_KEYS),
    ("object|encoding", object_encoding, 0),
    ("object|refcount", object_refcount, 0),
    ("object|idletime", object_idletime, 0),
    ("object|freq", object_freq, 0),
    ("object|help", object_help, 0),
    ("expire", expire, 0),
    ("pexpire", pexpire, 0),
    ("expireat", expireat, 0),
    ("pexpireat", pexpireat, 0),
    ("ttl", ttl, 0),
    ("pttl", pttl, 0),
    ("expiretime", expiretime, 0),
    ("pexpiretime", pexpiretime, 0),
    ("persist", persist, 0),
];

const SAME_OBJECT: &str = "ERR source and destination objects are the same";
const DB_RANGE: &str = "ERR DB index is out of range";

fn cluster_enabled(ctx: &Ctx) -> bool {
    ctx.srv.config.read().get_bool("cluster-enabled")
}

fn flag_on(flag: &std::sync::atomic::AtomicBool) -> bool {
    flag.load(std::sync::atomic::Ordering::Relaxed)
}

/// A database index argument (getIntFromObjectOrReply + selectDb), replying Redis's
/// errors.
fn db_index(ctx: &mut Ctx, a: &[u8]) -> Option<usize> {
    match crate::util::numfmt::parse_i64(a).filter(|&i| i32::try_from(i).is_ok()) {
        None => {
            ctx.out.error(NOT_INT);
            None
        }
        Some(i) if i < 0 || i as usize >= ctx.srv.keyspace.ndbs => {
            ctx.out.error(DB_RANGE);
            None
        }
        Some(i) => Some(i as usize),
    }
}

// ---------------------------------------------------------------- DEL, EXISTS, TYPE, TOUCH

fn del_generic(ctx: &mut Ctx, argv: &[&[u8]], lazy: bool) {
    let mut n = 0;
    for k in &argv[1..] {
        let Some(owned) = ctx.ks.db(k).remove(k) else {
            continue;
        };
        lazyfree::free_entry(owned, lazy);
        ctx.ks.signal_modified(k);
        ctx.ks.notify(notify::GENERIC, "del", k);
        n += 1;
    }
    ctx.ks.dirty(n);
    ctx.out.int(n as i64);
}

fn del(ctx: &mut Ctx, argv: &[&[u8]]) {
    let lazy = flag_on(&ctx.srv.hot.lazy_user_del);
    del_generic(ctx, argv, lazy)
}

fn unlink(ctx: &mut Ctx, argv: &[&[u8]]) {
    del_generic(ctx, argv, true)
}

fn exists(ctx: &mut Ctx, argv: &[&[u8]]) {
    let n = argv[1..]
        .iter()
        .filter(|k| ctx.ks.read_entry(k, lookup::NOTOUCH).is_some())
        .count();
    ctx.out.int(n as i64);
}

fn type_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let name = ctx
        .ks
        .read_entry(argv[1], lookup::NOTOUCH)
        .map_or("none", |e| e.value.vtype().name());
    ctx.out.simple(name);
}

fn touch(ctx: &mut Ctx, argv: &[&[u8]]) {
    let n = argv[1..].iter().filter(|k| ctx.ks.get(k).is_some()).count();
    ctx.out.int(n as i64);
}

// ---------------------------------------------------------------- RENAME, MOVE, COPY

fn rename_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) {
    let (src, dst) = (argv[1], argv[2]);
    if ctx.ks.get_entry_mut(src).is_none() {
        return ctx.out.error("ERR no such key");
    }
    if src == dst {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    let expire = ctx.ks.get_expire(src);
    if nx && ctx.ks.get_entry_mut(dst).is_some() {
        return ctx.out.int(0);
    }
    let dbi = ctx.ks.db;
    clear_slot(ctx, dbi, dst);
    let owned = ctx.ks.db(src).remove(src).expect("source key looked up above");
    let clock = owned.entry().lru.get();
    ctx.ks.add_key(dst, owned.into_value()).lru.set(clock);
    if let Some(t) = expire {
        ctx.ks.set_expire(dst, t);
    }
    ctx.ks.signal_modified(src);
    ctx.ks.signal_modified(dst);
    ctx.ks.notify(notify::GENERIC, "rename_from", src);
    ctx.ks.notify(notify::GENERIC, "rename_to", dst);
    ctx.ks.dirty(1);
    if nx {
        ctx.out.int(1)
    } else {
        ctx.out.ok()
    }
}

fn rename(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, false)
}

fn renamenx(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, true)
}

/// lookupKeyWrite in database `dbi`: lazily expires the key there first.
fn exists_in(ctx: &mut Ctx, dbi: usize, key: &[u8]) -> bool {
    ctx.ks.expire_if_needed_at(dbi, key);
    let now = ctx.ks.now;
    let db = ctx.ks.db_at(dbi, key);
    db.get(key).is_some_and(|e| !db.is_expired(e, now))
}

/// Make room for a key about to be added to database `dbi`: whatever is there (a value
/// being replaced, or a key past its TTL that could not be deleted yet) goes.
fn clear_slot(ctx: &mut Ctx, dbi: usize, key: &[u8]) {
    if let Some(old) = ctx.ks.db_at(dbi, key).remove(key) {
        lazyfree::free_entry(old, flag_on(&ctx.srv.hot.lazy_server_del));
    }
}

/// Is `key` past its TTL? Deletes it if allowed (lazy expiry); true even if it has to
/// stay (clients paused), like Redis's expireIfNeeded.
fn expired_now(ctx: &mut Ctx, key: &[u8]) -> bool {
    if ctx.ks.expire_if_needed(key) {
        return true;
    }
    let db = ctx.ks.db_ref(key);
    db.get(key).is_some_and(|e| db.is_expired(e, ctx.ks.now))
}

fn move_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    if cluster_enabled(ctx) {
        return ctx.out.error("ERR MOVE is not allowed in cluster mode");
    }
    let key = argv[1];
    let Some(dst) = db_index(ctx, argv[2]) else {
        return;
    };
    let src = ctx.ks.db;
    if src == dst {
        return ctx.out.error(SAME_OBJECT);
    }
    if ctx.ks.get_entry_mut(key).is_none() {
        return ctx.out.int(0);
    }
    let expire = ctx.ks.get_expire(key);
    if exists_in(ctx, dst, key) {
        return ctx.out.int(0);
    }
    clear_slot(ctx, dst, key);
    let owned = ctx.ks.db(key).remove(key).expect("key looked up above");
    let clock = owned.entry().lru.get();
    ctx.ks.add_key_at(dst, key, owned.into_value()).lru.set(clock);
    if let Some(t) = expire {
        ctx.ks.db_at(dst, key).set_expire(key, t);
    }
    ctx.ks.signal_modified(key);
    ctx.ks.notify_at(src, notify::GENERIC, "move_from", key);
    ctx.ks.notify_at(dst, notify::GENERIC, "move_to", key);
    ctx.ks.dirty(1);
    ctx.out.int(1);
}

fn copy(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, newkey) = (argv[1], argv[2]);
    let src = ctx.ks.db;
    let mut dst = src;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if eq_ic(argv[j], "replace") {
            replace = true;
        } else if eq_ic(argv[j], "db") && j + 1 < argv.len() {
            let Some(d) = db_index(ctx, argv[j + 1]) else {
                return;
            };
            dst = d;
            j += 1;
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        j += 1;
    }
    if cluster_enabled(ctx) && (src != 0 || dst != 0) {
        return ctx
            .out
            .error("ERR Copying to another database is not allowed in cluster mode");
    }
    if src == dst && key == newkey {
        return ctx.out.error(SAME_OBJECT);
    }
    let Some(v) = ctx.ks.get(key) else {
        return ctx.out.int(0);
    };
    let Some(copied) = v.clone_deep() else {
        return ctx.out.error("ERR unknown type object");
    };
    let expire = ctx.ks.get_expire(key);
    if !replace && exists_in(ctx, dst, newkey) {
        return ctx.out.int(0);
    }
    clear_slot(ctx, dst, newkey);
    ctx.ks.add_key_at(dst, newkey, copied);
    if let Some(t) = expire {
        ctx.ks.db_at(dst, newkey).set_expire(newkey, t);
    }
    ctx.ks.signal_modified_at(dst, newkey);
    ctx.ks.notify_at(dst, notify::GENERIC, "copy_to", newkey);
    ctx.ks.dirty(1);
    ctx.out.int(1);
}

// ---------------------------------------------------------------- SWAPDB, FLUSH*, DBSIZE

fn swapdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    if cluster_enabled(ctx) {
        return ctx.out.error("ERR SWAPDB is not allowed in cluster mode");
    }
    let parse = |a: &[u8]| crate::util::numfmt::parse_i64(a).filter(|&i| i32::try_from(i).is_ok());
    let Some(a) = parse(argv[1]) else {
        return ctx.out.error("ERR invalid first DB index");
    };
    let Some(b) = parse(argv[2]) else {
        return ctx.out.error("ERR invalid second DB index");
    };
    let n = ctx.srv.keyspace.ndbs as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return ctx.out.error(DB_RANGE);
    }
    let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
    if lo != hi {
        let now = ctx.ks.now;
        for s in ctx.ks.locks.iter_mut() {
            let (left, right) = s.dbs.split_at_mut(hi);
            let (x, y) = (&mut left[lo], &mut right[0]);
            // WATCHes stay with the db index: the watched keys may now have other values.
            x.touch_all_watched(Some(y), now);
            y.touch_all_watched(Some(x), now);
            x.swap(y);
        }
        // Clients blocked on keys of either db may now find them (scanDatabaseForReadyKeys).
        crate::blocking::signal_db(&mut ctx.ks, lo);
        crate::blocking::signal_db(&mut ctx.ks, hi);
    }
    ctx.ks.dirty(1);
    ctx.out.ok();
}

/// FLUSHDB / FLUSHALL option: Some(async?) or a syntax error.
fn flush_mode(ctx: &mut Ctx, argv: &[&[u8]]) -> Option<bool> {
    match argv.len() {
        1 => Some(ctx.srv.config.read().get_bool("lazyfree-lazy-user-flush")),
        2 if eq_ic(argv[1], "sync") => Some(false),
        2 if eq_ic(argv[1], "async") => Some(true),
        _ => {
            ctx.out.error(SYNTAX_ERR);
            None
        }
    }
}

/// Empty database `dbi` of every shard (or all databases); returns the keys removed.
fn empty_dbs(ctx: &mut Ctx, dbi: Option<usize>, lazy: bool) -> u64 {
    let mut removed = 0;
    for s in ctx.ks.locks.iter_mut() {
        for (i, db) in s.dbs.iter_mut().enumerate() {
            if dbi.is_some_and(|d| d != i) || db.is_empty() {
                continue;
            }
            removed += db.len() as u64;
            if !lazy {
                db.clear();
            } else if let Some(old) = db.take_contents() {
                lazyfree::free_later(old);
            }
        }
    }
    removed
}

fn flush_generic(ctx: &mut Ctx, argv: &[&[u8]], dbi: Option<usize>) {
    let Some(lazy) = flush_mode(ctx, argv) else {
        return;
    };
    let mut removed = empty_dbs(ctx, dbi, lazy);
    // every tracking client drops its whole cache (a null invalidation)
    crate::tracking::on_flush(ctx.srv, ctx.ks.client, &mut ctx.ks.track_pending);
    // blocked XREADGROUP clients of emptied streams get an error
    for d in 0..ctx.srv.keyspace.ndbs {
        if dbi.is_none_or(|x| x == d) {
            crate::blocking::signal_db(&mut ctx.ks, d);
        }
    }
    // FLUSHALL stops a running BGSAVE (Redis kills its child).
    if dbi.is_none() && ctx.srv.persist.bgsave_in_progress.load(std::sync::atomic::Ordering::Relaxed) {
        ctx.srv.persist.bgsave_abort.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    // FLUSHALL with save points also rewrites the RDB file (now empty) right away.
    if dbi.is_none() && !ctx.srv.config.read().save_params().is_empty() {
        if crate::persist::save_locked(ctx.srv, &ctx.ks.locks).is_ok() {
            removed = 0;
        }
    }
    ctx.ks.dirty(removed);
    // Propagated even when nothing was removed (Redis's forceCommandPropagation).
    ctx.ks.force_propagate = true;
    ctx.out.ok();
}

fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    let db = ctx.ks.db;
    flush_generic(ctx, argv, Some(db))
}

fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) {
    flush_generic(ctx, argv, None)
}

fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    let n: usize = ctx.ks.locks.iter().map(|s| s.dbs[db].len()).sum();
    ctx.out.int(n as i64);
}

// ---------------------------------------------------------------- RANDOMKEY, KEYS, SCAN

fn randomkey(ctx: &mut Ctx, _argv: &[&[u8]]) {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let (dbi, now) = (ctx.ks.db, ctx.ks.now);
    let mut tries = 0;
    loop {
        let total: usize = ctx.ks.locks.iter().map(|s| s.dbs[dbi].len()).sum();
        if total == 0 {
            return ctx.out.null();
        }
        let mut r = rng.gen_range(0..total);
        let db = ctx
            .ks
            .locks
            .iter()
            .map(|s| &s.dbs[dbi])
            .find(|d| {
                let hit = r < d.len();
                r = r.wrapping_sub(d.len());
                hit
            })
            .expect("r < total");
        let e = db.dict.random(&mut rng).expect("non-empty db");
        let (key, expired) = (e.key().to_vec(), db.is_expired(e, now));
        // A key past its TTL is deleted and another one drawn; should it stay (clients
        // paused), give up after 100 draws like Redis on a replica.
        if expired {
            tries += 1;
            if ctx.ks.expire_if_needed(&key) || tries < 100 {
                continue;
            }
        }
        return ctx.out.bulk(&key);
    }
}

fn keys(ctx: &mut Ctx, argv: &[&[u8]]) {
    let pat = argv[1];
    let all = pat == b"*";
    let (dbi, now) = (ctx.ks.db, ctx.ks.now);
    let at = ctx.out.deferred();
    let mut n = 0;
    for s in ctx.ks.locks.iter() {
        let db = &s.dbs[dbi];
        db.dict.for_each(|e| {
            if (all || glob_match(pat, e.key(), false)) && !db.is_expired(e, now) {
                ctx.out.bulk(e.key());
                n += 1;
            }
        });
    }
    ctx.out.fill_deferred(at, b'*', n);
}

/// A SCAN cursor, read as C's strtoul (base 10) the way Redis checks it: no leading
/// space, optional sign (a negative cursor wraps), nothing after the digits; the empty
/// string is cursor 0; the argument ends at its first NUL byte.
pub fn parse_cursor(a: &[u8]) -> Option<u64> {
    let a = &a[..a.iter().position(|&c| c == 0).unwrap_or(a.len())];
    match a.first() {
        None => return Some(0),
        Some(c) if c.is_ascii_whitespace() || *c == 0x0b => return None,
        _ => {}
    }
    let (neg, digits) = match a[0] {
        b'-' => (true, &a[1..]),
        b'+' => (false, &a[1..]),
        _ => (false, a),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// One SCAN call over the selected database: the next cursor and the keys visited.
/// Does at most `count * 10 + 1` dict steps or stops once `count` keys were collected.
fn scan_keys(ctx: &mut Ctx, cursor: u64, count: usize) -> (u64, Vec<Vec<u8>>) {
    let dbi = ctx.ks.db;
    let n = ctx.ks.locks.iter().count() as u64;
    let (mut shard, mut dc) = ((cursor % n) as usize, cursor / n);
    let mut keys = Vec::new();
    let mut budget = count.saturating_mul(10);
    loop {
        let db = &ctx.ks.locks.shard_ref(shard).dbs[dbi];
        dc = db.dict.scan(dc, |e| keys.push(e.key().to_vec()));
        if dc == 0 {
            shard += 1;
            if shard as u64 == n {
                return (0, keys);
            }
        }
        let next = dc.wrapping_mul(n).wrapping_add(shard as u64);
        if budget == 0 || keys.len() >= count {
            return (next, keys);
        }
        budget -= 1;
    }
}

fn scan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = parse_cursor(argv[1]) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        if eq_ic(argv[i], "count") && more {
            let Some(c) = arg_i64(ctx, argv[i + 1]) else {
                return;
            };
            if c < 1 {
                return ctx.out.error(SYNTAX_ERR);
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if eq_ic(argv[i], "match") && more {
            // "*" matches everything (even the empty key, which the glob would not).
            pattern = if argv[i + 1] == b"*" { None } else { Some(argv[i + 1]) };
        } else if eq_ic(argv[i], "type") && more {
            type_name = Some(argv[i + 1]);
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        i += 2;
    }
    let (next, found) = scan_keys(ctx, cursor, count);
    let mut keys = Vec::with_capacity(found.len());
    for k in found {
        if pattern.is_some_and(|p| !glob_match(p, &k, false)) {
            continue;
        }
        if let Some(t) = type_name {
            // Redis looks the key up for its type (lazily expiring it, counting stats).
            ctx.ks.expire_if_needed(&k);
            let name = ctx
                .ks
                .read_entry(&k, lookup::NOTOUCH)
                .map_or("none", |e| e.value.vtype().name());
            if !t.eq_ignore_ascii_case(name.as_bytes()) {
                continue;
            }
        }
        if expired_now(ctx, &k) {
            continue;
        }
        keys.push(k);
    }
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.bulk_array(keys.iter());
}

// ---------------------------------------------------------------- OBJECT

/// Redis shares the integer objects 0..9999 (refcount INT_MAX) unless an LRU/LFU
/// maxmemory policy needs per-key clocks.
const OBJ_SHARED_INTEGERS: i64 = 10000;
const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// objectCommandLookup: no touch, no keymiss event; replies null when the key is absent.
fn object_lookup<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<&'c Entry> {
    let e = ctx.ks.read_entry(key, lookup::NOTOUCH | lookup::NONOTIFY);
    if e.is_none() {
        ctx.out.null();
    }
    e
}

fn object_encoding(ctx: &mut Ctx, argv: &[&[u8]]) {
    if let Some(e) = object_lookup(ctx, argv[2]) {
        let enc = e.value.encoding();
        ctx.out.bulk_str(enc);
    }
}

fn object_refcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(e) = object_lookup(ctx, argv[2]) else {
        return;
    };
    let shared = match e.value {
        Value::Int(i) => (0..OBJ_SHARED_INTEGERS).contains(&i),
        _ => false,
    };
    let shared = shared && {
        let policy = ctx.srv.hot.maxmemory_policy.load(std::sync::atomic::Ordering::Relaxed);
        let no_shared = lru::POLICY_FLAG_LRU | lru::POLICY_FLAG_LFU;
        ctx.srv.config.read().get_i64("maxmemory") == 0 || policy & no_shared == 0
    };
    ctx.out.int(if shared { OBJ_SHARED_REFCOUNT } else { 1 });
}

fn object_idletime(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(e) = object_lookup(ctx, argv[2]) else {
        return;
    };
    let clock = e.lru.get();
    if ctx.srv.hot.lru_policy().lfu {
        return ctx.out.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    }
    let idle = lru::idle_ms(clock, ctx.ks.now) / 1000;
    ctx.out.int(idle as i64);
}

fn object_freq(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(e) = object_lookup(ctx, argv[2]) else {
        return;
    };
    let clock = e.lru.get();
    let policy = ctx.srv.hot.lru_policy();
    if !policy.lfu {
        return ctx.out.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    }
    ctx.out
        .int(lru::lfu_decayed(clock, ctx.ks.now, policy.decay_time) as i64);
}

fn object_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.help(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}

// ---------------------------------------------------------------- EXPIRE family

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

/// The NX / XX / GT / LT options after the time, with Redis's errors.
fn expire_flags(opts: &[&[u8]]) -> Result<u8, String> {
    let mut f = 0;
    for o in opts {
        f |= match o.to_ascii_lowercase().as_slice() {
            b"nx" => EXPIRE_NX,
            b"xx" => EXPIRE_XX,
            b"gt" => EXPIRE_GT,
            b"lt" => EXPIRE_LT,
            _ => return Err(format!("ERR Unsupported option {}", String::from_utf8_lossy(o))),
        };
    }
    if f & EXPIRE_NX != 0 && f & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if f & EXPIRE_GT != 0 && f & EXPIRE_LT != 0 {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    Ok(f)
}

/// Would the options refuse to change a key whose deadline is `current` to `when`?
fn expire_refused(f: u8, current: Option<i64>, when: i64) -> bool {
    (f & EXPIRE_NX != 0 && current.is_some())
        || (f & EXPIRE_XX != 0 && current.is_none())
        || (f & EXPIRE_GT != 0 && current.is_none_or(|c| when <= c))
        || (f & EXPIRE_LT != 0 && current.is_some_and(|c| when >= c))
}

/// The absolute deadline (unix ms) from the time argument, None on overflow.
fn expire_deadline(t: i64, base_ms: i64, unit_secs: bool) -> Option<i64> {
    let t = if unit_secs { t.checked_mul(1000)? } else { t };
    if t > i64::MAX - base_ms {
        return None;
    }
    Some(t + base_ms)
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT: `relative` adds the command time, `unit_secs`
/// scales the argument to milliseconds.
fn expire_generic(ctx: &mut Ctx, argv: &[&[u8]], name: &str, relative: bool, unit_secs: bool) {
    let key = argv[1];
    let f = match expire_flags(&argv[3..]) {
        Ok(f) => f,
        Err(e) => return ctx.out.error(&e),
    };
    let Some(t) = arg_i64(ctx, argv[2]) else {
        return;
    };
    let base = if relative { ctx.ks.now } else { 0 };
    let Some(when) = expire_deadline(t, base, unit_secs) else {
        return ctx.out.error(&format!("ERR invalid expire time in '{name}' command"));
    };
    if ctx.ks.get_entry_mut(key).is_none() {
        return ctx.out.int(0);
    }
    if f != 0 && expire_refused(f, ctx.ks.get_expire(key), when) {
        return ctx.out.int(0);
    }
    ctx.ks.dirty(1);
    ctx.ks.signal_modified(key);
    if when <= crate::server::now_ms() && !ctx.srv.persist.loading.load(std::sync::atomic::Ordering::Relaxed) {
        // Already past: the key goes now (while loading it keeps the past deadline), and the write stream gets a DEL (or UNLINK).
        let lazy = flag_on(&ctx.srv.hot.lazy_expire);
        if let Some(owned) = ctx.ks.db(key).remove(key) {
            lazyfree::free_entry(owned, lazy);
        }
        let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        ctx.ks.propagate_as(vec![vec![cmd.to_vec(), key.to_vec()]]);
        ctx.ks.notify(notify::GENERIC, "del", key);
    } else {
        ctx.ks.set_expire(key, when);
        let when = itoa::Buffer::new().format(when).as_bytes().to_vec();
        ctx.ks
            .propagate_as(vec![vec![b"PEXPIREAT".to_vec(), key.to_vec(), when]]);
        ctx.ks.notify(notify::GENERIC, "expire", key);
    }
    ctx.out.int(1);
}

fn expire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "expire", true, true)
}

fn pexpire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "pexpire", true, false)
}

fn expireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "expireat", false, true)
}

fn pexpireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, "pexpireat", false, false)
}

/// TTL / PTTL / EXPIRETIME / PEXPIRETIME: -2 no key, -1 no TTL, else the remaining (or
/// absolute) time, in seconds rounded to the nearest or in milliseconds.
fn ttl_generic(ctx: &mut Ctx, argv: &[&[u8]], ms: bool, absolute: bool) {
    if ctx.ks.read_entry(argv[1], lookup::NOTOUCH).is_none() {
        return ctx.out.int(-2);
    }
    let Some(when) = ctx.ks.get_expire(argv[1]) else {
        return ctx.out.int(-1);
    };
    let t = if absolute { when } else { when - crate::server::now_ms() }.max(0);
    ctx.out.int(if ms { t } else { ((t as i128 + 500) / 1000) as i64 });
}

fn ttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, false)
}

fn pttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, false)
}

fn expiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, true)
}

fn pexpiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, true)
}

fn persist(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    if ctx.ks.get_entry_mut(key).is_none() || !ctx.ks.persist(key) {
        return ctx.out.int(0);
    }
    ctx.ks.signal_modified(key);
    ctx.ks.notify(notify::GENERIC, "persist", key);
    ctx.ks.dirty(1);
    ctx.out.int(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testkit::{TestClient, TestServer};

    /// Give `key` (in db 0) a deadline in the past without deleting it, as if it expired
    /// while nobody looked.
    fn make_stale(ts: &TestServer, key: &[u8]) {
        let ks = &ts.srv.keyspace;
        let mut s = ks.shards[ks.shard_of(key)].lock();
        assert!(s.dbs[0].set_expire(key, crate::server::now_ms() - 1000));
    }

    fn setup(nshards: usize, keys: &[&str]) -> (TestServer, TestClient) {
        let ts = TestServer::new(nshards);
        let mut c = ts.client();
        for k in keys {
            assert_eq!(ts.cmd(&mut c, &format!("SET {k} v")), "+OK\r\n");
        }
        (ts, c)
    }

    fn sorted_bulks(reply: &str) -> Vec<String> {
        let mut v: Vec<String> = reply
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with(['*', '$']))
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn stale_keys_keys_skips_dbsize_counts_scan_deletes() {
        for nshards in [1, 16] {
            let (ts, mut c) = setup(nshards, &["a", "b", "c"]);
            make_stale(&ts, b"b");
            assert_eq!(sorted_bulks(&ts.cmd(&mut c, "KEYS *")), ["a", "c"]);
            assert_eq!(ts.cmd(&mut c, "DBSIZE"), ":3\r\n");
            let r = ts.cmd(&mut c, "SCAN 0 COUNT 100");
            assert!(r.starts_with("*2\r\n$1\r\n0\r\n*2\r\n"), "{r}");
            assert_eq!(ts.cmd(&mut c, "DBSIZE"), ":2\r\n");
            assert_eq!(ts.srv.stats.expired_keys.load(std::sync::atomic::Ordering::Relaxed), 1);
        }
    }

    #[test]
    fn paused_dataset_keeps_stale_keys_but_hides_them() {
        use std::sync::atomic::Ordering::Relaxed;
        let (ts, mut c) = setup(1, &["a", "b"]);
        make_stale(&ts, b"b");
        ts.srv.pause_until.store(crate::server::now_ms() + 60_000, Relaxed);
        ts.srv.pause_all.store(false, Relaxed);
        assert_eq!(ts.cmd(&mut c, "SCAN 0"), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n");
        assert_eq!(ts.cmd(&mut c, "EXISTS b"), ":0\r\n");
        assert_eq!(ts.cmd(&mut c, "DBSIZE"), ":2\r\n");
        ts.srv.pause_until.store(0, Relaxed);
        assert_eq!(ts.cmd(&mut c, "SCAN 0"), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n");
        assert_eq!(ts.cmd(&mut c, "DBSIZE"), ":1\r\n");
    }

    #[test]
    fn randomkey_deletes_stale_keys_it_draws() {
        let (ts, mut c) = setup(4, &["x", "y"]);
        make_stale(&ts, b"x");
        make_stale(&ts, b"y");
        assert_eq!(ts.cmd(&mut c, "RANDOMKEY"), "$-1\r\n");
        assert_eq!(ts.cmd(&mut c, "DBSIZE"), ":0\r\n");
        ts.cmd(&mut c, "SET z 1");
        assert_eq!(ts.cmd(&mut c, "RANDOMKEY"), "$1\r\nz\r\n");
    }

    #[test]
    fn scan_type_on_stale_key_matches_none_like_redis() {
        let (ts, mut c) = setup(1, &["k"]);
        make_stale(&ts, b"k");
        // Redis deletes the key while looking up its type, then reports the name anyway.
        assert_eq!(ts.cmd(&mut c, "SCAN 0 TYPE none"), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
        assert_eq!(ts.cmd(&mut c, "DBSIZE"), ":0\r\n");
    }

    #[test]
    fn scan_cursor_walks_every_shard() {
        for nshards in [1, 8, 64] {
            let names: Vec<String> = (0..500).map(|i| format!("key:{i}")).collect();
            let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            let (ts, mut c) = setup(nshards, &refs);
            let mut seen = std::collections::HashSet::new();
            let mut cursor = "0".to_string();
            let mut calls = 0;
            loop {
                let r = ts.cmd(&mut c, &format!("SCAN {cursor} COUNT 7"));
                let lines: Vec<&str> = r.split("\r\n").collect();
                cursor = lines[2].to_string();
                for k in sorted_bulks(&lines[3..].join("\r\n")) {
                    seen.insert(k);
                }
                calls += 1;
                if cursor == "0" {
                    break;
                }
            }
            assert_eq!(seen.len(), 500, "nshards {nshards}");
            assert!(calls > 10, "COUNT bounds each call");
        }
    }

    #[test]
    fn rename_keeps_ttl_and_access_clock() {
        let (ts, mut c) = setup(16, &["src", "dst"]);
        assert_eq!(ts.cmd(&mut c, "EXPIRE src 100"), ":1\r\n");
        assert_eq!(ts.cmd(&mut c, "EXPIRE dst 1000"), ":1\r\n");
        assert_eq!(ts.cmd(&mut c, "RENAME src dst"), "+OK\r\n");
        let t: i64 = ts.cmd(&mut c, "TTL dst")[1..].trim().parse().unwrap();
        assert!((99..=100).contains(&t));
        assert_eq!(ts.cmd(&mut c, "EXISTS src"), ":0\r\n");
        assert_eq!(ts.cmd(&mut c, "RENAMENX dst dst"), ":0\r\n");
        assert_eq!(ts.cmd(&mut c, "RENAME nosuch x"), "-ERR no such key\r\n");
    }

    #[test]
    fn move_copy_swapdb_across_dbs() {
        let (ts, mut c) = setup(16, &["k"]);
        ts.cmd(&mut c, "PEXPIRE k 100000");
        assert_eq!(ts.cmd(&mut c, "MOVE k 3"), ":1\r\n");
        assert_eq!(ts.cmd(&mut c, "EXISTS k"), ":0\r\n");
        assert_eq!(ts.cmd(&mut c, "COPY k k2"), ":0\r\n");
        assert_eq!(ts.cmd(&mut c, "SELECT 3"), "+OK\r\n");
        let pttl =
            |c: &mut TestClient, k: &str| -> i64 { ts.cmd(c, &format!("PTTL {k}"))[1..].trim().parse().unwrap() };
        assert!((90_000..=100_000).contains(&pttl(&mut c, "k")));
        assert_eq!(ts.cmd(&mut c, "COPY k k2 DB 0"), ":1\r\n");
        assert_eq!(ts.cmd(&mut c, "COPY k k2 DB 0"), ":0\r\n");
        assert_eq!(ts.cmd(&mut c, "COPY k k2 DB 0 REPLACE"), ":1\r\n");
        assert_eq!(ts.cmd(&mut c, "SWAPDB 3 0"), "+OK\r\n");
        assert_eq!(sorted_bulks(&ts.cmd(&mut c, "KEYS *")), ["k2"]);
        assert!((90_000..=100_000).contains(&pttl(&mut c, "k2")));
        ts.cmd(&mut c, "SELECT 0");
        assert_eq!(sorted_bulks(&ts.cmd(&mut c, "KEYS *")), ["k"]);
        assert_eq!(ts.cmd(&mut c, "FLUSHALL ASYNC"), "+OK\r\n");
        assert_eq!(ts.cmd(&mut c, "DBSIZE"), ":0\r\n");
    }

    #[test]
    fn copy_of_a_stale_target_counts_as_absent() {
        let (ts, mut c) = setup(1, &["a", "b"]);
        make_stale(&ts, b"b");
        // b in db 0 is past its TTL: COPY a b treats it as missing (no REPLACE needed)
        assert_eq!(ts.cmd(&mut c, "COPY a b"), ":1\r\n");
        assert_eq!(ts.cmd(&mut c, "TTL b"), ":-1\r\n");
    }

    #[test]
    fn object_idletime_and_touch() {
        let (ts, mut c) = setup(1, &["k"]);
        {
            let mut s = ts.srv.keyspace.shards[0].lock();
            let e = s.dbs[0].get_mut(b"k").unwrap();
            e.lru.set(lru::lru_clock(crate::server::now_ms() - 10_000));
        }
        assert_eq!(ts.cmd(&mut c, "TYPE k"), "+string\r\n");
        assert_eq!(ts.cmd(&mut c, "OBJECT IDLETIME k"), ":10\r\n");
        assert_eq!(ts.cmd(&mut c, "TOUCH k nokey k"), ":2\r\n");
        assert_eq!(ts.cmd(&mut c, "OBJECT IDLETIME k"), ":0\r\n");
        assert!(ts
            .cmd(&mut c, "OBJECT FREQ k")
            .starts_with("-ERR An LFU maxmemory policy is not selected"));
        ts.cmd(&mut c, "CONFIG SET maxmemory-policy allkeys-lfu");
        assert_eq!(ts.cmd(&mut c, "SET n 1"), "+OK\r\n");
        assert_eq!(ts.cmd(&mut c, "OBJECT FREQ n"), ":5\r\n");
        assert!(ts
            .cmd(&mut c, "OBJECT IDLETIME n")
            .starts_with("-ERR An LFU maxmemory policy is selected"));
        assert_eq!(ts.cmd(&mut c, "OBJECT FREQ nokey"), "$-1\r\n");
        // overwriting a key keeps its access frequency (dbOverwrite under LFU)
        {
            let mut s = ts.srv.keyspace.shards[0].lock();
            s.dbs[0].get_mut(b"n").unwrap().lru.set(lru::lfu_with_counter(100, crate::server::now_ms()));
        }
        ts.cmd(&mut c, "SET n 2");
        assert_eq!(ts.cmd(&mut c, "OBJECT FREQ n"), ":100\r\n");
    }

    #[test]
    fn unlink_frees_big_values_in_the_background() {
        let (ts, mut c) = setup(1, &[]);
        let fields: Vec<String> = (0..2000).map(|i| format!("f{i} v{i}")).collect();
        assert_eq!(ts.cmd(&mut c, &format!("HSET h {}", fields.join(" "))), ":2000\r\n");
        {
            let s = ts.srv.keyspace.shards[0].lock();
            assert!(s.dbs[0].get(b"h").unwrap().value.free_effort() > lazyfree::THRESHOLD);
        }
        let before = lazyfree::FREED.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(ts.cmd(&mut c, "UNLINK h"), ":1\r\n");
        let t = std::time::Instant::now();
        while lazyfree::FREED.load(std::sync::atomic::Ordering::Relaxed) == before {
            assert!(t.elapsed().as_secs() < 5, "the hash was not handed to the lazyfree thread");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(ts.cmd(&mut c, "EXISTS h"), ":0\r\n");
    }

    #[test]
    fn cursor_parsing_is_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+2"), Some(2));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"1 "), None);
        assert_eq!(parse_cursor(b"abc"), None);
        assert_eq!(parse_cursor(b"+"), None);
        assert_eq!(parse_cursor(b"12\0junk"), Some(12));
    }

    #[test]
    fn expire_options() {
        assert_eq!(expire_flags(&[b"nx"]), Ok(EXPIRE_NX));
        assert_eq!(expire_flags(&[b"LT", b"xx"]), Ok(EXPIRE_LT | EXPIRE_XX));
        assert_eq!(expire_flags(&[b"xx", b"ab"]).unwrap_err(), "ERR Unsupported option ab");
        assert!(expire_flags(&[b"nx", b"gt"]).unwrap_err().starts_with("ERR NX and XX"));
        assert!(expire_flags(&[b"gt", b"lt"]).unwrap_err().starts_with("ERR GT and LT"));
        // GT never applies to a key without TTL; LT always does
        assert!(expire_refused(EXPIRE_GT, None, 5));
        assert!(!expire_refused(EXPIRE_LT, None, 5));
        assert!(expire_refused(EXPIRE_LT, Some(5), 5));
        assert!(!expire_refused(EXPIRE_GT, Some(5), 6));
        assert!(expire_refused(EXPIRE_NX, Some(5), 6));
        assert!(expire_refused(EXPIRE_XX, None, 6));
    }

    #[test]
    fn expire_deadline_overflow() {
        assert_eq!(expire_deadline(9223372036854775, 0, true), Some(9223372036854775000));
        assert_eq!(expire_deadline(9223372036854776, 0, true), None);
        assert_eq!(expire_deadline(-9223372036854775, 0, true), Some(-9223372036854775000));
        assert_eq!(expire_deadline(-9223372036854776, 0, true), None);
        assert_eq!(expire_deadline(9223370399119966, 1_700_000_000_000, true), None);
        assert_eq!(expire_deadline(i64::MAX, 0, false), Some(i64::MAX));
        assert_eq!(expire_deadline(i64::MAX - 5, 10, false), None);
    }
}
