//! Orderly shutdown (SIGTERM/SIGINT and the SHUTDOWN command), as Redis's prepareForShutdown:
//! final save when save points exist (unless NOSAVE), remove the pid file, log and exit.

use crate::keyspace::LockSet;
use crate::log;
use crate::server::Server;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// A SIGTERM/SIGINT shutdown is scheduled and not yet started (SHUTDOWN ABORT clears it).
pub static SIGNAL_PENDING: AtomicBool = AtomicBool::new(false);
/// The shutdown sequence is running (a second SIGINT exits at once).
pub static IN_PROGRESS: AtomicBool = AtomicBool::new(false);

/// The signal-scheduled shutdown: waits while the cron is paused (DEBUG PAUSE-CRON), gives
/// up if SHUTDOWN ABORT cancelled it, else shuts down and exits.
pub fn run_pending(srv: &Server) {
    loop {
        if !SIGNAL_PENDING.load(Relaxed) {
            return;
        }
        if !srv.introspect.cron_paused.load(Relaxed) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    srv.shutdown_requested.store(true, Relaxed);
    match shutdown(srv, Mode::default()) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            srv.shutdown_requested.store(false, Relaxed);
            SIGNAL_PENDING.store(false, Relaxed);
            log::warning(&format!(
                "SIGTERM received but errors trying to shut down the server, check the logs for more information: {e}"
            ));
        }
    }
}

/// SHUTDOWN ABORT: cancel a scheduled signal shutdown. False if none is pending.
pub fn abort_pending() -> bool {
    if SIGNAL_PENDING.swap(false, Relaxed) {
        log::warning("Shutdown manually aborted.");
        true
    } else {
        false
    }
}

#[derive(Default, Clone, Copy)]
pub struct Mode {
    pub nosave: bool,
    pub save: bool,
    pub now: bool,
    pub force: bool,
}

/// Prepare the process to exit. Ok(()) means the caller may exit(0).
pub fn shutdown(srv: &Server, mode: Mode) -> Result<(), String> {
    prepare(srv, mode, None)
}

/// `shutdown` from a command that already holds every shard lock (SHUTDOWN).
pub fn shutdown_locked(srv: &Server, mode: Mode, locks: &LockSet) -> Result<(), String> {
    prepare(srv, mode, Some(locks))
}

fn prepare(srv: &Server, mode: Mode, locks: Option<&LockSet>) -> Result<(), String> {
    IN_PROGRESS.store(true, Relaxed);
    let res = prepare_inner(srv, mode, locks);
    if res.is_err() {
        IN_PROGRESS.store(false, Relaxed);
    }
    res
}

fn prepare_inner(srv: &Server, mode: Mode, locks: Option<&LockSet>) -> Result<(), String> {
    log::warning("User requested shutdown...");
    if srv.persist.loading.load(std::sync::atomic::Ordering::Relaxed) {
        // A half-loaded dataset must never overwrite the files it is loaded from.
        log::warning("ferrodis is now ready to exit, bye bye...");
        return Ok(());
    }
    crate::persist::aof::stop_rewrite_for_shutdown(mode.force, srv)?;
    let has_save_points = !srv.config.read().save_params().is_empty();
    if !mode.nosave && (mode.save || has_save_points) {
        log::notice("Saving the final RDB snapshot before exiting.");
        let saved = match locks {
            Some(l) => crate::persist::save_locked(srv, l),
            None => crate::persist::save_on_shutdown(srv),
        };
        if let Err(e) = saved {
            if !mode.force {
                log::warning(&format!("Error trying to save the DB, can't exit. {e}"));
                return Err("Errors trying to SHUTDOWN. Check logs.".into());
            }
        }
    }
    if srv.aof.is_enabled() {
        log::notice("Calling fsync() on the AOF file.");
        srv.aof.flush_and_sync(srv);
    }
    let pidfile = srv.config.read().get_str("pidfile");
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    log::warning("ferrodis is now ready to exit, bye bye...");
    Ok(())
}
