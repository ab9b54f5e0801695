//! Persistence: RDB snapshots (SAVE, BGSAVE without fork, save points, shutdown save),
//! loading at start-up and DEBUG RELOAD, DUMP/RESTORE payloads.
//!
//! - `rdb`: the file format, `encodings`: packed blobs found in Redis-written files,
//!   `lzf`: string compression, `snapshot`: the copy-on-write walker used by BGSAVE,
//!   `aofbase`: an AOF base written as commands (aof-use-rdb-preamble no).
//! - Files are written to `temp-<pid>-<n>.rdb` in `dir`, fsynced, then renamed over
//!   `dbfilename`, so a crash never leaves a half-written dump under the real name.

pub mod aof;
pub mod aofbase;
pub mod encodings;
pub mod lzf;
pub mod rdb;
pub mod snapshot;

use crate::keyspace::{LockSet, Value};
use crate::log;
use crate::server::{now_ms, Server};
use rdb::RdbValue;
use snapshot::SnapCtl;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// Persistence state shown by INFO persistence.
#[derive(Default)]
pub struct PersistState {
    pub bgsave_in_progress: AtomicBool,
    pub bgsave_scheduled: AtomicBool,
    pub last_bgsave_ok: AtomicBool,
    pub last_bgsave_time_sec: AtomicI64,
    pub bgsave_started_ms: AtomicI64,
    pub loading: AtomicBool,
    pub rdb_saves: AtomicU64,
    pub last_save_keys: AtomicU64,
    /// Value of `srv.dirty` when the running background save started.
    pub dirty_before_bgsave: AtomicU64,
    pub save_seq: AtomicU64,
    /// Keys loaded / skipped as expired by the last RDB load (INFO rdb_last_load_keys_*).
    pub last_load_keys_loaded: AtomicU64,
    pub last_load_keys_expired: AtomicU64,
    /// Progress of the load in progress (INFO loading_*): start (unix s), file size,
    /// bytes read so far, the file's used-mem aux field.
    pub loading_start: AtomicI64,
    pub loading_total_bytes: AtomicU64,
    pub loading_loaded_bytes: AtomicU64,
    pub loading_rdb_used_mem: AtomicU64,
    /// FLUSHALL asks the running BGSAVE to stop (Redis kills its child).
    pub bgsave_abort: AtomicBool,
    /// Start-up is not finished: clients are held (no reply) as Redis, which does not
    /// poll connections before its event loop starts, except while a load has read
    /// `loading-process-events-interval-bytes` (then it answers -LOADING).
    pub starting: AtomicBool,
    /// loading-process-events-interval-bytes, read at start-up.
    pub events_interval: AtomicU64,
    /// Snapshots armed for BGSAVE and AOF rewrites, our counterpart of Redis's forks
    /// (INFO total_forks), and how long the last arming held every shard (latest_fork_usec).
    pub total_forks: AtomicU64,
    pub latest_fork_usec: AtomicU64,
    /// Keys in the dataset when the running BGSAVE started; COW size of the last one.
    pub save_keys_total: AtomicU64,
    pub last_cow_size: AtomicU64,
}

impl PersistState {
    pub fn new() -> PersistState {
        let s = PersistState::default();
        s.last_bgsave_ok.store(true, Relaxed);
        s.last_bgsave_time_sec.store(-1, Relaxed);
        s
    }
}

/// Our value -> its RDB form. None for types without one yet.
pub fn value_to_rdb(v: &Value) -> Option<RdbValue> {
    match v {
        Value::Int(_) | Value::Inline(_) | Value::Heap(_) => Some(RdbValue::Str(v.as_bytes()?.into_owned())),
        _ => crate::types::to_rdb(v),
    }
}

/// An RDB value -> ours.
pub fn rdb_to_value(v: RdbValue) -> Result<Value, String> {
    match v {
        RdbValue::Str(s) => Ok(Value::from_vec(s)),
        other => crate::types::from_rdb(other),
    }
}

fn rdb_path(srv: &Server) -> PathBuf {
    PathBuf::from(srv.config.read().get_str("dbfilename"))
}

fn temp_path() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    PathBuf::from(format!("temp-{}-{}.rdb", std::process::id(), N.fetch_add(1, Relaxed)))
}

fn aux_fields(srv: &Server, aof_base: bool) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("redis-ver", crate::server::REDIS_VERSION.to_string()),
        ("redis-bits", "64".to_string()),
        ("ctime", (now_ms() / 1000).to_string()),
        ("used-mem", crate::server::rss_bytes().to_string()),
    ];
    // The replication history the data belongs to, as Redis's rdbPopulateSaveInfo: on a
    // replica (its replicas continue in the db its master's stream selected; after a
    // restart it asks its master to continue from here) and on a master with a backlog.
    let replica = srv.repl.is_replica();
    if replica || srv.wstream.backlog_info().is_some() {
        let db = if replica { srv.repl.stream_db.load(Relaxed) } else { srv.wstream.stream_db().unwrap_or(0) };
        v.push(("repl-stream-db", db.to_string()));
        v.push(("repl-id", srv.introspect.replid.lock().0.clone()));
        v.push(("repl-offset", srv.wstream.offset.load(Relaxed).to_string()));
    }
    v.push(("aof-base", if aof_base { "1" } else { "0" }.to_string()));
    if !srv.run_id.is_empty() {
        v.push(("ferrodis-ver", crate::server::FERRODIS_VERSION.to_string()));
    }
    v
}

