//! Introspection: COMMAND, SLOWLOG, LATENCY and DEBUG, plus what they share with the
//! dispatcher and INFO: per-command counters summed over the workers, argument
//! redaction (slow log, MONITOR) and the DEBUG DIGEST dataset hash.

use super::{
    arg_i64, eq_ic, flags, meta, reply_help, reply_subcommand_syntax_error, Command, Ctx,
    Registration,
};
use crate::keyspace::{Value, ValueType};
use crate::log;
use crate::server::{now_ms, Server};
use crate::util::hdr;
use std::sync::atomic::Ordering::Relaxed;

pub const COMMANDS: &[Registration] = &[
    ("command", command, 0),
    ("command|count", command_count, 0),
    ("command|info", command_info, 0),
    ("command|docs", command_docs, 0),
    ("command|list", command_list, 0),
    ("command|getkeys", command_getkeys, 0),
    ("command|getkeysandflags", command_getkeysandflags, 0),
    ("command|help", command_help, 0),
    ("slowlog|get", slowlog_get, 0),
    ("slowlog|len", slowlog_len, 0),
    ("slowlog|reset", slowlog_reset, 0),
    ("slowlog|help", slowlog_help, 0),
    ("latency|latest", latency_latest, 0),
    ("latency|history", latency_history, 0),
    ("latency|reset", latency_reset, 0),
    ("latency|graph", latency_graph, 0),
    ("latency|doctor", latency_doctor, 0),
    ("latency|histogram", latency_histogram, 0),
    ("latency|help", latency_help, 0),
    ("debug", debug, flags::ALL_SHARDS),
];

// ---------------------------------------------------------------------------------------
// Per-command counters, summed over the workers (INFO commandstats, LATENCY HISTOGRAM).

#[derive(Default, Clone, Copy)]
pub struct CmdTotals {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// INFO total_commands_processed: the calls of every command on every worker (each
/// executed command counts one call, as Redis's stat_numcommands; summing here keeps one
/// more locked add off every command).
pub fn total_calls(srv: &Server) -> u64 {
    srv.workers.get().into_iter().flatten().flat_map(|w| w.cmdstats.iter()).map(|s| s.calls.load(Relaxed)).sum()
}

pub fn cmd_totals(srv: &Server, id: usize) -> CmdTotals {
    let mut t = CmdTotals::default();
    for w in srv.workers.get().into_iter().flatten() {
        if let Some(s) = w.cmdstats.get(id) {
            t.calls += s.calls.load(Relaxed);
            t.usec += s.usec.load(Relaxed);
            t.rejected += s.rejected.load(Relaxed);
            t.failed += s.failed.load(Relaxed);
        }
    }
    t
}

/// The command's latency histogram merged over the workers; None if it has no samples
/// (Redis frees a histogram on CONFIG RESETSTAT and creates it at the next call).
pub fn cmd_histogram(srv: &Server, id: usize) -> Option<hdr::Snapshot> {
    let mut snap: Option<hdr::Snapshot> = None;
    for w in srv.workers.get().into_iter().flatten() {
        if let Some(h) = w.cmdstats.get(id).and_then(|s| s.hist.get()) {
            if h.total() > 0 {
                h.add_to(snap.get_or_insert_with(Default::default));
            }
        }
    }
    snap
}

/// CONFIG RESETSTAT: zero every worker's per-command counters and histograms.
pub fn reset_cmd_stats(srv: &Server) {
    for w in srv.workers.get().into_iter().flatten() {
        for s in w.cmdstats.iter() {
            s.calls.store(0, Relaxed);
            s.usec.store(0, Relaxed);
            s.rejected.store(0, Relaxed);
            s.failed.store(0, Relaxed);
            if let Some(h) = s.hist.get() {
                h.reset();
            }
        }
    }
}

/// Every command, each top-level one followed by its subcommands (by name).
pub fn commands_in_order(srv: &Server) -> Vec<&Command> {
    let mut out = Vec::with_capacity(srv.table.len());
    for c in srv.table.top_level() {
        push_with_subcommands(srv, c, &mut out);
    }
    out
}

fn push_with_subcommands<'a>(srv: &'a Server, c: &'a Command, out: &mut Vec<&'a Command>) {
    out.push(c);
    let start = out.len();
    out.extend(c.subcommands.values().map(|&i| &srv.table.cmds[i]));
    out[start..].sort_by(|a, b| a.name.cmp(&b.name));
}

/// A command by full name ("get", "client|id"), as Redis lookupCommandBySds.
fn lookup_fullname<'a>(srv: &'a Server, name: &[u8]) -> Option<&'a Command> {
    let mut parts = name.split(|&b| b == b'|');
    let base = srv.table.lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) => srv.table.sub(base, sub),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Slow log entries

