//! The append-only file, in Redis 7's multi-part layout.
//!
//! `<dir>/<appenddirname>/` holds a base file (an RDB snapshot, `<name>.<seq>.base.rdb`,
//! or, with `aof-use-rdb-preamble no`, the commands that rebuild the dataset,
//! `<name>.<seq>.base.aof`, see `persist::aofbase`), incremental files
//! (`<name>.<seq>.incr.aof`, the write stream in RESP) and the manifest
//! `<name>.manifest` listing them (`file <f> seq <n> type <b|h|i>`). The manifest is
//! always replaced atomically (temp file, fsync, rename), so a crash leaves either the
//! old or the new set of files.
//!
//! Writing: commands feed `crate::wstream`; before any reply is sent the worker calls
//! `before_reply`, which appends the pending stream bytes to the current incr file and,
//! with `appendfsync always`, fsyncs it (one fsync covers every command whose reply is
//! about to go out: group commit). With `everysec` a background thread fsyncs once a
//! second; with `no` the OS decides.
//!
//! Rewriting (BGREWRITEAOF, automatic growth rule, turning AOF on at runtime) never forks:
//! with every shard locked it opens a new incr file for the stream (none when the AOF is
//! off) and arms a snapshot (`persist::arm`); the snapshot thread writes the new base; then
//! the manifest switches to the new base and the files it replaces become history, deleted
//! unless aof-disable-auto-gc. The manifest stays in memory while the AOF is off, so the
//! sequence numbers go on as in Redis. Turning the AOF off stops a running rewrite
//! (`abort_rewrite`, Redis's killAppendOnlyChild).

use crate::log;
use crate::server::Server;
use parking_lot::Mutex;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};

pub const FSYNC_NO: u8 = 0;
pub const FSYNC_ALWAYS: u8 = 1;
pub const FSYNC_EVERYSEC: u8 = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct ManifestFile {
    pub name: String,
    pub seq: u64,
    /// b = base, h = history, i = incr
    pub kind: char,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    pub base: Option<ManifestFile>,
    /// Files a rewrite replaced, newest first, kept until they are deleted (at once, or
    /// when `aof-disable-auto-gc` is turned off).
    pub history: Vec<ManifestFile>,
    pub incrs: Vec<ManifestFile>,
}

