//! CLIENT subcommands (ID, SETNAME/GETNAME, LIST/INFO, KILL, PAUSE/UNPAUSE, REPLY,
//! NO-EVICT, TRACKING/CACHING/GETREDIR/TRACKINGINFO, HELP), MONITOR and the MONITOR feed.
//! The client-tracking machinery itself is `crate::tracking`. HELLO/AUTH/RESET live in connection.rs.
//!
//! Other clients are reached through the registry of `ClientHandle`s (`Server::clients`):
//! CLIENT LIST reads their atomics, CLIENT KILL unregisters them and tells their worker
//! to close them, the MONITOR feed appends to their outbox.

use super::{eq_ic, Ctx, Registration, SYNTAX_ERR};
use crate::net::client::{cflags, ClientHandle, ClientInfo, ReplyMode};
use crate::net::worker::WakeMsg;
use crate::protocol::ReplyBuf;
use crate::server::{now_ms, now_us, Server};
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub const COMMANDS: &[Registration] = &[
    ("client|id", client_id, 0),
    ("client|setname", client_setname, 0),
    ("client|getname", client_getname, 0),
    ("client|list", client_list, 0),
    ("client|info", client_info, 0),
    ("client|kill", client_kill, 0),
    ("client|pause", client_pause, 0),
    ("client|unpause", client_unpause, 0),
    ("client|reply", client_reply, 0),
    ("client|no-evict", client_no_evict, 0),
    ("client|help", client_help, 0),
    ("client|tracking", client_tracking, 0),
    ("client|caching", client_caching, 0),
    ("client|getredir", client_getredir, 0),
    ("client|trackinginfo", client_trackinginfo, 0),
    ("monitor", monitor, 0),
];

fn client_id(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.client.id as i64);
}

/// Set (or, with an empty name, clear) the client name; replies the error and returns
/// false if the name has characters CLIENT LIST could not show (spaces, controls).
pub fn set_name(ctx: &mut Ctx, name: &[u8]) -> bool {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        ctx.out.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    *ctx.client.handle.name.lock() = (!name.is_empty()).then(|| name.to_vec());
    true
}

fn client_setname(ctx: &mut Ctx, argv: &[&[u8]]) {
    if set_name(ctx, argv[2]) {
        ctx.out.ok();
    }
}