const SLOWLOG_MAX_ARGC: usize = 32;
const SLOWLOG_MAX_STRING: usize = 128;

/// The arguments a slow log entry keeps: at most 32 (the last one saying how many more
/// there were), each at most 128 bytes (plus how many more), the `redacted` positions
/// (see `ClientInfo::redact_arg`) replaced by "(redacted)".
pub fn slowlog_args(argv: &[&[u8]], redacted: &[usize]) -> Vec<Vec<u8>> {
    let hidden = redacted;
    let n = argv.len().min(SLOWLOG_MAX_ARGC);
    let mut out = Vec::with_capacity(n);
    for (i, a) in argv.iter().enumerate().take(n) {
        if i == SLOWLOG_MAX_ARGC - 1 && argv.len() > SLOWLOG_MAX_ARGC {
            out.push(
                format!("... ({} more arguments)", argv.len() - SLOWLOG_MAX_ARGC + 1).into_bytes(),
            );
        } else if hidden.contains(&i) {
            out.push(b"(redacted)".to_vec());
        } else if a.len() > SLOWLOG_MAX_STRING {
            let mut v = a[..SLOWLOG_MAX_STRING].to_vec();
            v.extend_from_slice(
                format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_STRING).as_bytes(),
            );
            out.push(v);
        } else {
            out.push(a.to_vec());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// COMMAND

fn implemented(srv: &Server) -> impl Fn(&str) -> bool + '_ {
    |n| srv.table.implemented(n)
}

fn command(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let imp = implemented(ctx.srv);
    meta::reply_command(ctx.out, &imp);
}

fn command_count(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let imp = implemented(ctx.srv);
    meta::reply_count(ctx.out, &imp);
}

fn command_info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let imp = implemented(ctx.srv);
    meta::reply_info(ctx.out, argv, &imp);
}

fn command_docs(ctx: &mut Ctx, argv: &[&[u8]]) {
    let imp = implemented(ctx.srv);
    meta::reply_docs(ctx.out, argv, &imp);
}

fn command_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let imp = implemented(ctx.srv);
    let glob = |p: &[u8], s: &[u8]| crate::util::glob::glob_match(p, s, true);
    meta::reply_list(ctx.out, argv, &imp, &glob);
}

fn command_getkeys(ctx: &mut Ctx, argv: &[&[u8]]) {
    let imp = implemented(ctx.srv);
    meta::reply_getkeys(ctx.out, argv, &imp, false);
}

fn command_getkeysandflags(ctx: &mut Ctx, argv: &[&[u8]]) {
    let imp = implemented(ctx.srv);
    meta::reply_getkeys(ctx.out, argv, &imp, true);
}

fn command_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    reply_help(ctx.out, argv[0], meta::COMMAND_HELP);
}

// ---------------------------------------------------------------------------------------
// SLOWLOG

fn slowlog_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let count = match argv.get(2) {
        None => 10,
        Some(a) => match crate::util::numfmt::parse_i64(a) {
            Some(n) if n >= -1 => n,
            _ => {
                return ctx
                    .out
                    .error("ERR count should be greater than or equal to -1")
            }
        },
    };
    let sl = ctx.srv.slowlog.lock();
    let n = if count == -1 {
        sl.entries.len()
    } else {
        sl.entries.len().min(count as usize)
    };
    ctx.out.array(n);
    for e in sl.entries.iter().take(n) {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time);
        ctx.out.int(e.duration_us as i64);
        ctx.out.bulk_array(&e.args);
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(e.name.as_bytes());
    }
}

fn slowlog_len(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let n = ctx.srv.slowlog.lock().entries.len();
    ctx.out.int(n as i64);
}

fn slowlog_reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.srv.slowlog.lock().entries.clear();
    ctx.out.ok();
}

fn slowlog_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        argv[0],
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// LATENCY

fn latency_latest(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let l = ctx.srv.latency.lock();
    ctx.out.array(l.len());
    for (name, ev) in l.iter() {
        let (t, ms) = ev.samples.back().copied().unwrap_or((0, 0));
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(t);
        ctx.out.int(ms as i64);
        ctx.out.int(ev.max as i64);
    }
}

fn latency_history(ctx: &mut Ctx, argv: &[&[u8]]) {
    let l = ctx.srv.latency.lock();
    let Some(ev) = l.get(String::from_utf8_lossy(argv[2]).as_ref()) else {
        return ctx.out.array(0);
    };
    ctx.out.array(ev.samples.len());
    for &(t, ms) in &ev.samples {
        ctx.out.array(2);
        ctx.out.int(t);
        ctx.out.int(ms as i64);
    }
}

