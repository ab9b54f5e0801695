//! The ACL command (SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, GENPASS, DRYRUN,
//! LOG, HELP, LOAD/SAVE refusals) and the glue the dispatcher, EXEC and scripts use to
//! check a client's permissions and record refusals in the ACL LOG. The users and rules
//! themselves are `crate::acl`.

use super::{eq_ic, Command, Ctx, Registration};
use crate::acl::{Acl, Denied, LogContext, User};
use crate::net::client::ClientInfo;
use crate::server::Server;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub const COMMANDS: &[Registration] = &[
    ("acl|setuser", setuser, 0),
    ("acl|getuser", getuser, 0),
    ("acl|deluser", deluser, 0),
    ("acl|users", users, 0),
    ("acl|list", list, 0),
    ("acl|whoami", whoami, 0),
    ("acl|cat", cat, 0),
    ("acl|genpass", genpass, 0),
    ("acl|dryrun", dryrun, 0),
    ("acl|log", log, 0),
    ("acl|help", help, 0),
    ("acl|load", load_save, 0),
    ("acl|save", load_save, 0),
];

/// Check a client's permission to run `cmd` with `argv`; on refusal log it and return
/// the denial. Clients without a user (AOF loading, internal) may run anything.
pub fn check_client(srv: &Server, info: &ClientInfo, cmd: &Command, argv: &[&[u8]], context: LogContext) -> Result<(), Denied> {
    let Some(user) = info.user.as_ref() else { return Ok(()) };
    match srv.acl.check(&srv.table, user, cmd, argv) {
        Ok(()) => Ok(()),
        Err(d) => {
            log_denied(srv, info, user, d, context, cmd, argv);
            Err(d)
        }
    }
}

fn log_denied(srv: &Server, info: &ClientInfo, user: &User, d: Denied, context: LogContext, cmd: &Command, argv: &[&[u8]]) {
    let (reason, object) = match d {
        Denied::Cmd => ("command", cmd.name.as_bytes().to_vec()),
        Denied::Key(i) => ("key", argv[i].to_vec()),
        Denied::Channel(i) => ("channel", argv[i].to_vec()),
        Denied::Auth => ("auth", argv[0].to_vec()),
    };
    let cinfo = super::client::info_string(srv, &info.handle, None);
    srv.acl.log_entry(reason, context, object, user.name.clone(), cinfo);
}

/// A failed AUTH / HELLO AUTH (ACL_DENIED_AUTH): the object is the command as typed.
pub fn log_auth_failure(srv: &Server, info: &ClientInfo, username: &[u8], argv0: &[u8]) {
    let context = if info.multi.is_some() { LogContext::Multi } else { LogContext::Toplevel };
    let cinfo = super::client::info_string(srv, &info.handle, None);
    srv.acl.log_entry("auth", context, argv0.to_vec(), username.to_vec(), cinfo);
}

fn setuser(ctx: &mut Ctx, argv: &[&[u8]]) {
    for j in 2..argv.len() {
        ctx.client.redact_arg(j);
    }
    let name = argv[2];
    if name.iter().any(|&c| c == 0 || c == b' ' || (b'\t'..=b'\r').contains(&c)) {
        return ctx.out.error("ERR Usernames can't contain spaces or null characters");
    }
    let before = ctx.srv.acl.get(name).map(|u| u.def.read().clone());
    match ctx.srv.acl.set_user(&ctx.srv.table, name, &argv[3..]) {
        Ok(u) => {
            if let Some(before) = before {
                kill_pubsub_clients_if_needed(ctx, &u, &before);
            }
            if Arc::ptr_eq(&u, &ctx.srv.acl.default) {
                ctx.srv.hot.has_password.store(ctx.srv.acl.default_needs_auth(), Relaxed);
            }
            sync_config_users(ctx.srv);
            ctx.out.ok()
        }
        Err(e) => ctx.out.error(&format!("ERR {e}")),
    }
}

/// ACLKillPubsubClientsIfNeeded: when a user's channel permissions are no longer a
/// superset of what they were, its subscribers to channels now refused are disconnected.
fn kill_pubsub_clients_if_needed(ctx: &mut Ctx, u: &Arc<User>, before: &crate::acl::UserDef) {
    let (upcoming, all) = {
        let d = u.def.read();
        let all = d.selectors.iter().any(|s| s.allchannels);
        (d.selectors.iter().flat_map(|s| s.channels.iter().cloned()).collect::<Vec<_>>(), all)
    };
    if all {
        return;
    }
    let superset = before
        .selectors
        .iter()
        .all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(c)));
    if superset {
        return;
    }
    let name = u.name.clone();
    let subs = ctx.srv.pubsub.subscriptions_of(|h| h.user.lock().as_bytes() == name.as_slice());
    let mut doomed: Vec<Arc<crate::net::client::ClientHandle>> = Vec::new();
    for (h, pattern, ch) in subs {
        let ok = upcoming.iter().any(|p| if pattern { *p == ch } else { crate::util::glob::glob_match(p, &ch, false) });
        if !ok && !doomed.iter().any(|d| d.id == h.id) {
            doomed.push(h);
        }
    }
    for h in doomed {
        if h.id == ctx.client.id {
            ctx.client.close_after_reply = true;
        } else {
            super::client::kill(ctx.srv, &h);
        }
    }
}

