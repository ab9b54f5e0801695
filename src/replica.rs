//! Replication, replica side: REPLICAOF host port makes this server follow a master.
//!
//! The link runs on its own thread (`ferrodis-repl`, one per REPLICAOF; a newer REPLICAOF
//! or REPLICAOF NO ONE bumps `generation` and the old thread exits at its next check).
//! The thread does what Redis 7.0's replica does: connect (retried every second while the
//! master is unreachable), PING, AUTH with masterauth, `REPLCONF listening-port`,
//! `REPLCONF capa eof capa psync2`, `PSYNC <replid> <offset>` (the cached master's id and
//! offset + 1: after a lost link the master's; for a server that was a master, its own
//! history, as Redis's replicationCacheMasterUsingMyself), so the master may answer
//! `+CONTINUE` (the stream goes on from there; a new id is taken and the old one kept as
//! master_replid2). On `+FULLRESYNC` it reads the RDB payload (`$<len>` or the diskless
//! `$EOF:<mark>` form), empties the keyspace and loads it under every shard lock. From
//! then on it parses the master's command stream and runs each command through the
//! dispatcher as a client flagged `MASTER` (obeyed: no READONLY, maxmemory or
//! min-replicas refusal), tracking the replication offset; `REPLCONF GETACK` is answered
//! with `REPLCONF ACK <offset>` and an ACK goes to the master every second. A master
//! silent for `repl-timeout` seconds is dropped and the link is retried.
//!
//! While this server is a replica (`ReplicaState::is_replica`): the dispatcher refuses
//! writes from normal clients with -READONLY (replica-read-only) and, with the link down
//! and replica-serve-stale-data no, non-stale commands with -MASTERDOWN; keys are never
//! expired here (lazy expiry keeps them, reads see them as absent; active expiry is off),
//! the master's DELs remove them; the write stream still feeds the AOF, and this server's
//! own replicas get the master's stream byte for byte (`WriteStream::feed_raw`, as Redis
//! 7.0 proxies it, and the backlog keeps it so they can continue after a lost link; they
//! are disconnected at each full sync, at a new master id and at REPLICAOF NO ONE, and
//! a SYNC while the link is down gets -NOMASTERLINK). master_repl_offset follows the
//! master's offset; RDBs made here carry `repl-stream-db`, the db the stream is in.

use crate::log;
use crate::net::client::{cflags, ClientHandle, ClientInfo};
use crate::server::{now_ms, Server};
use parking_lot::Mutex;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Redis's repl_state, as ROLE names it.
pub mod state {
    pub const NONE: u8 = 0;
    pub const CONNECT: u8 = 1;
    pub const CONNECTING: u8 = 2;
    pub const HANDSHAKE: u8 = 3;
    pub const TRANSFER: u8 = 4;
    pub const CONNECTED: u8 = 5;
}

#[derive(Default)]
pub struct ReplicaState {
    /// This server follows a master (Redis's `server.masterhost != NULL`).
    active: AtomicBool,
    /// The link is up (synchronized, streaming).
    pub link_up: AtomicBool,
    pub state: AtomicU8,
    /// Replication offset of the master's stream applied here (-1: no master link yet).
    pub offset: AtomicI64,
    /// Offset of the stream bytes read from the master (applied or not).
    pub read_offset: AtomicI64,
    /// Last time bytes came from the master (ms).
    pub last_io_ms: AtomicI64,
    /// The link went down at (ms; 0 = never up).
    pub down_since_ms: AtomicI64,
    pub sync_in_progress: AtomicBool,
    /// Bumped by every REPLICAOF: a link thread of an older generation stops.
    generation: AtomicU64,
    /// (host, port) of the master.
    pub master: Mutex<Option<(String, u16)>>,
    /// The master we last synchronized with: (replid, offset), for PSYNC.
    cached: Mutex<Option<(String, i64)>>,
    /// The db the master's stream has selected (the `repl-stream-db` of RDBs made here).
    pub stream_db: std::sync::atomic::AtomicUsize,
    /// Master side, INFO stats: full synchronizations served, PSYNCs continued from the
    /// backlog, and PSYNCs naming a history that got a full one instead (sync_full,
    /// sync_partial_ok, sync_partial_err).
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    /// second_repl_offset (INFO): set when the replication id shifts at REPLICAOF NO ONE.
    pub second_offset: AtomicI64,
}