/// The form of a file a snapshot is written as.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    /// A dump (`dbfilename`, replication payloads): aux field aof-base 0.
    Rdb,
    /// An AOF base in RDB form (aof-use-rdb-preamble yes): aux field aof-base 1.
    AofRdb,
    /// An AOF base as commands (aof-use-rdb-preamble no): `aofbase`.
    AofCommands,
}

impl FileKind {
    pub fn is_aof_base(self) -> bool {
        self != FileKind::Rdb
    }

    /// The kind of AOF base the config asks for.
    pub fn aof_base(srv: &Server) -> FileKind {
        if srv.config.read().get_bool("aof-use-rdb-preamble") {
            FileKind::AofRdb
        } else {
            FileKind::AofCommands
        }
    }
}

type FileBuf = std::io::BufWriter<std::fs::File>;

/// A file being written: RDB, or commands (`aofbase`). Both take key records as
/// `snapshot::encode_entry` makes them.
enum Out {
    Rdb(rdb::Writer<FileBuf>, bool),
    Aof(aofbase::Writer<FileBuf>),
}

impl Out {
    /// Create `tmp` and write the file's head (RDB header and aux fields, or the
    /// `#TS:` annotation with aof-timestamp-enabled), then the function libraries.
    fn create(srv: &Server, tmp: &std::path::Path, kind: FileKind, compress: bool, functions: &[Vec<u8>]) -> std::io::Result<Out> {
        let f = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(tmp)?);
        let (checksum, timestamps) = {
            let c = srv.config.read();
            (c.get_bool("rdbchecksum"), c.get_bool("aof-timestamp-enabled"))
        };
        if kind == FileKind::AofCommands {
            let mut w = aofbase::Writer::new(f);
            if timestamps {
                w.timestamp(now_ms() / 1000)?;
            }
            w.functions(functions)?;
            return Ok(Out::Aof(w));
        }
        let mut w = rdb::Writer::new(f, compress);
        w.header(&aux_fields(srv, kind.is_aof_base()))?;
        write_functions(functions, &mut w)?;
        Ok(Out::Rdb(w, checksum))
    }

    fn select_db(&mut self, db: usize, size: usize, expires: usize) -> std::io::Result<()> {
        match self {
            Out::Rdb(w, _) => w.select_db(db, size, expires),
            Out::Aof(w) => w.select_db(db),
        }
    }

    fn records(&mut self, recs: &[u8]) -> std::io::Result<()> {
        match self {
            Out::Rdb(w, _) => w.raw(recs),
            Out::Aof(w) => w.records(recs),
        }
    }

    /// Finish, fsync and rename over `dst`. Returns the bytes written.
    fn finish(self, tmp: &std::path::Path, dst: &std::path::Path) -> std::io::Result<u64> {
        match self {
            Out::Rdb(w, checksum) => finish_file(w, checksum, tmp, dst),
            Out::Aof(w) => {
                let (buf, written) = w.finish()?;
                sync_and_rename(buf, tmp, dst)?;
                Ok(written)
            }
        }
    }
}

fn finish_file(w: rdb::Writer<FileBuf>, checksum: bool, tmp: &std::path::Path, dst: &std::path::Path) -> std::io::Result<u64> {
    let written = w.written + 9;
    let buf = w.finish(checksum)?;
    sync_and_rename(buf, tmp, dst)?;
    Ok(written)
}

