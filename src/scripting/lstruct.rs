//! The `struct` library (Roberto Ierusalimschy's struct 0.2 behaviour): binary packing.
//!
//! struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]) (returns the values and the next
//! position), struct.size(fmt). Format: `<` `>` endianness (native by default),
//! `![n]` alignment, `x` pad byte, `b/B` char, `h/H` short, `l/L` long, `T` size_t,
//! `i/I[n]` n-byte int (default 4, at most 32), `f` float, `d` double, `c[n]` n chars
//! (`c0`: the whole string when packing, the previous number when unpacking), `s`
//! zero-terminated string, space ignored. Integers are 64-bit (C long).
//! The packed string is built in a Lua buffer, so errors never skip Rust destructors.

use super::lua::*;
use mlua::ffi::{self, lua_State};
use std::ffi::{c_char, c_int};

const MAXINTSIZE: usize = 32;
/// Alignment of double in a struct on x86-64 (`!` without a number).
const MAXALIGN: usize = 8;

#[derive(Clone, Copy, PartialEq)]
enum Endian {
    Big,
    Little,
}

struct Header {
    endian: Endian,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header { endian: if cfg!(target_endian = "little") { Endian::Little } else { Endian::Big }, align: 1 }
    }
}

unsafe fn getnum(l: *mut lua_State, fmt: &[u8], i: &mut usize, df: usize) -> usize {
    if !fmt.get(*i).is_some_and(|c| c.is_ascii_digit()) {
        return df;
    }
    let mut a: usize = 0;
    while let Some(&c) = fmt.get(*i).filter(|c| c.is_ascii_digit()) {
        if a > (i32::MAX / 10) as usize || a * 10 > i32::MAX as usize - (c - b'0') as usize {
            raise_at(l, "integral size overflow".into());
        }
        a = a * 10 + (c - b'0') as usize;
        *i += 1;
    }
    a
}

