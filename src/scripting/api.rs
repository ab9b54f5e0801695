//! The `redis` table and the builtins Redis replaces: what scripts call.
//!
//! redis.call / pcall (see `call`), log + LOG_*, setresp, sha1hex, error_reply,
//! status_reply, set_repl + REPL_*, acl_check_cmd, REDIS_VERSION(_NUM); for EVAL also
//! breakpoint / debug (no debugger: they do nothing) and replicate_commands (always on).
//! The global `pcall` is Redis's: an error table raised by redis.call comes back as its
//! `err` string. `math.random` / `math.randomseed` use Redis's own rand48 generator so a
//! seed gives the same sequence everywhere.

use super::lua::*;
use super::{current_run, REPL_AOF, REPL_ALL, REPL_REPLICA};
use mlua::ffi::{self, lua_State};
use parking_lot::Mutex;
use std::ffi::c_int;

/// REDIS_VERSION_NUM of 7.0.15.
pub const VERSION_NUM: f64 = ((7 << 16) | 15) as f64;

unsafe extern "C-unwind" fn redis_call(l: *mut lua_State) -> c_int {
    super::call::lua_command(l, true)
}

unsafe extern "C-unwind" fn redis_pcall(l: *mut lua_State) -> c_int {
    super::call::lua_command(l, false)
}

/// Raise an error table (`{err=...}`) built from `text`.
pub unsafe fn raise_error_table(l: *mut lua_State, text: String) -> ! {
    push_error_table(l, &text);
    drop(text);
    raise_top(l)
}

/// Redis's pcall: like Lua's, but an error table is returned as its `err` string.
unsafe extern "C-unwind" fn pcall(l: *mut lua_State) -> c_int {
    let argc = ffi::lua_gettop(l);
    ffi::luaL_checkany(l, 1);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, argc - 1, ffi::LUA_MULTRET, 0) != 0 {
        ffi::lua_remove(l, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            push_str(l, "err");
            ffi::lua_rawget(l, -2);
            if ffi::lua_isstring(l, -1) != 0 {
                ffi::lua_replace(l, -2);
            } else {
                ffi::lua_pop(l, 1);
            }
        }
        ffi::lua_pushboolean(l, 0);
        ffi::lua_insert(l, 1);
    }
    ffi::lua_gettop(l)
}

unsafe extern "C-unwind" fn log(l: *mut lua_State) -> c_int {
    let argc = ffi::lua_gettop(l);
    if argc < 2 {
        raise_error_table(l, "redis.log() requires two arguments or more.".into());
    }
    if ffi::lua_isnumber(l, 1) == 0 {
        raise_error_table(l, "First argument must be a number (log level).".into());
    }
    let level = ffi::lua_tonumber(l, 1) as i64;
    let level = match level {
        0 => crate::log::Level::Debug,
        1 => crate::log::Level::Verbose,
        2 => crate::log::Level::Notice,
        3 => crate::log::Level::Warning,
        _ => raise_error_table(l, "Invalid debug level.".into()),
    };
    let mut msg = Vec::new();
    for i in 2..=argc {
        if let Some(s) = to_bytes(l, i) {
            if i != 2 {
                msg.push(b' ');
            }
            msg.extend_from_slice(s);
        }
    }
    crate::log::log(level, &String::from_utf8_lossy(&msg));
    0
}

unsafe extern "C-unwind" fn setresp(l: *mut lua_State) -> c_int {
    let Some(run) = current_run() else {
        raise_error_table(l, "redis.setresp can only be called inside a script invocation".into());
    };
    if ffi::lua_gettop(l) != 1 {
        raise_error_table(l, "redis.setresp() requires one argument.".into());
    }
    let resp = ffi::lua_tonumber(l, 1) as i64;
    if resp != 2 && resp != 3 {
        raise_error_table(l, "RESP version must be 2 or 3.".into());
    }
    run.resp = resp as u8;
    0
}

unsafe extern "C-unwind" fn sha1hex(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        raise_error_table(l, "wrong number of arguments".into());
    }
    let digest = sha1_hex(to_bytes(l, 1).unwrap_or_default());
    push_str(l, &digest);
    1
}

pub fn sha1_hex(b: &[u8]) -> String {
    sha1_smol::Sha1::from(b).digest().to_string()
}

/// Push `{field = arg1}` or, on bad arguments, an error table (returned, not raised).
unsafe fn single_field(l: *mut lua_State, field: &str) -> c_int {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error_table(l, "wrong number or type of arguments");
        return 1;
    }
    ffi::lua_createtable(l, 0, 1);
    push_str(l, field);
    ffi::lua_pushvalue(l, -3);
    ffi::lua_settable(l, -3);
    1
}

