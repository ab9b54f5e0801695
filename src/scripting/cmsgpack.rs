//! The `cmsgpack` library (lua-cmsgpack 0.4.0 behaviour): MessagePack pack / unpack.
//!
//! pack(...) encodes each argument and concatenates them: integers (doubles equal to an
//! int64) in the smallest int format, other numbers as float32 when exact else float64,
//! strings as fixstr / str8 / str16 / str32, tables as arrays when their keys are exactly
//! 1..n else maps, nested deeper than 16 tables as nil, anything else as nil.
//! unpack(s) decodes every object; unpack_one(s [,offset]) and unpack_limit(s, n
//! [,offset]) also return the offset of the next object (-1 at the end).

use super::lua::*;
use mlua::ffi::{self, lua_State};
use std::ffi::c_int;

const MAX_NESTING: usize = 16;

fn is_int64(x: f64) -> bool {
    x.is_finite() && x >= -9.223_372_036_854_775_808e18 && x < 9.223_372_036_854_775_808e18 && x.trunc() == x
}

fn encode_int(b: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            b.push(n as u8);
        } else if n <= 0xff {
            b.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            b.push(0xcd);
            b.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            b.push(0xce);
            b.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            b.push(0xcf);
            b.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        b.push(n as i8 as u8);
    } else if n >= -128 {
        b.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        b.push(0xd1);
        b.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        b.push(0xd2);
        b.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        b.push(0xd3);
        b.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_double(b: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if d == f as f64 {
        b.push(0xca);
        b.extend_from_slice(&f.to_be_bytes());
    } else {
        b.push(0xcb);
        b.extend_from_slice(&d.to_be_bytes());
    }
}

fn encode_bytes(b: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n < 32 {
        b.push(0xa0 | n as u8);
    } else if n <= 0xff {
        b.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        b.push(0xda);
        b.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        b.push(0xdb);
        b.extend_from_slice(&(n as u32).to_be_bytes());
    }
    b.extend_from_slice(s);
}

fn header(b: &mut Vec<u8>, n: usize, fix: u8, h16: u8, h32: u8) {
    if n <= 15 {
        b.push(fix | n as u8);
    } else if n <= 0xffff {
        b.push(h16);
        b.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        b.push(h32);
        b.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Keys exactly 1..n (table_is_an_array)?
unsafe fn is_array(l: *mut lua_State) -> bool {
    let mut count: i64 = 0;
    let mut max: i64 = 0;
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        ffi::lua_pop(l, 1);
        let n = if ffi::lua_type(l, -1) == ffi::LUA_TNUMBER { ffi::lua_tonumber(l, -1) } else { 0.0 };
        if n <= 0.0 || n.trunc() != n || n > i32::MAX as f64 {
            ffi::lua_pop(l, 1);
            return false;
        }
        max = max.max(n as i64);
        count += 1;
    }
    max == count
}

/// Encode the value on top of the stack and pop it.
unsafe fn encode(l: *mut lua_State, b: &mut Vec<u8>, level: usize) {
    let mut t = ffi::lua_type(l, -1);
    if t == ffi::LUA_TTABLE && level == MAX_NESTING {
        t = ffi::LUA_TNIL;
    }
    match t {
        ffi::LUA_TSTRING => encode_bytes(b, to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => b.push(if ffi::lua_toboolean(l, -1) != 0 { 0xc3 } else { 0xc2 }),
        ffi::LUA_TNUMBER => {
            let n = ffi::lua_tonumber(l, -1);
            if is_int64(n) {
                encode_int(b, n as i64);
            } else {
                encode_double(b, n);
            }
        }
        ffi::LUA_TTABLE => {
            ffi::lua_checkstack(l, 3);
            if is_array(l) {
                let len = ffi::lua_objlen(l, -1);
                header(b, len, 0x90, 0xdc, 0xdd);
                for j in 1..=len {
                    ffi::lua_rawgeti(l, -1, j as _);
                    encode(l, b, level + 1);
                }
            } else {
                let mut len = 0;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pop(l, 1);
                    len += 1;
                }
                header(b, len, 0x80, 0xde, 0xdf);
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pushvalue(l, -2);
                    encode(l, b, level + 1); // key
                    encode(l, b, level + 1); // value
                }
            }
        }
        _ => b.push(0xc0),
    }
    ffi::lua_pop(l, 1);
}

unsafe extern "C-unwind" fn pack(l: *mut lua_State) -> c_int {
    let nargs = ffi::lua_gettop(l);
    if nargs == 0 {
        ffi::luaL_argerror(l, 0, c"MessagePack pack needs input.".as_ptr());
    }
    if ffi::lua_checkstack(l, nargs) == 0 {
        ffi::luaL_argerror(l, 0, c"Too many arguments for MessagePack pack.".as_ptr());
    }
    let mut b = Vec::new();
    for i in 1..=nargs {
        ffi::lua_pushvalue(l, i);
        encode(l, &mut b, 0);
    }
    push_bytes(l, &b);
    1
}

// ---------------------------------------------------------------------------------------
// Decoding.

enum DecodeErr {
    Eof,
    BadFormat,
}

struct Cursor<'a> {
    p: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn need(&self, n: usize) -> Result<&[u8], DecodeErr> {
        self.p.get(self.pos..self.pos + n).ok_or(DecodeErr::Eof)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeErr> {
        let b = self.need(1 + n)?;
        let v = b[1..].iter().fold(0u64, |a, &c| (a << 8) | c as u64);
        self.pos += 1 + n;
        Ok(v)
    }

    fn bytes(&mut self, skip: usize, len: usize) -> Result<&[u8], DecodeErr> {
        self.need(skip + len)?;
        let s = &self.p[self.pos + skip..self.pos + skip + len];
        self.pos += skip + len;
        Ok(s)
    }
}

/// Decode one object and push it.
unsafe fn decode(l: *mut lua_State, c: &mut Cursor) -> Result<(), DecodeErr> {
    let tag = c.need(1)?[0];
    ffi::luaL_checkstack(l, 1, c"too many return values at once; use unpack_one or unpack_limit instead.".as_ptr());
    match tag {
        0xcc | 0xcd | 0xce | 0xcf => {
            let n = 1 << (tag - 0xcc);
            let v = c.be(n)?;
            ffi::lua_pushnumber(l, v as f64);
        }
        0xd0 => {
            let v = c.be(1)? as u8 as i8;
            ffi::lua_pushnumber(l, v as f64);
        }
        0xd1 => {
            let v = c.be(2)? as u16 as i16;
            ffi::lua_pushnumber(l, v as f64);
        }
        0xd2 => {
            let v = c.be(4)? as u32 as i32;
            ffi::lua_pushnumber(l, v as f64);
        }
        0xd3 => {
            let v = c.be(8)? as i64;
            ffi::lua_pushnumber(l, v as f64);
        }
        0xc0 => {
            ffi::lua_pushnil(l);
            c.pos += 1;
        }
        0xc2 | 0xc3 => {
            ffi::lua_pushboolean(l, (tag == 0xc3) as c_int);
            c.pos += 1;
        }
        0xca => {
            let v = c.be(4)? as u32;
            ffi::lua_pushnumber(l, f32::from_bits(v) as f64);
        }
        0xcb => {
            let v = c.be(8)?;
            ffi::lua_pushnumber(l, f64::from_bits(v));
        }
        0xd9 | 0xda | 0xdb => {
            let n = match tag {
                0xd9 => 1,
                0xda => 2,
                _ => 4,
            };
            let len = c.need(1 + n)?[1..].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
            let s = c.bytes(1 + n, len)?;
            push_bytes(l, s);
        }
        0xdc | 0xdd | 0xde | 0xdf => {
            let n = if tag == 0xdc || tag == 0xde { 2 } else { 4 };
            let len = c.be(n)? as usize;
            if tag <= 0xdd {
                array(l, c, len)?;
            } else {
                map(l, c, len)?;
            }
        }
        _ if tag & 0x80 == 0 => {
            ffi::lua_pushnumber(l, tag as f64);
            c.pos += 1;
        }
        _ if tag & 0xe0 == 0xe0 => {
            ffi::lua_pushnumber(l, tag as i8 as f64);
            c.pos += 1;
        }
        _ if tag & 0xe0 == 0xa0 => {
            let s = c.bytes(1, (tag & 0x1f) as usize)?;
            push_bytes(l, s);
        }
        _ if tag & 0xf0 == 0x90 => {
            c.pos += 1;
            array(l, c, (tag & 0xf) as usize)?;
        }
        _ if tag & 0xf0 == 0x80 => {
            c.pos += 1;
            map(l, c, (tag & 0xf) as usize)?;
        }
        _ => return Err(DecodeErr::BadFormat),
    }
    Ok(())
}

unsafe fn array(l: *mut lua_State, c: &mut Cursor, len: usize) -> Result<(), DecodeErr> {
    ffi::lua_createtable(l, 0, 0);
    ffi::luaL_checkstack(l, 1, c"in function mp_decode_to_lua_array".as_ptr());
    for i in 1..=len {
        ffi::lua_pushnumber(l, i as f64);
        decode(l, c)?;
        ffi::lua_settable(l, -3);
    }
    Ok(())
}

unsafe fn map(l: *mut lua_State, c: &mut Cursor, len: usize) -> Result<(), DecodeErr> {
    ffi::lua_createtable(l, 0, 0);
    for _ in 0..len {
        decode(l, c)?;
        decode(l, c)?;
        if ffi::lua_type(l, -2) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 2); // a nil key cannot be stored
            continue;
        }
        ffi::lua_settable(l, -3);
    }
    Ok(())
}