impl ReplicaState {
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// ROLE's name of the link state.
    pub fn state_name(&self) -> &'static str {
        match self.state.load(Relaxed) {
            state::CONNECT => "connect",
            state::CONNECTING => "connecting",
            state::HANDSHAKE => "handshake",
            state::TRANSFER => "sync",
            state::CONNECTED => "connected",
            _ => "none",
        }
    }
}

thread_local! {
    /// The link thread's current master command (its bytes, the offset after it), passed
    /// on to this server's replicas by `proxy_pending`.
    static PENDING: std::cell::RefCell<Option<(Vec<u8>, u64)>> = const { std::cell::RefCell::new(None) };
}

/// Pass the master command being applied on to this server's own replicas. The dispatcher
/// calls it for the master client while the command still holds its shard locks, so a
/// replica attaching (under every shard lock) gets each command either in its snapshot
/// or in its stream, never both.
pub fn proxy_pending(srv: &Server) {
    if let Some((bytes, off)) = PENDING.with(|pd| pd.borrow_mut().take()) {
        srv.wstream.feed_raw(&bytes, off);
    }
}

/// Start following `host:port` (REPLICAOF host port, `replicaof` in the config file).
pub fn set_master(srv: &Server, host: &str, port: u16) {
    let r = &srv.repl;
    *r.master.lock() = Some((host.to_string(), port));
    srv.config.write().set_replicaof(Some((host, port)));
    let gen = r.generation.fetch_add(1, Relaxed) + 1;
    if !r.active.swap(true, Relaxed) {
        // A master becoming a replica: its own history is the cached master, so the new
        // master may continue it (Redis's replicationCacheMasterUsingMyself). The new
        // master's stream starts with a SELECT, any db will do until then.
        let id = srv.introspect.replid.lock().0.clone();
        *r.cached.lock() = Some((id, srv.wstream.offset.load(Relaxed) as i64));
        r.stream_db.store(srv.wstream.stream_db().unwrap_or(0), Relaxed);
    }
    r.link_up.store(false, Relaxed);
    r.state.store(state::CONNECT, Relaxed);
    r.offset.store(-1, Relaxed);
    r.read_offset.store(-1, Relaxed);
    r.down_since_ms.store(now_ms(), Relaxed);
    srv.wstream.set_replica_mode(true);
    crate::blocking::unblock_all_role_change(srv);
    log::notice(&format!("Connecting to MASTER {host}:{port}"));
    let srv2 = srv.arc();
    let (host, port2) = (host.to_string(), port);
    let spawned = std::thread::Builder::new()
        .name("ferrodis-repl".into())
        .spawn(move || link_thread(&srv2, gen, &host, port2));
    if let Err(e) = spawned {
        log::warning(&format!("Can't start the replication thread: {e}"));
    }
}

