//! The Lua VM and the raw C-API helpers every scripting file uses.
//!
//! A `Vm` owns one Lua 5.1 state (created through mlua, driven through its raw `ffi`):
//! the standard libraries Redis exposes (base, table, string, math, plus cjson, struct,
//! cmsgpack and bit), the `redis` API, and the sandbox. The sandbox is Redis's: a global
//! allow list while the state is built, then every table reachable from the globals (and
//! the metatables of the basic types) is made read-only through the patched Lua
//! (`lua_enablereadonlytable`, see vendor/lua-src/FERRODIS.md), and reading a missing
//! global raises "Script attempted to access nonexistent global variable".
//!
//! Error discipline for functions called from Lua (`extern "C-unwind" fn(L) -> c_int`):
//! a Lua error is a `longjmp`, so a function raises only through `raise*` helpers, after
//! every Rust value it owns has been dropped (the helpers take owned messages, copy them
//! into Lua, drop them, then jump). Rust panics never cross into Lua: entry points that
//! run non-trivial Rust code go through `guard`.

use mlua::ffi::{self, lua_State};
use std::ffi::{c_char, c_int, c_void};

extern "C-unwind" {
    /// Patched Lua: mark the table at `idx` read-only (or writable again).
    pub fn lua_enablereadonlytable(l: *mut lua_State, idx: c_int, enabled: c_int);
    /// Patched Lua: is the table at `idx` read-only?
    pub fn lua_isreadonlytable(l: *mut lua_State, idx: c_int) -> c_int;
}

pub type CFn = unsafe extern "C-unwind" fn(*mut lua_State) -> c_int;

/// One Lua state. Owned by an engine behind a mutex; never used by two threads at once.
pub struct Vm {
    _lua: mlua::Lua,
    pub l: *mut lua_State,
}

// SAFETY: the state (and every mlua handle to it, all inside `Vm`) is only touched by the
// thread holding the engine mutex that owns the `Vm`; nothing Lua-related escapes it.
unsafe impl Send for Vm {}

impl Vm {
    /// A bare state with the standard libraries Redis loads (base, table, string, math,
    /// debug — the debug library is removed again once the error handler captured it).
    pub fn new() -> Vm {
        use mlua::{LuaOptions, StdLib};
        // SAFETY: the debug library is needed to build the error handler; the sandbox
        // setup removes it from the globals before any user code runs.
        let lua = unsafe {
            mlua::Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new().catch_rust_panics(false),
            )
        };
        let l = lua.state();
        Vm { _lua: lua, l }
    }

    /// Memory used by the state (Redis's used_memory_lua: lua_gc COUNT in KiB * 1024).
    pub fn memory(&self) -> u64 {
        // SAFETY: valid state, balanced stack.
        unsafe { ffi::lua_gc(self.l, ffi::LUA_GCCOUNT, 0) as u64 * 1024 }
    }

    /// A few incremental GC steps (Redis does this every 50 script calls).
    pub fn gc_step(&self, n: c_int) {
        // SAFETY: valid state.
        unsafe {
            ffi::lua_gc(self.l, ffi::LUA_GCSTEP, n);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small stack helpers.

#[inline]
pub unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    ffi::lua_pushlstring(l, b.as_ptr() as *const c_char, b.len());
}

#[inline]
pub unsafe fn push_str(l: *mut lua_State, s: &str) {
    push_bytes(l, s.as_bytes());
}

/// The string at `idx` (numbers are converted in place, as lua_tolstring does).
/// The slice lives as long as the value stays on the stack.
#[inline]
pub unsafe fn to_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p as *const u8, len))
    }
}

/// `t[k] = v` with a string key, for a table at `t_idx` (absolute or negative < -1 adjusted).
pub unsafe fn set_field_str(l: *mut lua_State, t_idx: c_int, k: &str, v: &[u8]) {
    let t = ffi::lua_absindex(l, t_idx);
    push_str(l, k);
    push_bytes(l, v);
    ffi::lua_settable(l, t);
}