impl Manifest {
    /// Parse a manifest as Redis 7.0's aofLoadManifestFromFile does, with its error texts
    /// (the first error ends the parse).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        const MAX_LINE: usize = 1024;
        let mut m = Manifest::default();
        let mut lines = 0;
        let mut max_incr_seq = 0u64;
        let mut rest = text;
        while !rest.is_empty() {
            // fgets: at most MAX_LINE bytes, up to and including a newline
            let cut = rest.find('\n').map(|p| p + 1).unwrap_or(rest.len());
            let mut take = cut.min(MAX_LINE);
            while !rest.is_char_boundary(take) {
                take -= 1;
            }
            let raw = &rest[..take];
            rest = &rest[take..];
            lines += 1;
            if raw.starts_with('#') {
                continue;
            }
            if !raw.contains('\n') {
                return Err("The AOF manifest file contains too long line".into());
            }
            let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
            if line.is_empty() {
                return Err("Invalid AOF manifest file format".into());
            }
            let parts = match crate::protocol::parse::split_args_quoted(line.as_bytes()) {
                Some(p) if p.len() >= 6 && p.len() % 2 == 0 => p,
                _ => return Err("Invalid AOF manifest file format".into()),
            };
            let mut name = None;
            let mut seq = 0u64;
            let mut kind = None;
            for kv in parts.chunks(2) {
                let v = String::from_utf8_lossy(&kv[1]).into_owned();
                if kv[0].eq_ignore_ascii_case(b"file") {
                    if v.contains('/') {
                        return Err("File can't be a path, just a filename".into());
                    }
                    name = Some(v);
                } else if kv[0].eq_ignore_ascii_case(b"seq") {
                    seq = crate::util::numfmt::parse_i64(&kv[1]).unwrap_or(0).max(0) as u64;
                } else if kv[0].eq_ignore_ascii_case(b"type") {
                    kind = v.chars().next();
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if seq == 0 {
                return Err("Invalid AOF manifest file format".into());
            }
            let f = ManifestFile { name, seq, kind };
            match kind {
                'b' => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base = Some(f)
                }
                'i' => {
                    if seq <= max_incr_seq {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    max_incr_seq = seq;
                    m.incrs.push(f)
                }
                'h' => m.history.push(f),
                _ => return Err("Unknown AOF file type".into()),
            }
        }
        if lines == 0 {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    /// Highest incr sequence number (Redis's curr_incr_file_seq after loading).
    pub fn max_incr_seq(&self) -> u64 {
        self.incrs.iter().map(|f| f.seq).max().unwrap_or(0)
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in self.base.iter().chain(self.history.iter()).chain(self.incrs.iter()) {
            s.push_str(&format!("file {} seq {} type {}\n", repr_if_needed(&f.name), f.seq, f.kind));
        }
        s
    }
}

/// A file name as Redis writes it into the manifest: as is, or quoted and escaped
/// (sdscatrepr) when it has spaces, quotes, backslashes or unprintable bytes.
fn repr_if_needed(name: &str) -> String {
    let needs = name.bytes().any(|b| b == b'\\' || b == b'"' || !(0x21..0x7f).contains(&b));
    if needs {
        crate::config::repr(name.as_bytes())
    } else {
        name.to_string()
    }
}

#[derive(Default)]
struct Files {
    /// The manifest as last written (kept while the AOF is off too, as Redis's
    /// server.aof_manifest: a later rewrite continues its sequence numbers).
    manifest: Manifest,
    /// Sequence numbers of the last base / incr file named (curr_base_file_seq and
    /// curr_incr_file_seq: taken from the manifest when it is read, then only growing).
    base_seq: u64,
    incr_seq: u64,
    /// The incr file the stream goes to; None while the AOF is off.
    incr: Option<std::fs::File>,
    /// Bytes written since the last fsync.
    unsynced: bool,
}

impl Files {
    /// Forget the incr file a failed or stopped rewrite opened to turn the AOF on (Redis's
    /// temp incr file: it takes no sequence number).
    fn drop_incr(&mut self, dir: &Path, name: &str) {
        if let Some(pos) = self.manifest.incrs.iter().position(|f| f.name == name) {
            let f = self.manifest.incrs.remove(pos);
            if self.incr_seq == f.seq {
                self.incr_seq -= 1;
            }
        }
        log::notice(&format!("Removing the temp incr aof file {name} in the background"));
        let _ = std::fs::remove_file(dir.join(name));
    }

    /// Take `m` as the current manifest (read from disk: the sequence numbers restart
    /// from it).
    fn set_manifest(&mut self, m: Manifest) {
        self.base_seq = m.base.as_ref().map_or(0, |b| b.seq);
        self.incr_seq = m.max_incr_seq();
        self.manifest = m;
    }
}

#[derive(Default)]
pub struct Aof {
    files: Mutex<Files>,
    /// The running rewrite (`abort_rewrite` stops it).
    job: Mutex<Option<RewriteJob>>,
    /// Rewrites that failed in a row (INFO aof_rewrites_consecutive_failures); from 3 on
    /// the cron's rewrites are delayed (`rewrite_limited`).
    pub consecutive_failures: AtomicU64,
    /// The limit's state: current delay in minutes, unix time of the next allowed try.
    limit: Mutex<(i64, i64)>,
    /// CONFIG SET appendonly yes could not start the rewrite at once (a BGSAVE or an
    /// earlier rewrite runs): the scheduled rewrite turns the AOF on (AOF_WAIT_REWRITE).
    pub enable_pending: AtomicBool,
    pub policy: AtomicU8,
    pub rewrite_in_progress: AtomicBool,
    pub rewrite_scheduled: AtomicBool,
    pub last_rewrite_ok: AtomicBool,
    pub last_write_ok: AtomicBool,
    pub rewrites: AtomicU64,
    pub last_rewrite_time_sec: AtomicI64,
    pub rewrite_started_ms: AtomicI64,
    /// Size of the AOF (base + incrs) now, and of the base after the last rewrite.
    pub current_size: AtomicU64,
    pub base_size: AtomicU64,
    /// Start-up is done: config changes of `appendonly` now turn the AOF on or off.
    pub initialized: AtomicBool,
    pub enabled: AtomicBool,
    /// The rewrite running is the one that turned the AOF on: until it ends, the dataset
    /// is in no AOF (Redis's AOF_WAIT_REWRITE; a shutdown refuses to exit).
    pub initial_rewrite: AtomicBool,
}

/// A rewrite in progress: its armed snapshot, and the incr file it opened to turn the AOF
/// on (not yet in any manifest on disk).
struct RewriteJob {
    list: Vec<(usize, std::sync::Arc<crate::persist::snapshot::SnapCtl>)>,
    abort: std::sync::Arc<AtomicBool>,
    /// The temp file the new base is written to.
    tmp: PathBuf,
    enabling_incr: Option<String>,
}

fn policy_of(name: &str) -> u8 {
    match name {
        "always" => FSYNC_ALWAYS,
        "no" => FSYNC_NO,
        _ => FSYNC_EVERYSEC,
    }
}

fn paths(srv: &Server) -> (PathBuf, String) {
    let c = srv.config.read();
    (PathBuf::from(c.get_str("appenddirname")), c.get_str("appendfilename"))
}

fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmpname = path.file_name().unwrap_or_default().to_os_string();
    tmpname.push(".tmp");
    let tmp = path.with_file_name(tmpname);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(d) = path.parent() {
        if let Ok(df) = std::fs::File::open(if d.as_os_str().is_empty() { Path::new(".") } else { d }) {
            let _ = df.sync_all();
        }
    }
    Ok(())
}

/// `<appendfilename>.<seq>.base.rdb`, or `.base.aof` for a base written as commands.
fn base_name(basename: &str, seq: u64, kind: super::FileKind) -> String {
    let ext = if kind == super::FileKind::AofCommands { "aof" } else { "rdb" };
    format!("{basename}.{seq}.base.{ext}")
}

fn open_append(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(p)
}

impl Aof {
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Relaxed)
    }

    /// Append pending stream bytes to the incr file; fsync if `fsync` or policy always.
    fn write_pending(&self, srv: &Server, g: &mut Files, fsync: bool) {
        let Some(incr) = g.incr.as_mut() else { return };
        let data = srv.wstream.take_pending();
        if !data.is_empty() {
            match incr.write_all(&data) {
                Ok(()) => {
                    self.last_write_ok.store(true, Relaxed);
                    self.current_size.fetch_add(data.len() as u64, Relaxed);
                    g.unsynced = true;
                }
                Err(e) => {
                    // Redis: with appendfsync always a failed write is fatal (the reply
                    // must not go out without the data on disk).
                    log::warning(&format!("Error writing to the AOF file: {e}"));
                    self.last_write_ok.store(false, Relaxed);
                    if self.policy.load(Relaxed) == FSYNC_ALWAYS {
                        log::warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                        std::process::exit(1);
                    }
                }
            }
        }
        if g.unsynced && (fsync || self.policy.load(Relaxed) == FSYNC_ALWAYS) {
            if let Err(e) = incr.sync_data() {
                log::warning(&format!("Fsync of the AOF file failed: {e}"));
                if self.policy.load(Relaxed) == FSYNC_ALWAYS {
                    std::process::exit(1);
                }
            }
            g.unsynced = false;
        }
    }

