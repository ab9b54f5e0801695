//! `ferrodis-server [config-file] [--directive value ...]`: start like redis-server.

use ferrodis::config::Config;
use ferrodis::log;
use ferrodis::server::{Server, FERRODIS_VERSION, REDIS_VERSION};

#[global_allocator]
static ALLOC: ferrodis::util::alloc::Counting = ferrodis::util::alloc::Counting;

fn usage() -> ! {
    eprintln!(
        "Usage: ./ferrodis-server [/path/to/redis.conf] [options] [-]\n       \
         ./ferrodis-server - (read config from stdin)\n       \
         ./ferrodis-server -v or --version\n       \
         ./ferrodis-server -h or --help\n\n\
         Examples:\n       \
         ./ferrodis-server (run the server with default conf)\n       \
         ./ferrodis-server /etc/redis/6379.conf\n       \
         ./ferrodis-server --port 7777\n       \
         ./ferrodis-server /etc/myredis.conf --loglevel verbose -\n       \
         ./ferrodis-server /etc/myredis.conf --loglevel verbose\n"
    );
    std::process::exit(1);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(a) = args.first() {
        match a.as_str() {
            "-v" | "--version" => {
                println!(
                    "Redis server v={REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 build=ferrodis-{FERRODIS_VERSION}"
                );
                return;
            }
            "-h" | "--help" => usage(),
            _ => {}
        }
    }
    ferrodis::util::alloc::mark_installed();
    ferrodis::config::set_command_lookup(ferrodis::commands::server_cmds::command_exists);
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    };
    if config.get_bool("daemonize") {
        daemonize();
    }
    log::set_level(&config.get_str("loglevel"));
    if let Err(e) = log::set_file(&config.get_str("logfile")) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let pidfile = config.get_str("pidfile");
    let port = config.get_i64("port") as u16;
    let io_threads = config.get_i64("io-threads").max(1) as usize;
    let nshards = if io_threads == 1 { 1 } else { (io_threads * 16).next_power_of_two() };
    let srv = Server::new(config, nshards).into_arc();
    let users = srv.config.read().users();
    if let Err(e) = ferrodis::commands::acl::load_config_users(&srv, &users) {
        log::warning(&format!("Error in user declaration: {e}"));
        log::warning("Configuration error");
        std::process::exit(1);
    }
    let pid = std::process::id();
    log::notice("oO0OoO0OoO0Oo ferrodis is starting oO0OoO0OoO0Oo");
    log::notice(&format!(
        "ferrodis version={FERRODIS_VERSION}, redis_version={REDIS_VERSION}, bits=64, pid={pid}, just started"
    ));
    if args.is_empty() {
        log::warning("Warning: no config file specified, using the default config. In order to specify a config file use ./ferrodis-server /path/to/redis.conf");
    } else {
        log::notice("Configuration loaded");
    }
    log::notice(&format!("Running mode=standalone, port={port}."));
    let listeners = if port != 0 {
        match ferrodis::net::bind_all(&srv, port) {
            Ok(l) => l,
            Err(e) => {
                log::warning(&e);
                if !e.starts_with("Failed listening") {
                    log::warning(&format!("Failed listening on port {port} (tcp), aborting."));
                }
                std::process::exit(1);
            }
        }
    } else {
        Vec::new()
    };
    // As Redis (initServer binds before redisAsciiArt prints it): whoever waits for the
    // " PID: " line may connect at once (the TCL suite's start_server without a code block).
    log::notice(&format!("ferrodis {FERRODIS_VERSION} (Redis {REDIS_VERSION} compatible) PID: {pid}"));
    srv.tcp_port.store(port as u32, std::sync::atomic::Ordering::Relaxed);
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{pid}\n")) {
            log::warning(&format!("Failed to write PID file: {e}"));
        }
    }
    srv.introspect.startup_memory.store(ferrodis::util::alloc::used_memory(), std::sync::atomic::Ordering::Relaxed);
    log::notice("Server initialized");
    // Clients connect during start-up; they are held, or get -LOADING while a big dataset
    // loads (see persist::startup_gate).
    ferrodis::persist::begin_startup(&srv);
    ferrodis::net::start(srv.clone(), listeners);
    if let Err(e) = ferrodis::persist::load_data(&srv) {
        log::warning(&e);
        std::process::exit(1);
    }
    log::notice("Ready to accept connections tcp");
    ferrodis::replica::start_from_config(&srv);
    loop {
        std::thread::park();
    }
}

/// Classic double-fork-free daemonize: fork, parent exits, child starts a new session and
/// points stdio at /dev/null (Redis's daemonize()).
fn daemonize() {
    // SAFETY: plain POSIX calls before any thread is started.
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!("fork failed");
                std::process::exit(1);
            }
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}