pub unsafe fn set_field_fn(l: *mut lua_State, t_idx: c_int, k: &str, f: CFn) {
    let t = ffi::lua_absindex(l, t_idx);
    push_str(l, k);
    ffi::lua_pushcfunction(l, f);
    ffi::lua_settable(l, t);
}

pub unsafe fn set_field_num(l: *mut lua_State, t_idx: c_int, k: &str, n: f64) {
    let t = ffi::lua_absindex(l, t_idx);
    push_str(l, k);
    ffi::lua_pushnumber(l, n);
    ffi::lua_settable(l, t);
}

/// Read `t[k]` (raw) as a string, for a table at `t_idx`.
pub unsafe fn raw_field_bytes<'a>(l: *mut lua_State, t_idx: c_int, k: &str) -> Option<Vec<u8>> {
    let t = ffi::lua_absindex(l, t_idx);
    push_str(l, k);
    ffi::lua_rawget(l, t);
    let r = if ffi::lua_type(l, -1) == ffi::LUA_TSTRING { to_bytes(l, -1).map(|b| b.to_vec()) } else { None };
    ffi::lua_pop(l, 1);
    r
}

// ---------------------------------------------------------------------------------------
// Raising errors. Every helper takes ownership of its message, moves it into Lua, drops
// the Rust copy and only then jumps, so no Rust destructor is skipped by the longjmp.

/// Raise `msg` as a plain string error (no position information).
pub unsafe fn raise(l: *mut lua_State, msg: String) -> ! {
    push_str(l, &msg);
    drop(msg);
    ffi::lua_error(l)
}

/// Raise `msg` prefixed with the position of the calling Lua code ("user_script:1: msg"),
/// like luaL_error from a C function.
pub unsafe fn raise_at(l: *mut lua_State, msg: String) -> ! {
    ffi::luaL_where(l, 1);
    push_str(l, &msg);
    drop(msg);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// Raise the value on top of the stack.
pub unsafe fn raise_top(l: *mut lua_State) -> ! {
    ffi::lua_error(l)
}

/// Push a Redis error table `{err="CODE msg"}` built from `text` the way Redis's
/// luaPushErrorBuff does: "-CODE msg" keeps its code, plain "msg" gets "ERR"; trailing
/// CR/LF are trimmed.
pub unsafe fn push_error_table(l: *mut lua_State, text: &str) {
    let full = error_text(text);
    ffi::lua_createtable(l, 0, 1);
    set_field_str(l, -1, "err", full.as_bytes());
}

/// "-CODE msg" -> "CODE msg"; "msg" -> "ERR msg"; "-nospace" -> "ERR nospace".
pub fn error_text(text: &str) -> String {
    let (code, msg) = match text.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((c, m)) => (c, m),
            None => ("ERR", rest),
        },
        None => ("ERR", text),
    };
    let msg = msg.trim_matches(|c| c == '\r' || c == '\n');
    format!("{code} {msg}")
}

/// Push an error table marked as already counted in the error stats.
pub unsafe fn push_counted_error_table(l: *mut lua_State, text: &str) {
    push_error_table(l, text);
    push_str(l, "ignore_error_stats_update");
    ffi::lua_pushboolean(l, 1);
    ffi::lua_settable(l, -3);
}

/// Run `f`, turning a Rust panic into a Lua error instead of unwinding into C.
pub unsafe fn guard(l: *mut lua_State, f: impl FnOnce() -> c_int) -> c_int {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(n) => n,
        Err(_) => raise(l, "internal error in a Redis Lua library function".to_string()),
    }
}

/// Run `f` from a hook: a panic counts as `false`.
pub fn guard_bool(f: impl FnOnce() -> bool) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// Registry slots (light userdata keys would need stable addresses; names are simpler).