    /// Called before replies are written to sockets.
    pub fn before_reply(&self, srv: &Server) {
        if !self.is_enabled() {
            return;
        }
        self.write_pending(srv, &mut self.files.lock(), false);
    }

    /// Write and fsync everything (shutdown, everysec thread, rewrite switch).
    pub fn flush_and_sync(&self, srv: &Server) {
        self.write_pending(srv, &mut self.files.lock(), true);
    }
}

/// Load the AOF at start-up when `appendonly yes` (creating it if there is none), then
/// turn the write stream on. Also marks the AOF initialized so CONFIG SET can toggle it.
pub fn start(srv: &Server) -> Result<(), String> {
    let aof = &srv.aof;
    aof.policy.store(policy_of(&srv.config.read().get_str("appendfsync")), Relaxed);
    aof.last_write_ok.store(true, Relaxed);
    aof.last_rewrite_ok.store(true, Relaxed);
    aof.last_rewrite_time_sec.store(-1, Relaxed);
    let on = srv.config.read().get_bool("appendonly");
    let res = if on {
        open_at_startup(srv)
    } else {
        // Redis reads the manifest whatever `appendonly` says: a rewrite or turning the
        // AOF on later continues its sequence numbers.
        let (dir, basename) = paths(srv);
        if let Some(m) = std::fs::read_to_string(dir.join(format!("{basename}.manifest"))).ok().and_then(|t| Manifest::parse(&t).ok()) {
            aof.files.lock().set_manifest(m);
        }
        Ok(())
    };
    if res.is_ok() {
        gc_history(srv);
    }
    aof.initialized.store(true, Relaxed);
    spawn_fsync_thread(srv);
    res
}

fn open_at_startup(srv: &Server) -> Result<(), String> {
    let (dir, basename) = paths(srv);
    let mpath = dir.join(format!("{basename}.manifest"));
    let legacy = PathBuf::from(&basename);
    let parsed = if mpath.exists() {
        let text = std::fs::read_to_string(&mpath).map_err(|e| format!("Can't open the AOF manifest: {e}"))?;
        Some(Manifest::parse(&text)?)
    } else {
        None
    };
    // Upgrade from a Redis < 7 single file (`appendfilename` in `dir`), as Redis 7.0 does:
    // when there is no AOF directory, no manifest, or a manifest naming only that file as
    // its base (an upgrade interrupted before the file was moved).
    let upgrade = legacy.is_file()
        && (!dir.is_dir()
            || parsed.as_ref().is_none_or(|m| m.base.is_none() && m.incrs.is_empty())
            || parsed.as_ref().is_some_and(|m| {
                m.incrs.is_empty()
                    && m.base.as_ref().is_some_and(|b| b.name == basename)
                    && !dir.join(&basename).exists()
            }));
    let manifest = if upgrade {
        std::fs::create_dir_all(&dir).map_err(|e| format!("Can't create AOF directory: {e}"))?;
        let mut m = parsed.unwrap_or_default();
        if m.base.is_none() {
            m.base = Some(ManifestFile { name: basename.clone(), seq: 1, kind: 'b' });
        }
        write_atomically(&mpath, m.render().as_bytes()).map_err(|e| e.to_string())?;
        std::fs::rename(&legacy, dir.join(&basename)).map_err(|e| format!("Can't move the old AOF file: {e}"))?;
        log::notice("Successfully migrated an old-style AOF into the AOF directory");
        Some(m)
    } else {
        parsed.filter(|m| m.base.is_some() || !m.incrs.is_empty())
    };
    match manifest {
        Some(m) => {
            load_files(srv, &dir, &m)?;
            let size: u64 = m.base.iter().chain(m.incrs.iter()).filter_map(|f| std::fs::metadata(dir.join(&f.name)).ok()).map(|md| md.len()).sum();
            srv.aof.current_size.store(size, Relaxed);
            let base = m.base.as_ref().and_then(|f| std::fs::metadata(dir.join(&f.name)).ok()).map_or(0, |md| md.len());
            srv.aof.base_size.store(base, Relaxed);
            // Continue appending to the last incr file, or start one.
            let mut m = m;
            let incr_path = match m.incrs.last() {
                Some(f) => dir.join(&f.name),
                None => {
                    let seq = 1 + m.incrs.iter().map(|f| f.seq).max().unwrap_or(0);
                    let name = format!("{basename}.{seq}.incr.aof");
                    m.incrs.push(ManifestFile { name: name.clone(), seq, kind: 'i' });
                    let p = dir.join(&name);
                    open_append(&p).map_err(|e| e.to_string())?;
                    write_atomically(&mpath, m.render().as_bytes()).map_err(|e| e.to_string())?;
                    p
                }
            };
            let incr = open_append(&incr_path).map_err(|e| format!("Can't open the append-only file {}: {e}", incr_path.display()))?;
            {
                let mut g = srv.aof.files.lock();
                g.set_manifest(m);
                g.incr = Some(incr);
                g.unsynced = false;
            }
            srv.wstream.reset_db();
            srv.aof.enabled.store(true, Relaxed);
            srv.wstream.set_aof(true);
            Ok(())
        }
        None => {
            // No AOF yet: write the base now (no client is connected), then the manifest,
            // so there is never an incr file that no manifest names.
            std::fs::create_dir_all(&dir).map_err(|e| format!("Can't create the append-only directory: {e}"))?;
            let kind = super::FileKind::aof_base(srv);
            let base = base_name(&basename, 1, kind);
            let incr_name = format!("{basename}.1.incr.aof");
            {
                let all = srv.keyspace.lock_all();
                super::write_locked(srv, &all, &dir.join(&base), kind).map_err(|e| format!("Can't write the AOF base: {e}"))?;
            }
            log::notice(&format!("Creating AOF base file {base} on server start"));
            let incr = open_append(&dir.join(&incr_name)).map_err(|e| format!("Can't open the append-only file: {e}"))?;
            let m = Manifest {
                base: Some(ManifestFile { name: base.clone(), seq: 1, kind: 'b' }),
                history: Vec::new(),
                incrs: vec![ManifestFile { name: incr_name.clone(), seq: 1, kind: 'i' }],
            };
            write_atomically(&mpath, m.render().as_bytes()).map_err(|e| e.to_string())?;
            log::notice(&format!("Creating AOF incr file {incr_name} on server start"));
            let size = std::fs::metadata(dir.join(&base)).map(|m| m.len()).unwrap_or(0);
            srv.aof.base_size.store(size, Relaxed);
            srv.aof.current_size.store(size, Relaxed);
            {
                let mut g = srv.aof.files.lock();
                g.set_manifest(m);
                g.incr = Some(incr);
                g.unsynced = false;
            }
            srv.wstream.reset_db();
            srv.aof.enabled.store(true, Relaxed);
            srv.wstream.set_aof(true);
            Ok(())
        }
    }
}

