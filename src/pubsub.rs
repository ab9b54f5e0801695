//! Pub/Sub registry and message delivery (channels, patterns, shard channels).
//!
//! Ownership: the registry (who is subscribed to what) is process-wide, behind one mutex;
//! each client also keeps its own subscription sets in `ClientInfo::subs` so it can answer
//! UNSUBSCRIBE-all and clean up on disconnect without scanning the registry.
//! Delivery: a message for a client served by any worker is appended to that client's
//! `ClientHandle::outbox` and its worker is told (`WakeMsg::Outbox`) when the outbox goes
//! from empty to non-empty; the worker moves it into the reply buffer and writes it out.
//! A subscriber that does not read is bounded twice: its outbox is capped at the pubsub
//! class hard limit (the client is killed beyond it) and its reply buffer by the normal
//! output-buffer-limit check.

use crate::net::client::{cflags, ClientHandle};
use crate::net::worker::WakeMsg;
use crate::protocol::ReplyBuf;
use crate::server::Server;
use crate::util::glob::glob_match;
use ahash::AHashMap;
use parking_lot::Mutex;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_name(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }
    fn unsub_name(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
    fn idx(self) -> usize {
        self as usize
    }
}

/// A client's own subscriptions, in subscription order.
#[derive(Default)]
pub struct Subs {
    pub sets: [Vec<Vec<u8>>; 3],
}

impl Subs {
    pub fn count(&self, k: Kind) -> usize {
        self.sets[k.idx()].len()
    }
    /// Channels + patterns (what SUBSCRIBE/PSUBSCRIBE replies count).
    pub fn total(&self) -> usize {
        self.sets[0].len() + self.sets[1].len()
    }
    pub fn is_empty(&self) -> bool {
        self.sets.iter().all(|s| s.is_empty())
    }
}

#[derive(Default)]
struct Registry {
    channels: AHashMap<Vec<u8>, Vec<Arc<ClientHandle>>>,
    /// pattern -> subscribers, plus insertion order for delivery.
    patterns: Vec<(Vec<u8>, Vec<Arc<ClientHandle>>)>,
    shard: AHashMap<Vec<u8>, Vec<Arc<ClientHandle>>>,
}

#[derive(Default)]
pub struct PubSub {
    reg: Mutex<Registry>,
}

fn write_message(out: &mut ReplyBuf, parts: &[&[u8]]) {
    let start = out.len();
    out.push(parts.len());
    for p in parts {
        out.bulk(p);
    }
    out.mark_pushed(start);
}

/// Append a message for `h` to its outbox and wake its worker.
pub fn deliver(srv: &Server, h: &ClientHandle, parts: &[&[u8]]) {
    let mut rb = ReplyBuf { buf: Vec::new(), resp: h.resp.load(Relaxed), errors: 0, counted_errors: 0, pushed: Vec::new() };
    write_message(&mut rb, parts);
    deliver_raw(srv, h, &rb.buf);
}

pub fn deliver_raw(srv: &Server, h: &ClientHandle, bytes: &[u8]) {
    let mut ob = h.outbox.lock();
    if h.kill.load(Relaxed) {
        return;
    }
    let was_empty = ob.is_empty();
    ob.extend_from_slice(bytes);
    // the limit of the client's class: pubsub, or normal for a MONITOR
    let class = if h.has_flag(cflags::PUBSUB) { 2 } else { 0 };
    let hard = srv.hot.obuf_hard[class].load(Relaxed) as usize;
    if hard > 0 && ob.len() > hard {
        ob.clear();
        h.kill.store(true, Relaxed);
        drop(ob);
        crate::log::warning(&format!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            h.id, h.addr
        ));
        srv.stats.client_outbuf_limit_disconnections.fetch_add(1, Relaxed);
        if let Some(ws) = srv.workers.get() {
            ws[h.worker].send(WakeMsg::Kill(h.token));
        }
        return;
    }
    drop(ob);
    if was_empty {
        if let Some(ws) = srv.workers.get() {
            ws[h.worker].send(WakeMsg::Outbox(h.token));
        }
    }
}

impl PubSub {
    /// Subscribe; replies the confirmation into `out`. Returns true if newly subscribed.
    pub fn subscribe(&self, subs: &mut Subs, h: &Arc<ClientHandle>, kind: Kind, name: &[u8], out: &mut ReplyBuf) {
        let set = &mut subs.sets[kind.idx()];
        if !set.iter().any(|c| c == name) {
            set.push(name.to_vec());
            let mut reg = self.reg.lock();
            match kind {
                Kind::Channel => reg.channels.entry(name.to_vec()).or_default().push(h.clone()),
                Kind::Shard => reg.shard.entry(name.to_vec()).or_default().push(h.clone()),
                Kind::Pattern => match reg.patterns.iter_mut().find(|(p, _)| p == name) {
                    Some((_, v)) => v.push(h.clone()),
                    None => reg.patterns.push((name.to_vec(), vec![h.clone()])),
                },
            }
        }
        h.set_flag(cflags::PUBSUB, !subs.is_empty());
        let count = if kind == Kind::Shard { subs.count(Kind::Shard) } else { subs.total() };
        let start = out.len();
        out.push(3);
        out.bulk(kind.sub_name().as_bytes());
        out.bulk(name);
        out.int(count as i64);
        out.mark_pushed(start);
    }

