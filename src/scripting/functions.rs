//! Redis Functions: the Lua state for libraries, the library registry, FUNCTION LOAD,
//! FCALL, and the DUMP / RESTORE payload.
//!
//! The functions state is built like Redis's (luaEngineInitEngine): the globals scripts
//! see are an empty read-only table whose read-only metatable points `__index` at the
//! real (protected) globals; while a library's code runs for FUNCTION LOAD, `__index`
//! points at the load API instead (`redis.register_function`, `redis.log`, versions), so
//! library code cannot call Redis or use math at load time.
//!
//! `Libraries` holds names, code, flags and the registry references of the callbacks;
//! it can be a scratch instance (FUNCTION RESTORE builds one, then joins it). References
//! of dropped functions go to `garbage` and are released by whoever next holds the
//! engine, so the registry never needs the engine lock.

use super::lua::{self, Vm};
use super::{api, RunSpec};
use crate::commands::Ctx;
use crate::net::client::ClientInfo;
use ahash::AHashMap;
use mlua::ffi::{self, lua_State};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::c_int;
use std::time::Instant;

const LIBRARY_API: &str = "__LIBRARY_API__";
const GLOBALS_API: &str = "__GLOBALS_API__";
/// FUNCTION LOAD gives the library code this long to register its functions.
pub const LOAD_TIMEOUT_MS: u64 = 500;

pub struct FunctionEngine {
    vm: Vm,
    pub client: ClientInfo,
}

pub struct Function {
    pub name: String,
    pub desc: Option<Vec<u8>>,
    pub flags: u64,
    fref: i32,
}

pub struct Library {
    pub name: String,
    pub engine: &'static str,
    /// The whole payload given to FUNCTION LOAD (shebang included).
    pub code: Vec<u8>,
    /// In registration order.
    pub functions: Vec<Function>,
}

#[derive(Default)]
pub struct Libraries {
    libs: BTreeMap<String, Library>,
    /// Lowercase function name -> library name.
    functions: AHashMap<String, String>,
    /// Registry references to release in the functions Lua state.
    garbage: Vec<i32>,
}

/// What FCALL needs of a function.
pub struct Callable {
    pub name: String,
    pub flags: u64,
    fref: i32,
}

impl Libraries {
    pub fn library_count(&self) -> usize {
        self.libs.len()
    }

    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    pub fn memory(&self) -> u64 {
        self.libs
            .values()
            .map(|l| {
                (l.name.len() + l.code.len() + 64) as u64
                    + l.functions.iter().map(|f| (f.name.len() + f.desc.as_ref().map_or(0, |d| d.len()) + 48) as u64).sum::<u64>()
            })
            .sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Library> {
        self.libs.values()
    }

    pub fn find(&self, name: &[u8]) -> Option<Callable> {
        let lname = String::from_utf8_lossy(name).to_lowercase();
        let lib = self.libs.get(self.functions.get(&lname)?)?;
        let f = lib.functions.iter().find(|f| f.name.eq_ignore_ascii_case(&lname))?;
        Some(Callable { name: f.name.clone(), flags: f.flags, fref: f.fref })
    }

    fn unlink(&mut self, name: &str) -> Option<Library> {
        let lib = self.libs.remove(name)?;
        for f in &lib.functions {
            self.functions.remove(&f.name.to_lowercase());
        }
        Some(lib)
    }

    fn link(&mut self, lib: Library) {
        for f in &lib.functions {
            self.functions.insert(f.name.to_lowercase(), lib.name.clone());
        }
        self.libs.insert(lib.name.clone(), lib);
    }

    fn discard(&mut self, lib: Library) {
        self.garbage.extend(lib.functions.iter().map(|f| f.fref));
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, name: &[u8]) -> bool {
        match self.unlink(&String::from_utf8_lossy(name)) {
            Some(lib) => {
                self.discard(lib);
                true
            }
            None => false,
        }
    }

    /// FUNCTION FLUSH.
    pub fn flush(&mut self) {
        let libs = std::mem::take(&mut self.libs);
        self.functions.clear();
        for (_, lib) in libs {
            self.discard(lib);
        }
    }

    /// Merge `other` into these libraries (FUNCTION RESTORE APPEND / REPLACE).
    pub fn join(&mut self, mut other: Libraries, replace: bool) -> Result<(), String> {
        let mut replaced = Vec::new();
        let names: Vec<String> = other.libs.keys().cloned().collect();
        let mut result = Ok(());
        for n in &names {
            if self.libs.contains_key(n) {
                if !replace {
                    result = Err(format!("Library {n} already exists"));
                    break;
                }
                replaced.push(self.unlink(n).expect("present"));
            }
        }
        if result.is_ok() {
            for lib in other.libs.values() {
                if let Some(f) = lib.functions.iter().find(|f| self.functions.contains_key(&f.name.to_lowercase())) {
                    result = Err(format!("Function {} already exists", f.name));
                    break;
                }
            }
        }
        match result {
            Ok(()) => {
                for (_, lib) in std::mem::take(&mut other.libs) {
                    self.link(lib);
                }
                for lib in replaced {
                    self.discard(lib);
                }
            }
            Err(_) => {
                for lib in replaced {
                    self.link(lib);
                }
                other.flush();
            }
        }
        self.garbage.append(&mut other.garbage);
        result
    }

    /// FUNCTION RESTORE FLUSH: take `other`'s libraries instead of ours.
    pub fn replace_all(&mut self, mut other: Libraries) {
        self.flush();
        self.libs = std::mem::take(&mut other.libs);
        self.functions = std::mem::take(&mut other.functions);
        self.garbage.append(&mut other.garbage);
    }

    /// Move references to release out (for `FunctionEngine::release`).
    pub fn take_garbage(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.garbage)
    }
}