/// Replay the files of a manifest into the keyspace.
fn load_files(srv: &Server, dir: &Path, m: &Manifest) -> Result<(), String> {
    let start = std::time::Instant::now();
    let files: Vec<&ManifestFile> = m.base.iter().chain(m.incrs.iter()).collect();
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(dir.join(&f.name)).ok()).map(|md| md.len()).sum();
    super::begin_loading(srv, total);
    load_files_inner(srv, dir, &files, start)
}

fn load_files_inner(srv: &Server, dir: &Path, files: &[&ManifestFile], start: std::time::Instant) -> Result<(), String> {
    let truncated_ok = srv.config.read().get_bool("aof-load-truncated");
    let mut replayer = Replayer::new(srv);
    let mut loaded_before = 0u64;
    for (i, f) in files.iter().enumerate() {
        let path = dir.join(&f.name);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && f.kind == 'i' && i + 1 == files.len() => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("The append log file {} doesn't exist: No such file or directory", f.name))
            }
            Err(e) => return Err(format!("Fatal error: can't open the append log file {} for reading: {e}", f.name)),
        };
        let file_start = loaded_before;
        loaded_before += data.len() as u64;
        let last = i + 1 == files.len();
        // An RDB base, or an old AOF with an RDB preamble followed by commands.
        let mut rdb_len = 0;
        if data.starts_with(b"REDIS") {
            log::notice("Reading RDB base file on AOF loading...");
            let mut all = srv.keyspace.lock_all();
            rdb_len = load_rdb_into(srv, &mut all, &data).map_err(|e| format!("Bad file format reading the append only file {}: {e}", f.name))?;
            if rdb_len >= data.len() {
                continue;
            }
            log::notice("Reading the remaining AOF tail...");
        }
        replayer.base = file_start + rdb_len as u64;
        let (consumed, err) = replayer.replay(&data[rdb_len..]);
        let consumed = consumed + rdb_len;
        if let Some(e) = err {
            if last && truncated_ok && e == "truncated" {
                log::warning(&format!(
                    "!!! Warning: short read while loading the AOF file {}!!! Truncating the AOF at offset {consumed}",
                    f.name
                ));
                let file = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| e.to_string())?;
                file.set_len(consumed as u64).map_err(|e| e.to_string())?;
                let _ = file.sync_all();
                log::warning("AOF loaded anyway because aof-load-truncated is enabled");
            } else if let Some(name) = e.strip_prefix("unknown:") {
                return Err(format!("Unknown command '{name}' reading the append only file {}", f.name));
            } else if e == "truncated" {
                return Err(format!(
                    "Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                    f.name
                ));
            } else {
                return Err(format!("Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", f.name));
            }
        }
        log::notice(&format!("DB loaded from {} file {}: {:.3} seconds", if f.kind == 'b' { "base" } else { "incr" }, f.name, start.elapsed().as_secs_f64()));
    }
    log::notice(&format!("DB loaded from append only file: {:.3} seconds", start.elapsed().as_secs_f64()));
    Ok(())
}

/// Load an RDB (a base file, or the preamble of an old-style AOF). Returns the bytes it
/// took: what follows is AOF commands.
fn load_rdb_into(srv: &Server, all: &mut crate::keyspace::LockSet, data: &[u8]) -> Result<usize, String> {
    let st = super::load_stream(data, &mut super::sink_into(srv, all), crate::server::now_ms())
        .map_err(|e| e.to_string())?;
    crate::scripting::functions::load_libraries(srv, &st.functions, false)?;
    Ok(st.consumed as usize)
}

/// DEBUG LOADAOF: empty the keyspace and load the files the manifest on disk names, with
/// every shard already locked by the DEBUG command (`ctx`). As Redis's fake AOF client, the
/// commands run directly: no stats, no lazy expiry, nothing propagated; MULTI/EXEC markers
/// are skipped (the whole load is atomic anyway).
pub fn reload(ctx: &mut crate::commands::Ctx) -> Result<(), String> {
    // Redis loads with `loading` set: clients served meanwhile (a slow script in the
    // file) get -LOADING.
    super::begin_loading(ctx.srv, 0);
    let res = reload_inner(ctx);
    super::end_loading(ctx.srv);
    res
}

