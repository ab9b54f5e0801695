//! EVAL scripts: the Lua state for EVAL, the script cache (SHA1 -> compiled function)
//! and running a script for EVAL / EVALSHA / EVAL_RO / EVALSHA_RO.
//!
//! A script body is compiled once ("@user_script", the shebang line skipped but its
//! newline kept so line numbers match) and kept in the Lua registry until SCRIPT FLUSH,
//! which drops the whole Lua state. KEYS and ARGV are globals of that state.

use super::lua::{self, Vm};
use super::{api, RunSpec};
use crate::commands::Ctx;
use crate::net::client::{ClientHandle, ClientInfo};
use ahash::AHashMap;
use mlua::ffi;
use std::sync::Arc;

pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

pub struct Script {
    pub body: Vec<u8>,
    pub flags: u64,
    fref: i32,
}

pub struct EvalEngine {
    vm: Vm,
    /// The client scripts run commands as (Redis's lua_client).
    pub client: ClientInfo,
    scripts: AHashMap<[u8; 40], Script>,
    scripts_mem: u64,
}

/// A client for an engine to run commands with: not connected, authenticated, flagged
/// SCRIPT (MONITOR shows it as "lua"), never blocks.
pub fn engine_client() -> ClientInfo {
    let handle = Arc::new(ClientHandle::new(0, "lua".into(), String::new(), -1, 0, usize::MAX, crate::server::now_ms()));
    handle.set_flag(crate::net::client::cflags::SCRIPT | crate::net::client::cflags::DENY_BLOCKING, true);
    let mut c = ClientInfo::new(handle, true, true);
    c.in_exec = true;
    c
}

/// Build the EVAL Lua state (scriptingInit).
fn new_vm() -> Vm {
    let vm = api::new_vm();
    let l = vm.l;
    // SAFETY: fresh state, balanced stack operations.
    unsafe {
        api::add_eval_api(l);
        ffi::lua_pushcfunction(l, lua::error_handler);
        ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"__redis__err__handler".as_ptr());
        api::lock_globals(l);
        lua::protect_basic_types(l);
    }
    vm
}

impl Default for EvalEngine {
    fn default() -> Self {
        EvalEngine::new()
    }
}

impl EvalEngine {
    pub fn new() -> EvalEngine {
        EvalEngine { vm: new_vm(), client: engine_client(), scripts: AHashMap::new(), scripts_mem: 0 }
    }

    /// SCRIPT FLUSH: a new Lua state and an empty cache.
    pub fn reset(&mut self) {
        self.scripts.clear();
        self.scripts_mem = 0;
        self.vm = new_vm();
    }

    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    pub fn vm_memory(&self) -> u64 {
        self.vm.memory()
    }

    pub fn scripts_memory(&self) -> u64 {
        self.scripts_mem + self.scripts.len() as u64 * 96
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        sha_key(sha).is_some_and(|k| self.scripts.contains_key(&k))
    }

    pub fn get(&self, sha: &[u8]) -> Option<&Script> {
        self.scripts.get(&sha_key(sha)?)
    }

    /// Compile and cache a script (luaCreateFunction). Returns its SHA1, or the error text.
    pub fn create(&mut self, body: &[u8]) -> Result<[u8; 40], String> {
        let sha = api::sha1_hex(body);
        let key: [u8; 40] = sha.as_bytes().try_into().expect("sha1 hex is 40 bytes");
        if self.scripts.contains_key(&key) {
            return Ok(key);
        }
        let (flags, shebang_len) = super::shebang_flags(body).map_err(|e| format!("ERR {e}"))?;
        let l = self.vm.l;
        // SAFETY: the compiled function is popped into the registry right away.
        let fref = unsafe {
            lua::compile(l, &body[shebang_len..], c"@user_script")
                .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
            ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX)
        };
        self.scripts_mem += 40 + body.len() as u64;
        self.scripts.insert(key, Script { body: body.to_vec(), flags, fref });
        Ok(key)
    }
}

/// A SHA1 argument as the cache key (lowercase), if it has the right length.
fn sha_key(sha: &[u8]) -> Option<[u8; 40]> {
    let mut k: [u8; 40] = sha.try_into().ok()?;
    k.make_ascii_lowercase();
    Some(k)
}

/// Parse and check EVAL's numkeys (`argv[2]`): Some(numkeys) or the error is written.
pub fn numkeys(ctx: &mut Ctx, argv: &[&[u8]], bad: &str) -> Option<usize> {
    let Some(n) = crate::util::numfmt::parse_i64(argv[2]) else {
        ctx.out.error(bad);
        return None;
    };
    if n > argv.len() as i64 - 3 {
        ctx.out.error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    if n < 0 {
        ctx.out.error("ERR Number of keys can't be negative");
        return None;
    }
    Some(n as usize)
}

/// EVAL / EVALSHA / EVAL_RO / EVALSHA_RO.
pub fn eval_command(ctx: &mut Ctx, argv: &[&[u8]], evalsha: bool, ro: bool) {
    let srv = ctx.srv;
    if srv.monitor_count.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        crate::commands::client::feed_monitors(srv, ctx.client, ctx.out, argv);
    }
    if evalsha && argv[1].len() != 40 {
        return ctx.out.error(NOSCRIPT);
    }
    let Some(nkeys) = numkeys(ctx, argv, crate::commands::NOT_INT) else { return };
    let mut guard = srv.scripting.eval.lock();
    let eng = &mut *guard;
    let key = if evalsha {
        match sha_key(argv[1]) {
            Some(k) if eng.scripts.contains_key(&k) => k,
            _ => return ctx.out.error(NOSCRIPT),
        }
    } else {
        match eng.create(argv[1]) {
            Ok(k) => k,
            Err(e) => return ctx.out.error(&e),
        }
    };
    let script = &eng.scripts[&key];
    let (flags, fref) = (script.flags, script.fref);
    if !super::check_can_run(ctx, flags, ro) {
        return;
    }
    let name = std::str::from_utf8(&key).unwrap_or("").to_string();
    let spec = RunSpec { name: &name, script_flags: flags, ro, eval_mode: true, argv };
    let l = eng.vm.l;
    let mut run = super::new_run(ctx, &mut eng.client, &spec);
    // SAFETY: the engine is locked; the stack gets handler + function + nothing else, and
    // run_script consumes the function and leaves the handler, popped here.
    unsafe {
        ffi::lua_pushcfunction(l, lua::error_handler);
        ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, fref as _);
        lua::push_string_array(l, &argv[3..3 + nkeys]);
        lua::set_protected_global(l, "KEYS");
        lua::push_string_array(l, &argv[3 + nkeys..]);
        lua::set_protected_global(l, "ARGV");
        super::run_script(l, &mut run, 0, &spec);
        ffi::lua_pop(l, 1);
    }
}