pub unsafe fn registry_set(l: *mut lua_State, name: &str) {
    // value on top of the stack
    push_str(l, name);
    ffi::lua_insert(l, -2);
    ffi::lua_rawset(l, ffi::LUA_REGISTRYINDEX);
}

pub unsafe fn registry_get(l: *mut lua_State, name: &str) {
    push_str(l, name);
    ffi::lua_rawget(l, ffi::LUA_REGISTRYINDEX);
}

// ---------------------------------------------------------------------------------------
// The sandbox.

/// Globals Redis keeps (libraries, its API, the Lua builtins it allows).
const ALLOWED_GLOBALS: &[&str] = &[
    "string", "cjson", "bit", "cmsgpack", "math", "table", "struct", // libraries
    "redis", "__redis__err__handler", // Redis API
    "xpcall", "tostring", "setmetatable", "next", "assert", "tonumber", "rawequal", "collectgarbage",
    "getmetatable", "rawset", "pcall", "coroutine", "type", "_G", "select", "unpack", "gcinfo", "pairs",
    "rawget", "loadstring", "ipairs", "_VERSION", "load", "error",
];

/// Builtins Redis removed for sandboxing, available only with lua-enable-deprecated-api.
const DEPRECATED_GLOBALS: &[&str] = &["newproxy", "setfenv", "getfenv"];

/// Drop every global that is not on the allow list (the state was built by mlua with the
/// full base library: print, dofile, loadfile... go away here). `debug` is kept for the
/// caller, which removes it after building the error handler.
pub unsafe fn prune_globals(l: *mut lua_State, deprecated_api: bool) {
    let mut drop_keys: Vec<Vec<u8>> = Vec::new();
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, ffi::LUA_GLOBALSINDEX) != 0 {
        ffi::lua_pop(l, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            let k = to_bytes(l, -1).unwrap_or_default();
            let name = std::str::from_utf8(k).unwrap_or("");
            let keep = ALLOWED_GLOBALS.contains(&name)
                || name == "debug"
                || (deprecated_api && DEPRECATED_GLOBALS.contains(&name));
            if !keep {
                drop_keys.push(k.to_vec());
            }
        }
    }
    for k in drop_keys {
        push_bytes(l, &k);
        ffi::lua_pushnil(l);
        ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
    }
}

/// __index of the protected globals: reading a missing global is an error.
pub unsafe extern "C-unwind" fn missing_global(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 2 {
        raise_at(l, "Wrong number of arguments to luaProtectedTableError".to_string());
    }
    if ffi::lua_isstring(l, -1) == 0 {
        raise_at(l, "Second argument to luaProtectedTableError must be a string or number".to_string());
    }
    let name = String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()).into_owned();
    raise_at(l, format!("Script attempted to access nonexistent global variable '{name}'"))
}

/// Give the table on top of the stack a metatable whose __index raises on missing keys.
pub unsafe fn set_error_metatable(l: *mut lua_State) {
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushcfunction(l, missing_global);
    ffi::lua_setfield(l, -2, c"__index".as_ptr());
    ffi::lua_setmetatable(l, -2);
}

/// Make the table on top of the stack, every table reachable from it and their
/// metatables read-only.
pub unsafe fn protect_recursively(l: *mut lua_State) {
    if lua_isreadonlytable(l, -1) != 0 {
        return;
    }
    lua_enablereadonlytable(l, -1, 1);
    ffi::lua_checkstack(l, 3);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            protect_recursively(l);
        }
        ffi::lua_pop(l, 1);
    }
    if ffi::lua_getmetatable(l, -1) != 0 {
        protect_recursively(l);
        ffi::lua_pop(l, 1);
    }
}

unsafe extern "C-unwind" fn noop_cfn(_l: *mut lua_State) -> c_int {
    0
}