fn latency_reset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut l = ctx.srv.latency.lock();
    let n = if argv.len() == 2 {
        let n = l.len();
        l.clear();
        n
    } else {
        argv[2..]
            .iter()
            .filter(|e| l.remove(String::from_utf8_lossy(e).as_ref()).is_some())
            .count()
    };
    ctx.out.int(n as i64);
}

fn latency_graph(ctx: &mut Ctx, argv: &[&[u8]]) {
    let event = String::from_utf8_lossy(argv[2]).into_owned();
    let l = ctx.srv.latency.lock();
    let Some(ev) = l.get(&event) else {
        drop(l);
        return ctx
            .out
            .error(&format!("ERR No samples available for event '{event}'"));
    };
    let now = now_ms() / 1000;
    let samples: Vec<(f64, String)> = ev
        .samples
        .iter()
        .map(|&(t, ms)| {
            let ago = now - t;
            let label = match ago {
                a if a < 60 => format!("{a}s"),
                a if a < 3600 => format!("{}m", a / 60),
                a if a < 86400 => format!("{}h", a / 3600),
                a => format!("{}d", a / 86400),
            };
            (ms as f64, label)
        })
        .collect();
    let high = ev.samples.iter().map(|s| s.1).max().unwrap_or(0);
    let low = ev.samples.iter().map(|s| s.1).min().unwrap_or(0);
    let mut g = format!(
        "{event} - high {high} ms, low {low} ms (all time high {} ms)\n",
        ev.max
    );
    g.push_str(&"-".repeat(80));
    g.push('\n');
    g.push_str(&sparkline(&samples, 80, 4));
    drop(l);
    ctx.out.verbatim(g.as_bytes(), "txt");
}

/// Redis's sparkline renderer (filled style): `rows` rows of bars drawn with "_o#|",
/// then the vertical labels, in chunks of `cols` samples.
fn sparkline(samples: &[(f64, String)], cols: usize, rows: usize) -> String {
    const FILL: &[u8; 3] = b"_o#";
    let mut out = String::new();
    if samples.is_empty() {
        return out;
    }
    let min = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let max = samples
        .iter()
        .map(|s| s.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * rows) as i64;
    let has_labels = samples.iter().any(|s| !s.1.is_empty());
    for (chunk_no, chunk) in samples.chunks(cols).enumerate() {
        if chunk_no > 0 {
            out.push('\n');
        }
        let mut row = 0usize;
        loop {
            let mut line = vec![b' '; chunk.len()];
            let mut any = false;
            for (j, (v, label)) in chunk.iter().enumerate() {
                if row < rows {
                    any = true;
                    let step = (((v - min) * steps as f64) / relmax) as i64;
                    let step = step.clamp(0, steps - 1);
                    let idx = step - ((rows - row - 1) * FILL.len()) as i64;
                    if (0..FILL.len() as i64).contains(&idx) {
                        line[j] = FILL[idx as usize];
                    } else if idx >= FILL.len() as i64 {
                        line[j] = b'|';
                    }
                } else {
                    if has_labels && row - rows < 1 {
                        any = true;
                        break;
                    }
                    let at = row - rows - 1;
                    if let Some(&c) = label.as_bytes().get(at) {
                        any = true;
                        line[j] = c;
                    }
                }
            }
            if !any {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&line));
            out.push('\n');
        }
    }
    out
}

fn latency_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let report = latency_report(ctx.srv);
    ctx.out.verbatim(report.as_bytes(), "txt");
}