/// mp_unpack_full: `limit` 0 and `offset` 0 decode everything.
unsafe fn unpack_full(l: *mut lua_State, limit: i64, offset: i64) -> c_int {
    let mut len = 0usize;
    let s = ffi::luaL_checklstring(l, 1, &mut len);
    if offset < 0 || limit < 0 {
        raise_at(l, format!("Invalid request to unpack with offset of {offset} and limit of {len}."));
    }
    if offset as usize > len {
        raise_at(l, format!("Start offset {offset} greater than input length {len}."));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i64::MAX } else { limit };
    let data = std::slice::from_raw_parts(s as *const u8, len);
    let mut c = Cursor { p: data, pos: offset as usize };
    let mut cnt: c_int = 0;
    while c.pos < len && (cnt as i64) < limit {
        match decode(l, &mut c) {
            Ok(()) => cnt += 1,
            Err(DecodeErr::Eof) => raise_at(l, "Missing bytes in input.".into()),
            Err(DecodeErr::BadFormat) => raise_at(l, "Bad data format in input.".into()),
        }
    }
    if !decode_all {
        ffi::luaL_checkstack(l, 1, c"in function mp_unpack_full".as_ptr());
        ffi::lua_pushinteger(l, if c.pos >= len { -1 } else { c.pos as _ });
        ffi::lua_insert(l, 2);
        cnt += 1;
    }
    cnt
}