fn sync_and_rename(buf: FileBuf, tmp: &std::path::Path, dst: &std::path::Path) -> std::io::Result<()> {
    let f = buf.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    std::fs::rename(tmp, dst)?;
    if let Ok(d) = std::fs::File::open(dst.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."))) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The function libraries, right after the header like Redis.
fn write_functions<W: std::io::Write>(codes: &[Vec<u8>], w: &mut rdb::Writer<W>) -> std::io::Result<()> {
    for code in codes {
        w.byte(rdb::OP_FUNCTION2)?;
        w.string(code)?;
    }
    Ok(())
}

/// SAVE: write the whole dataset with every shard already locked by the caller.
pub fn save_locked(srv: &Server, locks: &LockSet) -> Result<(), String> {
    let dst = rdb_path(srv);
    match write_locked(srv, locks, &dst, FileKind::Rdb) {
        Ok(keys) => {
            srv.persist.last_save_keys.store(keys, Relaxed);
            srv.dirty.store(0, Relaxed);
            srv.lastsave.store(now_ms() / 1000, Relaxed);
            srv.persist.last_bgsave_ok.store(true, Relaxed);
            log::notice("DB saved on disk");
            Ok(())
        }
        Err(e) => {
            log::warning(&format!("Failed saving the DB (in server root dir {}): {e}", cwd()));
            srv.persist.last_bgsave_ok.store(false, Relaxed);
            Err(e.to_string())
        }
    }
}

/// Write the whole dataset, every shard locked by the caller, as a file of `kind` at
/// `dst` (temp name, fsync, rename). Returns the number of keys.
pub fn write_locked(srv: &Server, locks: &LockSet, dst: &std::path::Path, kind: FileKind) -> std::io::Result<u64> {
    write_locked_filtered(srv, locks, dst, kind, true, true)
}

/// `write_locked` with parts left out (a replica's REPLCONF rdb-filter-only): without
/// `data` no database is written, without `functions` no function library.
pub fn write_locked_filtered(
    srv: &Server,
    locks: &LockSet,
    dst: &std::path::Path,
    kind: FileKind,
    data: bool,
    functions: bool,
) -> std::io::Result<u64> {
    let compress = srv.config.read().get_bool("rdbcompression");
    // Redis's foreground rdbSave writes temp-<pid>.rdb (a second SIGINT during the final
    // save removes exactly that file).
    let tmp = dst.with_file_name(format!("temp-{}.rdb", std::process::id()));
    let delay = srv.config.read().get_i64("rdb-key-save-delay");
    let clock = snapshot::ClockSave::of(srv);
    let res = (|| -> std::io::Result<u64> {
        let codes = if functions { crate::scripting::functions::library_codes(srv) } else { Vec::new() };
        let mut w = Out::create(srv, &tmp, kind, compress, &codes)?;
        let mut keys = 0u64;
        for db in 0..if data { srv.keyspace.ndbs } else { 0 } {
            let size: usize = locks.iter().map(|s| s.dbs[db].len()).sum();
            if size == 0 {
                continue;
            }
            let expires: usize = locks.iter().map(|s| s.dbs[db].expires_len()).sum();
            w.select_db(db, size, expires)?;
            let mut rec = Vec::with_capacity(1 << 16);
            for s in locks.iter() {
                let d = &s.dbs[db];
                let mut err = None;
                d.dict.for_each(|e| {
                    if err.is_none() && !snapshot::encode_entry(d, e, compress, clock, &mut rec) {
                        err = Some(String::from_utf8_lossy(e.key()).into_owned());
                    }
                    keys += 1;
                    if delay > 0 {
                        // rdb-key-save-delay (a test knob): the blocking save is slow on purpose
                        std::thread::sleep(std::time::Duration::from_micros(delay as u64));
                    }
                });
                if let Some(k) = err {
                    return Err(std::io::Error::other(format!("cannot serialize key '{k}': type has no RDB form yet")));
                }
                if rec.len() > 1 << 16 {
                    w.records(&rec)?;
                    rec.clear();
                }
            }
            w.records(&rec)?;
        }
        w.finish(&tmp, dst)?;
        Ok(keys)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn cwd() -> String {
    std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default()
}

/// Start a background save with every shard already locked by the caller (the BGSAVE
/// command, registered ALL_SHARDS). Err(text) if one is already running.
pub fn bgsave_locked(srv: &Server, all: &mut LockSet) -> Result<(), &'static str> {
    if srv.persist.bgsave_in_progress.swap(true, Relaxed) {
        return Err("ERR Background save already in progress");
    }
    if srv.aof.rewrite_in_progress.load(Relaxed) {
        // one armed snapshot at a time (Redis: one child process)
        srv.persist.bgsave_in_progress.store(false, Relaxed);
        return Err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    // INFO rdb_saves counts the saves started (SAVE and BGSAVE, as Redis's stat_rdb_saves),
    // not DEBUG RELOAD's or SHUTDOWN's
    srv.persist.rdb_saves.fetch_add(1, Relaxed);
    let armed = arm(srv, all);
    srv.persist.bgsave_abort.store(false, Relaxed);
    snapshot::COW_BYTES.store(0, Relaxed);
    snapshot::KEYS_DONE.store(0, Relaxed);
    srv.persist.save_keys_total.store(armed.sizes.iter().map(|s| s.0 as u64).sum(), Relaxed);
    srv.persist.dirty_before_bgsave.store(srv.dirty.load(Relaxed), Relaxed);
    srv.persist.bgsave_started_ms.store(now_ms(), Relaxed);
    log::notice("Background saving started by snapshot thread (no fork)");
    let srv2 = srv.arc();
    let spawned = std::thread::Builder::new().name("ferrodis-bgsave".into()).spawn(move || {
        let start = std::time::Instant::now();
        let res = write_snapshot(&srv2, &armed, &rdb_path(&srv2), FileKind::Rdb);
        let p = &srv2.persist;
        p.last_bgsave_time_sec.store(start.elapsed().as_secs() as i64, Relaxed);
        p.last_cow_size.store(snapshot::COW_BYTES.load(Relaxed), Relaxed);
        match res {
            Ok(()) => {
                let before = p.dirty_before_bgsave.load(Relaxed);
                let _ = srv2.dirty.fetch_update(Relaxed, Relaxed, |d| Some(d.saturating_sub(before)));
                srv2.lastsave.store(now_ms() / 1000, Relaxed);
                p.last_bgsave_ok.store(true, Relaxed);
                log::notice("Background saving terminated with success");
            }
            Err(_) if p.bgsave_abort.load(Relaxed) => {
                // stopped on purpose (FLUSHALL): not a failure, as Redis's SIGUSR1 kill
                log::warning("Background saving terminated by signal 10");
            }
            Err(e) => {
                p.last_bgsave_ok.store(false, Relaxed);
                log::warning(&format!("Background saving error: {e}"));
            }
        }
        p.bgsave_in_progress.store(false, Relaxed);
    });
    if spawned.is_err() {
        srv.persist.bgsave_in_progress.store(false, Relaxed);
        return Err("ERR could not start the background save thread");
    }
    Ok(())
}

/// Start a background save from outside a command (cron, save points).
pub fn bgsave(srv: &Server) -> Result<(), &'static str> {
    let mut all = srv.keyspace.lock_all();
    bgsave_locked(srv, &mut all)
}

/// DEBUG RELOAD: save, empty the dataset, load the file back (all shards locked).
pub fn debug_reload(srv: &Server, all: &mut LockSet) -> Result<(), String> {
    save_locked(srv, all)?;
    for s in all.iter_mut() {
        for d in s.dbs.iter_mut() {
            d.clear();
        }
    }
    crate::scripting::functions::flush(srv);
    let st = load_into(srv, all)?;
    crate::scripting::functions::load_libraries(srv, &st.functions, false)
}

/// Load `dbfilename` into the locked keyspace (existing keys with the same name are replaced).
pub fn load_into(srv: &Server, all: &mut LockSet) -> Result<LoadStats, String> {
    let path = rdb_path(srv);
    let f = std::fs::File::open(&path).map_err(|e| format!("Error trying to load the RDB dump: {e}"))?;
    let p = &srv.persist;
    // INFO rdb_last_load_keys_*: of the last RDB load, whatever started it (as Redis)
    p.last_load_keys_loaded.store(0, Relaxed);
    p.last_load_keys_expired.store(0, Relaxed);
    let st = load_stream(std::io::BufReader::with_capacity(1 << 16, f), &mut sink_into(srv, all), now_ms())
        .map_err(|e| e.to_string())?;
    p.last_load_keys_loaded.store(st.keys, Relaxed);
    p.last_load_keys_expired.store(st.expired, Relaxed);
    Ok(st)
}

/// A `Sink` putting each loaded key into the keyspace whose shards `all` holds (keys of
/// databases this server does not have are dropped).
pub fn sink_into<'a, 'l: 'a>(
    srv: &'a Server,
    all: &'a mut LockSet<'l>,
) -> impl FnMut(usize, Vec<u8>, Value, Option<i64>, LoadedClock) + use<'a, 'l> {
    let ks = &srv.keyspace;
    let now = now_ms();
    move |db, key, v, exp, clock| {
        if db < ks.ndbs {
            all.shard(ks.shard_of(&key)).dbs[db].put_loaded(&key, v, exp, clock.lru_value(srv, now));
        }
    }
}

/// The access-clock opcodes read before a key (Redis's RDB_OPCODE_IDLE / RDB_OPCODE_FREQ).
#[derive(Clone, Copy, Default)]
pub struct LoadedClock {
    pub idle_secs: Option<u64>,
    pub freq: Option<u8>,
}

impl LoadedClock {
    /// The key's `Entry::lru`, as Redis's createObject + objectSetLRUOrLFU: the clock of a
    /// new key under the current policy, with the file's counter under an LFU policy or
    /// its idle time under an LRU one.
    pub fn lru_value(&self, srv: &Server, now: i64) -> u32 {
        use crate::keyspace::lru;
        let policy = srv.hot.maxmemory_policy.load(Relaxed);
        if policy & lru::POLICY_FLAG_LFU != 0 {
            return self.freq.map_or_else(|| lru::lfu_init(now), |f| lru::lfu_with_counter(f, now));
        }
        match self.idle_secs {
            Some(s) if policy & lru::POLICY_FLAG_LRU != 0 => lru::lru_for_idle(s.min(i64::MAX as u64) as i64, now),
            _ => lru::lru_clock(now),
        }
    }
}

const BUCKETS_PER_BATCH: usize = 512;

/// A snapshot armed at one instant: the db parts to walk, in db order, and each db's
/// size at that instant (for RESIZEDB).
pub struct Armed {
    pub list: Vec<(usize, Arc<SnapCtl>)>,
    /// Set to stop this snapshot (`disarm` does it): the walker ends without a file.
    pub abort: Arc<AtomicBool>,
    sizes: Vec<(usize, usize)>,
    /// The function libraries at arming time (written before the keys).
    functions: Vec<Vec<u8>>,
}

/// Arm a snapshot on every non-empty db part. The caller holds every shard lock, so the
/// snapshot is of one instant.
pub fn arm(srv: &Server, all: &mut LockSet) -> Armed {
    let started = std::time::Instant::now();
    let compress = srv.config.read().get_bool("rdbcompression");
    let clock = snapshot::ClockSave::of(srv);
    let mut list: Vec<(usize, Arc<SnapCtl>)> = Vec::new();
    let mut sizes = vec![(0usize, 0usize); srv.keyspace.ndbs];
    for (si, shard) in all.guards.iter_mut() {
        for (dbi, d) in shard.dbs.iter_mut().enumerate() {
            if d.is_empty() {
                continue;
            }
            sizes[dbi].0 += d.len();
            sizes[dbi].1 += d.expires_len();
            d.dict.finish_rehash();
            d.dict.pause_rehash();
            let ctl = Arc::new(SnapCtl::new(dbi, compress, clock));
            d.snap = Some(ctl.clone());
            list.push((*si, ctl));
        }
    }
    list.sort_by_key(|(si, c)| (c.db, *si));
    srv.persist.total_forks.fetch_add(1, Relaxed);
    srv.persist.latest_fork_usec.store(started.elapsed().as_micros() as u64, Relaxed);
    Armed { list, sizes, functions: crate::scripting::functions::library_codes(srv), abort: Arc::new(AtomicBool::new(false)) }
}

/// Stop an armed snapshot at once, with every shard locked by the caller: its db parts go
/// back to normal here (the walker, which may still hold a batch, then finds nothing left
/// to walk and drops its file).
pub fn disarm(all: &mut LockSet, list: &[(usize, Arc<SnapCtl>)], abort: &AtomicBool) {
    abort.store(true, Relaxed);
    for (si, shard) in all.guards.iter_mut() {
        for d in shard.dbs.iter_mut() {
            let Some(ctl) = d.snap.clone() else { continue };
            if !list.iter().any(|(s, c)| s == si && Arc::ptr_eq(c, &ctl)) {
                continue;
            }
            let detached = {
                let mut st = ctl.state.lock();
                st.skip = Default::default();
                st.captured = Vec::new();
                st.detached.take()
            };
            // as the walker's end: a flushed db part's new dict was never paused
            if detached.is_none() {
                d.dict.resume_rehash();
            }
            d.snap = None;
        }
    }
}

/// Walk an armed snapshot into a file of `kind` at `dst` (written to a temp name,
/// fsynced, renamed).
pub fn write_snapshot(srv: &Server, armed: &Armed, dst: &std::path::Path, kind: FileKind) -> Result<(), String> {
    write_snapshot_via(srv, armed, &snapshot_temp_path(dst), dst, kind)
}

/// The temp name a snapshot for `dst` is written under (beside it, unique).
pub fn snapshot_temp_path(dst: &std::path::Path) -> PathBuf {
    dst.with_file_name(temp_path())
}

/// `write_snapshot` through the temp file `tmp`.
pub fn write_snapshot_via(srv: &Server, armed: &Armed, tmp: &std::path::Path, dst: &std::path::Path, kind: FileKind) -> Result<(), String> {
    let aof_base = kind.is_aof_base();
    let tmp = tmp.to_path_buf();
    let dst = dst.to_path_buf();
    let (list, sizes) = (&armed.list, &armed.sizes);
    let res = (|| -> std::io::Result<()> {
        let compress = list.first().map_or(true, |a| a.1.compress);
        let mut w = Out::create(srv, &tmp, kind, compress, &armed.functions)?;
        let mut current_db = usize::MAX;
        let mut out = Vec::with_capacity(1 << 16);
        // rdb-key-save-delay (µs per key, a test knob): slept after each batch, with the
        // shard unlocked, so clients are not held up.
        let mut delay = srv.config.read().get_i64("rdb-key-save-delay");
        for (si, ctl) in list {
            if ctl.db != current_db {
                current_db = ctl.db;
                w.select_db(ctl.db, sizes[ctl.db].0, sizes[ctl.db].1)?;
            }
            loop {
                let before = snapshot::KEYS_DONE.load(Relaxed);
                let done = walk_batch(srv, *si, ctl, &mut out, if delay > 0 { 1 } else { BUCKETS_PER_BATCH });
                w.records(&out)?;
                out.clear();
                if !done && aborted(srv, armed, aof_base) {
                    return Err(std::io::Error::other("aborted"));
                }
                // (after the last batch too: Redis sleeps after every key it writes)
                if delay > 0 {
                    let n = snapshot::KEYS_DONE.load(Relaxed).saturating_sub(before);
                    delay = key_save_delay(srv, armed, aof_base, delay.saturating_mul(n as i64));
                }
                if done {
                    break;
                }
            }
        }
        if aborted(srv, armed, aof_base) {
            return Err(std::io::Error::other("aborted"));
        }
        w.finish(&tmp, &dst)?;
        Ok(())
    })();
    if res.is_err() {
        // make sure no db part stays armed
        for (si, ctl) in list {
            while !walk_batch(srv, *si, ctl, &mut Vec::new(), BUCKETS_PER_BATCH) {}
        }
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(|e| e.to_string())
}

/// The running snapshot is to stop: FLUSHALL during a BGSAVE, the AOF turned off during
/// a rewrite (`disarm`).
fn aborted(srv: &Server, armed: &Armed, aof_base: bool) -> bool {
    armed.abort.load(Relaxed) || (!aof_base && srv.persist.bgsave_abort.load(Relaxed))
}

/// Sleep `total_us` for rdb-key-save-delay in slices, re-reading the knob (set back to 0,
/// the save goes on at full speed) and stopping early when the BGSAVE is aborted.
/// Returns the knob's current value.
fn key_save_delay(srv: &Server, armed: &Armed, aof_base: bool, total_us: i64) -> i64 {
    let mut left = total_us.max(0) as u64;
    loop {
        let delay = srv.config.read().get_i64("rdb-key-save-delay");
        if left == 0 || delay <= 0 || aborted(srv, armed, aof_base) {
            return delay;
        }
        let step = left.min(10_000);
        std::thread::sleep(std::time::Duration::from_micros(step));
        left -= step;
    }
}

/// Write the next batch of buckets of one armed db part into `out`. True when finished
/// (the db part is disarmed then).
fn walk_batch(srv: &Server, si: usize, ctl: &Arc<SnapCtl>, out: &mut Vec<u8>, buckets: usize) -> bool {
    let mut shard = srv.keyspace.shards[si].lock();
    let Some(pos) = shard.dbs.iter().position(|d| d.snap.as_ref().is_some_and(|c| Arc::ptr_eq(c, ctl))) else {
        return true;
    };
    let db = &mut shard.dbs[pos];
    let mut st = ctl.state.lock();
    out.extend_from_slice(&st.captured);
    st.captured.clear();
    let detached = st.detached.take();
    let finished = {
        let src = detached.as_deref().unwrap_or(db);
        let total = src.dict.bucket_count();
        let end = (st.cursor + buckets).min(total);
        let mut n = 0u64;
        for b in st.cursor..end {
            src.dict.for_bucket(b, |e| {
                if !st.skip.contains(&(e as *const _ as usize)) {
                    snapshot::encode_entry(src, e, ctl.compress, ctl.clock, out);
                    n += 1;
                }
            });
        }
        snapshot::KEYS_DONE.fetch_add(n, Relaxed);
        st.cursor = end;
        end >= total
    };
    if finished {
        st.skip = Default::default();
        drop(st);
        if detached.is_none() {
            db.dict.resume_rehash();
        }
        db.snap = None;
        drop(detached);
    } else {
        st.detached = detached;
    }
    finished
}

/// Where a loaded key goes: (db, key, value, expire ms, its access-clock opcodes).
pub type Sink<'a> = dyn FnMut(usize, Vec<u8>, Value, Option<i64>, LoadedClock) + 'a;

pub struct LoadStats {
    pub keys: u64,
    pub expired: u64,
    pub version: u16,
    /// Function library payloads found (`scripting::functions::load_libraries` loads them).
    pub functions: Vec<Vec<u8>>,
    /// The `repl-stream-db` aux field: the db a replica's master stream continues in.
    pub stream_db: Option<usize>,
    /// The `repl-id` and `repl-offset` aux fields: the replication history of the data.
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    /// Keys skipped as expired, when the RDB has a `repl-id` (db, key).
    pub expired_keys: Vec<(usize, Vec<u8>)>,
    /// Bytes of the stream the RDB took (an RDB-preamble AOF continues with commands).
    pub consumed: u64,
    /// Empty collections found and skipped.
    pub empty_skipped: u64,
}

/// Read an RDB stream, handing each live key to `sink`.
pub fn load_stream<R: std::io::Read>(r: R, sink: &mut Sink, now: i64) -> Result<LoadStats, rdb::RdbError> {
    load_stream_with(r, sink, now, None)
}

/// `load_stream` that also publishes its progress in `progress` (INFO loading_*).
pub fn load_stream_with<R: std::io::Read>(
    r: R,
    sink: &mut Sink,
    now: i64,
    progress: Option<&PersistState>,
) -> Result<LoadStats, rdb::RdbError> {
    let mut rd = rdb::Reader::new(r);
    let magic = rd.exact(9)?;
    if &magic[..5] != b"REDIS" {
        return Err(rdb::RdbError { offset: 0, msg: "Wrong signature trying to load DB from file".into() });
    }
    let version: u16 = std::str::from_utf8(&magic[5..]).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if version < 1 || version > rdb::RDB_MAX_VERSION {
        return Err(rdb::RdbError { offset: 5, msg: format!("Can't handle RDB format version {version}") });
    }
    let mut st = LoadStats { keys: 0, expired: 0, version, functions: Vec::new(), stream_db: None, repl_id: None, repl_offset: None, expired_keys: Vec::new(), consumed: 0, empty_skipped: 0 };
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    let mut clock = LoadedClock::default();
    loop {
        let op = rd.byte()?;
        match op {
            rdb::OP_EXPIRETIME_MS => expire = Some(rd.i64_le()?),
            rdb::OP_EXPIRETIME => expire = Some(rd.u32_le()? as i64 * 1000),
            rdb::OP_IDLE => clock.idle_secs = Some(rd.len()?),
            rdb::OP_FREQ => clock.freq = Some(rd.byte()?),
            rdb::OP_SELECTDB => {
                db = rd.len()? as usize;
            }
            rdb::OP_RESIZEDB => {
                rd.len()?;
                rd.len()?;
            }
            rdb::OP_AUX => {
                let k = rd.string()?;
                let v = rd.string()?;
                if k == b"repl-stream-db" {
                    st.stream_db = crate::util::numfmt::parse_i64(&v).and_then(|d| usize::try_from(d).ok());
                } else if k == b"repl-id" {
                    st.repl_id = (v.len() == 40).then(|| String::from_utf8_lossy(&v).into_owned());
                } else if k == b"repl-offset" {
                    st.repl_offset = crate::util::numfmt::parse_i64(&v);
                } else if k == b"redis-ver" {
                    log::notice(&format!("Loading RDB produced by version {}", String::from_utf8_lossy(&v)));
                } else if k == b"ctime" {
                    if let Some(t) = crate::util::numfmt::parse_i64(&v) {
                        log::notice(&format!("RDB age {} seconds", (now / 1000 - t).max(0)));
                    }
                } else if k == b"used-mem" {
                    if let Some(m) = crate::util::numfmt::parse_i64(&v) {
                        if let Some(p) = progress {
                            p.loading_rdb_used_mem.store(m.max(0) as u64, Relaxed);
                        }
                        log::notice(&format!("RDB memory usage when created {:.2} Mb", m as f64 / 1048576.0));
                    }
                }
            }
            rdb::OP_MODULE_AUX => {
                let name = rdb::module_type_name(rd.len()?);
                let msg = format!("The RDB file contains AUX module data I can't load: no matching module '{name}'");
                return Err(rdb::RdbError { offset: rd.pos, msg });
            }
            rdb::OP_FUNCTION2 | rdb::OP_FUNCTION => {
                let code = crate::scripting::functions::read_function_record(&mut rd, op)
                    .map_err(|msg| rdb::RdbError { offset: rd.pos, msg })?;
                st.functions.push(code);
            }
            rdb::OP_EOF => {
                if version >= 5 {
                    let expected = rd.crc_so_far();
                    let got = rd.u64_le()?;
                    if got != 0 && got != expected {
                        log::warning(&format!("Wrong RDB checksum expected: ({got:x}) got ({expected:x}). Aborting now."));
                        return Err(rdb::RdbError { offset: rd.pos, msg: "RDB CRC error".into() });
                    }
                }
                st.consumed = rd.pos;
                return Ok(st);
            }
            t => {
                let key = rd.string()?;
                let off = rd.pos;
                let v = rd.value(t)?;
                if v.is_empty_collection() {
                    st.empty_skipped += 1;
                    log::notice(&format!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key)));
                    expire = None;
                    clock = LoadedClock::default();
                    continue;
                }
                let value = rdb_to_value(v).map_err(|msg| rdb::RdbError { offset: off, msg })?;
                if let Some(p) = progress {
                    p.loading_loaded_bytes.store(rd.pos, Relaxed);
                }
                let key_clock = std::mem::take(&mut clock);
                match expire.take() {
                    Some(t) if t <= now => {
                        st.expired += 1;
                        // data of a replication history: a master restarted from it tells
                        // its replicas (Redis feeds these DELs to its backlog)
                        if st.repl_id.is_some() {
                            st.expired_keys.push((db, key));
                        }
                    }
                    e => {
                        sink(db, key, value, e, key_clock);
                        st.keys += 1;
                    }
                }
            }
        }
    }
}

/// Load `dbfilename` at start-up. Clients are already being served: until the load is
/// done they get -LOADING for every command that is not allowed while loading (the
/// dispatcher checks `loading`), and INFO shows the progress. Each key is inserted under
/// its shard's lock alone, so the commands that do run (INFO, DEBUG, CONFIG ...) are never
/// held up for more than one key. Missing file: Ok (an empty dataset).
pub fn load_at_startup(srv: &Server) -> Result<(), String> {
    let path = rdb_path(srv);
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = std::time::Instant::now();
    begin_loading(srv, total);
    let delay = srv.config.read().get_i64("key-load-delay");
    let ndbs = srv.keyspace.ndbs;
    let ks = &srv.keyspace;
    let now = now_ms();
    let mut sink = |db: usize, key: Vec<u8>, v: Value, exp: Option<i64>, clock: LoadedClock| {
        if db >= ndbs {
            return;
        }
        let lru = clock.lru_value(srv, now);
        ks.shards[ks.shard_of(&key)].lock().dbs[db].put_loaded(&key, v, exp, lru);
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_micros(delay as u64));
        }
    };
    let res = load_stream_with(std::io::BufReader::with_capacity(1 << 16, f), &mut sink, now_ms(), Some(&srv.persist))
        .map_err(|e| (e.offset, e.msg))
        .and_then(|st| {
            crate::scripting::functions::load_libraries(srv, &st.functions, false).map(|()| st).map_err(|e| (0, e))
        });
    match res {
        Ok(st) => {
            srv.persist.last_load_keys_loaded.store(st.keys, Relaxed);
            srv.persist.last_load_keys_expired.store(st.expired, Relaxed);
            if st.empty_skipped > 0 {
                log::notice(&format!(
                    "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
                    st.keys, st.expired, st.empty_skipped
                ));
            } else {
                log::notice(&format!("Done loading RDB, keys loaded: {}, keys expired: {}.", st.keys, st.expired));
            }
            log::notice(&format!("DB loaded from disk: {:.3} seconds", start.elapsed().as_secs_f64()));
            if let (Some(id), Some(off), Some(db)) = (st.repl_id, st.repl_offset, st.stream_db) {
                crate::replica::restore_history(srv, id, off.max(0), db, &st.expired_keys);
            }
            Ok(())
        }
        Err((off, msg)) => {
            // Redis's rdbReportCorruptRDB + rdbCheckThenExit, which also runs the
            // redis-check-rdb report on the file before exiting.
            let err = format!("Internal error in RDB reading offset 0, function at rdb.c:0 -> {msg}");
            if msg == rdb::UNEXPECTED_EOF {
                log::warning("Short read or OOM loading DB. Unrecoverable error, aborting now.");
            }
            log::warning(&err);
            log::raw(&format!("[offset {off}] Checking RDB file {}\n", path.display()));
            log::raw("--- RDB ERROR DETECTED ---\n");
            log::raw(&format!("[offset {off}] {err}\n"));
            Err("Terminating server after rdb file reading failure.".into())
        }
    }
}