fn reload_inner(ctx: &mut crate::commands::Ctx) -> Result<(), String> {
    use crate::protocol::parse::{Limits, Parsed, RequestParser};
    let srv = ctx.srv;
    if srv.aof.is_enabled() {
        srv.aof.flush_and_sync(srv);
    }
    let (dir, basename) = paths(srv);
    let mpath = dir.join(format!("{basename}.manifest"));
    let text = std::fs::read_to_string(&mpath).map_err(|e| format!("Can't open the AOF manifest {}: {e}", mpath.display()))?;
    let m = Manifest::parse(&text)?;
    // as Redis's aofLoadManifestFromDisk + aofDelHistoryFiles: the sequence numbers
    // continue from the manifest on disk
    srv.aof.files.lock().set_manifest(m.clone());
    gc_history(srv);
    let files: Vec<ManifestFile> = m.base.iter().chain(m.incrs.iter()).cloned().collect();
    for s in ctx.ks.locks.iter_mut() {
        s.dbs.iter_mut().for_each(|d| d.clear());
    }
    crate::tracking::on_flush(srv, ctx.ks.client, &mut ctx.ks.track_pending);
    let h = std::sync::Arc::new(crate::net::client::ClientHandle::new(
        0,
        "aof".into(),
        String::new(),
        -1,
        0,
        usize::MAX,
        crate::server::now_ms(),
    ));
    let mut fake = crate::net::client::ClientInfo::new(h, true, true);
    let mut scratch = crate::protocol::ReplyBuf::new(2);
    std::mem::swap(ctx.client, &mut fake);
    std::mem::swap(ctx.out, &mut scratch);
    let (caller_db, record) = (ctx.ks.db, ctx.ks.record);
    ctx.ks.record = false;
    let limits = Limits { max_bulk_len: i64::MAX, unauthenticated: false };
    let mut res = Ok(());
    'files: for f in &files {
        let data = match std::fs::read(dir.join(&f.name)) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && f.kind == 'i' => continue,
            Err(e) => {
                res = Err(format!("The AOF file {} doesn't exist: {e}", f.name));
                break;
            }
        };
        let mut data = &data[..];
        if data.starts_with(b"REDIS") {
            match load_rdb_into(srv, &mut ctx.ks.locks, data) {
                Ok(n) => data = &data[n.min(data.len())..],
                Err(e) => {
                    res = Err(format!("Bad file format reading the append only file {}: {e}", f.name));
                    break;
                }
            }
        }
        let mut p = RequestParser::new();
        loop {
            if p.pos() < data.len() && data[p.pos()] == b'#' {
                // an annotation line (#TS:...)
                match data[p.pos()..].iter().position(|&b| b == b'\n') {
                    Some(n) => {
                        let next = p.pos() + n + 1;
                        p.rewind(next);
                        continue;
                    }
                    None => break,
                }
            }
            if p.pos() < data.len() && data[p.pos()] != b'*' {
                res = Err(format!("Bad file format reading the append only file {}", f.name));
                break 'files;
            }
            match p.next(&data, &limits) {
                Parsed::Command => {
                    let argv: Vec<&[u8]> = p.args.iter().map(|r| &data[r.clone()]).collect();
                    if crate::commands::eq_ic(argv[0], "multi") || crate::commands::eq_ic(argv[0], "exec") {
                        continue;
                    }
                    let Some(cmd) = crate::dispatch::resolve(srv, &argv, ctx.out) else {
                        res = Err(format!("Unknown command '{}' reading the append only file {}", String::from_utf8_lossy(argv[0]), f.name));
                        break 'files;
                    };
                    ctx.client.cmd = cmd.id;
                    ctx.ks.db = ctx.client.db;
                    ctx.ks.now = crate::server::now_ms();
                    let handler = cmd.handler;
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(ctx, &argv)));
                    ctx.ks.propagate = None;
                    ctx.ks.force_propagate = false;
                    ctx.out.buf.clear();
                }
                Parsed::Empty => {}
                // a truncated tail: what is complete is loaded (as aof-load-truncated)
                Parsed::Incomplete => break,
                Parsed::Error(_) => {
                    res = Err(format!("Bad file format reading the append only file {}", f.name));
                    break 'files;
                }
            }
        }
    }
    ctx.ks.db = caller_db;
    ctx.ks.record = record;
    ctx.ks.ops.clear();
    ctx.ks.dirty = 0;
    std::mem::swap(ctx.out, &mut scratch);
    std::mem::swap(ctx.client, &mut fake);
    if res.is_ok() {
        log::notice("Append Only File loaded by DEBUG LOADAOF");
    }
    res
}

/// Runs AOF commands through the dispatcher as a fake client.
struct Replayer<'a> {
    srv: &'a Server,
    info: crate::net::client::ClientInfo,
    stats: Vec<crate::dispatch::CmdStat>,
    /// Bytes of the earlier files (for INFO loading_loaded_bytes).
    base: u64,
}