unsafe fn optsize(l: *mut lua_State, opt: u8, fmt: &[u8], i: &mut usize) -> usize {
    match opt {
        b'B' | b'b' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' => 8,
        b'f' => 4,
        b'd' => 8,
        b'x' => 1,
        b'c' => getnum(l, fmt, i, 1),
        b'i' | b'I' => {
            let sz = getnum(l, fmt, i, 4);
            if sz > MAXINTSIZE {
                raise_at(l, format!("integral size {sz} is larger than limit of {MAXINTSIZE}"));
            }
            sz
        }
        _ => 0,
    }
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

unsafe fn controloptions(l: *mut lua_State, opt: u8, fmt: &[u8], i: &mut usize, h: &mut Header) {
    match opt {
        b' ' => {}
        b'>' => h.endian = Endian::Big,
        b'<' => h.endian = Endian::Little,
        b'!' => {
            let a = getnum(l, fmt, i, MAXALIGN);
            if a == 0 || a & (a - 1) != 0 {
                raise_at(l, format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
        }
        _ => {
            let msg = ffi::lua_pushfstring(l, c"invalid format option '%c'".as_ptr(), opt as c_int);
            ffi::luaL_argerror(l, 1, msg);
        }
    }
}

unsafe fn fmt_arg<'a>(l: *mut lua_State) -> &'a [u8] {
    let p = ffi::luaL_checkstring(l, 1);
    std::ffi::CStr::from_ptr(p).to_bytes()
}

fn ordered<const N: usize>(native_le: [u8; N], endian: Endian) -> [u8; N] {
    let mut b = native_le;
    if endian == Endian::Big {
        b.reverse();
    }
    b
}

unsafe extern "C-unwind" fn pack(l: *mut lua_State) -> c_int {
    let fmt = fmt_arg(l);
    let mut h = Header::new();
    let mut arg = 2;
    let mut total: usize = 0;
    ffi::lua_pushnil(l); // separates the arguments from the buffer's pieces
    let mut b: ffi::luaL_Buffer = std::mem::zeroed();
    ffi::luaL_buffinit(l, &mut b);
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(l, opt, fmt, &mut i);
        let pad = gettoalign(total, &h, opt, size);
        total += pad;
        for _ in 0..pad {
            ffi::luaL_addchar(&mut b, 0);
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = ffi::luaL_checknumber(l, arg);
                arg += 1;
                let mut v: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let mut buf = [0u8; MAXINTSIZE];
                for k in 0..size {
                    let at = if h.endian == Endian::Little { k } else { size - 1 - k };
                    buf[at] = (v & 0xff) as u8;
                    v = v.checked_shr(8).unwrap_or(0);
                }
                ffi::luaL_addlstring(&mut b, buf.as_ptr() as *const c_char, size);
            }
            b'x' => ffi::luaL_addchar(&mut b, 0),
            b'f' => {
                let f = ffi::luaL_checknumber(l, arg) as f32;
                arg += 1;
                let bytes = ordered(f.to_le_bytes(), h.endian);
                ffi::luaL_addlstring(&mut b, bytes.as_ptr() as *const c_char, 4);
            }
            b'd' => {
                let d = ffi::luaL_checknumber(l, arg);
                arg += 1;
                let bytes = ordered(d.to_le_bytes(), h.endian);
                ffi::luaL_addlstring(&mut b, bytes.as_ptr() as *const c_char, 8);
            }
            b'c' | b's' => {
                let mut len = 0usize;
                let s = ffi::luaL_checklstring(l, arg, &mut len);
                arg += 1;
                if size == 0 {
                    size = len;
                }
                if len < size {
                    ffi::luaL_argerror(l, arg, c"string too short".as_ptr());
                }
                ffi::luaL_addlstring(&mut b, s, size);
                if opt == b's' {
                    ffi::luaL_addchar(&mut b, 0);
                    size += 1;
                }
            }
            _ => controloptions(l, opt, fmt, &mut i, &mut h),
        }
        total += size;
    }
    ffi::luaL_pushresult(&mut b);
    1
}

fn getinteger(data: &[u8], endian: Endian, signed: bool) -> f64 {
    let size = data.len();
    let mut v: u64 = 0;
    for k in 0..size {
        let c = if endian == Endian::Big { data[k] } else { data[size - 1 - k] };
        v = (v << 8) | c as u64;
    }
    if !signed {
        return v as f64;
    }
    if size < 8 {
        let mask = !0u64 << (size * 8 - 1);
        if v & mask != 0 {
            v |= mask;
        }
    }
    v as i64 as f64
}

unsafe extern "C-unwind" fn unpack(l: *mut lua_State) -> c_int {
    let fmt = fmt_arg(l);
    let mut ld = 0usize;
    let dp = ffi::luaL_checklstring(l, 2, &mut ld);
    let data = std::slice::from_raw_parts(dp as *const u8, ld);
    let pos = ffi::luaL_optinteger(l, 3, 1) as i64;
    if pos <= 0 {
        ffi::luaL_argerror(l, 3, c"offset must be 1 or greater".as_ptr());
    }
    let mut pos = (pos - 1) as usize;
    let mut n = 0;
    let mut h = Header::new();
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(l, opt, fmt, &mut i);
        pos += gettoalign(pos, &h, opt, size);
        if !(size <= ld && pos <= ld - size) {
            ffi::luaL_argerror(l, 2, c"data string too short".as_ptr());
        }
        ffi::luaL_checkstack(l, 2, c"too many results".as_ptr());
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let v = getinteger(&data[pos..pos + size], h.endian, opt.is_ascii_lowercase());
                ffi::lua_pushnumber(l, v);
                n += 1;
            }
            b'x' => {}
            b'f' => {
                let mut raw = [0u8; 4];
                raw.copy_from_slice(&data[pos..pos + 4]);
                let v = f32::from_le_bytes(ordered(raw, h.endian));
                ffi::lua_pushnumber(l, v as f64);
                n += 1;
            }
            b'd' => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&data[pos..pos + 8]);
                let v = f64::from_le_bytes(ordered(raw, h.endian));
                ffi::lua_pushnumber(l, v);
                n += 1;
            }
            b'c' => {
                if size == 0 {
                    if n == 0 || ffi::lua_isnumber(l, -1) == 0 {
                        raise_at(l, "format 'c0' needs a previous size".into());
                    }
                    size = ffi::lua_tonumber(l, -1) as usize;
                    ffi::lua_pop(l, 1);
                    n -= 1;
                    if !(size <= ld && pos <= ld - size) {
                        ffi::luaL_argerror(l, 2, c"data string too short".as_ptr());
                    }
                }
                push_bytes(l, &data[pos..pos + size]);
                n += 1;
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&c| c == 0) else {
                    raise_at(l, "unfinished string in data".into());
                };
                size = e + 1;
                push_bytes(l, &data[pos..pos + e]);
                n += 1;
            }
            _ => controloptions(l, opt, fmt, &mut i, &mut h),
        }
        pos += size;
    }
    ffi::lua_pushinteger(l, (pos + 1) as _);
    n + 1
}

unsafe extern "C-unwind" fn size(l: *mut lua_State) -> c_int {
    let fmt = fmt_arg(l);
    let mut h = Header::new();
    let mut pos = 0usize;
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = optsize(l, opt, fmt, &mut i);
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' {
            ffi::luaL_argerror(l, 1, c"option 's' has no fixed size".as_ptr());
        } else if opt == b'c' && size == 0 {
            ffi::luaL_argerror(l, 1, c"option 'c0' has no fixed size".as_ptr());
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(l, opt, fmt, &mut i, &mut h);
        }
        pos += size;
    }
    ffi::lua_pushinteger(l, pos as _);
    1
}

/// Create the global `struct` table.
pub unsafe fn open(l: *mut lua_State) {
    ffi::lua_createtable(l, 0, 3);
    set_field_fn(l, -1, "pack", pack);
    set_field_fn(l, -1, "unpack", unpack);
    set_field_fn(l, -1, "size", size);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"struct".as_ptr());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(getinteger(&[0xff, 0xfe], Endian::Big, true), -2.0);
        assert_eq!(getinteger(&[0xff, 0xfe], Endian::Big, false), 65534.0);
        assert_eq!(getinteger(&[0x01, 0x00, 0x00, 0x00], Endian::Little, true), 1.0);
        let h = Header { endian: Endian::Little, align: 8 };
        assert_eq!(gettoalign(3, &h, b'i', 4), 1);
        assert_eq!(gettoalign(3, &h, b'c', 4), 0);
    }
}