// ---------------------------------------------------------------------------------------
// Library metadata and name rules.

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The `#!<engine> name=<lib>` line: (engine, name, code after the line).
fn metadata(payload: &[u8]) -> Result<(Vec<u8>, Vec<u8>, &[u8]), String> {
    if !payload.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = payload.iter().position(|&c| c == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let parts = match crate::protocol::parse::split_args_quoted(&payload[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("Invalid library metadata".into()),
    };
    let engine = parts[0][2..].to_vec();
    let mut name: Option<Vec<u8>> = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".into());
            }
            name = Some(p[5..].to_vec());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", String::from_utf8_lossy(p)));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok((engine, name, &payload[end..]))
}

// ---------------------------------------------------------------------------------------
// The engine.

/// The library being built by FUNCTION LOAD (read by redis.register_function).
struct LoadCtx {
    functions: Vec<Function>,
    start: Instant,
    timeout_ms: u64,
}

thread_local! {
    static LOADING: Cell<*mut LoadCtx> = const { Cell::new(std::ptr::null_mut()) };
}

fn new_vm() -> Vm {
    let vm = api::new_vm();
    let l = vm.l;
    // SAFETY: fresh state; balanced stack operations.
    unsafe {
        // The load-time API: globals with only `redis` = {register_function, log, ...}.
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_createtable(l, 0, 8);
        lua::set_field_fn(l, -1, "register_function", register_function);
        api::add_log_api(l);
        api::add_version(l);
        lua::set_error_metatable(l);
        ffi::lua_setfield(l, -2, c"redis".as_ptr());
        lua::set_error_metatable(l);
        lua::protect_recursively(l);
        lua::registry_set(l, LIBRARY_API);
        api::lock_globals(l);
        ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
        lua::registry_set(l, GLOBALS_API);
        // New empty globals reading through to the real ones.
        ffi::lua_createtable(l, 0, 0);
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
        ffi::lua_setfield(l, -2, c"__index".as_ptr());
        lua::lua_enablereadonlytable(l, -1, 1);
        ffi::lua_setmetatable(l, -2);
        lua::lua_enablereadonlytable(l, -1, 1);
        ffi::lua_replace(l, ffi::LUA_GLOBALSINDEX);
        lua::protect_basic_types(l);
    }
    vm
}

/// Point the globals' `__index` at the registry table `api`.
unsafe fn set_globals_api(l: *mut lua_State, api: &str) {
    ffi::lua_getmetatable(l, ffi::LUA_GLOBALSINDEX);
    lua::lua_enablereadonlytable(l, -1, 0);
    lua::registry_get(l, api);
    ffi::lua_setfield(l, -2, c"__index".as_ptr());
    lua::lua_enablereadonlytable(l, -1, 1);
    ffi::lua_pop(l, 1);
}

unsafe extern "C-unwind" fn load_hook(l: *mut lua_State, _ar: *mut ffi::lua_Debug) {
    let p = LOADING.with(|c| c.get());
    if p.is_null() {
        return;
    }
    let lc = &*p;
    if lc.timeout_ms > 0 && lc.start.elapsed().as_millis() as u64 > lc.timeout_ms {
        ffi::lua_sethook(l, Some(load_hook), ffi::LUA_MASKLINE, 0);
        lua::push_error_table(l, "FUNCTION LOAD timeout");
        lua::raise_top(l);
    }
}

impl Default for FunctionEngine {
    fn default() -> Self {
        FunctionEngine::new()
    }
}

impl FunctionEngine {
    pub fn new() -> FunctionEngine {
        FunctionEngine { vm: new_vm(), client: super::eval::engine_client() }
    }

    pub fn vm_memory(&self) -> u64 {
        self.vm.memory()
    }

    /// Release registry references of dropped functions.
    pub fn release(&mut self, refs: Vec<i32>) {
        for r in refs {
            // SAFETY: the references were created in this state.
            unsafe { ffi::luaL_unref(self.vm.l, ffi::LUA_REGISTRYINDEX, r) };
        }
    }

    /// Run the library code so it registers its functions (luaEngineCreate).
    fn compile_library(&mut self, code: &[u8], timeout_ms: u64) -> Result<Vec<Function>, String> {
        let l = self.vm.l;
        let mut lc = LoadCtx { functions: Vec::new(), start: Instant::now(), timeout_ms };
        // SAFETY: the load context outlives the Lua call that reads it through LOADING.
        unsafe {
            set_globals_api(l, LIBRARY_API);
            let res = match lua::compile(l, code, c"@user_function") {
                Err(e) => Err(format!("Error compiling function: {e}")),
                Ok(()) => {
                    let prev = LOADING.with(|c| c.replace(&mut lc as *mut LoadCtx));
                    ffi::lua_sethook(l, Some(load_hook), ffi::LUA_MASKCOUNT, 100_000);
                    let rc = ffi::lua_pcall(l, 0, 0, 0);
                    ffi::lua_sethook(l, None, 0, 0);
                    LOADING.with(|c| c.set(prev));
                    if rc != 0 {
                        let e = lua::error_info(l);
                        ffi::lua_pop(l, 1);
                        Err(format!("Error registering functions: {}", e.msg))
                    } else {
                        Ok(())
                    }
                }
            };
            set_globals_api(l, GLOBALS_API);
            match res {
                Ok(()) => Ok(lc.functions),
                Err(e) => {
                    self.release(lc.functions.iter().map(|f| f.fref).collect());
                    Err(e)
                }
            }
        }
    }

    /// FUNCTION LOAD (functionsCreateWithLibraryCtx): create a library in `libs`.
    /// Returns the library name.
    pub fn create_library(
        &mut self,
        libs: &mut Libraries,
        payload: &[u8],
        replace: bool,
        timeout_ms: u64,
    ) -> Result<String, String> {
        let (engine, name, code) = metadata(payload)?;
        if !valid_name(&name) {
            return Err(BAD_NAME.into());
        }
        if !engine.eq_ignore_ascii_case(b"lua") {
            return Err(format!("Engine '{}' not found", String::from_utf8_lossy(&engine)));
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        if libs.libs.contains_key(&name) && !replace {
            return Err(format!("Library '{name}' already exists"));
        }
        let old = libs.unlink(&name);
        let result = self.compile_library(code, timeout_ms).and_then(|functions| {
            if functions.is_empty() {
                return Err("No functions registered".to_string());
            }
            if let Some(f) = functions.iter().find(|f| libs.functions.contains_key(&f.name.to_lowercase())) {
                let e = format!("Function {} already exists", f.name);
                self.release(functions.iter().map(|f| f.fref).collect());
                return Err(e);
            }
            Ok(functions)
        });
        match result {
            Ok(functions) => {
                libs.link(Library { name: name.clone(), engine: "LUA", code: payload.to_vec(), functions });
                if let Some(old) = old {
                    libs.discard(old);
                }
                Ok(name)
            }
            Err(e) => {
                if let Some(old) = old {
                    libs.link(old);
                }
                Err(e)
            }
        }
    }
}

/// redis.register_function(name, callback) or redis.register_function{function_name=,
/// callback=, description=, flags=}.
unsafe extern "C-unwind" fn register_function(l: *mut lua_State) -> c_int {
    let p = LOADING.with(|c| c.get());
    if p.is_null() {
        super::api::raise_error_table(l, "redis.register_function can only be called on FUNCTION LOAD command".into());
    }
    let lc = &mut *p;
    let f = match read_register_args(l) {
        Ok(f) => f,
        Err(e) => super::api::raise_error_table(l, e.to_string()),
    };
    let err = if !valid_name(f.name.as_bytes()) {
        Some(BAD_NAME)
    } else if lc.functions.iter().any(|x| x.name == f.name) {
        Some("Function already exists in the library")
    } else {
        None
    };
    if let Some(e) = err {
        ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, f.fref);
        drop(f);
        super::api::raise_error_table(l, e.to_string());
    }
    lc.functions.push(f);
    0
}

unsafe fn read_register_args(l: *mut lua_State) -> Result<Function, &'static str> {
    let argc = ffi::lua_gettop(l);
    if !(1..=2).contains(&argc) {
        return Err("wrong number of arguments to redis.register_function");
    }
    if argc == 2 {
        if ffi::lua_isstring(l, 1) == 0 {
            return Err("first argument to redis.register_function must be a string");
        }
        let name = String::from_utf8_lossy(lua::to_bytes(l, 1).unwrap_or_default()).into_owned();
        if ffi::lua_type(l, 2) != ffi::LUA_TFUNCTION {
            return Err("second argument to redis.register_function must be a function");
        }
        let fref = ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX);
        return Ok(Function { name, desc: None, flags: 0, fref });
    }
    if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
        return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    }
    let mut name = None;
    let mut desc = None;
    let mut fref = None;
    let mut flags = 0u64;
    let mut err = None;
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, 1) != 0 {
        if ffi::lua_type(l, -2) != ffi::LUA_TSTRING && ffi::lua_type(l, -2) != ffi::LUA_TNUMBER {
            err = Some("named argument key given to redis.register_function is not a string");
            ffi::lua_pop(l, 2);
            break;
        }
        // Copy the key: converting a number key in place would confuse lua_next.
        ffi::lua_pushvalue(l, -2);
        let key = lua::to_bytes(l, -1).unwrap_or_default().to_ascii_lowercase();
        ffi::lua_pop(l, 1);
        match key.as_slice() {
            b"function_name" => {
                if ffi::lua_isstring(l, -1) == 0 {
                    err = Some("function_name argument given to redis.register_function must be a string");
                } else {
                    name = Some(String::from_utf8_lossy(lua::to_bytes(l, -1).unwrap_or_default()).into_owned());
                }
            }
            b"description" => {
                if ffi::lua_isstring(l, -1) == 0 {
                    err = Some("description argument given to redis.register_function must be a string");
                } else {
                    desc = Some(lua::to_bytes(l, -1).unwrap_or_default().to_vec());
                }
            }
            b"callback" => {
                if ffi::lua_type(l, -1) != ffi::LUA_TFUNCTION {
                    err = Some("callback argument given to redis.register_function must be a function");
                } else {
                    if let Some(old) = fref.take() {
                        ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, old);
                    }
                    fref = Some(ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
                    continue; // the value was popped by luaL_ref
                }
            }
            b"flags" => {
                if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
                    err = Some("flags argument to redis.register_function must be a table representing function flags");
                } else {
                    match read_flags(l) {
                        Some(f) => flags = f,
                        None => err = Some("unknown flag given"),
                    }
                }
            }
            _ => err = Some("unknown argument given to redis.register_function"),
        }
        if err.is_some() {
            ffi::lua_pop(l, 2);
            break;
        }
        ffi::lua_pop(l, 1);
    }
    let release = |r: Option<i32>| {
        if let Some(r) = r {
            ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r);
        }
    };
    if let Some(e) = err {
        release(fref);
        return Err(e);
    }
    let Some(name) = name else {
        release(fref);
        return Err("redis.register_function must get a function name argument");
    };
    let Some(fref) = fref else {
        return Err("redis.register_function must get a callback argument");
    };
    Ok(Function { name, desc, flags, fref })
}