/// Mark the start of a load of `total` bytes (INFO loading:1 and loading_*).
pub fn begin_loading(srv: &Server, total: u64) {
    let p = &srv.persist;
    p.loading_start.store(now_ms() / 1000, Relaxed);
    p.loading_total_bytes.store(total, Relaxed);
    p.loading_loaded_bytes.store(0, Relaxed);
    p.loading_rdb_used_mem.store(0, Relaxed);
    p.loading.store(true, Relaxed);
    crate::keyspace::NO_EXPIRY.store(true, Relaxed);
}

pub fn end_loading(srv: &Server) {
    srv.persist.loading.store(false, Relaxed);
    crate::keyspace::NO_EXPIRY.store(false, Relaxed);
}

/// Start-up begins (before the listeners are served): see `PersistState::starting`.
pub fn begin_startup(srv: &Server) {
    let interval = srv.config.read().get_i64("loading-process-events-interval-bytes").max(0) as u64;
    srv.persist.events_interval.store(interval, Relaxed);
    srv.persist.starting.store(true, Relaxed);
}

/// Start-up is over: held clients run now.
pub fn end_startup(srv: &Server) {
    srv.persist.starting.store(false, Relaxed);
    if let Some(ws) = srv.workers.get() {
        for w in ws {
            w.send(crate::net::worker::WakeMsg::Unpause);
        }
    }
}

