//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.
//! The registry and delivery live in `crate::pubsub`.

// PUBLISH, SPUBLISH are may-replicate in Redis (COMMAND INFO does not show that flag).
use super::{flags, Ctx, Registration};
use crate::pubsub::Kind;

pub const COMMANDS: &[Registration] = &[
    ("subscribe", subscribe, 0),
    ("psubscribe", psubscribe, 0),
    ("ssubscribe", ssubscribe, 0),
    ("unsubscribe", unsubscribe, 0),
    ("punsubscribe", punsubscribe, 0),
    ("sunsubscribe", sunsubscribe, 0),
    ("publish", publish, flags::MAY_REPLICATE),
    ("spublish", spublish, flags::MAY_REPLICATE),
    ("pubsub|channels", pubsub_channels, 0),
    ("pubsub|shardchannels", pubsub_shardchannels, 0),
    ("pubsub|numsub", pubsub_numsub, 0),
    ("pubsub|shardnumsub", pubsub_shardnumsub, 0),
    ("pubsub|numpat", pubsub_numpat, 0),
    ("pubsub|help", pubsub_help, 0),
];

fn sub(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    let h = ctx.client.handle.clone();
    for name in &argv[1..] {
        ctx.srv.pubsub.subscribe(&mut ctx.client.subs, &h, kind, name, ctx.out);
    }
}

fn subscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    sub(ctx, argv, Kind::Channel)
}
fn psubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    sub(ctx, argv, Kind::Pattern)
}
fn ssubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    sub(ctx, argv, Kind::Shard)
}

fn unsub(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    let h = ctx.client.handle.clone();
    ctx.srv.pubsub.unsubscribe(&mut ctx.client.subs, &h, kind, &argv[1..], Some(ctx.out));
}

fn unsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsub(ctx, argv, Kind::Channel)
}
fn punsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsub(ctx, argv, Kind::Pattern)
}
fn sunsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsub(ctx, argv, Kind::Shard)
}

fn do_publish(ctx: &mut Ctx, argv: &[&[u8]], shard: bool) {
    let id = ctx.client.id;
    let n = ctx.srv.pubsub.publish(ctx.srv, shard, argv[1], argv[2], Some((id, &mut *ctx.out)));
    // PUBLISH is propagated to replicas / AOF like a write (Redis: forceCommandPropagation).
    ctx.ks.force_propagate = true;
    ctx.out.int(n as i64);
}

fn publish(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_publish(ctx, argv, false)
}
fn spublish(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_publish(ctx, argv, true)
}

fn channels(ctx: &mut Ctx, argv: &[&[u8]], shard: bool) {
    let list = ctx.srv.pubsub.channels(shard, argv.get(2).copied());
    ctx.out.bulk_array(list.iter());
}

fn pubsub_channels(ctx: &mut Ctx, argv: &[&[u8]]) {
    channels(ctx, argv, false)
}
fn pubsub_shardchannels(ctx: &mut Ctx, argv: &[&[u8]]) {
    channels(ctx, argv, true)
}

fn numsub(ctx: &mut Ctx, argv: &[&[u8]], shard: bool) {
    ctx.out.map(argv.len() - 2);
    for ch in &argv[2..] {
        ctx.out.bulk(ch);
        ctx.out.int(ctx.srv.pubsub.numsub(shard, ch) as i64);
    }
}

fn pubsub_numsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    numsub(ctx, argv, false)
}
fn pubsub_shardnumsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    numsub(ctx, argv, true)
}

fn pubsub_numpat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.srv.pubsub.numpat() as i64);
}

fn pubsub_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    const HELP: &[&str] = &[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(HELP.len());
    for l in HELP {
        ctx.out.simple(l);
    }
}

/// Publish a keyspace notification: `__keyspace@<db>__:<key>` -> event and/or
/// `__keyevent@<db>__:<event>` -> key, per the notify-keyspace-events flags.
pub fn keyspace_event(srv: &crate::server::Server, db: usize, flags: u32, event: &str, key: &[u8]) {
    use super::notify;
    if flags & notify::KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{db}__:").into_bytes();
        ch.extend_from_slice(key);
        srv.pubsub.publish(srv, false, &ch, event.as_bytes(), None);
    }
    if flags & notify::KEYEVENT != 0 {
        let ch = format!("__keyevent@{db}__:{event}").into_bytes();
        srv.pubsub.publish(srv, false, &ch, key, None);
    }
}
