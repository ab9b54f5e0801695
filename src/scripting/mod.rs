//! Lua scripting: EVAL scripts and FUNCTION libraries, as Redis 7.0 runs them.
//!
//! Layout: `lua` (the VM, raw C-API helpers, sandbox), `api` (the `redis` table and the
//! other functions scripts call), `call` (running a command from a script), `convert`
//! (reply <-> Lua), `eval` (script cache and EVAL), `functions` (libraries and FCALL),
//! and the bundled libraries `cjson`, `cmsgpack`, `bit`, `lstruct`.
//!
//! Two Lua states, like Redis: one for EVAL (reset by SCRIPT FLUSH) and one for
//! functions, each behind its own mutex. A script runs inside its command's handler,
//! under every shard lock (EVAL/FCALL are registered ALL_SHARDS), so it is atomic. The
//! running script is described by a `RunCtx` on the handler's stack, reachable from the
//! Lua callbacks through a thread-local pointer.
//!
//! Busy scripts: the Lua count hook (every 100,000 instructions) checks the elapsed time;
//! past `busy-reply-threshold` the script is "timed out": the hook lets the worker serve
//! its other connections (`net::worker::serve_while_busy`), which answer -BUSY to all but
//! allow-busy commands (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE...). SCRIPT/FUNCTION
//! KILL only set a flag in `RunState`; the hook then raises the kill error. Other workers
//! see `RunState` too and answer -BUSY instead of waiting for the shard locks.

pub mod api;
pub mod bit;
pub mod call;
pub mod cjson;
pub mod cmsgpack;
pub mod convert;
pub mod eval;
pub mod functions;
pub mod lstruct;
pub mod lua;

use crate::commands::Ctx;
use crate::net::client::ClientInfo;
use crate::server::Server;
use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// Script flags (shebang `flags=` / register_function flags), Redis's SCRIPT_FLAG_*.
pub mod sflags {
    pub const NO_WRITES: u64 = 1 << 0;
    pub const ALLOW_OOM: u64 = 1 << 1;
    pub const ALLOW_STALE: u64 = 1 << 2;
    pub const NO_CLUSTER: u64 = 1 << 3;
    /// An EVAL script without a shebang: Redis 6 behaviour.
    pub const EVAL_COMPAT_MODE: u64 = 1 << 4;
    pub const ALLOW_CROSS_SLOT: u64 = 1 << 5;

    /// Name and flag, in Redis's order (FUNCTION LIST prints them in this order).
    pub const NAMES: &[(&str, u64)] = &[
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];
}

/// Flags of one run (Redis's SCRIPT_* run-context flags).
pub mod rflags {
    pub const READ_ONLY: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const EVAL_MODE: u32 = 1 << 2;
    pub const WRITE_DIRTY: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
}

/// Propagation targets of redis.set_repl (Redis's PROPAGATE_AOF / PROPAGATE_REPL).
pub const REPL_AOF: u8 = 1;
pub const REPL_REPLICA: u8 = 2;
pub const REPL_ALL: u8 = REPL_AOF | REPL_REPLICA;

/// The state of the script running right now, visible to every thread.
#[derive(Default)]
pub struct RunState {
    /// A script is running (set before it starts, cleared when it ends).
    pub running: AtomicBool,
    /// The running script passed busy-reply-threshold: other clients get -BUSY.
    pub timedout: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked the running script to stop.
    pub killed: AtomicBool,
    /// The running script is an EVAL (not an FCALL).
    pub is_eval: AtomicBool,
    /// The running script already wrote: it cannot be killed.
    pub write_dirty: AtomicBool,
    /// Started from a master / AOF client: cannot be killed.
    pub unkillable_origin: AtomicBool,
    /// What FUNCTION STATS shows about the running script.
    pub info: Mutex<Option<RunInfo>>,
}

pub struct RunInfo {
    pub name: String,
    pub argv: Vec<Vec<u8>>,
    pub start: Instant,
}

/// Server-wide scripting state (one per `Server`).
pub struct Scripting {
    pub eval: Mutex<eval::EvalEngine>,
    pub functions: Mutex<functions::FunctionEngine>,
    pub libraries: Mutex<functions::Libraries>,
    pub run: RunState,
    /// DEBUG set-disable-deny-scripts: let scripts call `noscript` commands.
    pub deny_disabled: AtomicBool,
    /// Counts script calls, to run a few GC steps every 50 calls like Redis.
    gc_tick: AtomicU64,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting::new()
    }
}