/// REPLICAOF NO ONE: stop following the master and become a master again, keeping the
/// data. As Redis: a new replication id (the master's becomes the secondary one) and every
/// attached replica is disconnected so it resynchronizes.
pub fn unset_master(srv: &Server) {
    let r = &srv.repl;
    if !r.is_replica() {
        return;
    }
    r.generation.fetch_add(1, Relaxed);
    *r.master.lock() = None;
    srv.config.write().set_replicaof(None);
    r.active.store(false, Relaxed);
    r.link_up.store(false, Relaxed);
    r.state.store(state::NONE, Relaxed);
    r.sync_in_progress.store(false, Relaxed);
    // master_repl_offset: the stream applied (or restored from an RDB) so far
    let off = srv.wstream.offset.load(Relaxed) as i64;
    let old = srv.introspect.replid.lock().0.clone();
    srv.introspect.change_replication_id();
    srv.introspect.replid.lock().1 = old;
    r.second_offset.store(off + 1, Relaxed);
    // the backlog (if any) goes on from the offset reached: former fellow replicas may
    // continue from it under the old id (now master_replid2)
    if srv.wstream.backlog_info().is_some() {
        srv.wstream.reset_backlog(off as u64);
    } else {
        srv.wstream.offset.store(off as u64, Relaxed);
    }
    *r.cached.lock() = None;
    srv.wstream.set_replica_mode(false);
    disconnect_replicas(srv);
}

fn disconnect_replicas(srv: &Server) {
    for rep in srv.wstream.replicas() {
        let h = &rep.client;
        srv.wstream.remove_replica(h.id);
        h.kill.store(true, Relaxed);
        rep.worker.send(crate::net::worker::WakeMsg::Kill(h.token));
    }
}

/// At start-up, before `start_from_config`: the replication history saved in the RDB
/// (aux fields repl-id, repl-offset, repl-stream-db), as Redis's loadDataFromDisk. A
/// replica takes it as its own, so its master may continue it (`set_master` caches it);
/// a master keeps it as its previous id, with a backlog, so its former replicas may; the
/// keys the load skipped as expired go to that backlog as DELs.
pub fn restore_history(srv: &Server, id: String, offset: i64, db: usize, expired: &[(usize, Vec<u8>)]) {
    let replica = srv.config.read().replicaof().is_some();
    if replica {
        srv.introspect.replid.lock().0 = id;
        srv.wstream.offset.store(offset as u64, Relaxed);
        srv.repl.stream_db.store(db, Relaxed);
        srv.wstream.set_stream_db(db);
    } else {
        srv.introspect.replid.lock().1 = id;
        srv.repl.second_offset.store(offset + 1, Relaxed);
        srv.wstream.reset_backlog(offset as u64);
        for (db, key) in expired {
            srv.wstream.feed(&[(*db, vec![b"DEL".to_vec(), key.clone()])]);
        }
    }
}

/// At start-up: `replicaof <host> <port>` from the config file.
pub fn start_from_config(srv: &Server) {
    let v = srv.config.read().get_str("replicaof");
    let mut it = v.split_whitespace();
    if let (Some(h), Some(p)) = (it.next(), it.next()) {
        if let Ok(p) = p.parse::<u16>() {
            set_master(srv, h, p);
        }
    }
}

/// A connection to the master with its read buffer.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

type Res<T> = Result<T, String>;

impl Conn {
    fn fill(&mut self, srv: &Server, gen: u64) -> Res<()> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if srv.repl.generation.load(Relaxed) != gen {
                return Err("replication target changed".into());
            }
            match self.s.read(&mut chunk) {
                Ok(0) => return Err("connection lost".into()),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    srv.repl.last_io_ms.store(now_ms(), Relaxed);
                    return Ok(());
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    let timeout = srv.config.read().get_i64("repl-timeout").max(1) * 1000;
                    if now_ms() - srv.repl.last_io_ms.load(Relaxed) > timeout {
                        return Err(if srv.repl.state.load(Relaxed) == state::TRANSFER {
                            "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.".into()
                        } else {
                            "Timeout connecting to the MASTER...".into()
                        });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// One line (without CRLF).
    fn line(&mut self, srv: &Server, gen: u64) -> Res<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut l: Vec<u8> = self.buf.drain(..=i).collect();
                l.pop();
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                return Ok(l);
            }
            self.fill(srv, gen)?;
        }
    }

    /// A reply line, skipping the empty lines a master sends as keepalives.
    fn reply(&mut self, srv: &Server, gen: u64) -> Res<Vec<u8>> {
        loop {
            let l = self.line(srv, gen)?;
            if !l.is_empty() {
                return Ok(l);
            }
        }
    }

    fn send(&mut self, args: &[&[u8]]) -> Res<()> {
        let mut out = Vec::new();
        let owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        crate::wstream::encode_command(&owned, &mut out);
        self.s.write_all(&out).map_err(|e| e.to_string())
    }

    fn command(&mut self, srv: &Server, gen: u64, args: &[&[u8]]) -> Res<Vec<u8>> {
        self.send(args)?;
        self.reply(srv, gen)
    }
}