/// The flags table on top of the stack: a list of flag names.
unsafe fn read_flags(l: *mut lua_State) -> Option<u64> {
    let mut flags = 0;
    let mut j = 1;
    loop {
        ffi::lua_rawgeti(l, -1, j);
        j += 1;
        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 1);
            return Some(flags);
        }
        if ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
            ffi::lua_pop(l, 1);
            return None;
        }
        let s = lua::to_bytes(l, -1).unwrap_or_default();
        let found = super::sflags::NAMES.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(s));
        ffi::lua_pop(l, 1);
        flags |= found?.1;
    }
}

// ---------------------------------------------------------------------------------------
// Commands' entry points.

/// FCALL / FCALL_RO.
pub fn fcall_command(ctx: &mut Ctx, argv: &[&[u8]], ro: bool) {
    let srv = ctx.srv;
    if srv.monitor_count.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        crate::commands::client::feed_monitors(srv, ctx.client, ctx.out, argv);
    }
    let Some(f) = srv.scripting.libraries.lock().find(argv[1]) else {
        return ctx.out.error("ERR Function not found");
    };
    let Some(nkeys) = super::eval::numkeys(ctx, argv, "ERR Bad number of keys provided") else { return };
    if !super::check_can_run(ctx, f.flags, ro) {
        return;
    }
    let mut guard = srv.scripting.functions.lock();
    let eng = &mut *guard;
    let garbage = srv.scripting.libraries.lock().take_garbage();
    eng.release(garbage);
    let spec = RunSpec { name: &f.name, script_flags: f.flags, ro, eval_mode: false, argv };
    let l = eng.vm.l;
    let mut run = super::new_run(ctx, &mut eng.client, &spec);
    // SAFETY: engine locked; handler, function, KEYS, ARGV pushed; run_script consumes all
    // but the handler, popped here.
    unsafe {
        ffi::lua_pushcfunction(l, lua::error_handler);
        ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, f.fref as _);
        lua::push_string_array(l, &argv[3..3 + nkeys]);
        lua::push_string_array(l, &argv[3 + nkeys..]);
        super::run_script(l, &mut run, 2, &spec);
        ffi::lua_pop(l, 1);
    }
}