fn client_getname(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let name = ctx.client.handle.name.lock().clone();
    match name {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
}

/// What only the client running the command knows about itself.
pub struct SelfView {
    pub argv_mem: usize,
    pub pending_out: usize,
}

/// One CLIENT LIST line (without the newline), fields in Redis 7.0's order.
pub fn info_string(srv: &Server, h: &ClientHandle, me: Option<&SelfView>) -> String {
    let f = h.flags.load(Relaxed);
    let mut flags = String::new();
    for (bit, ch) in [
        (cflags::MONITOR, 'O'),
        (cflags::REPLICA, 'S'),
        (cflags::MASTER, 'M'),
        (cflags::PUBSUB, 'P'),
        (cflags::BLOCKED, 'b'),
        (cflags::TRACKING, 't'),
        (cflags::TRACKING_BROKEN_REDIR, 'R'),
        (cflags::TRACKING_BCAST, 'B'),
        (cflags::CLOSE_AFTER_REPLY, 'c'),
        (cflags::UNIX_SOCKET, 'U'),
        (cflags::READONLY, 'r'),
        (cflags::NO_EVICT, 'e'),
    ] {
        if f & bit != 0 && !(ch == 'S' && f & cflags::MONITOR != 0) {
            flags.push(ch);
        }
    }
    if h.multi_len.load(Relaxed) >= 0 {
        let at = flags.find(|c| !matches!(c, 'O' | 'S' | 'M' | 'P')).unwrap_or(flags.len());
        flags.insert(at, 'x');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let now_s = now_ms() / 1000;
    let qbuf = h.qbuf.load(Relaxed);
    let qbuf_free = h.qbuf_free.load(Relaxed);
    let pending = me.map_or_else(|| h.obl.load(Relaxed), |m| m.pending_out);
    // Redis's reply = a 16 KiB buffer, then a list of blocks: show pending bytes that way.
    const CHUNK: usize = 16 * 1024;
    let obl = pending.min(CHUNK);
    let omem = pending - obl;
    let oll = omem.div_ceil(CHUNK);
    let (rbs, rbp) = (h.rbs.load(Relaxed), h.rbp.load(Relaxed));
    let argv_mem = me.map_or(0, |m| m.argv_mem);
    let tot_mem = qbuf + qbuf_free + rbs + omem + argv_mem + 1024;
    let cmd = match h.last_cmd.load(Relaxed) {
        0 => "NULL",
        i => srv.table.cmds[i - 1].name.as_str(),
    };
    let name = h.name.lock().as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    let subs: Vec<u32> = h.sub_counts.iter().map(|c| c.load(Relaxed)).collect();
    let mut s = String::with_capacity(320);
    let _ = write!(
        s,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
         qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events={} \
         cmd={} user={} redir={} resp={}",
        h.id,
        h.addr,
        h.laddr,
        h.fd,
        name,
        now_s - h.created_ms / 1000,
        now_s - h.last_interaction_ms.load(Relaxed) / 1000,
        flags,
        h.db.load(Relaxed),
        subs[0],
        subs[1],
        subs[2],
        h.multi_len.load(Relaxed),
        qbuf,
        qbuf_free,
        argv_mem,
        rbs,
        rbp,
        obl,
        oll,
        omem,
        tot_mem,
        // a write handler is only installed for output left over after a write
        if me.is_none() && pending > 0 { "rw" } else { "r" },
        cmd,
        h.user.lock(),
        h.redir.load(Relaxed),
        h.resp.load(Relaxed),
    );
    s
}

fn self_view(ctx: &Ctx, argv: &[&[u8]]) -> SelfView {
    SelfView { argv_mem: argv.iter().map(|a| a.len()).sum(), pending_out: ctx.out.len() }
}

/// Client type as CLIENT LIST TYPE / CLIENT KILL TYPE name it (getClientTypeByName).
#[derive(Clone, Copy, PartialEq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn type_by_name(name: &[u8]) -> Option<ClientType> {
    let n = name.to_ascii_lowercase();
    Some(match &n[..] {
        b"normal" => ClientType::Normal,
        b"slave" | b"replica" => ClientType::Replica,
        b"pubsub" => ClientType::PubSub,
        b"master" => ClientType::Master,
        _ => return None,
    })
}

fn type_of(h: &ClientHandle) -> ClientType {
    if h.has_flag(cflags::MASTER) {
        ClientType::Master
    } else if h.has_flag(cflags::REPLICA) && !h.has_flag(cflags::MONITOR) {
        ClientType::Replica
    } else if h.has_flag(cflags::PUBSUB) {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn unknown_type(ctx: &mut Ctx, name: &[u8]) {
    let mut e = b"ERR Unknown client type '".to_vec();
    e.extend_from_slice(name);
    e.push(b'\'');
    ctx.out.error_bytes(&e);
}

/// Snapshot of the registered clients, in connection (id) order.
fn clients(srv: &Server) -> Vec<Arc<ClientHandle>> {
    srv.clients.lock().values().cloned().collect()
}

fn client_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let me = self_view(ctx, argv);
    let my_id = ctx.client.id;
    let line = |h: &ClientHandle| info_string(ctx.srv, h, (h.id == my_id).then_some(&me));
    let mut text = String::new();
    if argv.len() == 4 && eq_ic(argv[2], "type") {
        let Some(t) = type_by_name(argv[3]) else { return unknown_type(ctx, argv[3]) };
        for h in clients(ctx.srv).iter().filter(|h| type_of(h) == t) {
            text.push_str(&line(h));
            text.push('\n');
        }
    } else if argv.len() > 3 && eq_ic(argv[2], "id") {
        let mut ids = Vec::new();
        for a in &argv[3..] {
            match crate::util::numfmt::parse_i64(a) {
                Some(id) => ids.push(id),
                None => return ctx.out.error("ERR Invalid client ID"),
            }
        }
        let reg = clients(ctx.srv);
        for id in ids {
            if let Some(h) = reg.iter().find(|h| h.id as i64 == id) {
                text.push_str(&line(h));
                text.push('\n');
            }
        }
    } else if argv.len() != 2 {
        return ctx.out.error(SYNTAX_ERR);
    } else {
        for h in clients(ctx.srv).iter() {
            text.push_str(&line(h));
            text.push('\n');
        }
    }
    ctx.out.verbatim(text.as_bytes(), "txt");
}

fn client_info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let me = self_view(ctx, argv);
    let mut text = info_string(ctx.srv, &ctx.client.handle, Some(&me));
    text.push('\n');
    ctx.out.verbatim(text.as_bytes(), "txt");
}

#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    ctype: Option<ClientType>,
    id: Option<u64>,
    user: Option<&'a [u8]>,
    skipme: bool,
}

