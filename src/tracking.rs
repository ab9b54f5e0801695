//! Client-side caching: CLIENT TRACKING state and invalidation messages (Redis's tracking.c).
//!
//! Ownership: the tables are process-wide, behind one mutex (`Tracking::tables`), and only
//! touched once some client enabled tracking (the write path checks two atomics first):
//! - the key table: key name (whatever the db) -> ids of the clients that read it in the
//!   default mode; an entry is dropped when it is invalidated (the key changed), on
//!   FLUSHDB/FLUSHALL, or when `tracking-table-max-keys` is exceeded (`limit`);
//! - the prefix table of BCAST mode: prefix -> its subscribers. The keys changed under
//!   some prefix are noted per worker thread (with their last writer, for NOLOOP) and
//!   sent by that worker's `broadcast` before it sleeps, so the changes of one command
//!   (MSET, EXEC...) go out together, as in Redis's event loop, even while other workers
//!   broadcast theirs.
//! A client's own tracking state is in its `ClientHandle` (the `cflags::TRACKING*` bits
//! and `redir`, so any thread can route a message to it) and its BCAST prefixes in
//! `ClientInfo::tracking_prefixes`.
//!
//! Delivery: a message for a client other than the one running the command goes to its
//! outbox and its worker is woken (`pubsub::deliver_raw`). Invalidations for the running
//! client itself are kept in `Ks::track_pending` and written after the reply of the
//! top-level command (after EXEC, after a script), as Redis does. A client with a
//! redirection gets its messages through the target: RESP3 push, or, for a RESP2 target
//! subscribed to `__redis__:invalidate`, a Pub/Sub message; a target that is gone gives
//! the tracking client a `tracking-redir-broken` push.
//! Lock order: shard locks, then `tables`, then the client registry, then outboxes.
//! Not built yet: maxmemory eviction. When it is, the invalidations of keys it evicts
//! before a command must reach the client about to run it ahead of that command's reply
//! (Redis's "eviction keys should be before response" test): send them with that
//! client as `Me`, as `limit` does, rather than through `Ks::track_pending`.

use crate::net::client::{cflags, ClientHandle, ClientInfo};
use crate::protocol::ReplyBuf;
use crate::server::Server;
use ahash::AHashMap;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// CLIENT TRACKING options (as parsed).
pub const OPT_BCAST: u32 = cflags::TRACKING_BCAST;
pub const OPT_OPTIN: u32 = cflags::TRACKING_OPTIN;
pub const OPT_OPTOUT: u32 = cflags::TRACKING_OPTOUT;
pub const OPT_NOLOOP: u32 = cflags::TRACKING_NOLOOP;

/// Every tracking flag, cleared together when tracking is turned off.
const ALL_FLAGS: u32 = cflags::TRACKING
    | cflags::TRACKING_BROKEN_REDIR
    | cflags::TRACKING_BCAST
    | cflags::TRACKING_OPTIN
    | cflags::TRACKING_OPTOUT
    | cflags::TRACKING_CACHING
    | cflags::TRACKING_NOLOOP;

#[derive(Default)]
struct Bcast {
    clients: Vec<Arc<ClientHandle>>,
}

thread_local! {
    /// Keys this thread changed since its last `broadcast` while BCAST prefixes existed:
    /// (key, id of the client that changed it, 0 for none).
    static CHANGED: std::cell::RefCell<Vec<(Vec<u8>, u64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[derive(Default)]
struct Tables {
    keys: AHashMap<Vec<u8>, Vec<u64>>,
    prefixes: BTreeMap<Vec<u8>, Bcast>,
}

#[derive(Default)]
pub struct Tracking {
    tables: Mutex<Tables>,
    /// Mirrors of the table sizes (INFO, and the write path's "anything to do?" check).
    nkeys: AtomicUsize,
    nitems: AtomicUsize,
    nprefixes: AtomicUsize,
    /// Clients with tracking on (INFO tracking_clients).
    nclients: AtomicUsize,
    /// Consecutive `limit` runs that could not get under the limit (more effort each time).
    limit_rounds: AtomicU64,
}

impl Tracking {
    #[inline]
    pub fn in_use(&self) -> bool {
        self.nkeys.load(Relaxed) > 0 || self.nprefixes.load(Relaxed) > 0
    }
    pub fn clients(&self) -> usize {
        self.nclients.load(Relaxed)
    }
    pub fn total_keys(&self) -> usize {
        self.nkeys.load(Relaxed)
    }
    pub fn total_items(&self) -> usize {
        self.nitems.load(Relaxed)
    }
    pub fn total_prefixes(&self) -> usize {
        self.nprefixes.load(Relaxed)
    }

    fn sync_sizes(&self, t: &Tables) {
        self.nkeys.store(t.keys.len(), Relaxed);
        self.nprefixes.store(t.prefixes.len(), Relaxed);
    }
}

/// Does one of the two strings start with the other?
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// Redis's checkPrefixCollisionsOrReply: the error text, if any.
pub fn prefix_collision(existing: &BTreeSet<Vec<u8>>, new: &[&[u8]]) -> Option<String> {
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(c) = existing.iter().find(|e| overlaps(e, p)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(c)
            ));
        }
        for q in &new[i + 1..] {
            if overlaps(p, q) {
                return Some(format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    s(p),
                    s(q)
                ));
            }
        }
    }
    None
}

