//! Replication, master side: SYNC and PSYNC attach a replica, REPLCONF configures it,
//! ROLE reports it, WAIT waits for replicas' acknowledgements; REPLICAOF/SLAVEOF start or
//! stop the replica side (`crate::replica`).
//! CLUSTER and the cluster connection commands answer as a Redis without cluster support.
//!
//! PSYNC naming this server's replication id (or the previous one, `master_replid2`, up
//! to `second_repl_offset`) and an offset the backlog (`crate::wstream`) still holds is
//! answered `+CONTINUE <replid>` and the backlog's bytes from that offset, and the replica
//! is attached to the stream. Otherwise (and for SYNC) a replica gets the whole dataset as
//! an RDB payload (`$<len>\r\n<rdb>`, preceded by `+FULLRESYNC <replid> <offset>` for
//! PSYNC) and then the write stream: every chunk fed after the snapshot is appended to its
//! outbox. The snapshot is taken with every shard locked and the replica is
//! registered before the locks are released, so no write is lost or doubled. The payload is
//! written in the foreground (no fork, no background snapshot yet): the server stalls for
//! the time it takes to serialize the dataset.

use super::{eq_ic, flags, Ctx, Registration};
use crate::log;
use crate::net::client::cflags;
use std::sync::atomic::Ordering::Relaxed;

pub const COMMANDS: &[Registration] = &[
    ("sync", sync, flags::ALL_SHARDS),
    ("psync", psync, flags::ALL_SHARDS),
    ("replconf", replconf, 0),
    ("role", role, 0),
    ("wait", wait, 0),
    ("replicaof", replicaof, 0),
    ("slaveof", replicaof, 0),
    ("cluster|addslots", cluster_disabled, 0),
    ("cluster|addslotsrange", cluster_disabled, 0),
    ("cluster|bumpepoch", cluster_disabled, 0),
    ("cluster|count-failure-reports", cluster_disabled, 0),
    ("cluster|countkeysinslot", cluster_disabled, 0),
    ("cluster|delslots", cluster_disabled, 0),
    ("cluster|delslotsrange", cluster_disabled, 0),
    ("cluster|failover", cluster_disabled, 0),
    ("cluster|flushslots", cluster_disabled, 0),
    ("cluster|forget", cluster_disabled, 0),
    ("cluster|getkeysinslot", cluster_disabled, 0),
    ("cluster|help", cluster_disabled, 0),
    ("cluster|info", cluster_disabled, 0),
    ("cluster|keyslot", cluster_disabled, 0),
    ("cluster|links", cluster_disabled, 0),
    ("cluster|meet", cluster_disabled, 0),
    ("cluster|myid", cluster_disabled, 0),
    ("cluster|nodes", cluster_disabled, 0),
    ("cluster|replicas", cluster_disabled, 0),
    ("cluster|replicate", cluster_disabled, 0),
    ("cluster|reset", cluster_disabled, 0),
    ("cluster|saveconfig", cluster_disabled, 0),
    ("cluster|set-config-epoch", cluster_disabled, 0),
    ("cluster|setslot", cluster_disabled, 0),
    ("cluster|shards", cluster_disabled, 0),
    ("cluster|slaves", cluster_disabled, 0),
    ("cluster|slots", cluster_disabled, 0),
    ("readonly", cluster_disabled, 0),
    ("readwrite", cluster_disabled, 0),
    ("asking", cluster_disabled, 0),
];

/// CLUSTER *, READONLY, READWRITE, ASKING: this server runs without cluster support
/// (cluster-enabled no), as Redis answers then.
fn cluster_disabled(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.error("ERR This instance has cluster support disabled");
}

/// ROLE on a master: ["master", offset, [[ip, port, offset], ...]]; on a replica:
/// ["slave", host, port, state, offset].
fn role(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let srv = ctx.srv;
    if srv.repl.is_replica() {
        let (host, port) = srv.repl.master.lock().clone().unwrap_or_default();
        ctx.out.array(5);
        ctx.out.bulk(b"slave");
        ctx.out.bulk(host.as_bytes());
        ctx.out.int(port as i64);
        ctx.out.bulk(srv.repl.state_name().as_bytes());
        ctx.out.int(if srv.repl.link_up.load(Relaxed) { srv.repl.offset.load(Relaxed) } else { -1 });
        return;
    }
    let offset = srv.wstream.offset.load(Relaxed) as i64;
    let replicas = srv.wstream.replicas();
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(offset);
    ctx.out.array(replicas.len());
    for r in &replicas {
        let addr = &r.client.addr;
        let ip = addr.rsplit_once(':').map_or(addr.as_str(), |(ip, _)| ip);
        ctx.out.array(3);
        ctx.out.bulk(ip.as_bytes());
        ctx.out.bulk_i64(r.state.listening_port.load(Relaxed) as i64);
        ctx.out.bulk_i64(r.state.ack_off.load(Relaxed));
    }
}