/// LATENCY DOCTOR: Redis's report texts, per-event statistics and the main advice.
fn latency_report(srv: &Server) -> String {
    let l = srv.latency.lock();
    let threshold = srv.hot.latency_threshold.load(Relaxed);
    if l.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    if l.is_empty() {
        return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n".into();
    }
    let mut r = String::from(
        "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
    );
    let mut slowlog_advice = false;
    for (i, (name, ev)) in l.iter().enumerate() {
        let n = ev.samples.len().max(1) as u64;
        let avg = ev.samples.iter().map(|s| s.1).sum::<u64>() / n;
        let mad = ev.samples.iter().map(|s| s.1.abs_diff(avg)).sum::<u64>() / n;
        let period = match (ev.samples.front(), ev.samples.back()) {
            (Some(a), Some(b)) => (b.0 - a.0) as f64,
            _ => 0.0,
        };
        r.push_str(&format!(
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            name,
            ev.samples.len(),
            avg,
            mad,
            period / n as f64,
            ev.max
        ));
        r.push('\n');
        slowlog_advice |= name == "command";
    }
    r.push_str("\nI have a few advices for you:\n\n");
    if slowlog_advice {
        r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    } else {
        r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    r
}

fn latency_histogram(ctx: &mut Ctx, argv: &[&[u8]]) {
    let srv = ctx.srv;
    let cmds: Vec<&Command> = if argv.len() == 2 {
        commands_in_order(srv)
    } else {
        let mut v = Vec::new();
        for name in &argv[2..] {
            if let Some(c) = lookup_fullname(srv, name) {
                push_with_subcommands(srv, c, &mut v);
            }
        }
        v
    };
    let with_data: Vec<(&Command, hdr::Snapshot)> = cmds
        .into_iter()
        .filter_map(|c| cmd_histogram(srv, c.id).map(|h| (c, h)))
        .collect();
    ctx.out.map(with_data.len());
    for (c, h) in with_data {
        ctx.out.bulk(c.name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(h.total as i64);
        ctx.out.bulk(b"histogram_usec");
        let buckets = h.log_buckets();
        ctx.out.map(buckets.len());
        for (us, cum) in buckets {
            ctx.out.int(us as i64);
            ctx.out.int(cum as i64);
        }
    }
}

fn latency_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        argv[0],
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// DEBUG

const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// C atoi: optional sign and leading digits, 0 if none.
fn atoi(a: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(a);
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n: i64 = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| {
            acc.wrapping_mul(10).wrapping_add((d - b'0') as i64)
        });
    if neg {
        -n
    } else {
        n
    }
}

/// C strtod on a prefix: the longest leading part that parses as a float, else 0.
fn strtod_prefix(a: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(a);
    let s = s.trim_start();
    (1..=s.len())
        .rev()
        .find_map(|n| s.get(..n).and_then(|p| p.parse::<f64>().ok()))
        .unwrap_or(0.0)
}

fn debug(ctx: &mut Ctx, argv: &[&[u8]]) {
    let allowed = match ctx.srv.hot.debug_command.read().as_str() {
        "yes" => true,
        "local" => ctx.client.is_local,
        _ => false,
    };
    if !allowed {
        return ctx.out.error(DEBUG_NOT_ALLOWED);
    }
    let sub = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
    let argc = argv.len();
    match (sub.as_str(), argc) {
        ("help", 2) => reply_help(ctx.out, argv[0], DEBUG_HELP),
        ("segfault", _) | ("panic", _) | ("assert", _) => crash(&sub, argv),
        ("oom", _) => crash("oom", argv),
        ("log", 3) => {
            log::warning(&format!("DEBUG LOG: {}", String::from_utf8_lossy(argv[2])));
            ctx.out.ok();
        }
        ("leak", 3) => {
            std::mem::forget(argv[2].to_vec());
            ctx.out.ok();
        }
        ("reload", _) => debug_reload(ctx, argv),
        ("loadaof", 2) => match crate::persist::aof::reload(ctx) {
            Ok(()) => ctx.out.ok(),
            Err(e) => {
                log::warning(&format!("DEBUG LOADAOF failed: {e}"));
                ctx.out.error(&format!("ERR {e}"))
            }
        },
        ("object", 3) => debug_object(ctx, argv[2]),
        ("sdslen", 3) => debug_sdslen(ctx, argv[2]),
        ("listpack", 3) | ("quicklist", 3) | ("quicklist", 4) => {
            debug_encoding_repr(ctx, &sub, argv[2])
        }
        ("populate", 3..=5) => debug_populate(ctx, argv),
        ("digest", 2) => {
            let d = dataset_digest(ctx);
            ctx.out.simple(&hex(&d));
        }
        ("digest-value", _) => {
            ctx.out.array(argc - 2);
            for key in &argv[2..] {
                let mut d = [0u8; 20];
                let db = ctx.ks.db(key);
                if let Some(e) = db.get(key) {
                    xor_object_digest(&mut d, &e.value, e.has_expire());
                }
                ctx.out.simple(&hex(&d));
            }
        }
        ("protocol", 3) => debug_protocol(ctx, argv[2]),
        ("sleep", 3) => {
            let secs = strtod_prefix(argv[2]);
            let us = (secs * 1e6) as i64;
            if us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(us as u64));
            }
            ctx.out.ok();
        }
        ("set-active-expire", 3) => {
            ctx.srv.hot.active_expire.store(atoi(argv[2]) != 0, Relaxed);
            ctx.out.ok();
        }
        ("quicklist-packed-threshold", 3) => match crate::config::memtoull(argv[2]) {
            Some(v) if crate::types::list::set_packed_threshold(v) => {
                let v = if v == 0 { 1 << 30 } else { v };
                ctx.srv
                    .introspect
                    .quicklist_packed_threshold
                    .store(v, Relaxed);
                ctx.out.ok();
            }
            _ => ctx
                .out
                .error("ERR argument must be a memory value bigger than 1 and smaller than 4gb"),
        },
        ("set-skip-checksum-validation", 3) => {
            ctx.srv
                .introspect
                .skip_checksum_validation
                .store(atoi(argv[2]) != 0, Relaxed);
            ctx.out.ok();
        }
        ("aof-flush-sleep", 3) => ctx.out.ok(),
        ("set-disable-deny-scripts", 3) => {
            ctx.srv.scripting.deny_disabled.store(atoi(argv[2]) != 0, Relaxed);
            ctx.out.ok();
        }
        ("replicate", 3..) => ctx.out.ok(),
        ("error", 3) => ctx.out.error(&String::from_utf8_lossy(argv[2])),
        ("structsize", 2) => ctx.out.bulk(
            b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ",
        ),
        ("htstats", 3) => {
            let Some(dbid) = arg_i64(ctx, argv[2]) else {
                return;
            };
            if dbid < 0 || dbid as usize >= ctx.srv.keyspace.ndbs {
                return ctx.out.error("ERR Out of range database");
            }
            let (mut keys, mut slots, mut expires) = (0usize, 0usize, 0usize);
            for s in ctx.ks.locks.iter() {
                let db = &s.dbs[dbid as usize];
                keys += db.len();
                slots += db.dict.slots();
                expires += db.expires_len();
            }
            let mut t = String::from("[Dictionary HT]\n");
            t.push_str(&ht_stats(keys, slots));
            t.push_str("[Expires HT]\n");
            t.push_str(&ht_stats(
                expires,
                expires.next_power_of_two().max(4) * (expires > 0) as usize,
            ));
            ctx.out.verbatim(t.as_bytes(), "txt");
        }
        ("htstats-key", 3) => match ctx.ks.peek(argv[2]) {
            None => ctx.out.error("ERR no such key"),
            Some(_) => ctx.out.error(
                "ERR The value stored at the specified key is not represented using an hash table",
            ),
        },
        ("change-repl-id", 2) => {
            log::warning("Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.srv.introspect.change_replication_id();
            ctx.out.ok();
        }
        ("stringmatch-test", 2) => {
            let mut rng = rand::thread_rng();
            for _ in 0..1000 {
                use rand::Rng;
                let p: Vec<u8> = (0..rng.gen_range(0..32)).map(|_| rng.gen()).collect();
                let s: Vec<u8> = (0..rng.gen_range(0..32)).map(|_| rng.gen()).collect();
                crate::util::glob::glob_match(&p, &s, false);
            }
            ctx.out
                .simple("Apparently Redis did not crash: test passed");
        }
        ("config-rewrite-force-all", 2) => match ctx.srv.config.read().rewrite() {
            Ok(()) => ctx.out.ok(),
            Err(e) => ctx.out.error(&format!(
                "ERR CONFIG-REWRITE-FORCE-ALL failed: {}",
                e.trim_start_matches("ERR ")
                    .trim_start_matches("Rewriting config file: ")
            )),
        },
        ("client-eviction", 2) => ctx.out.error("ERR maxmemory-clients is disabled."),
        ("pause-cron", 3) => {
            ctx.srv
                .introspect
                .cron_paused
                .store(atoi(argv[2]) != 0, Relaxed);
            ctx.out.ok();
        }
        ("replybuffer", 4) => {
            let ins = &ctx.srv.introspect;
            if eq_ic(argv[2], "peak-reset-time") {
                let ms = if eq_ic(argv[3], "never") {
                    -1
                } else if eq_ic(argv[3], "reset") {
                    crate::commands::server_cmds::REPLY_PEAK_RESET_DEFAULT_MS
                } else {
                    match arg_i64(ctx, argv[3]) {
                        Some(v) => v,
                        None => return,
                    }
                };
                ins.reply_peak_reset_ms.store(ms, Relaxed);
            } else if eq_ic(argv[2], "resizing") {
                ins.reply_resizing.store(atoi(argv[3]) != 0, Relaxed);
            } else {
                return reply_subcommand_syntax_error(ctx.out, argv);
            }
            ctx.out.ok();
        }
        ("drop-cluster-packet-filter", 3) => {
            if arg_i64(ctx, argv[2]).is_some() {
                ctx.out.ok();
            }
        }
        _ => reply_subcommand_syntax_error(ctx.out, argv),
    }
}

