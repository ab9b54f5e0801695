//! Connection commands: PING, ECHO, SELECT, QUIT, RESET, HELLO, AUTH, and the
//! authentication of the users ferrodis knows (`authenticate`).

use super::{eq_ic, flags, Ctx, Registration};
use crate::net::client::{cflags, ReplyMode};
use crate::server::Server;
use std::sync::atomic::Ordering::Relaxed;

pub const COMMANDS: &[Registration] = &[
    ("ping", ping, flags::NO_KEYSPACE),
    ("echo", echo, flags::NO_KEYSPACE),
    ("select", select, 0),
    ("quit", quit, 0),
    ("reset", reset, 0),
    ("hello", hello, 0),
    ("auth", auth, 0),
];

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn ping(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 2 {
        ctx.out.error("ERR wrong number of arguments for 'ping' command");
        return;
    }
    // RESP2 subscribed mode: PING answers in the shape of a message.
    if ctx.client.resp == 2 && ctx.client.flag(cflags::PUBSUB) {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).copied().unwrap_or(b""));
        return;
    }
    match argv.get(1) {
        Some(m) => ctx.out.bulk(m),
        None => ctx.out.raw(b"+PONG\r\n"),
    }
}

fn echo(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.bulk(argv[1]);
}

fn select(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(i) = crate::util::numfmt::parse_i64(argv[1]) else {
        ctx.out.error(super::NOT_INT);
        return;
    };
    if i32::try_from(i).is_err() {
        ctx.out.error("ERR value is out of range, value must between -2147483648 and 2147483647");
        return;
    }
    if i < 0 || i as usize >= ctx.srv.keyspace.ndbs {
        ctx.out.error("ERR DB index is out of range");
        return;
    }
    ctx.client.db = i as usize;
    ctx.ks.db = i as usize;
    ctx.out.ok();
}

fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

/// RESET: back to the state of a fresh connection (Redis's clearClientConnectionState).
fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let c = &mut *ctx.client;
    if c.flag(cflags::REPLICA | cflags::MASTER) {
        ctx.out.error("ERR can only reset normal client connections");
        return;
    }
    let h = c.handle.clone();
    if h.has_flag(cflags::TRACKING) {
        crate::tracking::disable(ctx.srv, c);
    }
    if h.has_flag(cflags::MONITOR) {
        let mut m = ctx.srv.monitors.lock();
        m.retain(|x| x.id != h.id);
        ctx.srv.monitor_count.store(m.len(), Relaxed);
        h.set_flag(cflags::MONITOR, false);
    }
    c.db = 0;
    ctx.ks.db = 0;
    c.resp = 2;
    ctx.out.resp = 2;
    set_default_user(ctx.srv, c);
    c.multi = None;
    h.multi_len.store(-1, Relaxed);
    super::multi::unwatch_all(ctx);
    let c = &mut *ctx.client;
    if !c.subs.is_empty() {
        ctx.srv.pubsub.remove_client(&mut c.subs, &h);
        c.sync_sub_counts();
    }
    *h.name.lock() = None;
    c.reply_mode = ReplyMode::On;
    h.set_flag(cflags::READONLY, false);
    ctx.out.simple("RESET");
}

/// A client back to the default user: authenticated only if that user needs no password.
fn set_default_user(srv: &Server, c: &mut crate::net::client::ClientInfo) {
    *c.handle.user.lock() = "default".into();
    if c.user.is_some() {
        c.user = Some(srv.acl.default.clone());
    }
    c.authenticated = !srv.acl.default_needs_auth();
}

/// Does this user exist? (CLIENT KILL USER.)
pub fn user_exists(srv: &Server, name: &[u8]) -> bool {
    srv.acl.get(name).is_some()
}

/// Redis's ACLAuthenticateUser: on success the client is authenticated as that user;
/// a failure is recorded in the ACL LOG.
pub fn authenticate(ctx: &mut Ctx, user: &[u8], pass: &[u8], argv0: &[u8]) -> bool {
    match ctx.srv.acl.check_credentials(user, pass) {
        Some(u) => {
            ctx.client.authenticated = true;
            *ctx.client.handle.user.lock() = u.name_str();
            ctx.client.user = Some(u);
            true
        }
        None => {
            super::acl::log_auth_failure(ctx.srv, ctx.client, user, argv0);
            false
        }
    }
}

fn auth(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        ctx.out.error(super::SYNTAX_ERR);
        return;
    }
    ctx.client.redact_arg(1);
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 2 {
        if ctx.srv.acl.default.def.read().nopass {
            ctx.out.error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            );
            return;
        }
        (b"default", argv[1])
    } else {
        ctx.client.redact_arg(2);
        (argv[1], argv[2])
    };
    if authenticate(ctx, user, pass, argv[0]) {
        ctx.out.ok();
    } else {
        ctx.out.error(WRONGPASS);
    }
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]: switch protocol, reply the server map.
fn hello(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut ver = 0;
    if argv.len() >= 2 {
        let Some(v) = crate::util::numfmt::parse_i64(argv[1]) else {
            ctx.out.error("ERR Protocol version is not an integer or out of range");
            return;
        };
        if !(2..=3).contains(&v) {
            ctx.out.error("NOPROTO unsupported protocol version");
            return;
        }
        ver = v as u8;
    }
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if eq_ic(opt, "auth") && more >= 2 {
            ctx.client.redact_arg(j + 1);
            ctx.client.redact_arg(j + 2);
            if !authenticate(ctx, argv[j + 1], argv[j + 2], argv[0]) {
                ctx.out.error(WRONGPASS);
                return;
            }
            j += 3;
        } else if eq_ic(opt, "setname") && more >= 1 {
            if !super::client::set_name(ctx, argv[j + 1]) {
                return;
            }
            j += 2;
        } else {
            let mut e = b"ERR Syntax error in HELLO option '".to_vec();
            e.extend_from_slice(opt);
            e.push(b'\'');
            ctx.out.error_bytes(&e);
            return;
        }
    }
    if !ctx.client.authenticated {
        ctx.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if ver != 0 {
        ctx.client.resp = ver;
        ctx.out.resp = ver;
    }
    let o = &mut *ctx.out;
    o.map(7);
    o.bulk(b"server");
    o.bulk(b"redis");
    o.bulk(b"version");
    o.bulk(crate::server::REDIS_VERSION.as_bytes());
    o.bulk(b"proto");
    o.int(ctx.client.resp as i64);
    o.bulk(b"id");
    o.int(ctx.client.id as i64);
    let (cluster, replica) = {
        let cfg = ctx.srv.config.read();
        (cfg.get_bool("cluster-enabled"), cfg.replicaof().is_some())
    };
    o.bulk(b"mode");
    o.bulk(if cluster { &b"cluster"[..] } else { b"standalone" });
    o.bulk(b"role");
    o.bulk(if replica { &b"replica"[..] } else { b"master" });
    o.bulk(b"modules");
    o.array(0);
}

/// An HTTP request line or header arrived ("POST", "Host:"): log it (at most once a
/// minute); the dispatcher drops the connection.
pub fn security_warning(_srv: &Server) {
    static LOGGED: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let now = crate::server::now_ms() / 1000;
    let last = LOGGED.load(Relaxed);
    if (now - last).abs() > 60 && LOGGED.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
        crate::log::warning("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.");
    }
}