unsafe extern "C-unwind" fn unpack(l: *mut lua_State) -> c_int {
    unpack_full(l, 0, 0)
}

unsafe extern "C-unwind" fn unpack_one(l: *mut lua_State) -> c_int {
    let offset = ffi::luaL_optinteger(l, 2, 0) as i64;
    ffi::lua_settop(l, 1);
    unpack_full(l, 1, offset)
}

unsafe extern "C-unwind" fn unpack_limit(l: *mut lua_State) -> c_int {
    let limit = ffi::luaL_checkinteger(l, 2) as i64;
    let offset = ffi::luaL_optinteger(l, 3, 0) as i64;
    ffi::lua_settop(l, 1);
    unpack_full(l, limit, offset)
}

/// Create the global `cmsgpack` table.
pub unsafe fn open(l: *mut lua_State) {
    ffi::lua_createtable(l, 0, 8);
    set_field_fn(l, -1, "pack", pack);
    set_field_fn(l, -1, "unpack", unpack);
    set_field_fn(l, -1, "unpack_one", unpack_one);
    set_field_fn(l, -1, "unpack_limit", unpack_limit);
    set_field_str(l, -1, "_NAME", b"cmsgpack");
    set_field_str(l, -1, "_VERSION", b"lua-cmsgpack 0.4.0");
    set_field_str(l, -1, "_COPYRIGHT", b"Copyright (C) 2012, Salvatore Sanfilippo");
    set_field_str(l, -1, "_DESCRIPTION", b"MessagePack C implementation for Lua");
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cmsgpack".as_ptr());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut b = Vec::new();
        encode_double(&mut b, 0.1);
        assert_eq!(b, [0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]);
        b.clear();
        encode_int(&mut b, -1099511627776);
        assert_eq!(b, [0xd3, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00]);
        assert!(is_int64(-9.223372036854775808e18) && !is_int64(9.223372036854775808e18));
    }
}