impl KillFilter<'_> {
    fn matches(&self, h: &ClientHandle, my_id: u64) -> bool {
        self.addr.is_none_or(|a| a == h.addr.as_bytes())
            && self.laddr.is_none_or(|a| a == h.laddr.as_bytes())
            && self.ctype.is_none_or(|t| t == type_of(h))
            && self.id.is_none_or(|id| id == h.id)
            && self.user.is_none_or(|u| u == h.user.lock().as_bytes())
            && !(self.skipme && h.id == my_id)
    }
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [TYPE t] [USER u] [ADDR a] [LADDR a] [SKIPME yes|no]
fn client_kill(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut f = KillFilter { skipme: true, ..Default::default() };
    let old_form = argv.len() == 3;
    if old_form {
        f.addr = Some(argv[2]);
        f.skipme = false;
    } else {
        let mut i = 2;
        while i < argv.len() {
            let (opt, val) = (argv[i], argv.get(i + 1).copied());
            let Some(val) = val else { return ctx.out.error(SYNTAX_ERR) };
            if eq_ic(opt, "id") {
                match crate::util::numfmt::parse_i64(val) {
                    Some(id) if id > 0 => f.id = Some(id as u64),
                    _ => return ctx.out.error("ERR client-id should be greater than 0"),
                }
            } else if eq_ic(opt, "type") {
                match type_by_name(val) {
                    Some(t) => f.ctype = Some(t),
                    None => return unknown_type(ctx, val),
                }
            } else if eq_ic(opt, "addr") {
                f.addr = Some(val);
            } else if eq_ic(opt, "laddr") {
                f.laddr = Some(val);
            } else if eq_ic(opt, "user") {
                if !super::connection::user_exists(ctx.srv, val) {
                    let mut e = b"ERR No such user '".to_vec();
                    e.extend_from_slice(val);
                    e.push(b'\'');
                    return ctx.out.error_bytes(&e);
                }
                f.user = Some(val);
            } else if eq_ic(opt, "skipme") {
                if eq_ic(val, "yes") {
                    f.skipme = true;
                } else if eq_ic(val, "no") {
                    f.skipme = false;
                } else {
                    return ctx.out.error(SYNTAX_ERR);
                }
            } else {
                return ctx.out.error(SYNTAX_ERR);
            }
            i += 2;
        }
    }
    let my_id = ctx.client.id;
    let mut killed = 0;
    let mut kill_me = false;
    for h in clients(ctx.srv).iter().filter(|h| f.matches(h, my_id)) {
        if h.id == my_id {
            kill_me = true;
            killed += 1;
        } else if kill(ctx.srv, h) {
            killed += 1;
        }
    }
    if old_form {
        if killed == 0 {
            ctx.out.error("ERR No such client");
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed);
    }
    if kill_me {
        ctx.client.close_after_reply = true;
    }
}