impl<'a> Replayer<'a> {
    fn new(srv: &'a Server) -> Replayer<'a> {
        let h = std::sync::Arc::new(crate::net::client::ClientHandle::new(
            0,
            "aof".into(),
            String::new(),
            -1,
            0,
            usize::MAX,
            crate::server::now_ms(),
        ));
        h.set_flag(crate::net::client::cflags::AOF, true);
        Replayer {
            srv,
            info: crate::net::client::ClientInfo::new(h, true, true),
            stats: (0..srv.table.len()).map(|_| Default::default()).collect(),
            base: 0,
        }
    }

    /// Execute every complete command of `data`. Returns the bytes consumed and an error
    /// ("truncated" for an incomplete last command).
    fn replay(&mut self, data: &[u8]) -> (usize, Option<String>) {
        use crate::protocol::parse::{Limits, Parsed, RequestParser};
        let mut p = RequestParser::new();
        let limits = Limits { max_bulk_len: i64::MAX, unauthenticated: false };
        let mut out = crate::protocol::ReplyBuf::new(2);
        let mut last_complete = 0;
        loop {
            // `#...` lines are annotations (aof-timestamp-enabled: `#TS:<unix time>`)
            if p.pos() < data.len() && data[p.pos()] == b'#' {
                match data[p.pos()..].iter().position(|&b| b == b'\n') {
                    Some(n) => {
                        let next = p.pos() + n + 1;
                        p.rewind(next);
                        if self.info.multi.is_none() {
                            last_complete = next;
                        }
                        continue;
                    }
                    None => {
                        self.info.multi = None;
                        return (last_complete, Some("truncated".into()));
                    }
                }
            }
            if p.pos() < data.len() && data[p.pos()] != b'*' {
                return (last_complete, Some("format".into()));
            }
            match p.next(data, &limits) {
                Parsed::Command => {
                    let argv: Vec<&[u8]> = p.args.iter().map(|r| &data[r.clone()]).collect();
                    if self.srv.table.lookup(argv[0]).is_none() {
                        return (last_complete, Some(format!("unknown:{}", String::from_utf8_lossy(argv[0]))));
                    }
                    crate::dispatch::execute(self.srv, &self.stats, &mut self.info, &mut out, &argv);
                    out.buf.clear();
                    self.srv.persist.loading_loaded_bytes.store(self.base + p.pos() as u64, Relaxed);
                    if self.info.multi.is_none() {
                        last_complete = p.pos();
                    }
                }
                Parsed::Empty => {}
                Parsed::Incomplete => {
                    return if p.pos() >= data.len() && !p.in_progress() && self.info.multi.is_none() {
                        (data.len(), None)
                    } else {
                        // an incomplete command, or a MULTI without its EXEC
                        self.info.multi = None;
                        (last_complete, Some("truncated".into()))
                    };
                }
                Parsed::Error(_) => return (last_complete, Some("format".into())),
            }
        }
    }
}

/// Start an AOF rewrite with every shard locked by the caller. With `enable`, this also
/// turns the AOF on (start-up with no AOF, CONFIG SET appendonly yes). With the AOF off
/// (and no `enable`) only a new base is written: no incr file is opened, and the old
/// incr files become history.
pub fn begin_rewrite(srv: &Server, all: &mut crate::keyspace::LockSet, enable: bool) -> Result<(), &'static str> {
    let aof = &srv.aof;
    if aof.rewrite_in_progress.swap(true, Relaxed) {
        return Err("ERR Background append only file rewriting already in progress");
    }
    if srv.persist.bgsave_in_progress.load(Relaxed) {
        // one armed snapshot at a time (Redis: one child process)
        aof.rewrite_in_progress.store(false, Relaxed);
        return Err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
    }
    aof.rewrite_scheduled.store(false, Relaxed);
    let (dir, basename) = paths(srv);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        log::warning(&format!("Can't create the append-only directory: {e}"));
        aof.rewrite_in_progress.store(false, Relaxed);
        return Err("ERR Can't create the append-only directory");
    }
    let mpath = dir.join(format!("{basename}.manifest"));
    let mut g = aof.files.lock();
    aof.write_pending(srv, &mut g, true);
    let was_on = g.incr.is_some();
    // 1. the stream switches to a new incr file (the old one is complete up to this instant)
    let mut new_incr = None;
    if was_on || enable {
        let seq = g.incr_seq + 1;
        let name = format!("{basename}.{seq}.incr.aof");
        if !was_on {
            // turning the AOF on: a file of that name left by an earlier AOF is stale
            let _ = std::fs::File::create(dir.join(&name));
        }
        let incr = match open_append(&dir.join(&name)) {
            Ok(f) => f,
            Err(e) => {
                log::warning(&format!("Can't open the append-only file: {e}"));
                aof.rewrite_in_progress.store(false, Relaxed);
                return Err("ERR Can't open the append-only file");
            }
        };
        g.incr_seq = seq;
        g.manifest.incrs.push(ManifestFile { name: name.clone(), seq, kind: 'i' });
        if was_on {
            // a crash during the rewrite must still find every write: old base + all incrs
            if let Err(e) = write_atomically(&mpath, g.manifest.render().as_bytes()) {
                log::warning(&format!("Can't write the AOF manifest: {e}"));
            }
        }
        g.incr = Some(incr);
        g.unsynced = false;
        new_incr = Some(name);
    }
    let base_seq = g.base_seq + 1;
    drop(g);
    srv.wstream.take_pending();
    srv.wstream.reset_db();
    if enable {
        aof.enable_pending.store(false, Relaxed);
        aof.initial_rewrite.store(true, Relaxed);
        aof.policy.store(policy_of(&srv.config.read().get_str("appendfsync")), Relaxed);
        aof.enabled.store(true, Relaxed);
        srv.wstream.set_aof(true);
    }
    // 2. snapshot of this instant becomes the new base (INFO aof_rewrites counts the
    // rewrites started, as Redis's forks)
    aof.rewrites.fetch_add(1, Relaxed);
    let armed = super::arm(srv, all);
    let abort = armed.abort.clone();
    let kind = super::FileKind::aof_base(srv);
    let base_name = base_name(&basename, base_seq, kind);
    let tmp = super::snapshot_temp_path(&dir.join(&base_name));
    *aof.job.lock() = Some(RewriteJob {
        list: armed.list.clone(),
        abort: abort.clone(),
        tmp: tmp.clone(),
        enabling_incr: if was_on { None } else { new_incr.clone() },
    });
    aof.rewrite_started_ms.store(crate::server::now_ms(), Relaxed);
    log::notice("Background append only file rewriting started (snapshot thread, no fork)");
    let srv2 = srv.arc();
    let spawned = std::thread::Builder::new().name("ferrodis-aofrw".into()).spawn(move || {
        let start = std::time::Instant::now();
        let aof = &srv2.aof;
        let res = super::write_snapshot_via(&srv2, &armed, &tmp, &dir.join(&base_name), kind);
        drop(armed);
        // `abort_rewrite` took the job (and did the bookkeeping) if it stopped this one
        let mut job = aof.job.lock();
        if !job.as_ref().is_some_and(|j| std::sync::Arc::ptr_eq(&j.abort, &abort)) {
            return;
        }
        aof.last_rewrite_time_sec.store(start.elapsed().as_secs() as i64, Relaxed);
        match res {
            Ok(()) => finish_rewrite(&srv2, &dir, &mpath, ManifestFile { name: base_name, seq: base_seq, kind: 'b' }),
            Err(e) => {
                aof.last_rewrite_ok.store(false, Relaxed);
                aof.consecutive_failures.fetch_add(1, Relaxed);
                log::warning(&format!("Background AOF rewrite failed: {e}"));
                if let Some(name) = job.as_ref().and_then(|j| j.enabling_incr.clone()) {
                    // the rewrite that turns the AOF on failed: as Redis (AOF_WAIT_REWRITE),
                    // drop what was written meanwhile (it is in memory, so in the next
                    // base) and try again from the cron
                    let mut g = aof.files.lock();
                    if g.incr.is_some() {
                        aof.write_pending(&srv2, &mut g, false);
                        srv2.wstream.set_aof(false);
                        aof.enabled.store(false, Relaxed);
                        g.incr = None;
                        g.drop_incr(&dir, &name);
                        aof.enable_pending.store(true, Relaxed);
                        aof.rewrite_scheduled.store(true, Relaxed);
                    }
                }
            }
        }
        *job = None;
        aof.initial_rewrite.store(false, Relaxed);
        aof.rewrite_in_progress.store(false, Relaxed);
    });
    if spawned.is_err() {
        aof.initial_rewrite.store(false, Relaxed);
        aof.rewrite_in_progress.store(false, Relaxed);
        return Err("ERR Can't start the AOF rewrite thread");
    }
    Ok(())
}