/// CLIENT TRACKING ON (options already validated).
pub fn enable(srv: &Server, info: &mut ClientInfo, redirect: u64, opts: u32, prefixes: &[&[u8]]) {
    let h = info.handle.clone();
    let t = &srv.tracking;
    if !h.has_flag(cflags::TRACKING) {
        t.nclients.fetch_add(1, Relaxed);
    }
    h.set_flag(
        cflags::TRACKING_BROKEN_REDIR | cflags::TRACKING_BCAST | cflags::TRACKING_OPTIN | cflags::TRACKING_OPTOUT | cflags::TRACKING_NOLOOP,
        false,
    );
    h.redir.store(redirect as i64, Relaxed);
    if redirect != 0 {
        if let Some(target) = srv.clients.lock().get(&redirect) {
            target.set_flag(cflags::PUSH_TARGET, true);
        }
    }
    if opts & OPT_BCAST != 0 {
        h.set_flag(cflags::TRACKING_BCAST, true);
        let mut tb = t.tables.lock();
        let list: Vec<&[u8]> = if prefixes.is_empty() { vec![b""] } else { prefixes.to_vec() };
        for p in list {
            let b = tb.prefixes.entry(p.to_vec()).or_default();
            if !b.clients.iter().any(|c| c.id == h.id) {
                b.clients.push(h.clone());
                info.tracking_prefixes.insert(p.to_vec());
            }
        }
        t.sync_sizes(&tb);
    }
    h.set_flag(opts & (OPT_OPTIN | OPT_OPTOUT | OPT_NOLOOP), true);
    h.set_flag(cflags::TRACKING, true);
}

/// CLIENT TRACKING OFF, RESET, disconnect.
pub fn disable(srv: &Server, info: &mut ClientInfo) {
    let h = &info.handle;
    let t = &srv.tracking;
    if h.has_flag(cflags::TRACKING_BCAST) {
        let mut tb = t.tables.lock();
        for p in std::mem::take(&mut info.tracking_prefixes) {
            if let Some(b) = tb.prefixes.get_mut(&p) {
                b.clients.retain(|c| c.id != h.id);
                if b.clients.is_empty() {
                    tb.prefixes.remove(&p);
                }
            }
        }
        t.sync_sizes(&tb);
    }
    info.tracking_prefixes.clear();
    if h.has_flag(cflags::TRACKING) {
        t.nclients.fetch_sub(1, Relaxed);
        h.set_flag(ALL_FLAGS, false);
        h.redir.store(-1, Relaxed);
    }
}

/// After a read-only command of a tracking client in the default mode: remember that it
/// may cache `keys` (unless OPTIN without CACHING yes, or OPTOUT with CACHING no).
pub fn remember<'k>(srv: &Server, h: &ClientHandle, keys: impl IntoIterator<Item = &'k [u8]>) {
    let f = h.flags.load(Relaxed);
    if f & cflags::TRACKING == 0 || f & cflags::TRACKING_BCAST != 0 {
        return;
    }
    let caching = f & cflags::TRACKING_CACHING != 0;
    if (f & cflags::TRACKING_OPTIN != 0 && !caching) || (f & cflags::TRACKING_OPTOUT != 0 && caching) {
        return;
    }
    let t = &srv.tracking;
    let mut tb = t.tables.lock();
    let mut added = 0;
    for k in keys {
        let ids = match tb.keys.get_mut(k) {
            Some(ids) => ids,
            None => tb.keys.entry(k.to_vec()).or_default(),
        };
        if let Err(at) = ids.binary_search(&h.id) {
            ids.insert(at, h.id);
            added += 1;
        }
    }
    t.nitems.fetch_add(added, Relaxed);
    t.sync_sizes(&tb);
}