/// FUNCTION LOAD [REPLACE] code: Ok(library name) or the error text (without "ERR ").
pub fn load(srv: &crate::server::Server, code: &[u8], replace: bool, timeout_ms: u64) -> Result<String, String> {
    let mut eng = srv.scripting.functions.lock();
    let mut libs = srv.scripting.libraries.lock();
    let garbage = libs.take_garbage();
    eng.release(garbage);
    eng.create_library(&mut libs, code, replace, timeout_ms)
}

use crate::persist::rdb::{self, CRC64, OP_FUNCTION, OP_FUNCTION2, RDB_VERSION};

/// FUNCTION DUMP payload: every library as an RDB FUNCTION2 record (code LZF-compressed
/// like Redis does), then the RDB version and the CRC64.
pub fn dump(libs: &Libraries) -> Vec<u8> {
    let mut p = Vec::new();
    for lib in libs.iter() {
        p.push(OP_FUNCTION2);
        rdb::encode_string(&lib.code, true, &mut p);
    }
    p.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// Is this a DUMP payload we can read (version and checksum)?
pub fn verify_payload(p: &[u8]) -> bool {
    if p.len() < 10 {
        return false;
    }
    let footer = &p[p.len() - 10..];
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().expect("8 bytes"));
    ver <= RDB_VERSION && CRC64.checksum(&p[..p.len() - 8]) == crc
}