impl Scripting {
    pub fn new() -> Scripting {
        Scripting {
            eval: Mutex::new(eval::EvalEngine::new()),
            functions: Mutex::new(functions::FunctionEngine::new()),
            libraries: Mutex::new(functions::Libraries::default()),
            run: RunState::default(),
            deny_disabled: AtomicBool::new(false),
            gc_tick: AtomicU64::new(0),
        }
    }

    /// Is a script past its busy threshold (other clients must get -BUSY)?
    #[inline]
    pub fn is_busy(&self) -> bool {
        self.run.timedout.load(Relaxed)
    }

    #[inline]
    pub fn is_running(&self) -> bool {
        self.run.running.load(Relaxed)
    }

    /// The -BUSY error for a command refused while a script is busy.
    pub fn busy_error(&self) -> &'static str {
        if self.run.is_eval.load(Relaxed) {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        }
    }

    /// INFO memory fields: (used_memory_vm_eval, used_memory_scripts_eval,
    /// number_of_cached_scripts, used_memory_vm_functions, used_memory_functions,
    /// number_of_functions, number_of_libraries).
    pub fn memory_info(&self) -> MemoryInfo {
        let (vm_eval, scripts_eval, nscripts) = match self.eval.try_lock() {
            Some(e) => (e.vm_memory(), e.scripts_memory(), e.len() as u64),
            None => (0, 0, 0),
        };
        let vm_functions = self.functions.try_lock().map(|f| f.vm_memory()).unwrap_or(0);
        let libs = self.libraries.lock();
        MemoryInfo {
            vm_eval,
            scripts_eval,
            cached_scripts: nscripts,
            vm_functions,
            functions: libs.memory(),
            number_of_functions: libs.function_count() as u64,
            number_of_libraries: libs.library_count() as u64,
        }
    }
}

pub struct MemoryInfo {
    pub vm_eval: u64,
    pub scripts_eval: u64,
    pub cached_scripts: u64,
    pub vm_functions: u64,
    pub functions: u64,
    pub number_of_functions: u64,
    pub number_of_libraries: u64,
}

pub const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// One script run, on the stack of the EVAL / FCALL handler.
pub struct RunCtx {
    /// The command context of the EVAL / FCALL (its locks, keyspace, caller, reply).
    pub ctx: *mut Ctx<'static>,
    /// The engine's script client, swapped into `ctx.client` while a command runs.
    pub client: *mut ClientInfo,
    /// Protocol of the script client (redis.setresp).
    pub resp: u8,
    pub flags: u32,
    /// redis.set_repl targets.
    pub repl: u8,
    /// Used memory was over maxmemory when the script started.
    pub oom: bool,
    pub start: Instant,
    /// Hook calls since the start (the kill check needs the time only every call).
    pub srv: *const Server,
}

thread_local! {
    static RUN: Cell<*mut RunCtx> = const { Cell::new(std::ptr::null_mut()) };
}

/// The run in progress on this thread, if any.
///
/// # Safety
/// The pointer is set by `run_script` for the duration of the Lua call and only used by
/// the Lua callbacks it triggers, on this thread.
pub(crate) unsafe fn current_run<'a>() -> Option<&'a mut RunCtx> {
    let p = RUN.with(|r| r.get());
    if p.is_null() {
        None
    } else {
        Some(&mut *p)
    }
}

/// Used memory (for maxmemory checks before a script writes): INFO's used_memory.
pub fn used_memory() -> u64 {
    crate::commands::server_cmds::used_memory()
}

pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// min-replicas-to-write is set and fewer good replicas are connected
/// (checkGoodReplicasStatus).
pub fn not_enough_replicas(srv: &Server) -> bool {
    let (to_write, max_lag) = {
        let c = srv.config.read();
        (c.get_i64("min-replicas-to-write"), c.get_i64("min-replicas-max-lag"))
    };
    if to_write <= 0 || max_lag <= 0 {
        return false;
    }
    (srv.wstream.good_replicas(max_lag) as i64) < to_write
}