fn link_thread(srv: &Arc<Server>, gen: u64, host: &str, port: u16) {
    let r = &srv.repl;
    let mut first = true;
    while r.generation.load(Relaxed) == gen {
        if !first {
            std::thread::sleep(Duration::from_secs(1));
            if r.generation.load(Relaxed) != gen {
                break;
            }
        }
        first = false;
        r.state.store(state::CONNECTING, Relaxed);
        match run_link(srv, gen, host, port) {
            Ok(()) => {}
            Err(e) => {
                if r.generation.load(Relaxed) == gen {
                    if r.link_up.swap(false, Relaxed) {
                        if e.starts_with("MASTER timeout") {
                            log::warning(&e);
                        }
                        log::notice("Connection with master lost.");
                        r.down_since_ms.store(now_ms(), Relaxed);
                    } else if e.starts_with("Timeout") {
                        log::warning(&e);
                    } else {
                        log::warning(&format!("Error condition on socket for SYNC: {e}"));
                    }
                    r.sync_in_progress.store(false, Relaxed);
                    r.state.store(state::CONNECT, Relaxed);
                }
            }
        }
    }
}

fn connect(host: &str, port: u16) -> Res<TcpStream> {
    let addrs = (host, port).to_socket_addrs().map_err(|e| e.to_string())?;
    let mut last = "no address".to_string();
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn is_err(l: &[u8]) -> bool {
    l.first() == Some(&b'-')
}

fn run_link(srv: &Arc<Server>, gen: u64, host: &str, port: u16) -> Res<()> {
    let r = &srv.repl;
    let s = connect(host, port)?;
    let _ = s.set_nodelay(true);
    s.set_read_timeout(Some(Duration::from_millis(100))).map_err(|e| e.to_string())?;
    log::notice(&format!("MASTER <-> REPLICA sync started"));
    let mut c = Conn { s, buf: Vec::new() };
    r.last_io_ms.store(now_ms(), Relaxed);
    r.state.store(state::HANDSHAKE, Relaxed);
    // PING: an authentication error is fine at this point (AUTH follows).
    let pong = c.command(srv, gen, &[b"PING"])?;
    if is_err(&pong) && !pong.starts_with(b"-NOAUTH") && !pong.starts_with(b"-NOPERM") && !pong.starts_with(b"-ERR operation not permitted") {
        return Err(format!("Error reply to PING from master: '{}'", String::from_utf8_lossy(&pong)));
    }
    let (auth, user) = {
        let cfg = srv.config.read();
        let u = cfg.get_str("masteruser");
        (cfg.masterauth(), if u.is_empty() { None } else { Some(u) })
    };
    if let Some(pass) = auth {
        let rep = match &user {
            Some(u) => c.command(srv, gen, &[b"AUTH", u.as_bytes(), &pass])?,
            None => c.command(srv, gen, &[b"AUTH", &pass])?,
        };
        if is_err(&rep) {
            return Err(format!("Unable to AUTH to MASTER: {}", String::from_utf8_lossy(&rep)));
        }
    }
    let myport = srv.tcp_port.load(Relaxed).to_string();
    let rep = c.command(srv, gen, &[b"REPLCONF", b"listening-port", myport.as_bytes()])?;
    if is_err(&rep) {
        log::notice(&format!("(Non critical) Master does not understand REPLCONF listening-port: {}", String::from_utf8_lossy(&rep)));
    }
    let rep = c.command(srv, gen, &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])?;
    if is_err(&rep) {
        log::notice(&format!("(Non critical) Master does not understand REPLCONF capa: {}", String::from_utf8_lossy(&rep)));
    }
    let cached = r.cached.lock().clone();
    let (id, off) = match &cached {
        Some((id, off)) => (id.clone(), (off + 1).to_string()),
        None => ("?".to_string(), "-1".to_string()),
    };
    log::notice(&format!("Trying a partial resynchronization (request {id}:{off})."));
    let rep = c.command(srv, gen, &[b"PSYNC", id.as_bytes(), off.as_bytes()])?;
    let text = String::from_utf8_lossy(&rep).into_owned();
    if let Some(rest) = text.strip_prefix("+FULLRESYNC ") {
        let mut it = rest.split_whitespace();
        let replid = it.next().unwrap_or("").to_string();
        let offset: i64 = it.next().and_then(|o| o.parse().ok()).ok_or("bad FULLRESYNC reply")?;
        log::notice(&format!("Full resync from master: {replid}:{offset}"));
        full_sync(srv, gen, &mut c, &replid, offset)?;
    } else if let Some(rest) = text.strip_prefix("+CONTINUE") {
        let (mut cid, coff) = cached.ok_or("CONTINUE without a cached master")?;
        log::notice("Successful partial resynchronization with master.");
        let new_id = rest.trim();
        if !new_id.is_empty() && new_id != cid {
            // The master's history goes on under a new id (it was promoted): ours too, the
            // old one is kept as id2 up to here so our replicas can continue with us.
            log::warning(&format!("Master replication ID changed to {new_id}"));
            *srv.introspect.replid.lock() = (new_id.to_string(), cid);
            r.second_offset.store(coff + 1, Relaxed);
            cid = new_id.to_string();
            disconnect_replicas(srv);
        } else {
            srv.introspect.replid.lock().0 = cid.clone();
        }
        srv.wstream.reset_backlog(coff as u64);
        *r.cached.lock() = Some((cid, coff));
        r.offset.store(coff, Relaxed);
        r.read_offset.store(coff, Relaxed);
    } else {
        return Err(format!("Unexpected reply to PSYNC from master: {text}"));
    }
    r.link_up.store(true, Relaxed);
    r.state.store(state::CONNECTED, Relaxed);
    log::notice("MASTER <-> REPLICA sync: Finished with success");
    stream(srv, gen, &mut c, host, port)
}

