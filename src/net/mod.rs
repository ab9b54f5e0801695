//! Networking: listening sockets, worker threads, signals.
//!
//! `start` binds the configured addresses, starts `io-threads` workers (each a mio event
//! loop, see `worker`), and then the calling thread waits for SIGTERM/SIGINT and runs the
//! shutdown sequence.

pub mod client;
pub mod worker;

use crate::log;
use crate::server::Server;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Bind one listener per `bind` address. A leading '-' marks an optional address (Redis 7).
pub fn bind_all(srv: &Server, port: u16) -> Result<Vec<mio::net::TcpListener>, String> {
    let backlog = srv.config.read().get_i64("tcp-backlog").max(1) as i32;
    let mut out = Vec::new();
    let addrs = srv.config.read().bind_addrs();
    for a in addrs {
        let (optional, host) = match a.strip_prefix('-') {
            Some(h) => (true, h.to_string()),
            None => (false, a.clone()),
        };
        let host = if host == "*" { "0.0.0.0".to_string() } else { host };
        let ip: std::net::IpAddr = match host.parse() {
            Ok(ip) => ip,
            Err(_) => {
                if optional {
                    continue;
                }
                return Err(format!("Invalid bind address '{host}'"));
            }
        };
        let sa = SocketAddr::new(ip, port);
        match listen(sa, backlog) {
            Ok(l) => out.push(l),
            Err(e) => {
                if optional && (e.kind() == std::io::ErrorKind::AddrNotAvailable || e.raw_os_error() == Some(libc::EAFNOSUPPORT)) {
                    continue;
                }
                return Err(format!("Warning: Could not create server TCP listening socket {host}:{port}: {e}"));
            }
        }
    }
    if out.is_empty() {
        return Err("Failed listening on port (tcp), aborting.".into());
    }
    Ok(out)
}

fn listen(sa: SocketAddr, backlog: i32) -> std::io::Result<mio::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::for_address(sa), Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    if sa.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&sa.into())?;
    s.listen(backlog)?;
    Ok(mio::net::TcpListener::from_std(s.into()))
}

/// Start the workers and the signal thread (SIGTERM/SIGINT run the shutdown sequence and
/// exit). Returns at once: the caller loads the dataset while clients are served.
pub fn start(srv: Arc<Server>, listeners: Vec<mio::net::TcpListener>) {
    let nworkers = srv.config.read().get_i64("io-threads").clamp(1, 128) as usize;
    let mut handles = Vec::new();
    let mut workers = Vec::new();
    let mut listeners = Some(listeners);
    for i in 0..nworkers {
        let ls = if i == 0 { listeners.take().unwrap() } else { Vec::new() };
        let (w, h) = worker::new_worker(i, srv.clone(), ls).expect("worker setup");
        handles.push(h);
        workers.push(w);
    }
    let _ = srv.workers.set(handles);
    for (i, w) in workers.into_iter().enumerate() {
        std::thread::Builder::new().name(format!("ferrodis-w{i}")).spawn(move || w.run()).expect("spawn worker");
    }
    std::thread::Builder::new().name("ferrodis-signals".into()).spawn(move || wait_for_signals(srv)).expect("spawn signal thread");
}

fn wait_for_signals(srv: Arc<Server>) -> ! {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT]).expect("signals");
    loop {
        for sig in signals.forever() {
            // A second SIGINT while the shutdown is running (e.g. a slow final save): exit
            // now, removing the half-written temp file (Redis's sigShutdownHandler).
            if crate::shutdown::IN_PROGRESS.load(Relaxed) && sig == SIGINT {
                log::warning("You insist... exiting now.");
                let _ = std::fs::remove_file(format!("temp-{}.rdb", std::process::id()));
                std::process::exit(1);
            }
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            log::warning(&format!("Received {name} scheduling shutdown..."));
            if crate::shutdown::SIGNAL_PENDING.swap(true, Relaxed) {
                continue;
            }
            // Redis runs the shutdown from its cron (so DEBUG PAUSE-CRON holds it and
            // SHUTDOWN ABORT can cancel it); here a thread waits the same way.
            let srv = srv.clone();
            let _ = std::thread::Builder::new().name("ferrodis-shutdown".into()).spawn(move || {
                crate::shutdown::run_pending(&srv, sig == SIGINT);
            });
        }
    }
}
