//! The `cjson` library: JSON encode / decode with lua-cjson 2.1.0's behaviour.
//!
//! Encoding: nil and `cjson.null` -> null, numbers with "%.14g" (encode_number_precision),
//! strings escaped like lua-cjson (`/` becomes `\/`, control characters `\uXXXX`), a
//! table is an array when all its keys are positive integers (sparse arrays beyond the
//! encode_sparse_array ratio are an error), else an object (an empty table is `{}`).
//! Decoding: the JSON grammar with strtod numbers, `\uXXXX` escapes (surrogate pairs) to
//! UTF-8, null -> `cjson.null` (a NULL light userdata). Error texts are lua-cjson's.
//! Each module table (`cjson.new()` makes another) carries its settings as an upvalue.

use super::lua::*;
use mlua::ffi::{self, lua_State};
use std::ffi::{c_char, c_int, c_void};

#[derive(Clone, Copy)]
#[repr(C)]
struct Config {
    sparse_convert: c_int,
    sparse_ratio: c_int,
    sparse_safe: c_int,
    encode_max_depth: c_int,
    decode_max_depth: c_int,
    /// 0 off, 1 on, 2 "null"
    encode_invalid_numbers: c_int,
    decode_invalid_numbers: c_int,
    keep_buffer: c_int,
    precision: c_int,
}

const DEFAULT: Config = Config {
    sparse_convert: 0,
    sparse_ratio: 2,
    sparse_safe: 10,
    encode_max_depth: 1000,
    decode_max_depth: 1000,
    encode_invalid_numbers: 0,
    decode_invalid_numbers: 1,
    keep_buffer: 1,
    precision: 14,
};

unsafe fn config<'a>(l: *mut lua_State) -> &'a mut Config {
    &mut *(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *mut Config)
}

// ---------------------------------------------------------------------------------------
// Configuration functions.

/// Check the argument count and pad with nils (json_arg_init).
unsafe fn arg_init<'a>(l: *mut lua_State, args: c_int) -> &'a mut Config {
    if ffi::lua_gettop(l) > args {
        ffi::luaL_argerror(l, args + 1, c"found too many arguments".as_ptr());
    }
    while ffi::lua_gettop(l) < args {
        ffi::lua_pushnil(l);
    }
    config(l)
}

unsafe fn integer_option(l: *mut lua_State, idx: c_int, setting: &mut c_int, min: c_int, max: c_int) {
    if ffi::lua_isnil(l, idx) == 0 {
        let v = ffi::luaL_checkinteger(l, idx) as c_int;
        if !(min <= v && v <= max) {
            let msg = std::ffi::CString::new(format!("expected integer between {min} and {max}")).expect("no NUL");
            // The message must survive the jump: copy it into Lua first.
            ffi::lua_pushstring(l, msg.as_ptr());
            drop(msg);
            let p = ffi::lua_tostring(l, -1);
            ffi::luaL_argerror(l, 1, p);
        }
        *setting = v;
    }
    ffi::lua_pushinteger(l, *setting as _);
}

/// json_enum_option with the booleans and names off / on (/ null).
unsafe fn enum_option(l: *mut lua_State, idx: c_int, setting: &mut c_int, with_null: bool) {
    if ffi::lua_isnil(l, idx) == 0 {
        if ffi::lua_isboolean(l, idx) != 0 {
            *setting = ffi::lua_toboolean(l, idx);
        } else {
            let on_off: [*const c_char; 3] = [c"off".as_ptr(), c"on".as_ptr(), std::ptr::null()];
            let on_off_null: [*const c_char; 4] = [c"off".as_ptr(), c"on".as_ptr(), c"null".as_ptr(), std::ptr::null()];
            let list = if with_null { on_off_null.as_ptr() } else { on_off.as_ptr() };
            *setting = ffi::luaL_checkoption(l, idx, std::ptr::null(), list);
        }
    }
    if *setting <= 1 {
        ffi::lua_pushboolean(l, *setting);
    } else {
        push_str(l, "null");
    }
}