/// scriptPrepareForRun's checks: may this script run now? Writes the error and returns
/// false if not.
pub fn check_can_run(ctx: &mut Ctx, script_flags: u64, ro: bool) -> bool {
    use sflags::*;
    let srv = ctx.srv;
    if script_flags & EVAL_COMPAT_MODE == 0 {
        if script_flags & NO_CLUSTER != 0 && srv.config.read().get_bool("cluster-enabled") {
            ctx.out.error("ERR Can not run script on cluster, 'no-cluster' flag is set.");
            return false;
        }
        if script_flags & NO_WRITES == 0 && ro {
            ctx.out.error("ERR Can not execute a script with write flag using *_ro command.");
            return false;
        }
        if script_flags & NO_WRITES == 0 && not_enough_replicas(srv) {
            ctx.out.error(NOREPLICAS);
            return false;
        }
        let maxmemory = srv.config.read().get_i64("maxmemory").max(0) as u64;
        if maxmemory > 0 && script_flags & (ALLOW_OOM | NO_WRITES) == 0 && used_memory() > maxmemory {
            ctx.out.error("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
            return false;
        }
    }
    true
}

/// How the command reached us, for the run flags.
pub struct RunSpec<'s> {
    pub name: &'s str,
    /// The EVAL / FCALL command line (FUNCTION STATS shows it).
    pub argv: &'s [&'s [u8]],
    pub script_flags: u64,
    pub ro: bool,
    pub eval_mode: bool,
}

/// Prepare the run context of a script about to run from `ctx`.
pub fn new_run(ctx: &mut Ctx, client: *mut ClientInfo, spec: &RunSpec) -> RunCtx {
    use sflags::*;
    let srv = ctx.srv;
    let maxmemory = srv.config.read().get_i64("maxmemory").max(0) as u64;
    let mut flags = 0;
    if spec.ro || (spec.script_flags & EVAL_COMPAT_MODE == 0 && spec.script_flags & NO_WRITES != 0) {
        flags |= rflags::READ_ONLY;
    }
    if spec.script_flags & EVAL_COMPAT_MODE == 0 && spec.script_flags & ALLOW_OOM != 0 {
        flags |= rflags::ALLOW_OOM;
    }
    if spec.script_flags & (EVAL_COMPAT_MODE | ALLOW_CROSS_SLOT) != 0 {
        flags |= rflags::ALLOW_CROSS_SLOT;
    }
    if spec.eval_mode {
        flags |= rflags::EVAL_MODE;
    }
    // SAFETY of the casts: the pointers are only used while `ctx` is alive (run_script).
    RunCtx {
        ctx: ctx as *mut Ctx as *mut Ctx<'static>,
        client,
        resp: 2,
        flags,
        repl: REPL_ALL,
        oom: maxmemory > 0 && used_memory() > maxmemory,
        start: Instant::now(),
        srv: srv as *const Server,
    }
}