/// The library code of one RDB function record (FUNCTION2, or the 7.0-rc FUNCTION form
/// with name / engine / description / code, turned into a `#!engine name=` payload).
pub fn read_function_record<R: std::io::Read>(rd: &mut rdb::Reader<R>, opcode: u8) -> Result<Vec<u8>, String> {
    if opcode == OP_FUNCTION2 {
        return rd.string().map_err(|_| "Failed loading library payload".to_string());
    }
    let name = rd.string().map_err(|_| "Failed loading library name")?;
    let engine = rd.string().map_err(|_| "Failed loading engine name")?;
    let has_desc = rd.len().map_err(|_| "Failed loading library description indicator")?;
    if has_desc != 0 {
        rd.string().map_err(|_| "Failed loading library description")?;
    }
    let blob = rd.string().map_err(|_| "Failed loading library blob")?;
    let mut c = format!("#!{} name={}\n", String::from_utf8_lossy(&engine), String::from_utf8_lossy(&name)).into_bytes();
    c.extend_from_slice(&blob);
    Ok(c)
}

/// FUNCTION RESTORE: the libraries of a payload, as a scratch `Libraries`.
pub fn restore_payload(srv: &crate::server::Server, p: &[u8]) -> Result<Libraries, String> {
    let mut eng = srv.scripting.functions.lock();
    let mut tmp = Libraries::default();
    let body = &p[..p.len() - 10];
    let mut rd = rdb::Reader::new(body);
    let res = (|| {
        while rd.pos < body.len() as u64 {
            let t = rd.byte().map_err(|_| "can not read data type".to_string())?;
            if t != OP_FUNCTION2 && t != OP_FUNCTION {
                return Err("given type is not a function".to_string());
            }
            let code = read_function_record(&mut rd, t)?;
            eng.create_library(&mut tmp, &code, false, 0)?;
        }
        Ok(())
    })();
    match res {
        Ok(()) => Ok(tmp),
        Err(e) => {
            tmp.flush();
            let g = tmp.take_garbage();
            eng.release(g);
            Err(e)
        }
    }
}

