//! Orderly shutdown (SIGTERM/SIGINT and the SHUTDOWN command), as Redis's
//! prepareForShutdown / finishShutdown: unless NOW (or `shutdown-timeout 0`), a master
//! whose replicas have not acknowledged the whole stream first waits for them, up to
//! `shutdown-timeout` seconds, with writes paused; the server cron (`cron`) finishes the
//! shutdown once they caught up or the time is over. Finishing: log the lagging replicas,
//! refuse to exit while the initial AOF is being written (unless FORCE), fsync the AOF,
//! final save when save points exist (unless NOSAVE), remove the pid file, log and exit.
//! A failed finish (or SHUTDOWN ABORT) cancels: SHUTDOWN callers still waiting get an
//! error and writes resume.

use crate::keyspace::LockSet;
use crate::log;
use crate::server::{now_ms, Server};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

/// A SIGTERM/SIGINT shutdown is scheduled and not yet started (SHUTDOWN ABORT clears it).
pub static SIGNAL_PENDING: AtomicBool = AtomicBool::new(false);
/// The shutdown sequence is running (a second SIGINT exits at once).
pub static IN_PROGRESS: AtomicBool = AtomicBool::new(false);
/// Unix ms until which the shutdown waits for lagging replicas; 0 = no shutdown initiated
/// (Redis's shutdown_mstime).
static DEADLINE_MS: AtomicI64 = AtomicI64::new(0);
/// The waiting shutdown's flags and the SHUTDOWN callers blocked on it (client ids).
static WAITING: Mutex<(Mode, Vec<u64>)> = Mutex::new((Mode { nosave: false, save: false, now: false, force: false }, Vec::new()));

/// The reply of SHUTDOWN callers when the shutdown fails or is aborted.
pub const FAILED_ERR: &str = "ERR Errors trying to SHUTDOWN. Check logs.";

/// What `shutdown` decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is done: the caller exits the process.
    Exit,
    /// Waiting for lagging replicas (or already was); the cron finishes.
    Waiting,
}

/// The signal-scheduled shutdown: waits while the cron is paused (DEBUG PAUSE-CRON), gives
/// up if SHUTDOWN ABORT cancelled it, else shuts down (or starts waiting for replicas).
pub fn run_pending(srv: &Server, sigint: bool) {
    loop {
        if !SIGNAL_PENDING.load(Relaxed) {
            return;
        }
        if !srv.introspect.cron_paused.load(Relaxed) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mode = signal_mode(srv, sigint);
    match shutdown(srv, mode) {
        Ok(Outcome::Exit) => std::process::exit(0),
        Ok(Outcome::Waiting) => {}
        // (logged and cancelled by `finish`)
        Err(_) => {}
    }
}

/// The flags of a signal shutdown: `shutdown-on-sigint` / `shutdown-on-sigterm`.
fn signal_mode(srv: &Server, sigint: bool) -> Mode {
    let names = srv.config.read().get_str(if sigint { "shutdown-on-sigint" } else { "shutdown-on-sigterm" });
    let mut mode = Mode::default();
    for w in names.split_whitespace() {
        match w {
            "save" => mode.save = true,
            "nosave" => mode.nosave = true,
            "now" => mode.now = true,
            "force" => mode.force = true,
            _ => {}
        }
    }
    mode
}

/// SHUTDOWN ABORT: cancel a waiting shutdown or a scheduled signal shutdown. False if
/// there is none.
pub fn abort(srv: &Server) -> bool {
    if DEADLINE_MS.load(Relaxed) != 0 {
        cancel(srv);
    } else if !SIGNAL_PENDING.swap(false, Relaxed) {
        return false;
    }
    log::notice("Shutdown manually aborted.");
    true
}

#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    pub nosave: bool,
    pub save: bool,
    pub now: bool,
    pub force: bool,
}

/// Unix ms the waiting shutdown gives up waiting at (INFO shutdown_in_milliseconds).
pub fn deadline_ms() -> Option<i64> {
    match DEADLINE_MS.load(Relaxed) {
        0 => None,
        d => Some(d),
    }
}

/// Start shutting down. Err: it failed and was cancelled (logged).
pub fn shutdown(srv: &Server, mode: Mode) -> Result<Outcome, String> {
    prepare(srv, mode, None)
}

/// `shutdown` from a command that already holds every shard lock (SHUTDOWN).
pub fn shutdown_locked(srv: &Server, mode: Mode, locks: &LockSet) -> Result<Outcome, String> {
    prepare(srv, mode, Some(locks))
}

/// A SHUTDOWN caller now blocked until the waiting shutdown ends (`client` is its id).
pub fn add_waiter(client: u64) {
    WAITING.lock().1.push(client);
}