/// Run the Lua function prepared on the stack (error handler at `-(nargs + 2)`, function
/// at `-(nargs + 1)`, then `nargs` arguments) for `run`, and write its reply or error into
/// the caller's reply buffer.
///
/// # Safety
/// `l` is the locked engine's state with the stack laid out as described; `run` points
/// into the current handler's `ctx`.
pub unsafe fn run_script(l: *mut mlua::ffi::lua_State, run: &mut RunCtx, nargs: i32, spec: &RunSpec) {
    use mlua::ffi;
    let srv = &*run.srv;
    let state = &srv.scripting.run;
    // Set up the client of the engine for this run.
    {
        let ctx = &mut *run.ctx;
        let client = &mut *run.client;
        client.db = ctx.client.db;
        client.resp = 2;
        client.multi = None;
        client.authenticated = true;
    }
    state.killed.store(false, Relaxed);
    state.timedout.store(false, Relaxed);
    state.write_dirty.store(false, Relaxed);
    state.is_eval.store(spec.eval_mode, Relaxed);
    {
        let ctx = &*run.ctx;
        state.unkillable_origin.store(ctx.client.flag(crate::net::client::cflags::MASTER), Relaxed);
    }
    *state.info.lock() = Some(RunInfo {
        name: spec.name.to_string(),
        argv: spec.argv.iter().map(|a| a.to_vec()).collect(),
        start: run.start,
    });
    state.running.store(true, Relaxed);
    let prev = RUN.with(|r| r.replace(run as *mut RunCtx));
    let threshold = srv.config.read().get_i64("busy-reply-threshold");
    if threshold > 0 {
        ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKCOUNT, 100_000);
    }
    let err = ffi::lua_pcall(l, nargs, 1, -(nargs + 2));
    if srv.scripting.gc_tick.fetch_add(1, Relaxed) % 50 == 49 {
        ffi::lua_gc(l, ffi::LUA_GCSTEP, 50);
    }
    ffi::lua_sethook(l, None, 0, 0);
    RUN.with(|r| r.set(prev));
    let ctx = &mut *run.ctx;
    if err != 0 {
        let e = lua::error_info(l);
        let mut msg = e.msg;
        if let (Some(src), Some(line)) = (&e.source, &e.line) {
            msg = format!("{msg} script: {}, on {src}:{line}.", spec.name);
        }
        if e.counted {
            ctx.out.error_counted(&msg);
        } else {
            ctx.out.error(&msg);
        }
        ffi::lua_pop(l, 1);
    } else {
        convert::write_reply(l, ctx.out, run.resp);
    }
    // The stream gets the commands the script ran (in ks.ops), never the script itself.
    ctx.ks.propagate = Some(Vec::new());
    state.running.store(false, Relaxed);
    state.timedout.store(false, Relaxed);
    state.killed.store(false, Relaxed);
    *state.info.lock() = None;
}

/// The Lua count hook: the busy / kill checks of a running script.
unsafe extern "C-unwind" fn count_hook(l: *mut mlua::ffi::lua_State, _ar: *mut mlua::ffi::lua_Debug) {
    let killed = lua::guard_bool(|| {
        let Some(run) = current_run() else { return false };
        let srv = &*run.srv;
        let state = &srv.scripting.run;
        if !state.timedout.load(Relaxed) {
            let threshold = srv.config.read().get_i64("busy-reply-threshold");
            let elapsed = run.start.elapsed().as_millis() as i64;
            if elapsed < threshold {
                return false;
            }
            let eval = run.flags & rflags::EVAL_MODE != 0;
            let name = state.info.lock().as_ref().map(|i| i.name.clone()).unwrap_or_default();
            crate::log::warning(&format!(
                "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {} command. Script name is: {name}.",
                if eval { "SCRIPT KILL" } else { "FUNCTION KILL" }
            ));
            state.timedout.store(true, Relaxed);
        }
        crate::net::worker::serve_while_busy();
        state.killed.load(Relaxed)
    });
    if killed {
        crate::log::warning("Lua script killed by user with SCRIPT KILL.");
        // Keep raising on every line so pcall cannot swallow the kill for good.
        mlua::ffi::lua_sethook(l, Some(count_hook), mlua::ffi::LUA_MASKLINE, 0);
        lua::push_error_table(l, "Script killed by user with SCRIPT KILL...");
        lua::raise_top(l);
    }
}

/// SCRIPT KILL (`eval` true) / FUNCTION KILL.
pub fn kill(ctx: &mut Ctx, eval: bool) {
    let st = &ctx.srv.scripting.run;
    if !st.running.load(Relaxed) {
        return ctx.out.error("NOTBUSY No scripts in execution right now.");
    }
    if st.unkillable_origin.load(Relaxed) {
        return ctx.out.error(
            "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.",
        );
    }
    if st.write_dirty.load(Relaxed) {
        return ctx.out.error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    }
    let is_eval = st.is_eval.load(Relaxed);
    if eval && !is_eval {
        return ctx.out.error(BUSY_FUNCTION);
    }
    if !eval && is_eval {
        return ctx.out.error(BUSY_EVAL);
    }
    st.killed.store(true, Relaxed);
    ctx.out.ok();
}