/// A rewrite wrote its base: the manifest switches to it. What it replaces becomes history
/// (Redis's getNewBaseFileNameAndMarkPreAsHistory and markRewrittenIncrAofAsHistory: the
/// old base, then every incr file but the one being written, each put first), which is
/// deleted unless aof-disable-auto-gc.
fn finish_rewrite(srv: &Server, dir: &Path, mpath: &Path, base: ManifestFile) {
    let aof = &srv.aof;
    let mut g = aof.files.lock();
    let mut m = g.manifest.clone();
    if let Some(old) = m.base.take() {
        m.history.insert(0, ManifestFile { kind: 'h', ..old });
    }
    m.base = Some(base.clone());
    let keep = usize::from(g.incr.is_some()).min(m.incrs.len());
    let done: Vec<ManifestFile> = m.incrs.drain(..m.incrs.len() - keep).collect();
    for f in done {
        m.history.insert(0, ManifestFile { kind: 'h', ..f });
    }
    if let Err(e) = write_atomically(mpath, m.render().as_bytes()) {
        log::warning(&format!("Error writing the AOF manifest: {e}"));
        aof.last_rewrite_ok.store(false, Relaxed);
        aof.consecutive_failures.fetch_add(1, Relaxed);
        let _ = std::fs::remove_file(dir.join(&base.name));
        return;
    }
    g.base_seq = base.seq;
    let base_size = std::fs::metadata(dir.join(&base.name)).map(|m| m.len()).unwrap_or(0);
    let incr_size = m.incrs.last().and_then(|f| std::fs::metadata(dir.join(&f.name)).ok()).map_or(0, |m| m.len());
    g.manifest = m;
    drop(g);
    aof.base_size.store(base_size, Relaxed);
    aof.current_size.store(base_size + incr_size, Relaxed);
    aof.last_rewrite_ok.store(true, Relaxed);
    aof.consecutive_failures.store(0, Relaxed);
    log::notice("Background AOF rewrite terminated with success");
    gc_history(srv);
    log::notice("Background AOF rewrite finished successfully");
}

/// Delete the history files and drop them from the manifest, unless aof-disable-auto-gc
/// (Redis's aofDelHistoryFiles: after a rewrite, at start-up, DEBUG LOADAOF, and when
/// aof-disable-auto-gc is turned off).
pub fn gc_history(srv: &Server) {
    if srv.config.read().get_bool("aof-disable-auto-gc") {
        return;
    }
    let (dir, basename) = paths(srv);
    let mut g = srv.aof.files.lock();
    if g.manifest.history.is_empty() {
        return;
    }
    for f in std::mem::take(&mut g.manifest.history) {
        log::notice(&format!("Removing the history file {} in the background", f.name));
        let _ = std::fs::remove_file(dir.join(&f.name));
    }
    if let Err(e) = write_atomically(&dir.join(format!("{basename}.manifest")), g.manifest.render().as_bytes()) {
        log::warning(&format!("Error writing the AOF manifest: {e}"));
    }
}

/// Stop the running rewrite at once, with every shard locked by the caller (Redis kills
/// the rewrite child): the snapshot is disarmed, the thread drops its file, and an incr
/// file opened to turn the AOF on is removed if the AOF is off now.
pub fn abort_rewrite(srv: &Server, all: &mut crate::keyspace::LockSet) {
    let aof = &srv.aof;
    let Some(job) = aof.job.lock().take() else { return };
    log::notice("Killing running AOF rewrite child (the snapshot thread, no fork)");
    super::disarm(all, &job.list, &job.abort);
    let _ = std::fs::remove_file(&job.tmp);
    let mut g = aof.files.lock();
    if let (Some(name), true) = (&job.enabling_incr, g.incr.is_none()) {
        g.drop_incr(&paths(srv).0, name);
    }
    drop(g);
    aof.initial_rewrite.store(false, Relaxed);
    aof.rewrite_in_progress.store(false, Relaxed);
}