unsafe extern "C-unwind" fn cfg_sparse(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 3);
    enum_option(l, 1, &mut cfg.sparse_convert, false);
    integer_option(l, 2, &mut cfg.sparse_ratio, 0, c_int::MAX);
    integer_option(l, 3, &mut cfg.sparse_safe, 0, c_int::MAX);
    3
}

unsafe extern "C-unwind" fn cfg_encode_depth(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.encode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_decode_depth(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.decode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_precision(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.precision, 1, 14);
    1
}

unsafe extern "C-unwind" fn cfg_keep_buffer(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.keep_buffer, false);
    1
}

unsafe extern "C-unwind" fn cfg_encode_invalid(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.encode_invalid_numbers, true);
    1
}

unsafe extern "C-unwind" fn cfg_decode_invalid(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.decode_invalid_numbers, false);
    1
}

// ---------------------------------------------------------------------------------------
// Encoding.

/// "%.<precision>g" like lua-cjson's fpconv_g_fmt.
fn fmt_number(n: f64, precision: c_int) -> String {
    let fmt = format!("%.{precision}g\0");
    crate::util::numfmt::fmt_double_with(fmt.as_bytes(), n)
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            8 => out.extend_from_slice(b"\\b"),
            9 => out.extend_from_slice(b"\\t"),
            10 => out.extend_from_slice(b"\\n"),
            12 => out.extend_from_slice(b"\\f"),
            13 => out.extend_from_slice(b"\\r"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

unsafe fn type_error(l: *mut lua_State, idx: c_int, reason: &str) -> String {
    format!("Cannot serialise {}: {reason}", type_name(l, idx))
}

unsafe fn append_number(l: *mut lua_State, cfg: &Config, out: &mut Vec<u8>, idx: c_int) -> Result<(), String> {
    let n = ffi::lua_tonumber(l, idx);
    match cfg.encode_invalid_numbers {
        0 if n.is_nan() || n.is_infinite() => return Err(type_error(l, idx, "must not be NaN or Inf")),
        1 if n.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        2 if n.is_nan() || n.is_infinite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    out.extend_from_slice(fmt_number(n, cfg.precision).as_bytes());
    Ok(())
}

/// lua_array_length: Some(max index) for an array, None for an object.
unsafe fn array_length(l: *mut lua_State, cfg: &Config) -> Result<Option<i64>, String> {
    let mut max: i64 = 0;
    let mut items: i64 = 0;
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        let k = if ffi::lua_type(l, -2) == ffi::LUA_TNUMBER { ffi::lua_tonumber(l, -2) } else { 0.0 };
        if k != 0.0 && k.floor() == k && k >= 1.0 {
            if k as i64 > max {
                max = k as i64;
            }
            items += 1;
            ffi::lua_pop(l, 1);
            continue;
        }
        ffi::lua_pop(l, 2);
        return Ok(None);
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio as i64 && max > cfg.sparse_safe as i64 {
        if cfg.sparse_convert == 0 {
            return Err(type_error(l, -1, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

unsafe fn encode_value(l: *mut lua_State, cfg: &Config, depth: c_int, out: &mut Vec<u8>) -> Result<(), String> {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => append_string(out, to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TNUMBER => append_number(l, cfg, out, -1)?,
        ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, -1) != 0 { b"true" } else { b"false" }),
        ffi::LUA_TNIL => out.extend_from_slice(b"null"),
        ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => out.extend_from_slice(b"null"),
        ffi::LUA_TTABLE => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth || ffi::lua_checkstack(l, 3) == 0 {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_length(l, cfg)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        ffi::lua_rawgeti(l, -1, i as _);
                        let r = encode_value(l, cfg, depth, out);
                        ffi::lua_pop(l, 1);
                        r?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    ffi::lua_pushnil(l);
                    while ffi::lua_next(l, -2) != 0 {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match ffi::lua_type(l, -2) {
                            ffi::LUA_TNUMBER => {
                                out.push(b'"');
                                append_number(l, cfg, out, -2)?;
                                out.extend_from_slice(b"\":");
                            }
                            ffi::LUA_TSTRING => {
                                append_string(out, to_bytes(l, -2).unwrap_or_default());
                                out.push(b':');
                            }
                            _ => return Err(type_error(l, -2, "table key must be a number or string")),
                        }
                        encode_value(l, cfg, depth, out)?;
                        ffi::lua_pop(l, 1);
                    }
                    out.push(b'}');
                }
            }
        }
        _ => return Err(type_error(l, -1, "type not supported")),
    }
    Ok(())
}

unsafe extern "C-unwind" fn encode(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        ffi::luaL_argerror(l, 1, c"expected 1 argument".as_ptr());
    }
    let cfg = *config(l);
    let mut out = Vec::new();
    let r = encode_value(l, &cfg, 0, &mut out);
    match r {
        Ok(()) => {
            push_bytes(l, &out);
            drop(out);
            1
        }
        Err(e) => {
            drop(out);
            raise_at(l, e)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Decoding.

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct Parser<'a> {
    /// The JSON text up to its first NUL (the C parser stops there).
    data: &'a [u8],
    /// NUL-terminated start of the same text (for strtod).
    cstr: *const c_char,
    pos: usize,
    depth: c_int,
    cfg: Config,
    /// The last string token.
    s: Vec<u8>,
    /// Where the last token started (0-based).
    tok_at: usize,
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    let mut v = 0;
    for &c in &b[..4] {
        v = (v << 4) | (c as char).to_digit(16)?;
    }
    Some(v)
}

fn push_utf8(out: &mut Vec<u8>, cp: u32) -> bool {
    if cp <= 0x7f {
        out.push(cp as u8);
    } else if cp <= 0x7ff {
        out.extend_from_slice(&[(cp >> 6) as u8 | 0xc0, (cp & 0x3f) as u8 | 0x80]);
    } else if cp <= 0xffff {
        out.extend_from_slice(&[(cp >> 12) as u8 | 0xe0, ((cp >> 6) & 0x3f) as u8 | 0x80, (cp & 0x3f) as u8 | 0x80]);
    } else if cp <= 0x1f_ffff {
        out.extend_from_slice(&[
            (cp >> 18) as u8 | 0xf0,
            ((cp >> 12) & 0x3f) as u8 | 0x80,
            ((cp >> 6) & 0x3f) as u8 | 0x80,
            (cp & 0x3f) as u8 | 0x80,
        ]);
    } else {
        return false;
    }
    true
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let rest = &self.data[p.min(self.data.len())..];
        rest.len() >= 3 && (rest[..3].eq_ignore_ascii_case(b"inf") || rest[..3].eq_ignore_ascii_case(b"nan"))
    }

    fn number(&mut self) -> Tok {
        let mut end: *mut c_char = std::ptr::null_mut();
        // SAFETY: `cstr` is the NUL-terminated Lua string `data` comes from.
        let v = unsafe { libc::strtod(self.cstr.add(self.pos), &mut end) };
        let used = end as usize - unsafe { self.cstr.add(self.pos) } as usize;
        if used == 0 {
            return Tok::Error("invalid number");
        }
        self.pos += used;
        Tok::Num(v)
    }

    fn string(&mut self) -> Tok {
        self.pos += 1;
        self.s.clear();
        loop {
            let c = self.at(self.pos);
            if c == b'"' {
                break;
            }
            if c == 0 {
                return Tok::Error("unexpected end of string");
            }
            if c == b'\\' {
                let e = self.at(self.pos + 1);
                let ch = match e {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => 9,
                    b'n' => 10,
                    b'f' => 12,
                    b'r' => 13,
                    b'u' => {
                        if self.unicode_escape() {
                            continue;
                        }
                        return Tok::Error("invalid unicode escape code");
                    }
                    _ => return Tok::Error("invalid escape code"),
                };
                self.s.push(ch);
                self.pos += 2;
                continue;
            }
            self.s.push(c);
            self.pos += 1;
        }
        self.pos += 1;
        Tok::Str
    }

    fn unicode_escape(&mut self) -> bool {
        let rest = &self.data[self.pos..];
        let Some(mut cp) = hex4(&rest[2..]) else { return false };
        let mut len = 6;
        if cp & 0xf800 == 0xd800 {
            if cp & 0x400 != 0 || rest.get(6) != Some(&b'\\') || rest.get(7) != Some(&b'u') {
                return false;
            }
            let Some(low) = hex4(&rest[8..]) else { return false };
            if low & 0xfc00 != 0xdc00 {
                return false;
            }
            cp = (((cp & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
            len = 12;
        }
        if !push_utf8(&mut self.s, cp) {
            return false;
        }
        self.pos += len;
        true
    }

    fn next(&mut self) -> Tok {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        self.tok_at = self.pos;
        let c = self.at(self.pos);
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            0 => return Tok::End,
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return t;
        }
        if !matches!(c, b'"' | b'-' | b'+' | b'0'..=b'9' | b't' | b'f' | b'n' | b'i' | b'I' | b'N') {
            return Tok::Error("invalid token");
        }
        let rest = &self.data[self.pos..];
        if c == b'"' {
            return self.string();
        }
        if c == b'-' || c.is_ascii_digit() {
            if self.cfg.decode_invalid_numbers == 0 && self.invalid_number() {
                return Tok::Error("invalid number");
            }
            return self.number();
        }
        if rest.starts_with(b"true") {
            self.pos += 4;
            return Tok::Bool(true);
        }
        if rest.starts_with(b"false") {
            self.pos += 5;
            return Tok::Bool(false);
        }
        if rest.starts_with(b"null") {
            self.pos += 4;
            return Tok::Null;
        }
        if self.cfg.decode_invalid_numbers != 0 && self.invalid_number() {
            return self.number();
        }
        Tok::Error("invalid token")
    }

    fn error(&self, expected: &str, t: Tok) -> String {
        format!("Expected {expected} but found {} at character {}", t.name(), self.tok_at + 1)
    }

    unsafe fn descend(&mut self, l: *mut lua_State, slots: c_int) -> Result<(), String> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth && ffi::lua_checkstack(l, slots) != 0 {
            return Ok(());
        }
        Err(format!("Found too many nested data structures ({}) at character {}", self.depth, self.pos))
    }

    unsafe fn value(&mut self, l: *mut lua_State, t: Tok) -> Result<(), String> {
        match t {
            Tok::Str => push_bytes(l, &self.s),
            Tok::Num(n) => ffi::lua_pushnumber(l, n),
            Tok::Bool(b) => ffi::lua_pushboolean(l, b as c_int),
            Tok::Null => ffi::lua_pushlightuserdata(l, std::ptr::null_mut::<c_void>()),
            Tok::ObjBegin => {
                self.descend(l, 3)?;
                ffi::lua_createtable(l, 0, 0);
                let mut t = self.next();
                if t == Tok::ObjEnd {
                    self.depth -= 1;
                    return Ok(());
                }
                loop {
                    if t != Tok::Str {
                        return Err(self.error("object key string", t));
                    }
                    push_bytes(l, &self.s);
                    t = self.next();
                    if t != Tok::Colon {
                        return Err(self.error("colon", t));
                    }
                    t = self.next();
                    self.value(l, t)?;
                    ffi::lua_rawset(l, -3);
                    t = self.next();
                    if t == Tok::ObjEnd {
                        self.depth -= 1;
                        return Ok(());
                    }
                    if t != Tok::Comma {
                        return Err(self.error("comma or object end", t));
                    }
                    t = self.next();
                }
            }
            Tok::ArrBegin => {
                self.descend(l, 2)?;
                ffi::lua_createtable(l, 0, 0);
                let mut t = self.next();
                if t == Tok::ArrEnd {
                    self.depth -= 1;
                    return Ok(());
                }
                let mut i = 1;
                loop {
                    self.value(l, t)?;
                    ffi::lua_rawseti(l, -2, i);
                    i += 1;
                    t = self.next();
                    if t == Tok::ArrEnd {
                        self.depth -= 1;
                        return Ok(());
                    }
                    if t != Tok::Comma {
                        return Err(self.error("comma or array end", t));
                    }
                    t = self.next();
                }
            }
            _ => return Err(self.error("value", t)),
        }
        Ok(())
    }
}

unsafe extern "C-unwind" fn decode(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        ffi::luaL_argerror(l, 1, c"expected 1 argument".as_ptr());
    }
    let cfg = *config(l);
    let mut len = 0usize;
    let p = ffi::luaL_checklstring(l, 1, &mut len);
    let full = std::slice::from_raw_parts(p as *const u8, len);
    if len >= 2 && (full[0] == 0 || full[1] == 0) {
        raise_at(l, "JSON parser does not support UTF-16 or UTF-32".into());
    }
    let data = &full[..full.iter().position(|&c| c == 0).unwrap_or(len)];
    let mut ps = Parser { data, cstr: p, pos: 0, depth: 0, cfg, s: Vec::new(), tok_at: 0 };
    let t = ps.next();
    let mut r = ps.value(l, t);
    if r.is_ok() {
        let t = ps.next();
        if t != Tok::End {
            r = Err(ps.error("the end", t));
        }
    }
    drop(ps);
    match r {
        Ok(()) => 1,
        Err(e) => raise_at(l, e),
    }
}

// ---------------------------------------------------------------------------------------

/// Push a new cjson module table (with its own settings).
unsafe extern "C-unwind" fn new_module(l: *mut lua_State) -> c_int {
    ffi::lua_createtable(l, 0, 14);
    let cfg = ffi::lua_newuserdata(l, std::mem::size_of::<Config>()) as *mut Config;
    cfg.write(DEFAULT);
    let fns: [(&std::ffi::CStr, CFn); 10] = [
        (c"encode", encode),
        (c"decode", decode),
        (c"encode_sparse_array", cfg_sparse),
        (c"encode_max_depth", cfg_encode_depth),
        (c"decode_max_depth", cfg_decode_depth),
        (c"encode_number_precision", cfg_precision),
        (c"encode_keep_buffer", cfg_keep_buffer),
        (c"encode_invalid_numbers", cfg_encode_invalid),
        (c"decode_invalid_numbers", cfg_decode_invalid),
        (c"new", new_module),
    ];
    for (name, f) in fns {
        ffi::lua_pushvalue(l, -1);
        ffi::lua_pushcclosure(l, f, 1);
        ffi::lua_setfield(l, -3, name.as_ptr());
    }
    ffi::lua_pop(l, 1);
    ffi::lua_pushlightuserdata(l, std::ptr::null_mut());
    ffi::lua_setfield(l, -2, c"null".as_ptr());
    set_field_str(l, -1, "_NAME", b"cjson");
    set_field_str(l, -1, "_VERSION", b"2.1.0");
    1
}

/// Create the global `cjson` table.
pub unsafe fn open(l: *mut lua_State) {
    new_module(l);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cjson".as_ptr());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_format() {
        assert_eq!(fmt_number(0.1, 14), "0.1");
        assert_eq!(fmt_number(1e20, 14), "1e+20");
        assert_eq!(fmt_number(1.0 / 3.0, 14), "0.33333333333333");
    }

    #[test]
    fn escapes() {
        let mut o = Vec::new();
        append_string(&mut o, b"a/b\"c\\d\n\x01\x7f");
        assert_eq!(o, b"\"a\\/b\\\"c\\\\d\\n\\u0001\\u007f\"");
    }
}