/// Read the RDB payload and load it in place of the current data.
fn full_sync(srv: &Arc<Server>, gen: u64, c: &mut Conn, replid: &str, offset: i64) -> Res<()> {
    let r = &srv.repl;
    r.state.store(state::TRANSFER, Relaxed);
    r.sync_in_progress.store(true, Relaxed);
    let head = c.reply(srv, gen)?;
    if head.first() != Some(&b'$') {
        return Err(format!("Bad protocol from MASTER, the first byte is not '$': {}", String::from_utf8_lossy(&head)));
    }
    let payload: Vec<u8> = if let Some(mark) = head.strip_prefix(b"$EOF:") {
        if mark.len() != 40 {
            return Err("bad EOF mark".into());
        }
        let mark = mark.to_vec();
        log::notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk");
        loop {
            if c.buf.len() >= 40 && c.buf.ends_with(&mark) {
                let mut p = std::mem::take(&mut c.buf);
                p.truncate(p.len() - 40);
                break p;
            }
            c.fill(srv, gen)?;
        }
    } else {
        let len: usize = std::str::from_utf8(&head[1..]).ok().and_then(|s| s.parse().ok()).ok_or("bad payload length")?;
        log::notice(&format!("MASTER <-> REPLICA sync: receiving {len} bytes from master to disk"));
        while c.buf.len() < len {
            c.fill(srv, gen)?;
        }
        let rest = c.buf.split_off(len);
        std::mem::replace(&mut c.buf, rest)
    };
    if r.generation.load(Relaxed) != gen {
        return Err("replication target changed".into());
    }
    // our replicas must resynchronize with the new history, which the backlog lacks
    disconnect_replicas(srv);
    srv.wstream.free_backlog();
    log::notice("MASTER <-> REPLICA sync: Flushing old data");
    load_payload(srv, &payload).map_err(|e| {
        log::warning(&format!("Failed trying to load the MASTER synchronization DB from socket: {e}"));
        e
    })?;
    log::notice("MASTER <-> REPLICA sync: Loading DB in memory");
    *srv.introspect.replid.lock() = (replid.to_string(), "0".repeat(40));
    r.second_offset.store(0, Relaxed);
    r.offset.store(offset, Relaxed);
    r.read_offset.store(offset, Relaxed);
    srv.wstream.reset_backlog(offset as u64);
    *r.cached.lock() = Some((replid.to_string(), offset));
    r.sync_in_progress.store(false, Relaxed);
    // The first ACK at once: a diskless master starts the stream on it.
    send_ack(c, offset)
}