    fn remove_from_registry(&self, h: &ClientHandle, kind: Kind, name: &[u8]) {
        let mut reg = self.reg.lock();
        let drop_client = |v: &mut Vec<Arc<ClientHandle>>| v.retain(|c| c.id != h.id);
        match kind {
            Kind::Channel => {
                if let Some(v) = reg.channels.get_mut(name) {
                    drop_client(v);
                    if v.is_empty() {
                        reg.channels.remove(name);
                    }
                }
            }
            Kind::Shard => {
                if let Some(v) = reg.shard.get_mut(name) {
                    drop_client(v);
                    if v.is_empty() {
                        reg.shard.remove(name);
                    }
                }
            }
            Kind::Pattern => {
                if let Some(i) = reg.patterns.iter().position(|(p, _)| p == name) {
                    drop_client(&mut reg.patterns[i].1);
                    if reg.patterns[i].1.is_empty() {
                        reg.patterns.remove(i);
                    }
                }
            }
        }
    }

    /// Unsubscribe from `names` (all of this kind when empty), replying per Redis.
    pub fn unsubscribe(&self, subs: &mut Subs, h: &ClientHandle, kind: Kind, names: &[&[u8]], out: Option<&mut ReplyBuf>) {
        let targets: Vec<Vec<u8>> =
            if names.is_empty() { subs.sets[kind.idx()].clone() } else { names.iter().map(|n| n.to_vec()).collect() };
        let mut out = out;
        if targets.is_empty() {
            if let Some(o) = out.as_deref_mut() {
                let start = o.len();
                o.push(3);
                o.bulk(kind.unsub_name().as_bytes());
                o.null();
                let count = if kind == Kind::Shard { subs.count(Kind::Shard) } else { subs.total() };
                o.int(count as i64);
                o.mark_pushed(start);
            }
        }
        for name in targets {
            let set = &mut subs.sets[kind.idx()];
            if let Some(i) = set.iter().position(|c| *c == name) {
                set.remove(i);
                self.remove_from_registry(h, kind, &name);
            }
            if let Some(o) = out.as_deref_mut() {
                let start = o.len();
                o.push(3);
                o.bulk(kind.unsub_name().as_bytes());
                o.bulk(&name);
                let count = if kind == Kind::Shard { subs.count(Kind::Shard) } else { subs.total() };
                o.int(count as i64);
                o.mark_pushed(start);
            }
        }
        h.set_flag(cflags::PUBSUB, !subs.is_empty());
    }

    /// Drop every subscription of a client (disconnect, RESET).
    pub fn remove_client(&self, subs: &mut Subs, h: &ClientHandle) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            self.unsubscribe(subs, h, kind, &[], None);
        }
    }

    /// PUBLISH / SPUBLISH: deliver to subscribers. `me` is the publishing client (whose own
    /// push messages go straight into its reply buffer, ahead of the PUBLISH reply, as in
    /// Redis). Returns the number of receivers.
    pub fn publish(&self, srv: &Server, shard: bool, channel: &[u8], msg: &[u8], me: Option<(u64, &mut ReplyBuf)>) -> usize {
        let mut me = me;
        let mut n = 0;
        let reg = self.reg.lock();
        let mut send = |h: &Arc<ClientHandle>, parts: &[&[u8]]| {
            match me.as_mut() {
                Some((id, out)) if *id == h.id => write_message(out, parts),
                _ => deliver(srv, h, parts),
            }
            n += 1;
        };
        if shard {
            if let Some(v) = reg.shard.get(channel) {
                for h in v {
                    send(h, &[b"smessage", channel, msg]);
                }
            }
            return n;
        }
        if let Some(v) = reg.channels.get(channel) {
            for h in v {
                send(h, &[b"message", channel, msg]);
            }
        }
        for (pat, v) in reg.patterns.iter() {
            if glob_match(pat, channel, false) {
                for h in v {
                    send(h, &[b"pmessage", pat, channel, msg]);
                }
            }
        }
        n
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS.
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let reg = self.reg.lock();
        let m = if shard { &reg.shard } else { &reg.channels };
        m.keys().filter(|c| pattern.map_or(true, |p| glob_match(p, c, false))).cloned().collect()
    }

    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        let reg = self.reg.lock();
        let m = if shard { &reg.shard } else { &reg.channels };
        m.get(channel).map_or(0, |v| v.len())
    }

    /// Every subscription of the clients `pick` selects: (client, is_pattern, name).
    /// (ACL SETUSER checks them against a user's new channel permissions.)
    pub fn subscriptions_of(&self, pick: impl Fn(&ClientHandle) -> bool) -> Vec<(Arc<ClientHandle>, bool, Vec<u8>)> {
        let reg = self.reg.lock();
        let mut out = Vec::new();
        for (name, hs) in reg.channels.iter().chain(reg.shard.iter()) {
            for h in hs.iter().filter(|h| pick(h)) {
                out.push((h.clone(), false, name.clone()));
            }
        }
        for (name, hs) in &reg.patterns {
            for h in hs.iter().filter(|h| pick(h)) {
                out.push((h.clone(), true, name.clone()));
            }
        }
        out
    }

    pub fn numpat(&self) -> usize {
        self.reg.lock().patterns.len()
    }
}