fn getuser(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(u) = ctx.srv.acl.get(argv[2]) else { return ctx.out.null() };
    let table = &ctx.srv.table;
    let acl = &ctx.srv.acl;
    let d = u.def.read().clone();
    let o = &mut *ctx.out;
    o.map(6);
    o.bulk(b"flags");
    let fl = Acl::flag_names(&d);
    o.set(fl.len());
    for f in fl {
        o.bulk(f.as_bytes());
    }
    o.bulk(b"passwords");
    o.array(d.passwords.len());
    for p in &d.passwords {
        o.bulk(p.as_bytes());
    }
    let describe = |o: &mut crate::protocol::ReplyBuf, s: &crate::acl::Selector| {
        o.bulk(b"commands");
        o.bulk(acl.describe_commands(table, s).as_bytes());
        o.bulk(b"keys");
        o.bulk(Acl::describe_keys(s, false).as_bytes());
        o.bulk(b"channels");
        o.bulk(Acl::describe_channels(s).as_bytes());
    };
    describe(o, &d.selectors[0]);
    o.bulk(b"selectors");
    o.array(d.selectors.len() - 1);
    for s in &d.selectors[1..] {
        o.map(3);
        describe(o, s);
    }
}

fn deluser(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv[2..].iter().any(|n| *n == b"default") {
        return ctx.out.error("ERR The 'default' user cannot be removed");
    }
    let mut deleted = 0;
    for name in &argv[2..] {
        let removed = ctx.srv.acl.users.write().remove(*name);
        if let Some(u) = removed {
            deleted += 1;
            kill_clients_of(ctx, &u);
        }
    }
    sync_config_users(ctx.srv);
    ctx.out.int(deleted);
}

/// CONFIG REWRITE writes the users as ACL LIST shows them (no aclfile support yet).
fn sync_config_users(srv: &Server) {
    let users: Vec<Arc<User>> = srv.acl.users.read().values().cloned().collect();
    let lines = users
        .iter()
        .map(|u| format!("{} {}", u.name_str(), srv.acl.describe_user(&srv.table, u)))
        .collect();
    srv.config.write().set_users(lines);
}

/// ACLFreeUserAndKillClients: every client authenticated as `u` is disconnected (the
/// calling one after its reply).
fn kill_clients_of(ctx: &mut Ctx, u: &Arc<User>) {
    let me = ctx.client.id;
    if ctx.client.user.as_ref().is_some_and(|cu| Arc::ptr_eq(cu, u)) {
        ctx.client.user = Some(ctx.srv.acl.default.clone());
        ctx.client.authenticated = false;
        *ctx.client.handle.user.lock() = "default".into();
        ctx.client.close_after_reply = true;
    }
    let victims: Vec<_> = ctx
        .srv
        .clients
        .lock()
        .values()
        .filter(|h| h.id != me && h.user.lock().as_bytes() == u.name.as_slice())
        .cloned()
        .collect();
    for h in victims {
        super::client::kill(ctx.srv, &h);
    }
}

fn users(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let names: Vec<Vec<u8>> = ctx.srv.acl.users.read().keys().cloned().collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(&n);
    }
}

fn list(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let users: Vec<Arc<User>> = ctx.srv.acl.users.read().values().cloned().collect();
    ctx.out.array(users.len());
    for u in users {
        let mut line = b"user ".to_vec();
        line.extend_from_slice(&u.name);
        line.push(b' ');
        line.extend_from_slice(ctx.srv.acl.describe_user(&ctx.srv.table, &u).as_bytes());
        ctx.out.bulk(&line);
    }
}

fn whoami(ctx: &mut Ctx, _argv: &[&[u8]]) {
    match &ctx.client.user {
        Some(u) => ctx.out.bulk(&u.name.clone()),
        None => ctx.out.null(),
    }
}

fn cat(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return super::reply_subcommand_syntax_error(ctx.out, argv);
    }
    let cats = crate::commands::meta::ACL_CATEGORIES;
    if argv.len() == 2 {
        ctx.out.array(cats.len());
        for c in cats {
            ctx.out.bulk(c.as_bytes());
        }
        return;
    }
    let Some(ci) = cats.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(argv[2])) else {
        let mut e = b"ERR Unknown category '".to_vec();
        e.extend_from_slice(&argv[2][..argv[2].len().min(128)]);
        e.push(b'\'');
        return ctx.out.error_bytes(&e);
    };
    let names: Vec<&str> = ctx
        .srv
        .table
        .cmds
        .iter()
        .filter(|c| c.meta.is_some_and(|m| m.in_acl_category(cats[ci])))
        .map(|c| c.name.as_str())
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