/// Disconnect another client: it leaves the registry now (so CLIENT LIST and
/// connected_clients no longer count it) and its worker closes the socket.
pub fn kill(srv: &Server, h: &ClientHandle) -> bool {
    if !srv.unregister_client(h) {
        return false;
    }
    h.kill.store(true, Relaxed);
    if h.has_flag(cflags::MASTER) {
        // the replication link's thread (`crate::replica`) sees the flag and reconnects
        return true;
    }
    if let Some(ws) = srv.workers.get() {
        ws[h.worker].send(WakeMsg::Kill(h.token));
    }
    true
}

/// CLIENT PAUSE timeout [WRITE|ALL]. A pause already running is extended, never
/// shortened or relaxed.
fn client_pause(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut all = true;
    if argv.len() == 4 {
        if eq_ic(argv[3], "write") {
            all = false;
        } else if !eq_ic(argv[3], "all") {
            return ctx.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    }
    let Some(ms) = crate::util::numfmt::parse_i64(argv[2]) else {
        return ctx.out.error("ERR timeout is not an integer or out of range");
    };
    if ms < 0 {
        return ctx.out.error("ERR timeout is negative");
    }
    // Redis adds the timeout to the clock unchecked; an overflowing end means no pause.
    let end = if ms > 0 { ms.wrapping_add(now_ms()) } else { 0 };
    let srv = ctx.srv;
    if srv.paused().is_some() {
        srv.pause_until.fetch_max(end, Relaxed);
        srv.pause_all.fetch_or(all, Relaxed);
    } else {
        srv.pause_all.store(all, Relaxed);
        srv.pause_until.store(end, Relaxed);
    }
    ctx.out.ok();
}

fn client_unpause(ctx: &mut Ctx, _argv: &[&[u8]]) {
    unpause(ctx.srv);
    ctx.out.ok();
}

/// End CLIENT PAUSE: every worker re-runs its held clients, in the order they were held.
pub fn unpause(srv: &Server) {
    srv.pause_until.store(0, Relaxed);
    srv.pause_all.store(false, Relaxed);
    resume_paused(srv);
}

/// Every worker re-runs its held clients (those still paused are held again).
pub fn resume_paused(srv: &Server) {
    if let Some(ws) = srv.workers.get() {
        for w in ws {
            w.send(WakeMsg::Unpause);
        }
    }
}

/// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP have no reply themselves.
fn client_reply(ctx: &mut Ctx, argv: &[&[u8]]) {
    let c = &mut *ctx.client;
    if eq_ic(argv[2], "on") {
        c.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if eq_ic(argv[2], "off") {
        c.reply_mode = ReplyMode::Off;
    } else if eq_ic(argv[2], "skip") {
        if c.reply_mode != ReplyMode::Off {
            c.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.out.error(SYNTAX_ERR);
    }
}

fn client_no_evict(ctx: &mut Ctx, argv: &[&[u8]]) {
    let on = if eq_ic(argv[2], "on") {
        true
    } else if eq_ic(argv[2], "off") {
        false
    } else {
        return ctx.out.error(SYNTAX_ERR);
    };
    ctx.client.handle.set_flag(cflags::NO_EVICT, on);
    ctx.out.ok();
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

fn client_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(CLIENT_HELP.len());
    for l in CLIENT_HELP {
        ctx.out.simple(l);
    }
}

/// MONITOR: from now on this client receives every command the server runs.
fn monitor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let h = ctx.client.handle.clone();
    if ctx.client.in_exec {
        return ctx.out.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    // already a monitor (or a replica): ignored, without a reply
    if h.has_flag(cflags::MONITOR | cflags::REPLICA) {
        return;
    }
    h.set_flag(cflags::MONITOR, true);
    let mut m = ctx.srv.monitors.lock();
    m.push(h);
    ctx.srv.monitor_count.store(m.len(), Relaxed);
    drop(m);
    ctx.out.ok();
}

/// Where a fed command came from, as the MONITOR line shows it.
pub enum Source<'a> {
    /// A client connection (its `ClientInfo`).
    Client(&'a ClientInfo),
    /// A command a script ran (`[db lua]`).
    Lua,
}

/// Feed a command a client ran to every MONITOR client. A monitor that is this very
/// client gets the line in its reply buffer (after the command's reply, as in Redis),
/// unless it is closing (QUIT): Redis adds nothing to such a client.
pub fn feed_monitors(srv: &Server, info: &ClientInfo, out: &mut ReplyBuf, argv: &[&[u8]]) {
    let me = if info.close_after_reply { None } else { Some(out) };
    feed_monitors_from(srv, Source::Client(info), info.db, argv, (info.id, me));
}

/// Feed a command to the monitors; `me` is the executing client and, if it may still
/// receive output, its reply buffer.
pub fn feed_monitors_from(srv: &Server, src: Source, db: usize, argv: &[&[u8]], me: (u64, Option<&mut ReplyBuf>)) {
    let line = monitor_line(srv, &src, db, argv, now_us());
    let monitors = srv.monitors.lock().clone();
    let (my_id, mut my_out) = me;
    for m in &monitors {
        if m.id != my_id {
            crate::pubsub::deliver_raw(srv, m, &line);
        } else if let Some(out) = my_out.as_deref_mut() {
            out.raw(&line);
        }
    }
}

/// `+<sec>.<usec> [<db> <source>] "arg" ...` with arguments quoted like sdscatrepr.
fn monitor_line(srv: &Server, src: &Source, db: usize, argv: &[&[u8]], now_us: i64) -> Vec<u8> {
    let mut s = format!("+{}.{:06} [{} ", now_us / 1_000_000, now_us % 1_000_000, db);
    match src {
        Source::Lua => s.push_str("lua"),
        Source::Client(c) if c.flag(cflags::UNIX_SOCKET) => {
            s.push_str("unix:");
            s.push_str(&srv.config.read().get_str("unixsocket"));
        }
        Source::Client(c) => s.push_str(&c.handle.addr),
    }
    s.push(']');
    for i in 0..argv.len() {
        let a = match src {
            Source::Client(c) => c.shown_arg(argv, i),
            Source::Lua => argv[i],
        };
        s.push(' ');
        s.push_str(&crate::config::repr(a));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_line_quotes_like_sdscatrepr() {
        let srv = Server::new(crate::config::Config::default(), 1);
        let line = monitor_line(&srv, &Source::Lua, 3, &[b"SET", b"k\x00\xff", b"a\"b\\\r\n\t\x07\x08 "], 1_700_000_000_000_042);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "+1700000000.000042 [3 lua] \"SET\" \"k\\x00\\xff\" \"a\\\"b\\\\\\r\\n\\t\\a\\b \"\r\n"
        );
    }
}

// ---------------------------------------------------------------- client-side caching

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
fn client_tracking(ctx: &mut Ctx, argv: &[&[u8]]) {
    use crate::tracking::{OPT_BCAST, OPT_NOLOOP, OPT_OPTIN, OPT_OPTOUT};
    let mut redir: i64 = 0;
    let mut opts = 0u32;
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let a = argv[j];
        if eq_ic(a, "redirect") && more {
            j += 1;
            if redir != 0 {
                return ctx.out.error("ERR A client can only redirect to a single other client");
            }
            let Some(id) = super::arg_i64(ctx, argv[j]) else { return };
            redir = id;
            if !ctx.srv.clients.lock().contains_key(&(id as u64)) {
                return ctx.out.error("ERR The client ID you want redirect to does not exist");
            }
        } else if eq_ic(a, "bcast") {
            opts |= OPT_BCAST;
        } else if eq_ic(a, "optin") {
            opts |= OPT_OPTIN;
        } else if eq_ic(a, "optout") {
            opts |= OPT_OPTOUT;
        } else if eq_ic(a, "noloop") {
            opts |= OPT_NOLOOP;
        } else if eq_ic(a, "prefix") && more {
            j += 1;
            prefixes.push(argv[j]);
        } else {
            return ctx.out.error(SYNTAX_ERR);
        }
        j += 1;
    }
    let h = ctx.client.handle.clone();
    if eq_ic(argv[2], "on") {
        if opts & OPT_BCAST == 0 && !prefixes.is_empty() {
            return ctx.out.error("ERR PREFIX option requires BCAST mode to be enabled");
        }
        if h.has_flag(cflags::TRACKING) && h.has_flag(cflags::TRACKING_BCAST) != (opts & OPT_BCAST != 0) {
            return ctx.out.error(
                "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            );
        }
        if opts & OPT_BCAST != 0 && opts & (OPT_OPTIN | OPT_OPTOUT) != 0 {
            return ctx.out.error("ERR OPTIN and OPTOUT are not compatible with BCAST");
        }
        if opts & OPT_OPTIN != 0 && opts & OPT_OPTOUT != 0 {
            return ctx.out.error("ERR You can't specify both OPTIN mode and OPTOUT mode");
        }
        if (opts & OPT_OPTIN != 0 && h.has_flag(cflags::TRACKING_OPTOUT))
            || (opts & OPT_OPTOUT != 0 && h.has_flag(cflags::TRACKING_OPTIN))
        {
            return ctx.out.error(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            );
        }
        if opts & OPT_BCAST != 0 {
            if let Some(e) = crate::tracking::prefix_collision(&ctx.client.tracking_prefixes, &prefixes) {
                return ctx.out.error(&e);
            }
        }
        crate::tracking::enable(ctx.srv, ctx.client, redir as u64, opts, &prefixes);
    } else if eq_ic(argv[2], "off") {
        crate::tracking::disable(ctx.srv, ctx.client);
    } else {
        return ctx.out.error(SYNTAX_ERR);
    }
    ctx.out.ok();
}

/// CLIENT CACHING YES|NO: track (OPTIN) or not (OPTOUT) the keys of the next command.
fn client_caching(ctx: &mut Ctx, argv: &[&[u8]]) {
    let h = &ctx.client.handle;
    if !h.has_flag(cflags::TRACKING) {
        return ctx.out.error(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        );
    }
    if eq_ic(argv[2], "yes") {
        if !h.has_flag(cflags::TRACKING_OPTIN) {
            return ctx.out.error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
        }
    } else if eq_ic(argv[2], "no") {
        if !h.has_flag(cflags::TRACKING_OPTOUT) {
            return ctx.out.error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
        }
    } else {
        return ctx.out.error(SYNTAX_ERR);
    }
    h.set_flag(cflags::TRACKING_CACHING, true);
    ctx.out.ok();
}

fn client_getredir(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let h = &ctx.client.handle;
    ctx.out.int(if h.has_flag(cflags::TRACKING) { h.redir.load(Relaxed) } else { -1 });
}

fn client_trackinginfo(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let h = ctx.client.handle.clone();
    let f = h.flags.load(Relaxed);
    let on = |bit: u32| f & bit != 0;
    let mut names: Vec<&str> = vec![if on(cflags::TRACKING) { "on" } else { "off" }];
    if on(cflags::TRACKING_BCAST) {
        names.push("bcast");
    }
    if on(cflags::TRACKING_OPTIN) {
        names.push("optin");
        if on(cflags::TRACKING_CACHING) {
            names.push("caching-yes");
        }
    }
    if on(cflags::TRACKING_OPTOUT) {
        names.push("optout");
        if on(cflags::TRACKING_CACHING) {
            names.push("caching-no");
        }
    }
    if on(cflags::TRACKING_NOLOOP) {
        names.push("noloop");
    }
    if on(cflags::TRACKING_BROKEN_REDIR) {
        names.push("broken_redirect");
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(names.len());
    for n in names {
        out.bulk(n.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(if on(cflags::TRACKING) { h.redir.load(Relaxed) } else { -1 });
    out.bulk(b"prefixes");
    out.array(ctx.client.tracking_prefixes.len());
    for p in &ctx.client.tracking_prefixes {
        out.bulk(p);
    }
}