/// How a real client's command is treated now: Some(false) = hold it (start-up, no
/// events processed yet), Some(true) = answer -LOADING unless the command is allowed while
/// loading, None = run normally.
#[inline]
pub fn startup_gate(srv: &Server) -> Option<bool> {
    let p = &srv.persist;
    if !p.starting.load(Relaxed) && !p.loading.load(Relaxed) {
        return None;
    }
    if p.loading.load(Relaxed) && p.loading_loaded_bytes.load(Relaxed) >= p.events_interval.load(Relaxed) {
        return Some(true);
    }
    if p.starting.load(Relaxed) {
        Some(false)
    } else {
        Some(true)
    }
}

/// The INFO loading_* lines (only while loading, as Redis).
pub fn loading_info(srv: &Server) -> String {
    let p = &srv.persist;
    if !p.loading.load(Relaxed) {
        return String::new();
    }
    let start = p.loading_start.load(Relaxed);
    let total = p.loading_total_bytes.load(Relaxed);
    let loaded = p.loading_loaded_bytes.load(Relaxed);
    let elapsed = (now_ms() / 1000 - start).max(0);
    let perc = if total > 0 { loaded as f64 * 100.0 / total as f64 } else { 0.0 };
    let eta = if elapsed == 0 || loaded == 0 {
        1
    } else {
        ((total.saturating_sub(loaded)) as f64 / (loaded as f64 / elapsed as f64)) as i64
    };
    format!(
        "loading_start_time:{start}\r\nloading_total_bytes:{total}\r\nloading_rdb_used_mem:{}\r\nloading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
        p.loading_rdb_used_mem.load(Relaxed)
    )
}