/// Redis's prepareForShutdown.
fn prepare(srv: &Server, mode: Mode, locks: Option<&LockSet>) -> Result<Outcome, String> {
    if DEADLINE_MS.load(Relaxed) != 0 {
        return Ok(Outcome::Waiting);
    }
    IN_PROGRESS.store(true, Relaxed);
    srv.shutdown_requested.store(true, Relaxed);
    log::warning("User requested shutdown...");
    if srv.persist.loading.load(Relaxed) {
        // A half-loaded dataset must never overwrite the files it is loaded from.
        log::warning("ferrodis is now ready to exit, bye bye...");
        return Ok(Outcome::Exit);
    }
    let timeout = srv.config.read().get_i64("shutdown-timeout");
    if !mode.now && timeout != 0 && !replicas_in_sync(srv) {
        *WAITING.lock() = (mode, Vec::new());
        DEADLINE_MS.store(now_ms() + timeout * 1000, Relaxed);
        if srv.paused().is_none() {
            srv.wstream.getack_replicas();
        }
        // writes wait (Redis's PAUSE_DURING_SHUTDOWN), so the offset stays put
        srv.shutdown_pause.store(true, Relaxed);
        log::notice("Waiting for replicas before shutting down.");
        return Ok(Outcome::Waiting);
    }
    finish(srv, mode, locks)
}

/// Every attached replica acknowledged the whole stream (Redis's isReadyToShutdown).
fn replicas_in_sync(srv: &Server) -> bool {
    let offset = srv.wstream.offset.load(Relaxed) as i64;
    srv.wstream.replicas().iter().all(|r| r.state.ack_off.load(Relaxed) == offset)
}

/// Server cron: finish a waiting shutdown once the replicas caught up or time is over.
pub fn cron(srv: &Server) {
    let deadline = DEADLINE_MS.load(Relaxed);
    if deadline == 0 || (now_ms() < deadline && !replicas_in_sync(srv)) {
        return;
    }
    let mode = WAITING.lock().0;
    if let Ok(Outcome::Exit) = finish(srv, mode, None) {
        std::process::exit(0);
    }
}

/// Redis's finishShutdown.
fn finish(srv: &Server, mode: Mode, locks: Option<&LockSet>) -> Result<Outcome, String> {
    let offset = srv.wstream.offset.load(Relaxed) as i64;
    let replicas = srv.wstream.replicas();
    let now_secs = now_ms() / 1000;
    let mut lagging = 0;
    for r in &replicas {
        let ack = r.state.ack_off.load(Relaxed);
        if ack != offset {
            lagging += 1;
            let ip = r.client.addr.rsplit_once(':').map_or(r.client.addr.as_str(), |(ip, _)| ip);
            log::warning(&format!(
                "Lagging replica {ip}:{} reported offset {} behind master, lag={}, state=online.",
                r.state.listening_port.load(Relaxed),
                offset - ack,
                now_secs - r.state.ack_time.load(Relaxed),
            ));
        }
    }
    if !replicas.is_empty() {
        log::notice(&format!("{} of {} replicas are in sync when shutting down.", replicas.len() - lagging, replicas.len()));
    }
    if let Err(e) = finish_persistence(srv, mode, locks) {
        log::warning("Errors trying to shut down the server. Check the logs for more information.");
        cancel(srv);
        return Err(e);
    }
    let pidfile = srv.config.read().get_str("pidfile");
    if !pidfile.is_empty() {
        log::notice("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    log::warning("ferrodis is now ready to exit, bye bye...");
    Ok(Outcome::Exit)
}

/// The AOF and RDB part of finishing: no exit while the first AOF is still being written
/// (the dataset would exist nowhere on disk), fsync the AOF, then the final save.
fn finish_persistence(srv: &Server, mode: Mode, locks: Option<&LockSet>) -> Result<(), String> {
    if srv.aof.initial_rewrite.load(Relaxed) {
        if mode.force {
            log::warning("Writing initial AOF. Exit anyway.");
        } else {
            log::warning("Writing initial AOF, can't exit.");
            return Err(FAILED_ERR.into());
        }
    }
    crate::persist::aof::stop_rewrite_for_shutdown(srv);
    if srv.aof.is_enabled() {
        log::notice("Calling fsync() on the AOF file.");
        srv.aof.flush_and_sync(srv);
    }
    let has_save_points = !srv.config.read().save_params().is_empty();
    if !mode.nosave && (mode.save || has_save_points) {
        log::notice("Saving the final RDB snapshot before exiting.");
        let saved = match locks {
            Some(l) => crate::persist::save_locked(srv, l),
            None => crate::persist::save_on_shutdown(srv),
        };
        if let Err(e) = saved {
            if mode.force {
                log::warning(&format!("Error trying to save the DB. Exit anyway. {e}"));
            } else {
                log::warning(&format!("Error trying to save the DB, can't exit. {e}"));
                return Err(FAILED_ERR.into());
            }
        }
    }
    Ok(())
}

/// Redis's cancelShutdown: forget the shutdown, answer the blocked SHUTDOWN callers with
/// an error and let writes go on.
fn cancel(srv: &Server) {
    DEADLINE_MS.store(0, Relaxed);
    SIGNAL_PENDING.store(false, Relaxed);
    IN_PROGRESS.store(false, Relaxed);
    srv.shutdown_requested.store(false, Relaxed);
    let waiters = std::mem::take(&mut WAITING.lock().1);
    for id in waiters {
        crate::blocking::wake(srv, id, format!("-{FAILED_ERR}\r\n").into_bytes());
    }
    if srv.shutdown_pause.swap(false, Relaxed) {
        crate::commands::client::resume_paused(srv);
    }
}