/// Make the metatables of the basic types (string, number, ...) read-only.
pub unsafe fn protect_basic_types(l: *mut lua_State) {
    for t in 0..7 {
        match t {
            0 => push_str(l, ""),
            1 => ffi::lua_pushnumber(l, 0.0),
            2 => ffi::lua_pushboolean(l, 0),
            3 => ffi::lua_pushnil(l),
            4 => ffi::lua_pushcfunction(l, noop_cfn),
            5 => {
                ffi::lua_newthread(l);
            }
            _ => ffi::lua_pushlightuserdata(l, l as *mut c_void),
        }
        if ffi::lua_getmetatable(l, -1) != 0 {
            protect_recursively(l);
            ffi::lua_pop(l, 1);
        }
        ffi::lua_pop(l, 1);
    }
}

/// Set global `name` to the value on top of the stack even though the globals are
/// read-only (KEYS / ARGV of EVAL).
pub unsafe fn set_protected_global(l: *mut lua_State, name: &str) {
    lua_enablereadonlytable(l, ffi::LUA_GLOBALSINDEX, 0);
    push_str(l, name);
    ffi::lua_insert(l, -2);
    ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
    lua_enablereadonlytable(l, ffi::LUA_GLOBALSINDEX, 1);
}

/// Push a Lua array of strings.
pub unsafe fn push_string_array(l: *mut lua_State, items: &[&[u8]]) {
    ffi::lua_createtable(l, items.len() as c_int, 0);
    for (i, it) in items.iter().enumerate() {
        push_bytes(l, it);
        ffi::lua_rawseti(l, -2, (i + 1) as _);
    }
}

/// The error handler given to lua_pcall: turns any error value into Redis's error table
/// `{err=..., source=..., line=...}` with the position of the Lua code that failed (the
/// caller of a failing C function such as redis.call or error()).
pub unsafe extern "C-unwind" fn error_handler(l: *mut lua_State) -> c_int {
    let mut ar: ffi::lua_Debug = std::mem::zeroed();
    let mut have = false;
    if ffi::lua_getstack(l, 1, &mut ar) != 0 {
        ffi::lua_getinfo(l, c"nSl".as_ptr(), &mut ar);
        have = true;
        if !ar.what.is_null() && std::ffi::CStr::from_ptr(ar.what).to_bytes() == b"C" {
            have = false;
            if ffi::lua_getstack(l, 2, &mut ar) != 0 {
                ffi::lua_getinfo(l, c"nSl".as_ptr(), &mut ar);
                have = true;
            }
        }
    }
    if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
        // {err = 'ERR ' .. tostring(err)}
        let text = match ffi::lua_type(l, 1) {
            ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {
                let mut v = b"ERR ".to_vec();
                v.extend_from_slice(to_bytes(l, 1).unwrap_or_default());
                v
            }
            ffi::LUA_TNIL => b"ERR nil".to_vec(),
            ffi::LUA_TBOOLEAN => {
                if ffi::lua_toboolean(l, 1) != 0 {
                    b"ERR true".to_vec()
                } else {
                    b"ERR false".to_vec()
                }
            }
            _ => format!("ERR {}: {:p}", type_name(l, 1), ffi::lua_topointer(l, 1)).into_bytes(),
        };
        ffi::lua_createtable(l, 0, 3);
        set_field_str(l, -1, "err", &text);
        drop(text);
        ffi::lua_replace(l, 1);
    }
    if have {
        let src = if ar.source.is_null() { &b"?"[..] } else { std::ffi::CStr::from_ptr(ar.source).to_bytes() };
        set_field_str(l, 1, "source", src);
        push_str(l, "line");
        ffi::lua_pushnumber(l, ar.currentline as f64);
        ffi::lua_settable(l, 1);
    }
    ffi::lua_settop(l, 1);
    1
}

pub unsafe fn type_name(l: *mut lua_State, idx: c_int) -> &'static str {
    match ffi::lua_type(l, idx) {
        ffi::LUA_TNIL => "nil",
        ffi::LUA_TBOOLEAN => "boolean",
        ffi::LUA_TLIGHTUSERDATA => "userdata",
        ffi::LUA_TNUMBER => "number",
        ffi::LUA_TSTRING => "string",
        ffi::LUA_TTABLE => "table",
        ffi::LUA_TFUNCTION => "function",
        ffi::LUA_TUSERDATA => "userdata",
        ffi::LUA_TTHREAD => "thread",
        _ => "no value",
    }
}