/// Clients blocked in WAIT: (client id, offset to reach, replicas wanted).
static WAITING: parking_lot::Mutex<Vec<(u64, u64, i64)>> = parking_lot::Mutex::new(Vec::new());

/// Replicas that acknowledged `offset` (Redis's replicationCountAcksByOffset).
fn acks_for(srv: &crate::server::Server, offset: u64) -> i64 {
    srv.wstream.replicas().iter().filter(|r| r.state.ack_off.load(Relaxed) >= offset as i64).count() as i64
}

/// WAIT numreplicas timeout: the number of replicas that acknowledged this client's last
/// write, once it reaches numreplicas or the timeout (ms, 0 = none) passes.
fn wait(ctx: &mut Ctx, argv: &[&[u8]]) {
    let srv = ctx.srv;
    if srv.repl.is_replica() {
        return ctx.out.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(numreplicas) = super::arg_i64(ctx, argv[1]) else { return };
    let Some(deadline) = crate::blocking::parse_timeout(ctx, argv[2], false) else { return };
    let offset = ctx.client.woff;
    let acked = acks_for(srv, offset);
    if acked >= numreplicas || !crate::blocking::may_block(ctx) {
        return ctx.out.int(acked);
    }
    let id = ctx.client.id;
    let argv = vec![b"wait".to_vec(), offset.to_string().into_bytes(), id.to_string().into_bytes()];
    // on timeout (or CLIENT UNBLOCK): the count so far, and the client leaves the list
    crate::blocking::block(ctx, &[], deadline, argv, |_, _, _, _| false, |srv, out, argv| {
        let num = |i: usize| std::str::from_utf8(&argv[i]).ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        let id = num(2);
        WAITING.lock().retain(|e| e.0 != id);
        out.int(acks_for(srv, num(1)));
    });
    WAITING.lock().push((id, offset, numreplicas));
    // ask the replicas now rather than at their next periodic ACK (not while clients are
    // paused: the request would move the offset)
    if srv.paused().is_none() {
        srv.wstream.getack_replicas();
    }
}

/// A replica acknowledged an offset: answer the WAIT clients now satisfied.
fn wake_waiters(srv: &crate::server::Server) {
    let mut w = WAITING.lock();
    if w.is_empty() {
        return;
    }
    w.retain(|&(id, offset, want)| {
        let acked = acks_for(srv, offset);
        if acked < want {
            // still waiting, unless its connection went away meanwhile
            return srv.clients.lock().contains_key(&id);
        }
        crate::blocking::wake(srv, id, format!(":{acked}\r\n").into_bytes());
        false
    });
}

/// REPLICAOF host port / NO ONE (`crate::replica` runs the link).
fn replicaof(ctx: &mut Ctx, argv: &[&[u8]]) {
    let srv = ctx.srv;
    if eq_ic(argv[1], "no") && eq_ic(argv[2], "one") {
        if srv.repl.is_replica() {
            crate::replica::unset_master(srv);
            log::notice(&format!("MASTER MODE enabled (user request from 'id={} addr={}')", ctx.client.id, ctx.client.handle.addr));
        }
        return ctx.out.ok();
    }
    if ctx.client.flag(cflags::REPLICA) {
        return ctx.out.error("ERR Command is not valid when client is a replica.");
    }
    let port = match std::str::from_utf8(argv[2]).ok().and_then(|s| s.parse::<i64>().ok()) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => return ctx.out.error("ERR Invalid master port"),
    };
    let host = String::from_utf8_lossy(argv[1]).into_owned();
    if let Some((h, p)) = srv.repl.master.lock().as_ref() {
        if h.eq_ignore_ascii_case(&host) && *p == port {
            log::notice("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return ctx.out.raw(b"+OK Already connected to specified master\r\n");
        }
    }
    crate::replica::set_master(srv, &host, port);
    log::notice(&format!("REPLICAOF {host}:{port} enabled (user request from 'id={} addr={}')", ctx.client.id, ctx.client.handle.addr));
    ctx.out.ok();
}

fn sync(ctx: &mut Ctx, _argv: &[&[u8]]) {
    attach(ctx, None);
}

/// PSYNC replid offset: `? -1` asks for a full synchronization; a known replication id
/// and an offset the backlog still holds continue from there.
fn psync(ctx: &mut Ctx, argv: &[&[u8]]) {
    attach(ctx, Some((argv[1], argv[2])));
}

/// Continue a PSYNC from the backlog: Ok when the backlog's bytes were sent and the
/// replica attached; Err (the reason logged as Redis's masterTryPartialResynchronization
/// does) when it needs a full synchronization.
fn try_continue(ctx: &mut Ctx, replica: crate::wstream::Replica, replid: &[u8], offset: i64) -> Result<(), ()> {
    let srv = ctx.srv;
    let h = &ctx.client.handle;
    let (id1, id2) = srv.introspect.replid.lock().clone();
    let second = srv.repl.second_offset.load(Relaxed);
    let asked = String::from_utf8_lossy(replid);
    if !asked.eq_ignore_ascii_case(&id1) && (!asked.eq_ignore_ascii_case(&id2) || offset > second) {
        if replid == b"?" {
            log::notice(&format!("Full resync requested by replica {}", h.addr));
        } else if !asked.eq_ignore_ascii_case(&id2) {
            log::notice(&format!(
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{asked}', my replication IDs are '{id1}' and '{id2}')"
            ));
        } else {
            log::notice(&format!(
                "Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {second}"
            ));
        }
        return Err(());
    }
    let psync2 = replica.state.psync2.load(Relaxed);
    let Some(bytes) = (offset >= 0).then(|| srv.wstream.continue_replica(replica, offset as u64)).flatten() else {
        log::notice(&format!("Unable to partial resync with replica {} for lack of backlog (Replica request was: {offset}).", h.addr));
        if offset > srv.wstream.offset.load(Relaxed) as i64 {
            log::warning(&format!(
                "Warning: replica {} tried to PSYNC with an offset that is greater than the master replication offset.",
                h.addr
            ));
        }
        return Err(());
    };
    h.set_flag(cflags::REPLICA, true);
    if psync2 {
        ctx.out.raw(format!("+CONTINUE {id1}\r\n").as_bytes());
    } else {
        ctx.out.raw(b"+CONTINUE\r\n");
    }
    ctx.out.raw(&bytes);
    log::notice(&format!(
        "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {offset}.",
        h.addr,
        bytes.len()
    ));
    Ok(())
}

/// SYNC (`psync` None) or PSYNC: continue from the backlog when possible, else send the
/// whole dataset.
fn attach(ctx: &mut Ctx, psync: Option<(&[u8], &[u8])>) {
    let srv = ctx.srv;
    let h = ctx.client.handle.clone();
    // Already a replica (or a MONITOR, which Redis flags as a replica too): ignored.
    if h.has_flag(cflags::REPLICA | cflags::MONITOR) {
        return;
    }
    // A replica serves replicas of its own only while its link is up (chained replication).
    if srv.repl.is_replica() && !srv.repl.link_up.load(Relaxed) {
        return ctx.out.error("NOMASTERLINK Can't SYNC while not connected with my master");
    }
    let Some(worker) = srv.workers.get().and_then(|w| w.get(h.worker)).cloned() else {
        return ctx.out.error("ERR Replication is not available on this connection");
    };
    let psync = match psync {
        Some((id, off)) => {
            let Some(off) = std::str::from_utf8(off).ok().and_then(|s| s.parse::<i64>().ok()) else {
                log::warning(&format!("Replica {} asks for synchronization but with a wrong offset", h.addr));
                return ctx.out.error("ERR value is not an integer or out of range");
            };
            Some((id, off))
        }
        None => None,
    };
    log::notice(&format!("Replica {} asks for synchronization", h.addr));
    let state = ctx.client.repl.get_or_insert_with(Default::default).clone();
    state.ack_time.store(crate::server::now_ms() / 1000, Relaxed);
    let replica = crate::wstream::Replica { client: h.clone(), worker, state };
    if let Some((id, off)) = psync {
        if try_continue(ctx, replica.clone(), id, off).is_ok() {
            srv.repl.sync_partial_ok.fetch_add(1, Relaxed);
            return;
        }
        if id != b"?" {
            srv.repl.sync_partial_err.fetch_add(1, Relaxed);
        }
    }
    let path = std::path::PathBuf::from(format!("temp-sync-{}-{}.rdb", std::process::id(), h.id));
    let (data, functions) =
        (!h.has_flag(cflags::RDB_EXCLUDE_DATA), !h.has_flag(cflags::RDB_EXCLUDE_FUNCTIONS));
    let payload = crate::persist::write_locked_filtered(srv, &ctx.ks.locks, &path, crate::persist::FileKind::Rdb, data, functions)
        .and_then(|_| std::fs::read(&path));
    let _ = std::fs::remove_file(&path);
    let rdb = match payload {
        Ok(b) => b,
        Err(e) => {
            log::warning(&format!("Can't produce the RDB for replica {}: {e}", h.addr));
            return ctx.out.error("ERR Unable to perform background save");
        }
    };
    h.set_flag(cflags::REPLICA, true);
    srv.repl.sync_full.fetch_add(1, Relaxed);
    let offset = srv.wstream.add_replica(replica);
    if psync.is_some() {
        let replid = srv.introspect.replid.lock().0.clone();
        ctx.out.raw(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
    }
    ctx.out.raw(format!("${}\r\n", rdb.len()).as_bytes());
    ctx.out.raw(&rdb);
    log::notice(&format!("Synchronization with replica {} succeeded", h.addr));
}

/// REPLCONF <option> <value> [<option> <value> ...]: listening-port, ip-address, capa,
/// rdb-only are accepted; ACK (from an attached replica) gets no reply.
fn replconf(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 == 0 {
        return ctx.out.error(super::SYNTAX_ERR);
    }
    let mut i = 1;
    while i < argv.len() {
        let opt = argv[i];
        if eq_ic(opt, "ack") || eq_ic(opt, "fack") {
            // Offsets acknowledged by a replica: no reply.
            if ctx.client.flag(cflags::REPLICA) && eq_ic(opt, "ack") {
                let off = std::str::from_utf8(argv[i + 1]).ok().and_then(|s| s.parse::<i64>().ok());
                if let (Some(off), Some(st)) = (off, ctx.client.repl.as_ref()) {
                    st.ack(off);
                    wake_waiters(ctx.srv);
                }
            }
            return;
        } else if eq_ic(opt, "getack") {
            return;
        } else if eq_ic(opt, "listening-port") {
            let Some(port) = std::str::from_utf8(argv[i + 1]).ok().and_then(|s| s.parse::<i64>().ok()) else {
                return ctx.out.error("ERR value is not an integer or out of range");
            };
            // (Redis keeps it in an int)
            ctx.client.repl.get_or_insert_with(Default::default).listening_port.store(port as u32, Relaxed);
        } else if eq_ic(opt, "rdb-filter-only") {
            // "include" filters; the only one Redis 7.0 knows is "functions"
            let Some(filters) = crate::protocol::parse::split_args_quoted(argv[i + 1]) else {
                return ctx.out.error("ERR Missing rdb-filter-only values");
            };
            let h = &ctx.client.handle;
            let mut exclude_functions = true;
            for f in &filters {
                if f.eq_ignore_ascii_case(b"functions") {
                    exclude_functions = false;
                } else {
                    return ctx
                        .out
                        .error(&format!("ERR Unsupported rdb-filter-only option: {}", String::from_utf8_lossy(f)));
                }
            }
            h.set_flag(cflags::RDB_EXCLUDE_DATA, true);
            h.set_flag(cflags::RDB_EXCLUDE_FUNCTIONS, exclude_functions);
        } else if eq_ic(opt, "capa") {
            if eq_ic(argv[i + 1], "psync2") {
                ctx.client.repl.get_or_insert_with(Default::default).psync2.store(true, Relaxed);
            }
        } else if eq_ic(opt, "ip-address") || eq_ic(opt, "rdb-only") {
        } else {
            return ctx.out.error(&format!("ERR Unrecognized REPLCONF option: {}", String::from_utf8_lossy(opt)));
        }
        i += 2;
    }
    ctx.out.ok();
}

/// Called by the server cron: every `repl-ping-replica-period` seconds the replicas get a
/// PING, so they know the master is alive (a replica drops a silent master after
/// `repl-timeout`). A master without replicas for `repl-backlog-ttl` seconds frees its
/// backlog and takes a new replication id (nothing can continue its history any more).
pub fn cron(srv: &crate::server::Server) {
    use std::sync::atomic::AtomicI64;
    if !srv.repl.is_replica() {
        let ttl = srv.config.read().get_i64("repl-backlog-ttl");
        srv.wstream.expire_backlog(ttl, || {
            srv.introspect.change_replication_id();
            srv.repl.second_offset.store(0, Relaxed);
            log::notice(&format!("Replication backlog freed after {ttl} seconds without connected replicas."));
        });
    }
    static LAST_PING_MS: AtomicI64 = AtomicI64::new(0);
    if !srv.wstream.is_active() {
        return;
    }
    let period = srv.config.read().get_i64("repl-ping-replica-period").max(1);
    let now = crate::server::now_ms();
    let last = LAST_PING_MS.load(Relaxed);
    if now - last >= period * 1000 {
        LAST_PING_MS.store(now, Relaxed);
        if last != 0 {
            srv.wstream.ping_replicas();
        }
    }
}