unsafe extern "C-unwind" fn error_reply(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error_table(l, "wrong number or type of arguments");
        return 1;
    }
    // a C string: stops at the first NUL
    let s = to_bytes(l, 1).unwrap_or_default();
    let s = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
    let mut text = String::from_utf8_lossy(s).into_owned();
    if !text.starts_with('-') {
        text.insert(0, '-');
    }
    push_error_table(l, &text);
    1
}

unsafe extern "C-unwind" fn status_reply(l: *mut lua_State) -> c_int {
    single_field(l, "ok")
}

unsafe extern "C-unwind" fn set_repl(l: *mut lua_State) -> c_int {
    let Some(run) = current_run() else {
        raise_error_table(l, "redis.set_repl can only be called inside a script invocation".into());
    };
    if ffi::lua_gettop(l) != 1 {
        raise_error_table(l, "redis.set_repl() requires two arguments.".into());
    }
    let flags = ffi::lua_tonumber(l, -1) as i64;
    if flags & !(REPL_ALL as i64) != 0 {
        raise_error_table(l, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.".into());
    }
    run.repl = flags as u8;
    0
}

unsafe extern "C-unwind" fn acl_check_cmd(l: *mut lua_State) -> c_int {
    let Some(run) = current_run() else {
        raise_error_table(l, "redis.acl_check_cmd can only be called inside a script invocation".into());
    };
    let srv = &*run.srv;
    let argv = match super::call::lua_args(l) {
        Ok(a) => a,
        Err(e) => raise_error_table(l, e.to_string()),
    };
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    // The caller's user (the script's own client is swapped in only while a command runs).
    let ok = super::call::lookup(srv, &refs).map(|cmd| {
        let ctx = &*run.ctx;
        match ctx.client.user.as_ref() {
            None => true,
            Some(u) => srv.acl.check(&srv.table, u, cmd, &refs).is_ok(),
        }
    });
    drop(refs);
    drop(argv);
    let Some(ok) = ok else {
        raise_error_table(l, "Invalid command passed to redis.acl_check_cmd()".into());
    };
    ffi::lua_pushboolean(l, ok as i32);
    1
}

unsafe extern "C-unwind" fn breakpoint(l: *mut lua_State) -> c_int {
    ffi::lua_pushboolean(l, 0);
    1
}

unsafe extern "C-unwind" fn debug(_l: *mut lua_State) -> c_int {
    0
}

unsafe extern "C-unwind" fn replicate_commands(l: *mut lua_State) -> c_int {
    ffi::lua_pushboolean(l, 1);
    1
}

// ---------------------------------------------------------------------------------------
// math.random with Redis's rand48 (the same sequence for a seed on every platform).

/// The 48-bit linear congruential generator of Redis's rand.c (drand48's constants).
pub struct Rand48(u64);

impl Rand48 {
    const A: u64 = 0x5DEE_CE66D;
    const C: u64 = 0xB;
    const MASK: u64 = (1 << 48) - 1;

    pub const fn new() -> Rand48 {
        Rand48(0x1234_ABCD_330E)
    }

    pub fn seed(&mut self, seed: i32) {
        self.0 = (((seed as u32 as u64) << 16) | 0x330E) & Self::MASK;
    }

    /// 31 random bits.
    pub fn next(&mut self) -> i32 {
        self.0 = (Self::A.wrapping_mul(self.0).wrapping_add(Self::C)) & Self::MASK;
        (self.0 >> 17) as i32
    }
}

impl Default for Rand48 {
    fn default() -> Self {
        Rand48::new()
    }
}

/// One generator for every script, like Redis's process-wide rand48 state.
static RAND: Mutex<Rand48> = Mutex::new(Rand48::new());

unsafe extern "C-unwind" fn math_random(l: *mut lua_State) -> c_int {
    if current_run().is_none() {
        raise_at(l, "math.random can only be called inside a script invocation".into());
    }
    const MAX: i64 = i32::MAX as i64;
    let r = (RAND.lock().next() as i64 % MAX) as f64 / MAX as f64;
    match ffi::lua_gettop(l) {
        0 => ffi::lua_pushnumber(l, r),
        1 => {
            let u = ffi::luaL_checkinteger(l, 1) as i32;
            if u < 1 {
                ffi::luaL_argerror(l, 1, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * u as f64).floor() + 1.0);
        }
        2 => {
            let lo = ffi::luaL_checkinteger(l, 1) as i32;
            let up = ffi::luaL_checkinteger(l, 2) as i32;
            if lo > up {
                ffi::luaL_argerror(l, 2, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * (up as f64 - lo as f64 + 1.0)).floor() + lo as f64);
        }
        _ => raise_at(l, "wrong number of arguments".into()),
    }
    1
}

unsafe extern "C-unwind" fn math_randomseed(l: *mut lua_State) -> c_int {
    if current_run().is_none() {
        raise_at(l, "math.randomseed can only be called inside a script invocation".into());
    }
    let s = ffi::luaL_checkinteger(l, 1) as i32;
    RAND.lock().seed(s);
    0
}

// ---------------------------------------------------------------------------------------
// Building the API.

/// LOG_* levels and `log` into the table on top of the stack.
pub unsafe fn add_log_api(l: *mut lua_State) {
    set_field_fn(l, -1, "log", log);
    set_field_num(l, -1, "LOG_DEBUG", 0.0);
    set_field_num(l, -1, "LOG_VERBOSE", 1.0);
    set_field_num(l, -1, "LOG_NOTICE", 2.0);
    set_field_num(l, -1, "LOG_WARNING", 3.0);
}

pub unsafe fn add_version(l: *mut lua_State) {
    set_field_num(l, -1, "REDIS_VERSION_NUM", VERSION_NUM);
    set_field_str(l, -1, "REDIS_VERSION", crate::server::REDIS_VERSION.as_bytes());
}

/// Load the bundled libraries, replace pcall / math.random*, and create the `redis`
/// global with the API common to EVAL and functions (luaRegisterRedisAPI).
pub unsafe fn register_redis_api(l: *mut lua_State) {
    super::cjson::open(l);
    super::lstruct::open(l);
    super::cmsgpack::open(l);
    super::bit::open(l);

    ffi::lua_pushcfunction(l, pcall);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"pcall".as_ptr());

    ffi::lua_createtable(l, 0, 32);
    set_field_fn(l, -1, "call", redis_call);
    set_field_fn(l, -1, "pcall", redis_pcall);
    add_log_api(l);
    add_version(l);
    set_field_fn(l, -1, "setresp", setresp);
    set_field_fn(l, -1, "sha1hex", sha1hex);
    set_field_fn(l, -1, "error_reply", error_reply);
    set_field_fn(l, -1, "status_reply", status_reply);
    set_field_fn(l, -1, "set_repl", set_repl);
    set_field_num(l, -1, "REPL_NONE", 0.0);
    set_field_num(l, -1, "REPL_AOF", REPL_AOF as f64);
    set_field_num(l, -1, "REPL_SLAVE", REPL_REPLICA as f64);
    set_field_num(l, -1, "REPL_REPLICA", REPL_REPLICA as f64);
    set_field_num(l, -1, "REPL_ALL", REPL_ALL as f64);
    set_field_fn(l, -1, "acl_check_cmd", acl_check_cmd);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"redis".as_ptr());

    ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"math".as_ptr());
    set_field_fn(l, -1, "random", math_random);
    set_field_fn(l, -1, "randomseed", math_randomseed);
    ffi::lua_pop(l, 1);
}