/// Redis dictGetStats for a table without chain statistics to offer.
fn ht_stats(len: usize, slots: usize) -> String {
    if len == 0 {
        return "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n".into();
    }
    format!(
        "Hash table 0 stats (main hash table):\n table size: {slots}\n number of elements: {len}\n"
    )
}

const DEBUG_HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

/// DEBUG SEGFAULT / PANIC / ASSERT / OOM: write Redis's bug report header to the log and
/// die the way Redis does (SIGSEGV for SEGFAULT, abort otherwise).
fn crash(kind: &str, argv: &[&[u8]]) -> ! {
    log::raw("\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
    match kind {
        "segfault" => log::warning("Crashed running the instruction at: DEBUG SEGFAULT"),
        "panic" => {
            log::warning("------------------------------------------------");
            log::warning("!!! Software Failure. Press left mouse button to continue");
            log::warning(&format!(
                "Guru Meditation: DEBUG PANIC called at Unix time {} #debug",
                now_ms() / 1000
            ));
        }
        "oom" => log::warning("Out Of Memory allocating 9223372036854775807 bytes!"),
        _ => {
            log::warning("=== ASSERTION FAILED ===");
            log::warning("==> debug.c '1 == 2' is not true");
        }
    }
    let args: Vec<String> = argv
        .iter()
        .map(|a| format!("\"{}\"", String::from_utf8_lossy(a)))
        .collect();
    log::warning(&format!("argv: {}", args.join(" ")));
    log::raw("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n       Please report the crash by opening an issue on github:\n\n           http://github.com/redis/redis/issues\n\n");
    // SAFETY: raising a signal on our own process; SIGSEGV's default action ends it.
    unsafe {
        if kind == "segfault" {
            libc::signal(libc::SIGSEGV, libc::SIG_DFL);
            libc::raise(libc::SIGSEGV);
        }
        libc::abort();
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the RDB, empty the dataset, load it back.
fn debug_reload(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut flush, mut save, mut merge) = (true, true, false);
    for opt in &argv[2..] {
        if eq_ic(opt, "merge") {
            merge = true;
        } else if eq_ic(opt, "noflush") {
            flush = false;
        } else if eq_ic(opt, "nosave") {
            save = false;
        } else {
            return ctx.out.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
        }
    }
    let srv = ctx.srv;
    if save && crate::persist::save_locked(srv, &ctx.ks.locks).is_err() {
        return ctx.out.error("ERR");
    }
    if flush {
        for s in ctx.ks.locks.iter_mut() {
            s.dbs.iter_mut().for_each(|d| d.clear());
        }
        // emptying the dataset invalidates every client-side cache (Redis's emptyData)
        crate::tracking::on_flush(srv, ctx.ks.client, &mut ctx.ks.track_pending);
        crate::scripting::functions::flush(srv);
    }
    let loaded = crate::persist::load_into(srv, &mut ctx.ks.locks)
        .and_then(|st| crate::scripting::functions::load_libraries(srv, &st.functions, merge));
    if loaded.is_err() {
        return ctx.out.error("ERR Error trying to load the RDB dump");
    }
    log::warning("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
}

fn debug_object(ctx: &mut Ctx, key: &[u8]) {
    let now = ctx.ks.now;
    let db = ctx.ks.db(key);
    let Some(e) = db.get(key) else {
        return ctx.out.error("ERR no such key");
    };
    let v = &e.value;
    let refcount = match v {
        Value::Int(i) if (0..10000).contains(i) => i32::MAX,
        _ => 1,
    };
    let line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        e as *const _,
        refcount,
        v.encoding(),
        serialized_len(ctx.srv, v),
        e.lru.get(),
        crate::keyspace::lru::idle_ms(e.lru.get(), now) / 1000
    );
    ctx.out.simple(&line);
}

/// Length of the value's RDB serialization (Redis rdbSavedObjectLen), as the RDB writer
/// encodes it (with LZF when rdbcompression is on).
fn serialized_len(srv: &Server, v: &Value) -> usize {
    let compress = srv.config.read().get_bool("rdbcompression");
    let mut out = Vec::new();
    if let Some(r) = crate::persist::value_to_rdb(v) {
        crate::persist::rdb::encode_value_body(&r, compress, &mut out);
    }
    out.len()
}

fn debug_sdslen(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.ks.db(key);
    let Some(e) = db.get(key) else {
        return ctx.out.error("ERR no such key");
    };
    let (len, cap) = match &e.value {
        Value::Heap(v) => (v.len(), v.capacity()),
        Value::Inline(s) => (s.as_bytes().len(), s.as_bytes().len()),
        _ => return ctx.out.error("ERR Not an sds encoded string."),
    };
    let klen = e.key().len();
    let line = format!(
        "key_sds_len:{klen}, key_sds_avail:0, key_zmalloc: {}, val_sds_len:{len}, val_sds_avail:{}, val_zmalloc: {}",
        klen + 4,
        cap - len,
        cap + 4
    );
    ctx.out.simple(&line);
}

fn debug_encoding_repr(ctx: &mut Ctx, which: &str, key: &[u8]) {
    let Some(v) = ctx.ks.peek(key) else {
        return ctx.out.error("ERR no such key");
    };
    let enc = v.encoding();
    if which == "listpack" {
        if enc != "listpack" {
            return ctx.out.error("ERR Not a listpack encoded object.");
        }
        ctx.out.simple("Listpack structure printed on stdout");
    } else {
        if enc != "quicklist" {
            return ctx.out.error("ERR Not a quicklist encoded object.");
        }
        ctx.out.simple("Quicklist structure printed on stdout");
    }
}

fn debug_populate(ctx: &mut Ctx, argv: &[&[u8]]) {
    let positive = |a: &[u8]| crate::util::numfmt::parse_i64(a).filter(|&n| n >= 0);
    let Some(count) = positive(argv[2]) else {
        return ctx.out.error("ERR value is out of range, must be positive");
    };
    let size = match argv.get(4) {
        None => 0,
        Some(a) => match positive(a) {
            Some(n) => n as usize,
            None => return ctx.out.error("ERR value is out of range, must be positive"),
        },
    };
    let prefix = argv.get(3).copied().unwrap_or(b"key");
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        if ctx.ks.exists(&key) {
            continue;
        }
        let mut val = format!("value:{j}").into_bytes();
        if size > 0 {
            val.resize(size, 0);
        }
        let v = if size > 0 {
            Value::raw_bytes(&val)
        } else {
            Value::from_vec(val)
        };
        ctx.ks.expire_if_needed(&key);
        ctx.ks.add_key(&key, v);
    }
    ctx.out.ok();
}

fn debug_protocol(ctx: &mut Ctx, name: &[u8]) {
    let resp3 = ctx.out.resp >= 3;
    let o = &mut *ctx.out;
    match String::from_utf8_lossy(name).to_ascii_lowercase().as_str() {
        "string" => o.bulk(b"Hello World"),
        "integer" => o.int(12345),
        "double" => {
            if resp3 {
                o.raw(b",3.141\r\n")
            } else {
                o.bulk(b"3.141")
            }
        }
        "bignum" => {
            if resp3 {
                o.raw(b"(1234567999999999999999999999999999999\r\n")
            } else {
                o.bulk(b"1234567999999999999999999999999999999")
            }
        }
        "null" => o.null(),
        "array" => {
            o.array(3);
            (0..3).for_each(|j| o.int(j));
        }
        "set" => {
            o.set(3);
            (0..3).for_each(|j| o.int(j));
        }
        "map" => {
            o.map(3);
            for j in 0..3 {
                o.int(j);
                o.bool(j == 1);
            }
        }
        "attrib" => {
            if resp3 {
                o.raw(b"|1\r\n");
                o.bulk(b"key-popularity");
                o.array(2);
                o.bulk(b"key:123");
                o.int(90);
            }
            o.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !resp3 {
                return o.error("ERR RESP2 is not supported by this command");
            }
            o.push(2);
            o.bulk(b"server-cpu-usage");
            o.int(42);
            o.bulk(b"Some real reply following the push reply");
        }
        "true" => o.bool(true),
        "false" => o.bool(false),
        "verbatim" => o.verbatim(b"This is a verbatim\nstring", "txt"),
        _ => o.error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

// ---------------------------------------------------------------------------------------
// DEBUG DIGEST: Redis's dataset hash. Each key/value pair gets a digest (SHA1 mixing that
// keeps order where the type is ordered, XOR where it is not); the pairs' digests are
// XORed together per database, and each non-empty database id is mixed in first.

fn sha1(data: &[u8]) -> [u8; 20] {
    sha1_smol::Sha1::from(data).digest().bytes()
}

/// digest ^= SHA1(data): order-independent accumulation.
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

/// digest = SHA1(digest ^ SHA1(data)): order-dependent accumulation.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

fn type_code(t: ValueType) -> u32 {
    match t {
        ValueType::String => 0,
        ValueType::List => 1,
        ValueType::Set => 2,
        ValueType::ZSet => 3,
        ValueType::Hash => 4,
        ValueType::Stream => 6,
    }
}

/// Redis xorObjectDigest: mix the value (and the fact that the key has a TTL) into `digest`.
/// Ordered types mix their elements in order; sets, hashes and sorted sets XOR one digest
/// per element, so their internal order does not matter.
pub fn xor_object_digest(digest: &mut [u8; 20], v: &Value, has_expire: bool) {
    use crate::persist::rdb::RdbValue;
    mix_digest(digest, &type_code(v.vtype()).to_be_bytes());
    if let Value::Stream(st) = v {
        // entries only ("ms.seq", then fields and values), as Redis
        st.range(Default::default(), crate::types::stream::StreamId::MAX, false, |e| {
            mix_digest(digest, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
            for (f, val) in e.fields() {
                mix_digest(digest, f);
                mix_digest(digest, val);
            }
            true
        });
        if has_expire {
            xor_digest(digest, b"!!expire!!");
        }
        return;
    }
    match crate::persist::value_to_rdb(v) {
        Some(RdbValue::Str(s)) => mix_digest(digest, &s),
        Some(RdbValue::List(items)) => items.iter().for_each(|i| mix_digest(digest, i)),
        Some(RdbValue::Set(items)) => items.iter().for_each(|i| xor_digest(digest, i)),
        Some(RdbValue::ZSet(items)) => {
            for (member, score) in &items {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, member);
                mix_digest(&mut ele, crate::util::numfmt::fmt_double_17g(*score).as_bytes());
                xor_digest(digest, &ele);
            }
        }
        Some(RdbValue::Hash(pairs)) => {
            for (field, value) in &pairs {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, field);
                mix_digest(&mut ele, value);
                xor_digest(digest, &ele);
            }
        }
        Some(RdbValue::Stream(_)) | None => {}
    }
    if has_expire {
        xor_digest(digest, b"!!expire!!");
    }
}

/// The digest of one key/value pair (what the dataset digest XORs together).
fn pair_digest(key: &[u8], v: &Value, has_expire: bool) -> [u8; 20] {
    let mut d = [0u8; 20];
    mix_digest(&mut d, key);
    xor_object_digest(&mut d, v, has_expire);
    d
}

/// The DEBUG DIGEST of the whole dataset (all zeros when it is empty).
fn dataset_digest(ctx: &Ctx) -> [u8; 20] {
    let mut fin = [0u8; 20];
    for dbi in 0..ctx.srv.keyspace.ndbs {
        if ctx.ks.locks.iter().all(|s| s.dbs[dbi].is_empty()) {
            continue;
        }
        mix_digest(&mut fin, &(dbi as u32).to_be_bytes());
        for s in ctx.ks.locks.iter() {
            s.dbs[dbi].dict.for_each(|e| {
                xor_digest(&mut fin, &pair_digest(e.key(), &e.value, e.has_expire()));
            });
        }
    }
    fin
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_redis() {
        // From Redis 7.0.15: SET k v, DEBUG DIGEST-VALUE k, DEBUG DIGEST; then with a TTL;
        // then SET k 12345.
        let value = |v: &[u8], ttl| {
            let mut d = [0u8; 20];
            xor_object_digest(&mut d, &Value::from_bytes(v), ttl);
            hex(&d)
        };
        let dataset = |ttl| {
            let mut fin = [0u8; 20];
            mix_digest(&mut fin, &0u32.to_be_bytes());
            xor_digest(&mut fin, &pair_digest(b"k", &Value::from_bytes(b"v"), ttl));
            hex(&fin)
        };
        assert_eq!(
            value(b"v", false),
            "d79ee9fe5d5ad902d7f6620efc3b07b75ddd742f"
        );
        assert_eq!(dataset(false), "264ccf65edec66bccfa7cc659414ccca432057d2");
        assert_eq!(
            value(b"v", true),
            "311b17018163335616e089f6b951c82c477335ac"
        );
        assert_eq!(dataset(true), "bf83f210388eea94f06fb90d517490e16a08d7dd");
        assert_eq!(
            value(b"12345", false),
            "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83"
        );
    }

    #[test]
    fn slowlog_trims_like_redis() {
        let many: Vec<Vec<u8>> = (0..34).map(|i| i.to_string().into_bytes()).collect();
        let argv: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
        let out = slowlog_args(&argv, &[]);
        assert_eq!(out.len(), 32);
        assert_eq!(out[31], b"... (3 more arguments)");
        let long = vec![b'A'; 129];
        let out = slowlog_args(&[b"sadd", b"set", &long], &[]);
        assert_eq!(out[2].len(), 128 + "... (1 more bytes)".len());
        assert_eq!(
            slowlog_args(&[b"auth", b"u", b"p"], &[1, 2])[1..],
            [b"(redacted)".to_vec(), b"(redacted)".to_vec()]
        );
    }

    #[test]
    fn sparkline_draws_rows_and_labels() {
        let g = sparkline(&[(1.0, "2s".into()), (5.0, "1s".into())], 80, 4);
        // Worked out by hand from Redis's sparklineRenderRange (4 rows, 12 steps).
        assert_eq!(g, " #\n |\n |\n_|\n  \n21\nss\n");
    }

    #[test]
    fn c_number_prefixes() {
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(strtod_prefix(b"0.2"), 0.2);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
    }
}