/// Start-up (called after `begin_startup`): with `appendonly yes` the AOF is the source of truth (Redis ignores the RDB
/// then); otherwise the RDB file is loaded. Then the AOF machinery is initialised.
pub fn load_data(srv: &Server) -> Result<(), String> {
    if !srv.config.read().get_bool("appendonly") {
        load_at_startup(srv)?;
    }
    let res = aof::start(srv);
    end_loading(srv);
    end_startup(srv);
    res
}

/// Shutdown with save points (or SHUTDOWN SAVE): a blocking save.
pub fn save_on_shutdown(srv: &Server) -> Result<(), String> {
    let all = srv.keyspace.lock_all();
    save_locked(srv, &all)
}

/// Cron: start a BGSAVE when a `save <seconds> <changes>` point is reached, or when one
/// was scheduled (BGSAVE SCHEDULE).
pub fn cron(srv: &Server) {
    let p = &srv.persist;
    // as Redis, neither a scheduled save nor a save point starts while an AOF rewrite runs
    if p.bgsave_in_progress.load(Relaxed) || srv.aof.rewrite_in_progress.load(Relaxed) {
        return;
    }
    if p.bgsave_scheduled.swap(false, Relaxed) {
        let _ = bgsave(srv);
        return;
    }
    let dirty = srv.dirty.load(Relaxed);
    if dirty == 0 {
        return;
    }
    let now = now_ms() / 1000;
    let elapsed = now - srv.lastsave.load(Relaxed);
    let points = srv.config.read().save_params();
    for sp in points {
        if dirty >= sp.changes && elapsed >= sp.seconds as i64 {
            // After a failed save, wait 5 s before trying again (CONFIG_BGSAVE_RETRY_DELAY).
            if !p.last_bgsave_ok.load(Relaxed) && now - p.bgsave_started_ms.load(Relaxed) / 1000 < 5 {
                return;
            }
            log::notice(&format!("{} changes in {} seconds. Saving...", sp.changes, sp.seconds));
            let _ = bgsave(srv);
            return;
        }
    }
}