/// What a failed script left: Redis's errorInfo (message, source, line, counted).
pub struct ErrorInfo {
    pub msg: String,
    pub source: Option<String>,
    pub line: Option<String>,
    pub counted: bool,
}

/// Read the error value on top of the stack (a table from `error_handler`, or anything).
pub unsafe fn error_info(l: *mut lua_State) -> ErrorInfo {
    let mut e = ErrorInfo { msg: String::new(), source: None, line: None, counted: false };
    if ffi::lua_type(l, -1) == ffi::LUA_TSTRING || ffi::lua_type(l, -1) == ffi::LUA_TNUMBER {
        e.msg = format!("ERR {}", String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()));
        return e;
    }
    if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
        e.msg = "ERR execution failure".into();
        return e;
    }
    let field = |k: &str| raw_field_bytes(l, -1, k).map(|b| String::from_utf8_lossy(&b).into_owned());
    e.msg = field("err").unwrap_or_else(|| "ERR unknown error".into());
    e.source = field("source");
    e.line = {
        push_str(l, "line");
        ffi::lua_rawget(l, -2);
        let r = if ffi::lua_isstring(l, -1) != 0 {
            Some(String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()).into_owned())
        } else {
            None
        };
        ffi::lua_pop(l, 1);
        r
    };
    push_str(l, "ignore_error_stats_update");
    ffi::lua_rawget(l, -2);
    e.counted = ffi::lua_toboolean(l, -1) != 0;
    ffi::lua_pop(l, 1);
    e
}

/// Compile `code` as chunk `name` ("@user_script"); on success the function is on top
/// of the stack, on failure the error message is returned (and nothing is left pushed).
pub unsafe fn compile(l: *mut lua_State, code: &[u8], name: &std::ffi::CStr) -> Result<(), String> {
    if ffi::luaL_loadbuffer(l, code.as_ptr() as *const c_char, code.len(), name.as_ptr()) != 0 {
        let msg = String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()).into_owned();
        ffi::lua_pop(l, 1);
        return Err(msg);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_forms() {
        assert_eq!(error_text("-OOM command not allowed\r\n"), "OOM command not allowed");
        assert_eq!(error_text("Unknown Redis command called from script"), "ERR Unknown Redis command called from script");
        assert_eq!(error_text("-x"), "ERR x");
        assert_eq!(error_text("-MY x y"), "MY x y");
    }

    #[test]
    fn readonly_tables_raise() {
        let vm = Vm::new();
        let l = vm.l;
        unsafe {
            ffi::lua_createtable(l, 0, 0);
            lua_enablereadonlytable(l, -1, 1);
            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"t".as_ptr());
            compile(l, b"t.x = 1", c"@user_script").unwrap();
            assert_ne!(ffi::lua_pcall(l, 0, 0, 0), 0);
            assert_eq!(to_bytes(l, -1).unwrap(), b"user_script:1: Attempt to modify a readonly table");
            ffi::lua_pop(l, 1);
            compile(l, b"rawset(t, 'x', 1)", c"@user_script").unwrap();
            assert_ne!(ffi::lua_pcall(l, 0, 0, 0), 0);
            assert_eq!(to_bytes(l, -1).unwrap(), b"Attempt to modify a readonly table");
            ffi::lua_pop(l, 1);
            // binary chunks are refused
            compile(l, b"return loadstring(string.dump(function() return 1 end))", c"@user_script").unwrap();
            assert_eq!(ffi::lua_pcall(l, 0, 1, 0), 0);
            assert_eq!(ffi::lua_type(l, -1), ffi::LUA_TNIL);
            ffi::lua_pop(l, 1);
        }
    }
}