/// An invalidation message's value part.
enum Msg<'a> {
    /// One key: sent as an array of one bulk.
    Key(&'a [u8]),
    /// Ready-made protocol (an array of keys, or a null).
    Proto(&'a [u8]),
}

fn resp_null(resp: u8) -> &'static [u8] {
    if resp >= 3 {
        b"_\r\n"
    } else {
        b"$-1\r\n"
    }
}

/// The client running the current command, whose reply buffer we hold.
pub type Me<'a> = Option<(u64, &'a mut ReplyBuf)>;

/// Redis's sendTrackingMessage: route a message for tracking client `c` (to its
/// redirection target if it has one).
fn send(srv: &Server, c: &Arc<ClientHandle>, msg: Msg, me: &mut Me) {
    let redir = c.redir.load(Relaxed);
    let (dest, redirected) = if redir > 0 {
        let target = srv.clients.lock().get(&(redir as u64)).cloned();
        match target {
            Some(d) => (d, true),
            None => {
                c.set_flag(cflags::TRACKING_BROKEN_REDIR, true);
                if resp_of(c, me) > 2 {
                    let mut b = Vec::with_capacity(48);
                    b.extend_from_slice(b">2\r\n$21\r\ntracking-redir-broken\r\n");
                    b.extend_from_slice(format!(":{redir}\r\n").as_bytes());
                    write_to(srv, c, &b, me);
                }
                return;
            }
        }
    } else {
        (c.clone(), false)
    };
    let mut b = Vec::with_capacity(64);
    if resp_of(&dest, me) > 2 {
        b.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else if redirected && dest.has_flag(cflags::PUBSUB) {
        b.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    } else {
        return;
    }
    match msg {
        Msg::Key(k) => {
            b.extend_from_slice(format!("*1\r\n${}\r\n", k.len()).as_bytes());
            b.extend_from_slice(k);
            b.extend_from_slice(b"\r\n");
        }
        Msg::Proto(p) => b.extend_from_slice(p),
    }
    write_to(srv, &dest, &b, me);
}

fn resp_of(h: &ClientHandle, me: &Me) -> u8 {
    match me {
        Some((id, out)) if *id == h.id => out.resp,
        _ => h.resp.load(Relaxed),
    }
}

fn write_to(srv: &Server, h: &ClientHandle, bytes: &[u8], me: &mut Me) {
    match me {
        Some((id, out)) if *id == h.id => out.buf.extend_from_slice(bytes),
        _ => crate::pubsub::deliver_raw(srv, h, bytes),
    }
}

/// Redis's trackingInvalidateKey, from the modified-key signal. `writer`: the client that
/// changed the key (0: none, e.g. expiry); `current`: the client running the command
/// (its own invalidations go to `pending`, sent after its reply).
pub fn invalidate(srv: &Server, key: &[u8], writer: u64, current: u64, pending: &mut Vec<Option<Vec<u8>>>) {
    let t = &srv.tracking;
    if t.nprefixes.load(Relaxed) > 0 {
        CHANGED.with(|c| c.borrow_mut().push((key.to_vec(), writer)));
    }
    if t.nkeys.load(Relaxed) == 0 {
        return;
    }
    let ids = {
        let mut tb = t.tables.lock();
        let Some(ids) = tb.keys.remove(key) else { return };
        t.nitems.fetch_sub(ids.len(), Relaxed);
        t.sync_sizes(&tb);
        ids
    };
    let targets: Vec<Arc<ClientHandle>> = {
        let reg = srv.clients.lock();
        ids.iter().filter_map(|id| reg.get(id).cloned()).collect()
    };
    for c in targets {
        let f = c.flags.load(Relaxed);
        if f & cflags::TRACKING == 0 || f & cflags::TRACKING_BCAST != 0 {
            continue;
        }
        if f & cflags::TRACKING_NOLOOP != 0 && c.id == current {
            continue;
        }
        if c.id == current {
            pending.push(Some(key.to_vec()));
        } else {
            send(srv, &c, Msg::Key(key), &mut None);
        }
    }
}

/// Send what `invalidate` / `on_flush` kept for the running client, after its reply.
pub fn flush_pending(srv: &Server, h: &Arc<ClientHandle>, pending: Vec<Option<Vec<u8>>>, out: &mut ReplyBuf) {
    let mut me: Me = Some((h.id, out));
    for p in pending {
        match p {
            Some(k) => send(srv, h, Msg::Key(&k), &mut me),
            None => {
                let resp = me.as_ref().map_or(2, |(_, o)| o.resp);
                send(srv, h, Msg::Proto(resp_null(resp)), &mut me)
            }
        }
    }
}

/// FLUSHDB / FLUSHALL (Redis's trackingInvalidateKeysOnFlush): every tracking client gets
/// a null invalidation (all its keys), and the key table is emptied.
pub fn on_flush(srv: &Server, current: u64, pending: &mut Vec<Option<Vec<u8>>>) {
    let t = &srv.tracking;
    if t.clients() > 0 {
        let all: Vec<Arc<ClientHandle>> =
            srv.clients.lock().values().filter(|c| c.has_flag(cflags::TRACKING)).cloned().collect();
        for c in all {
            if c.id == current {
                pending.push(None);
            } else {
                send(srv, &c, Msg::Proto(resp_null(c.resp.load(Relaxed))), &mut None);
            }
        }
    }
    let mut tb = t.tables.lock();
    if !tb.keys.is_empty() {
        tb.keys = AHashMap::new();
        t.nitems.store(0, Relaxed);
        t.sync_sizes(&tb);
    }
}

/// Keep the key table within `tracking-table-max-keys` (Redis's trackingLimitUsedSlots):
/// invalidate keys until under the limit, trying harder each time it was not reached.
/// Run before each command and from the cron; `me` is the client about to run a command.
pub fn limit(srv: &Server, me: &mut Me) {
    let t = &srv.tracking;
    if t.clients() == 0 {
        return;
    }
    let max = srv.hot.tracking_max_keys.load(Relaxed) as usize;
    if max == 0 || t.total_keys() <= max {
        t.limit_rounds.store(0, Relaxed);
        return;
    }
    let mut effort = 100 * (t.limit_rounds.load(Relaxed) + 1);
    while effort > 0 {
        effort -= 1;
        let (key, ids) = {
            let mut tb = t.tables.lock();
            let Some(k) = tb.keys.keys().next().cloned() else { break };
            let ids = tb.keys.remove(&k).unwrap_or_default();
            t.nitems.fetch_sub(ids.len(), Relaxed);
            t.sync_sizes(&tb);
            (k, ids)
        };
        let targets: Vec<Arc<ClientHandle>> = {
            let reg = srv.clients.lock();
            ids.iter().filter_map(|id| reg.get(id).cloned()).collect()
        };
        for c in targets {
            let f = c.flags.load(Relaxed);
            if f & cflags::TRACKING == 0 || f & cflags::TRACKING_BCAST != 0 {
                continue;
            }
            send(srv, &c, Msg::Key(&key), me);
        }
        if t.total_keys() <= max {
            t.limit_rounds.store(0, Relaxed);
            return;
        }
    }
    t.limit_rounds.fetch_add(1, Relaxed);
}

/// The array of `keys` (without those last changed by `skip`), or None if empty.
fn keys_proto(keys: &BTreeMap<Vec<u8>, u64>, skip: Option<u64>) -> Option<Vec<u8>> {
    let n = keys.values().filter(|w| Some(**w) != skip).count();
    if n == 0 {
        return None;
    }
    let mut b = format!("*{n}\r\n").into_bytes();
    for (k, w) in keys {
        if Some(*w) == skip {
            continue;
        }
        b.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
        b.extend_from_slice(k);
        b.extend_from_slice(b"\r\n");
    }
    Some(b)
}

/// Did this thread change keys that BCAST clients may hear of (see `broadcast`)?
#[inline]
pub fn has_changes() -> bool {
    CHANGED.with(|c| !c.borrow().is_empty())
}

/// BCAST mode: send every prefix's subscribers the keys this thread changed under it since
/// the last call (Redis does this before the event loop sleeps; so does every worker).
pub fn broadcast(srv: &Server) {
    let changed = CHANGED.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut *c)
        }
    });
    if changed.is_empty() {
        return;
    }
    let tb = srv.tracking.tables.lock();
    for (prefix, b) in tb.prefixes.iter() {
        // the keys under this prefix, each with its last writer
        let mut keys: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for (k, w) in &changed {
            if k.starts_with(prefix) {
                keys.insert(k.clone(), *w);
            }
        }
        if keys.is_empty() {
            continue;
        }
        let common = keys_proto(&keys, None);
        for c in &b.clients {
            if c.has_flag(cflags::TRACKING_NOLOOP) {
                if let Some(p) = keys_proto(&keys, Some(c.id)) {
                    send(srv, c, Msg::Proto(&p), &mut None);
                }
            } else if let Some(p) = &common {
                send(srv, c, Msg::Proto(p), &mut None);
            }
        }
    }
}
