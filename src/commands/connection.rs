//! Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH.

use super::{Ctx, Registration};

pub const COMMANDS: &[Registration] = &[
    ("ping", ping, 0),
    ("echo", echo, 0),
    ("select", select, 0),
    ("quit", quit, 0),
    ("hello", hello, 0),
    ("auth", auth, 0),
];

fn ping(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 2 {
        ctx.out.error("ERR wrong number of arguments for 'ping' command");
        return;
    }
    match argv.get(1) {
        Some(m) => ctx.out.bulk(m),
        None => ctx.out.simple("PONG"),
    }
}

fn echo(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.bulk(argv[1]);
}

fn select(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(i) = crate::util::numfmt::parse_i64(argv[1]) else {
        ctx.out.error("ERR value is not an integer or out of range");
        return;
    };
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

fn hello(ctx: &mut Ctx, argv: &[&[u8]]) {
    let _ = argv;
    ctx.out.error("ERR HELLO not implemented yet");
}

fn auth(ctx: &mut Ctx, argv: &[&[u8]]) {
    let _ = argv;
    ctx.out.error("ERR AUTH not implemented yet");
}