/// SHUTDOWN while a rewrite runs (Redis's finishShutdown): it is stopped and its temp
/// file removed (`shutdown` has already refused to exit during the initial rewrite,
/// `initial_rewrite`, unless FORCE).
pub fn stop_rewrite_for_shutdown(srv: &Server) {
    let job = srv.aof.job.lock();
    let Some(j) = job.as_ref() else { return };
    log::warning("There is a child rewriting the AOF. Killing it!");
    j.abort.store(true, Relaxed);
    let _ = std::fs::remove_file(&j.tmp);
}

/// CONFIG SET appendonly / appendfsync took effect: follow it. `all` is every shard,
/// already locked by the caller (CONFIG SET runs with the keyspace locked). Inside a
/// transaction (`in_exec`) turning the AOF on is scheduled, as in Redis.
pub fn apply_config(srv: &Server, all: &mut crate::keyspace::LockSet, in_exec: bool) {
    let aof = &srv.aof;
    if !aof.initialized.load(Relaxed) {
        return;
    }
    let (on, policy) = {
        let c = srv.config.read();
        (c.get_bool("appendonly"), policy_of(&c.get_str("appendfsync")))
    };
    aof.policy.store(policy, Relaxed);
    if on && !aof.is_enabled() && !aof.enable_pending.load(Relaxed) {
        if srv.persist.bgsave_in_progress.load(Relaxed) {
            log::warning("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        } else if in_exec {
            log::warning("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
        } else {
            if aof.rewrite_in_progress.load(Relaxed) {
                // a rewrite started with the AOF off feeds no incr file: stop it and start anew
                log::warning("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                abort_rewrite(srv, all);
            }
            if begin_rewrite(srv, all, true).is_ok() {
                return;
            }
        }
        aof.enable_pending.store(true, Relaxed);
        aof.rewrite_scheduled.store(true, Relaxed);
    } else if !on && (aof.is_enabled() || aof.enable_pending.load(Relaxed)) {
        aof.enable_pending.store(false, Relaxed);
        aof.rewrite_scheduled.store(false, Relaxed);
        aof.flush_and_sync(srv);
        srv.wstream.set_aof(false);
        aof.enabled.store(false, Relaxed);
        aof.files.lock().incr = None;
        srv.wstream.take_pending();
        abort_rewrite(srv, all);
    }
}

fn spawn_fsync_thread(srv: &Server) {
    let srv = srv.arc();
    let _ = std::thread::Builder::new().name("ferrodis-aof-fsync".into()).spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let aof = &srv.aof;
        if aof.is_enabled() && aof.policy.load(Relaxed) == FSYNC_EVERYSEC {
            aof.flush_and_sync(&srv);
        }
    });
}

/// After 3 failed rewrites in a row the cron's rewrites (scheduled or by growth) wait 1
/// minute, then 2, 4 ... up to 60 between tries (Redis's aofRewriteLimited; BGREWRITEAOF
/// itself is never delayed).
fn rewrite_limited(srv: &Server) -> bool {
    let mut l = srv.aof.limit.lock();
    if srv.aof.consecutive_failures.load(Relaxed) < 3 {
        *l = (0, 0);
        return false;
    }
    let now = crate::server::now_ms() / 1000;
    if l.1 != 0 {
        if now < l.1 {
            return true;
        }
        l.1 = 0;
        return false;
    }
    l.0 = if l.0 == 0 { 1 } else { (l.0 * 2).min(60) };
    l.1 = now + l.0 * 60;
    log::warning(&format!("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes", l.0));
    true
}

/// Cron: scheduled rewrites (also with the AOF off, and the one that turns it on) and the
/// growth rule (auto-aof-rewrite-percentage/min-size).
pub fn cron(srv: &Server) {
    let aof = &srv.aof;
    if aof.rewrite_in_progress.load(Relaxed) || srv.persist.bgsave_in_progress.load(Relaxed) {
        return;
    }
    let scheduled = aof.rewrite_scheduled.load(Relaxed) && !rewrite_limited(srv);
    if scheduled {
        aof.rewrite_scheduled.store(false, Relaxed);
    }
    let grow = !scheduled && aof.is_enabled() && {
        let (perc, min) = {
            let c = srv.config.read();
            (c.get_i64("auto-aof-rewrite-percentage") as u64, c.get_i64("auto-aof-rewrite-min-size") as u64)
        };
        let cur = aof.current_size.load(Relaxed);
        let base = aof.base_size.load(Relaxed).max(1);
        let grow = perc > 0 && cur > min && (cur - base.min(cur)) * 100 / base >= perc && !rewrite_limited(srv);
        if grow {
            log::notice(&format!("Starting automatic rewriting of AOF on {}% growth", (cur - base.min(cur)) * 100 / base));
        }
        grow
    };
    if scheduled || grow {
        let mut all = srv.keyspace.lock_all();
        let enable = aof.enable_pending.load(Relaxed) && !aof.is_enabled();
        if begin_rewrite(srv, &mut all, enable).is_err() && scheduled {
            aof.rewrite_scheduled.store(true, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_roundtrip_and_errors() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.render(), text);
        assert!(Manifest::parse("").is_err());
        assert!(Manifest::parse("file a seq 1 type x\n").is_err());
        assert!(Manifest::parse("file a seq 1\n").is_err());
    }
}
