//! redis.call / redis.pcall: running a command from a script (Redis's scriptCall).
//!
//! The command runs through the command table under the locks the script's EVAL/FCALL
//! already holds (`dispatch::run_in_exec`), as the engine's own client: its `ClientInfo`
//! is swapped into the context for the call (own db — SELECT in a script does not move
//! the caller — and own protocol, set by redis.setresp), and the reply goes to a scratch
//! buffer that is then parsed back into Lua. Before running, Redis's script checks apply
//! in Redis's order: command known, arity, `noscript`, read-only script, OOM.
//! What the command changed is recorded as an effect for the write stream.

use super::lua::*;
use super::{current_run, rflags, RunCtx};
use crate::commands::{flags, Command};
use crate::protocol::ReplyBuf;
use mlua::ffi::{self, lua_State};
use std::ffi::c_int;
use std::sync::atomic::Ordering::Relaxed;

/// The body of redis.call (`raise` true) and redis.pcall.
pub unsafe fn lua_command(l: *mut lua_State, raise: bool) -> c_int {
    let Some(run) = current_run() else {
        push_error_table(l, "redis.call/pcall can only be called inside a script invocation");
        raise_top(l);
    };
    let argv = match lua_args(l) {
        Ok(a) => a,
        Err(e) => {
            push_error_table(l, e);
            return if raise { raise_top(l) } else { 1 };
        }
    };
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(run, argv))) {
        Ok(r) => r,
        Err(_) => Err("internal error while running a command from a script".to_string()),
    };
    match result {
        Err(e) => {
            push_counted_error_table(l, &e);
            drop(e);
            if raise {
                raise_top(l)
            }
            1
        }
        Ok(reply) => {
            let is_error = reply.first() == Some(&b'-');
            if convert_reply(l, &reply) == 0 {
                ffi::lua_pushnil(l);
            }
            drop(reply);
            if raise && is_error {
                raise_top(l)
            }
            1
        }
    }
}

unsafe fn convert_reply(l: *mut lua_State, reply: &[u8]) -> usize {
    super::convert::push_reply(l, reply, true)
}

/// The arguments of a redis.call as byte strings (numbers as "%.17g"); pops them.
pub unsafe fn lua_args(l: *mut lua_State) -> Result<Vec<Vec<u8>>, &'static str> {
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        return Err("Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(argc as usize);
    let mut ok = true;
    for j in 1..=argc {
        if ffi::lua_type(l, j) == ffi::LUA_TNUMBER {
            argv.push(crate::util::numfmt::fmt_double_17g(ffi::lua_tonumber(l, j)).into_bytes());
        } else {
            match to_bytes(l, j) {
                Some(b) => argv.push(b.to_vec()),
                None => {
                    ok = false;
                    break;
                }
            }
        }
    }
    ffi::lua_settop(l, 0);
    if !ok {
        return Err("Lua redis lib command arguments must be strings or integers");
    }
    Ok(argv)
}

/// lookupCommand: the command, or the subcommand when there is a second argument.
pub fn lookup<'t>(srv: &'t crate::server::Server, argv: &[&[u8]]) -> Option<&'t Command> {
    let table = &srv.table;
    let cmd = table.lookup(argv[0])?;
    if cmd.is_container() && argv.len() >= 2 {
        return table.sub(cmd, argv[1]);
    }
    Some(cmd)
}

/// A command refused before running: counted like Redis (error stats, rejected_calls).
fn reject(run: &RunCtx, cmd: Option<&Command>, err: &str) -> Result<Vec<u8>, String> {
    // SAFETY: the server outlives the run.
    let srv = unsafe { &*run.srv };
    srv.count_error(&error_text(err));
    if let (Some(cmd), Some(w)) = (cmd, srv.workers.get()) {
        w[0].cmdstats[cmd.id].rejected.fetch_add(1, Relaxed);
    }
    Err(err.to_string())
}

/// Run one command for the script; Ok is the raw reply (possibly an error reply).
fn execute(run: &mut RunCtx, argv: Vec<Vec<u8>>) -> Result<Vec<u8>, String> {
    // SAFETY: `run.ctx` is the context of the EVAL/FCALL handler that is running this
    // script; nothing else uses it while the script runs.
    let ctx = unsafe { &mut *run.ctx };
    let srv = ctx.srv;
    let refs: smallvec::SmallVec<[&[u8]; 8]> = argv.iter().map(|a| a.as_slice()).collect();
    let Some(cmd) = lookup(srv, &refs) else {
        return reject(run, None, "Unknown Redis command called from script");
    };
    let argc = refs.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return reject(run, Some(cmd), "Wrong number of args calling Redis command from script");
    }
    if cmd.has(flags::NOSCRIPT) && !srv.scripting.deny_disabled.load(Relaxed) {
        return reject(run, Some(cmd), "This Redis command is not allowed from script");
    }
    // ACL: the script runs with its caller's user.
    if let Err(d) = crate::commands::acl::check_client(srv, ctx.client, cmd, &refs, crate::acl::LogContext::Lua) {
        return reject(run, Some(cmd), &format!("The user executing the script {}", d.short_message()));
    }
    if run.flags & rflags::READ_ONLY != 0 && cmd.has(flags::WRITE | flags::MAY_REPLICATE) {
        return reject(run, Some(cmd), "Write commands are not allowed from read-only scripts.");
    }
    if cmd.has(flags::WRITE) && run.flags & rflags::WRITE_DIRTY == 0 && super::not_enough_replicas(srv) {
        return reject(run, Some(cmd), &format!("-{}", super::NOREPLICAS));
    }
    if run.flags & (rflags::ALLOW_OOM | rflags::WRITE_DIRTY) == 0 && run.oom && cmd.has(flags::DENYOOM) {
        return reject(run, Some(cmd), "-OOM command not allowed when used memory > 'maxmemory'.");
    }
    if cmd.has(flags::WRITE) {
        run.flags |= rflags::WRITE_DIRTY;
        srv.scripting.run.write_dirty.store(true, Relaxed);
    }

    // Run it as the engine's client, into a scratch reply buffer.
    // SAFETY: the engine's client lives in the locked engine for the whole run.
    let script_client = unsafe { &mut *run.client };
    std::mem::swap(ctx.client, script_client);
    let caller_db = ctx.ks.db;
    let db = ctx.client.db;
    ctx.ks.db = db;
    ctx.client.resp = run.resp;
    let mut scratch = ReplyBuf::new(run.resp);
    std::mem::swap(ctx.out, &mut scratch);
    let ops_before = ctx.ks.ops.len();

    // Effects go to the write stream through `ks.ops` (run_in_exec records them).
    crate::dispatch::run_in_exec(ctx, cmd, &refs);

    std::mem::swap(ctx.out, &mut scratch);
    std::mem::swap(ctx.client, script_client);
    ctx.ks.db = caller_db;
    // redis.set_repl: the stream feeds the AOF (replicas later), so effects the script
    // keeps away from the AOF are dropped.
    if run.repl & super::REPL_AOF == 0 {
        ctx.ks.ops.truncate(ops_before);
    }

    // (run_in_exec counted an error reply in the error stats)
    Ok(scratch.buf)
}