fn load_payload(srv: &Server, data: &[u8]) -> Res<()> {
    let ks = &srv.keyspace;
    let mut all = ks.lock_all();
    for s in all.iter_mut() {
        s.dbs.iter_mut().for_each(|d| d.clear());
    }
    crate::scripting::functions::flush(srv);
    // now = 0: a replica keeps keys whose TTL is past (the master will send their DELs).
    let st = crate::persist::load_stream(data, &mut crate::persist::sink_into(srv, &mut all), 0)
        .map_err(|e| e.to_string())?;
    srv.repl.stream_db.store(st.stream_db.unwrap_or(0), Relaxed);
    crate::scripting::functions::load_libraries(srv, &st.functions, true)
}

fn send_ack(c: &mut Conn, offset: i64) -> Res<()> {
    c.send(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()])
}

/// Apply the master's command stream until the link breaks or the target changes.
fn stream(srv: &Arc<Server>, gen: u64, c: &mut Conn, host: &str, port: u16) -> Res<()> {
    use crate::protocol::parse::{Limits, Parsed, RequestParser};
    let r = &srv.repl;
    let id = srv.next_client_id.fetch_add(1, Relaxed);
    let h = Arc::new(ClientHandle::new(id, format!("{host}:{port}"), String::new(), -1, 0, usize::MAX, now_ms()));
    h.set_flag(cflags::MASTER, true);
    // The master client is listed (CLIENT LIST) and CLIENT KILL (TYPE master) breaks the
    // link: this thread sees `kill` and reconnects.
    srv.nclients.fetch_add(1, Relaxed);
    srv.clients.lock().insert(id, h.clone());
    struct Registered<'a>(&'a Server, Arc<ClientHandle>);
    impl Drop for Registered<'_> {
        fn drop(&mut self) {
            self.0.unregister_client(&self.1);
        }
    }
    let _registered = Registered(srv, h.clone());
    let mut info = ClientInfo::new(h.clone(), true, true);
    info.db = r.stream_db.load(Relaxed).min(srv.keyspace.ndbs.saturating_sub(1));
    let own_stats: Vec<crate::dispatch::CmdStat>;
    let stats: &[crate::dispatch::CmdStat] = match srv.workers.get() {
        Some(w) if !w.is_empty() => &w[0].cmdstats,
        _ => {
            own_stats = (0..srv.table.len()).map(|_| Default::default()).collect();
            &own_stats
        }
    };
    let limits = Limits { max_bulk_len: i64::MAX, unauthenticated: false };
    let mut out = crate::protocol::ReplyBuf::new(2);
    let mut p = RequestParser::new();
    let mut buf = std::mem::take(&mut c.buf);
    let mut last_ack = Instant::now();
    let mut offset = r.offset.load(Relaxed);
    // where the command being parsed starts (its bytes are counted and passed on whole,
    // also when it arrived in several reads)
    let mut before = 0usize;
    loop {
        // run every complete command in the buffer
        loop {
            match p.next(&buf, &limits) {
                Parsed::Command => {
                    let argv: Vec<Vec<u8>> = match &p.owned {
                        Some(o) => o.clone(),
                        None => p.args.iter().map(|a| buf[a.clone()].to_vec()).collect(),
                    };
                    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
                    let len = (p.pos() - before) as i64;
                    if argv.len() >= 2 && crate::commands::eq_ic(argv[0], "replconf") && crate::commands::eq_ic(argv[1], "getack") {
                        // the offset before this command, as Redis
                        send_ack(c, offset)?;
                        PENDING.with(|pd| *pd.borrow_mut() = Some((buf[before..p.pos()].to_vec(), (offset + len) as u64)));
                        last_ack = Instant::now();
                    } else {
                        PENDING.with(|pd| *pd.borrow_mut() = Some((buf[before..p.pos()].to_vec(), (offset + len) as u64)));
                        loop {
                            if r.generation.load(Relaxed) != gen {
                                return Err("replication target changed".into());
                            }
                            match crate::dispatch::execute(srv, stats, &mut info, &mut out, &argv) {
                                crate::dispatch::Outcome::Done => break,
                                // CLIENT PAUSE holds the master's stream too
                                crate::dispatch::Outcome::Postpone => std::thread::sleep(Duration::from_millis(10)),
                            }
                        }
                        out.buf.clear();
                        out.pushed.clear();
                    }
                    offset += len;
                    r.stream_db.store(info.db, Relaxed);
                    // GETACK, and commands that did not run to the end (queued in MULTI):
                    // passed on here; the others were, under their shard locks
                    proxy_pending(srv);
                    r.offset.store(offset, Relaxed);
                    r.read_offset.store(offset, Relaxed);
                    if let Some(cm) = r.cached.lock().as_mut() {
                        cm.1 = offset;
                    }
                    before = p.pos();
                }
                Parsed::Empty => {
                    offset += (p.pos() - before) as i64;
                    srv.wstream.feed_raw(&buf[before..p.pos()], offset as u64);
                    before = p.pos();
                    r.offset.store(offset, Relaxed);
                    r.read_offset.store(offset, Relaxed);
                    if let Some(cm) = r.cached.lock().as_mut() {
                        cm.1 = offset;
                    }
                }
                Parsed::Incomplete => break,
                Parsed::Error(e) => return Err(format!("protocol error from master: {}", String::from_utf8_lossy(&e))),
            }
        }
        buf.drain(..before);
        p.shift(before);
        before = 0;
        if last_ack.elapsed() >= Duration::from_secs(1) {
            send_ack(c, offset)?;
            last_ack = Instant::now();
        }
        if h.kill.load(Relaxed) {
            return Err("connection killed (CLIENT KILL)".into());
        }
        c.buf = std::mem::take(&mut buf);
        let res = c.fill_once(srv, gen);
        buf = std::mem::take(&mut c.buf);
        res?;
    }
}

impl Conn {
    /// One read with the socket timeout (nothing read is fine; a silent master past
    /// repl-timeout or a closed link is an error).
    fn fill_once(&mut self, srv: &Server, gen: u64) -> Res<()> {
        if srv.repl.generation.load(Relaxed) != gen {
            return Err("replication target changed".into());
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.s.read(&mut chunk) {
            Ok(0) => Err("connection lost".into()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                srv.repl.last_io_ms.store(now_ms(), Relaxed);
                Ok(())
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted) => {
                let timeout = srv.config.read().get_i64("repl-timeout").max(1) * 1000;
                if now_ms() - srv.repl.last_io_ms.load(Relaxed) > timeout {
                    return Err("MASTER timeout: no data nor PING received...".into());
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}