fn genpass(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return super::reply_subcommand_syntax_error(ctx.out, argv);
    }
    let mut bits = 256;
    if argv.len() == 3 {
        let Some(b) = super::arg_i64(ctx, argv[2]) else { return };
        bits = b;
    }
    if bits <= 0 || bits > 4096 {
        return ctx.out.error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
    }
    let chars = ((bits + 3) / 4) as usize;
    use rand::Rng;
    let mut r = rand::thread_rng();
    let pass: String = (0..chars).map(|_| char::from(b"0123456789abcdef"[r.gen_range(0..16)])).collect();
    ctx.out.bulk(pass.as_bytes());
}

fn dryrun(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(u) = ctx.srv.acl.get(argv[2]) else {
        let mut e = b"ERR User '".to_vec();
        e.extend_from_slice(argv[2]);
        e.extend_from_slice(b"' not found");
        return ctx.out.error_bytes(&e);
    };
    let args = &argv[3..];
    let Some(cmd) = crate::scripting::call::lookup(ctx.srv, args) else {
        let mut e = b"ERR Command '".to_vec();
        e.extend_from_slice(args[0]);
        e.extend_from_slice(b"' not found");
        return ctx.out.error_bytes(&e);
    };
    let argc = args.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return ctx.out.error(&format!("ERR wrong number of arguments for '{}' command", cmd.name));
    }
    match ctx.srv.acl.check(&ctx.srv.table, &u, cmd, args) {
        Ok(()) => ctx.out.ok(),
        Err(d) => {
            let msg = match d {
                Denied::Cmd => format!("This user has no permissions to run the '{}' command", cmd.name).into_bytes(),
                Denied::Key(i) | Denied::Channel(i) => {
                    let what = if matches!(d, Denied::Key(_)) { "key" } else { "channel" };
                    let mut m = b"This user has no permissions to access the '".to_vec();
                    m.extend_from_slice(args[i]);
                    m.extend_from_slice(format!("' {what}").as_bytes());
                    m
                }
                Denied::Auth => b"no permission".to_vec(),
            };
            ctx.out.bulk(&msg);
        }
    }
}

fn log(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return super::reply_subcommand_syntax_error(ctx.out, argv);
    }
    let mut count = 10i64;
    if argv.len() == 3 {
        if eq_ic(argv[2], "reset") {
            ctx.srv.acl.log.lock().clear();
            return ctx.out.ok();
        }
        let Some(c) = super::arg_i64(ctx, argv[2]) else { return };
        count = c.max(0);
    }
    let now = crate::server::now_ms();
    let log = ctx.srv.acl.log.lock();
    let n = (count as usize).min(log.len());
    let o = &mut *ctx.out;
    o.array(n);
    for e in log.iter().take(n) {
        o.map(7);
        o.bulk(b"count");
        o.int(e.count as i64);
        o.bulk(b"reason");
        o.bulk(e.reason.as_bytes());
        o.bulk(b"context");
        o.bulk(match e.context {
            LogContext::Toplevel => b"toplevel",
            LogContext::Multi => b"multi",
            LogContext::Lua => b"lua",
        });
        o.bulk(b"object");
        o.bulk(&e.object);
        o.bulk(b"username");
        o.bulk(&e.username);
        o.bulk(b"age-seconds");
        o.double((now - e.ctime) as f64 / 1000.0);
        o.bulk(b"client-info");
        o.bulk(e.cinfo.as_bytes());
    }
}

fn help(ctx: &mut Ctx, argv: &[&[u8]]) {
    super::reply_help(
        ctx.out,
        argv[0],
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
}

/// ACL LOAD / SAVE: ferrodis does not support an ACL file yet (`aclfile` stays empty).
fn load_save(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.error("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.");
}

/// Create the users of the config file's `user` directives (at startup). Errors are
/// returned as Redis's startup message.
pub fn load_config_users(srv: &Server, users: &[String]) -> Result<(), String> {
    for line in users {
        let args = crate::config::text::split_args(line.as_bytes()).unwrap_or_default();
        let Some((name, rules)) = args.split_first() else { continue };
        // the default user is reset first (ACLLoadConfiguredUsers)
        let mut all: Vec<&[u8]> = Vec::new();
        if name.as_slice() == b"default" {
            all.push(b"reset");
        }
        all.extend(rules.iter().map(|r| r.as_slice()));
        srv.acl.set_user(&srv.table, name, &all)?;
    }
    srv.hot.has_password.store(srv.acl.default_needs_auth(), Relaxed);
    if !users.is_empty() {
        sync_config_users(srv);
    }
    Ok(())
}