/// The code of every library, for the RDB file.
pub fn library_codes(srv: &crate::server::Server) -> Vec<Vec<u8>> {
    srv.scripting.libraries.lock().iter().map(|l| l.code.clone()).collect()
}

/// Create the libraries of an RDB file (`replace`: DEBUG RELOAD MERGE replaces existing
/// ones). The first failure stops the load.
pub fn load_libraries(srv: &crate::server::Server, codes: &[Vec<u8>], replace: bool) -> Result<(), String> {
    for code in codes {
        load(srv, code, replace, 0).map_err(|e| {
            crate::log::warning(&format!("Failed loading library from RDB: {e}"));
            e
        })?;
    }
    Ok(())
}

/// Drop every library (FUNCTION FLUSH, or before loading a dataset).
pub fn flush(srv: &crate::server::Server) {
    let mut libs = srv.scripting.libraries.lock();
    libs.flush();
    collect_garbage(srv, &mut libs);
}

/// Release references dropped from `libs` (callers hold the libraries lock).
pub fn collect_garbage(srv: &crate::server::Server, libs: &mut Libraries) {
    let g = libs.take_garbage();
    if !g.is_empty() {
        if let Some(mut eng) = srv.scripting.functions.try_lock() {
            eng.release(g);
        } else {
            libs.garbage = g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_rules() {
        let (e, n, code) = metadata(b"#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!((e.as_slice(), n.as_slice(), code), (&b"lua"[..], &b"mylib"[..], &b"\nreturn 1"[..]));
        assert_eq!(metadata(b"return 1").unwrap_err(), "Missing library metadata");
        assert_eq!(metadata(b"#!lua name=a").unwrap_err(), "Invalid library metadata");
        assert_eq!(metadata(b"#!lua\nx").unwrap_err(), "Library name was not given");
        assert_eq!(metadata(b"#!lua name=a name=b\nx").unwrap_err(), "Invalid metadata value, name argument was given multiple times");
        assert_eq!(metadata(b"#!lua name=a foo=bar\nx").unwrap_err(), "Invalid metadata value given: foo=bar");
        assert_eq!(metadata(b"#!lua name=\"foo\"\nx").unwrap().1, b"foo");
        assert!(valid_name(b"a_1") && !valid_name(b"") && !valid_name(b"a-b"));
    }

    #[test]
    fn payload_checks() {
        let mut libs = Libraries::default();
        libs.libs.insert(
            "x".into(),
            Library { name: "x".into(), engine: "LUA", code: vec![b'a'; 100], functions: Vec::new() },
        );
        let p = dump(&libs);
        assert!(verify_payload(&p));
        let mut rd = rdb::Reader::new(&p[1..]);
        assert_eq!(rd.string().unwrap(), vec![b'a'; 100]);
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert!(!verify_payload(&bad));
    }
}