/// Parse a script body's shebang line (`#!lua flags=no-writes,allow-oom`).
/// Returns (flags, length of the shebang line without its newline).
pub fn shebang_flags(body: &[u8]) -> Result<(u64, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((sflags::EVAL_COMPAT_MODE, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = &body[..end];
    let parts = match crate::protocol::parse::split_args_quoted(line) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("Invalid engine in script shebang".into()),
    };
    if parts[0] != b"#!lua" {
        return Err(format!("Unexpected engine in script shebang: {}", String::from_utf8_lossy(&parts[0])));
    }
    let mut flags = 0;
    for p in &parts[1..] {
        if let Some(list) = p.strip_prefix(b"flags=") {
            for f in list.split(|&c| c == b',') {
                if list.is_empty() {
                    break;
                }
                match sflags::NAMES.iter().find(|(n, _)| n.as_bytes() == f) {
                    Some((_, bit)) => flags |= bit,
                    None => {
                        return Err(format!("Unexpected flag in script shebang: {}", String::from_utf8_lossy(f)));
                    }
                }
            }
        } else {
            return Err(format!("Unknown lua shebang option: {}", String::from_utf8_lossy(p)));
        }
    }
    Ok((flags, end))
}

/// getCommandFlags: the flags a call of `cmd` behaves with. EVAL / EVALSHA / FCALL (and
/// their _RO forms) of a script with declared flags take those instead of the table's.
pub fn call_command_flags(srv: &Server, cmd: &crate::commands::Command, argv: &[&[u8]]) -> u32 {
    let name = cmd.name.as_str();
    if !(name.starts_with("eval") || name.starts_with("fcall")) || argv.len() < 2 {
        return cmd.flags;
    }
    let script_flags = match name {
        "eval" | "eval_ro" => {
            // The flags of a cached script come from its body: read them from there.
            match shebang_flags(argv[1]) {
                Ok((f, _)) => f,
                Err(_) => return cmd.flags,
            }
        }
        "evalsha" | "evalsha_ro" => {
            if argv[1].len() != 40 {
                return cmd.flags;
            }
            // The engine is locked while a script runs: then keep the table's flags.
            let Some(eng) = srv.scripting.eval.try_lock() else { return cmd.flags };
            match eng.get(argv[1]) {
                Some(s) => s.flags,
                None => return cmd.flags,
            }
        }
        "fcall" | "fcall_ro" => {
            let Some(libs) = srv.scripting.libraries.try_lock() else { return cmd.flags };
            match libs.find(argv[1]) {
                Some(f) => f.flags,
                None => return cmd.flags,
            }
        }
        _ => return cmd.flags,
    };
    command_flags(cmd.flags, script_flags)
}

/// The command flags a script command behaves with (evalGetCommandFlags /
/// fcallGetCommandFlags): with declared script flags, write / deny-oom / stale come from
/// the script instead of the command table.
pub fn command_flags(cmd_flags: u32, script_flags: u64) -> u32 {
    use crate::commands::flags::*;
    if script_flags & sflags::EVAL_COMPAT_MODE != 0 {
        return cmd_flags;
    }
    let mut f = cmd_flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
    if script_flags & (sflags::ALLOW_OOM | sflags::NO_WRITES) == 0 {
        f |= DENYOOM;
    }
    if script_flags & sflags::NO_WRITES == 0 {
        f |= WRITE;
    }
    if script_flags & sflags::ALLOW_STALE != 0 {
        f |= STALE;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        assert_eq!(shebang_flags(b"return 1").unwrap(), (sflags::EVAL_COMPAT_MODE, 0));
        assert_eq!(shebang_flags(b"#!lua\nreturn 1").unwrap(), (0, 5));
        assert_eq!(shebang_flags(b"#!lua flags=no-writes,allow-oom\nx").unwrap().0, sflags::NO_WRITES | sflags::ALLOW_OOM);
        assert_eq!(shebang_flags(b"#!lua flags=\nx").unwrap().0, 0);
        assert_eq!(shebang_flags(b"#!not-lua\nx").unwrap_err(), "Unexpected engine in script shebang: #!not-lua");
        assert_eq!(shebang_flags(b"#!lua badger=data\nx").unwrap_err(), "Unknown lua shebang option: badger=data");
        assert_eq!(shebang_flags(b"#!lua flags=allow-oom,what?\nx").unwrap_err(), "Unexpected flag in script shebang: what?");
        assert_eq!(shebang_flags(b"#!lua").unwrap_err(), "Invalid script shebang");
    }
}