/// INFO persistence (Redis's field order). A snapshot thread plays the part of Redis's
/// fork child: the COW fields report what the snapshot had to copy because writers got
/// ahead of it (see `snapshot`).
pub fn info_section(srv: &Server) -> String {
    let p = &srv.persist;
    let aof = &srv.aof;
    let now = now_ms();
    let bgsave = p.bgsave_in_progress.load(Relaxed);
    let rewriting = aof.rewrite_in_progress.load(Relaxed);
    let saving = bgsave || rewriting;
    let cow = if saving { snapshot::COW_BYTES.load(Relaxed) } else { 0 };
    let (processed, total) = if bgsave {
        (snapshot::KEYS_DONE.load(Relaxed), p.save_keys_total.load(Relaxed))
    } else {
        (0, 0)
    };
    let perc = if total > 0 { (processed as f64 * 100.0 / total as f64).min(100.0) } else { 0.0 };
    let status = |ok: bool| if ok { "ok" } else { "err" };
    let aof_on = aof.is_enabled() || srv.config.read().get_bool("appendonly");
    let since = |started: i64| if started > 0 { (now - started) / 1000 } else { -1 };
    let mut s = format!(
        "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:{cow}\r\ncurrent_cow_size:{cow}\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:{perc:.2}\r\ncurrent_save_keys_processed:{processed}\r\ncurrent_save_keys_total:{total}\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:{}\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        p.loading.load(Relaxed) as u8,
        srv.dirty.load(Relaxed),
        bgsave as u8,
        srv.lastsave.load(Relaxed),
        status(p.last_bgsave_ok.load(Relaxed)),
        p.last_bgsave_time_sec.load(Relaxed),
        if bgsave { since(p.bgsave_started_ms.load(Relaxed)) } else { -1 },
        p.rdb_saves.load(Relaxed),
        p.last_cow_size.load(Relaxed),
        p.last_load_keys_expired.load(Relaxed),
        p.last_load_keys_loaded.load(Relaxed),
        aof_on as u8,
        rewriting as u8,
        aof.rewrite_scheduled.load(Relaxed) as u8,
        aof.last_rewrite_time_sec.load(Relaxed),
        if rewriting { since(aof.rewrite_started_ms.load(Relaxed)) } else { -1 },
        status(aof.last_rewrite_ok.load(Relaxed)),
        aof.rewrites.load(Relaxed),
        aof.consecutive_failures.load(Relaxed),
        status(aof.last_write_ok.load(Relaxed)),
    );
    if aof_on {
        s.push_str(&format!(
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:0\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            aof.current_size.load(Relaxed),
            aof.base_size.load(Relaxed),
            aof.rewrite_scheduled.load(Relaxed) as u8,
        ));
    }
    s.push_str(&loading_info(srv));
    s
}