/// A state with the libraries and the `redis` API, sandbox not locked yet.
pub fn new_vm() -> super::lua::Vm {
    let vm = super::lua::Vm::new();
    // SAFETY: fresh state, balanced stack operations.
    unsafe {
        prune_globals(vm.l, false);
        register_redis_api(vm.l);
    }
    vm
}

/// Lock the sandbox: drop `debug`, make reading a missing global an error and every
/// table reachable from the globals read-only.
pub unsafe fn lock_globals(l: *mut lua_State) {
    ffi::lua_pushnil(l);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"debug".as_ptr());
    ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
    set_error_metatable(l);
    protect_recursively(l);
    ffi::lua_pop(l, 1);
}

/// The EVAL-only entries of `redis`.
pub unsafe fn add_eval_api(l: *mut lua_State) {
    ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"redis".as_ptr());
    set_field_fn(l, -1, "breakpoint", breakpoint);
    set_field_fn(l, -1, "debug", debug);
    set_field_fn(l, -1, "replicate_commands", replicate_commands);
    ffi::lua_pop(l, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rand48_matches_drand48() {
        // lrand48() after srand48(10) on glibc.
        let mut r = Rand48::new();
        r.seed(10);
        let a = r.next();
        let mut r2 = Rand48::new();
        r2.seed(10);
        assert_eq!(a, r2.next());
        // SAFETY: srand48/lrand48 are plain libc calls.
        unsafe {
            libc::srand48(10);
            assert_eq!(a as libc::c_long, libc::lrand48());
            assert_eq!(r.next() as libc::c_long, libc::lrand48());
        }
    }

    #[test]
    fn sha1() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"Pizza & Mandolino"), "74822d82031af7493c20eefa13bd07ec4fada82f");
    }
}
