//! Conversions between Redis replies and Lua values, with Redis's exact rules.
//!
//! Reply -> Lua (what `redis.call` returns): the command's reply, encoded in the script
//! client's protocol (RESP2 unless `redis.setresp(3)`), is parsed back into Lua:
//! integer -> number, bulk -> string, nil bulk / nil array -> false, array -> table,
//! status -> {ok=s}, error -> {err=s}; RESP3 adds map -> {map={...}}, set ->
//! {set={k=true}}, null -> nil, boolean -> boolean, double -> {double=n},
//! big number -> {big_number=s}, verbatim -> {verbatim_string={format=, string=}};
//! attributes are skipped.
//!
//! Lua -> reply (what a script returns): string -> bulk, number -> integer (truncated),
//! boolean -> 1 / nil (RESP2 script) or RESP3 boolean, table -> error / status / double /
//! big number / verbatim / map / set when it has that field, else an array that stops at
//! the first nil; anything else -> nil.

use super::lua::*;
use crate::protocol::ReplyBuf;
use mlua::ffi::{self, lua_State};
use std::ffi::c_int;

/// Deepest table nesting converted to a reply before giving up.
const MAX_DEPTH: usize = 1000;

fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[..end], end + 2))
}

fn num(b: &[u8]) -> i64 {
    crate::util::numfmt::parse_i64(b).unwrap_or(0)
}

/// Parse one RESP value at the start of `buf` and push it as a Lua value (`push` false:
/// parse and skip only). Returns the bytes consumed (0 on malformed input, which our own
/// reply encoder never produces; the caller then pushes nil).
pub unsafe fn push_reply(l: *mut lua_State, buf: &[u8], push: bool) -> usize {
    let Some((&tag, rest)) = buf.split_first() else { return 0 };
    let Some((body, n)) = line(rest) else { return 0 };
    let mut used = 1 + n;
    if push && ffi::lua_checkstack(l, 4) == 0 {
        return 0;
    }
    match tag {
        b'+' => {
            if push {
                ffi::lua_createtable(l, 0, 1);
                set_field_str(l, -1, "ok", body);
            }
        }
        b'-' => {
            if push {
                let mut text = String::with_capacity(body.len() + 1);
                text.push('-');
                text.push_str(&String::from_utf8_lossy(body));
                push_counted_error_table(l, &text);
            }
        }
        b':' => {
            if push {
                ffi::lua_pushnumber(l, num(body) as f64);
            }
        }
        b'$' | b'=' => {
            let len = num(body);
            if len < 0 {
                if push {
                    ffi::lua_pushboolean(l, 0);
                }
                return used;
            }
            let len = len as usize;
            let data = match buf.get(used..used + len) {
                Some(d) => d,
                None => return 0,
            };
            used += len + 2;
            if push {
                if tag == b'$' {
                    push_bytes(l, data);
                } else {
                    // verbatim: "fmt:text"
                    let (fmt, text) = if data.len() >= 4 { (&data[..3], &data[4..]) } else { (&b"txt"[..], data) };
                    ffi::lua_createtable(l, 0, 1);
                    push_str(l, "verbatim_string");
                    ffi::lua_createtable(l, 0, 2);
                    set_field_str(l, -1, "string", text);
                    set_field_str(l, -1, "format", fmt);
                    ffi::lua_settable(l, -3);
                }
            }
        }
        b'*' | b'>' => {
            let count = num(body);
            if count < 0 {
                if push {
                    ffi::lua_pushboolean(l, 0);
                }
                return used;
            }
            if push {
                ffi::lua_createtable(l, count.min(1 << 16) as c_int, 0);
            }
            for i in 0..count {
                let n = push_reply(l, &buf[used..], push);
                if n == 0 {
                    if push {
                        ffi::lua_pop(l, 1);
                    }
                    return 0;
                }
                used += n;
                if push {
                    ffi::lua_rawseti(l, -2, (i + 1) as _);
                }
            }
        }
        b'%' | b'~' => {
            let count = num(body).max(0);
            if push {
                ffi::lua_createtable(l, 0, 1);
                push_str(l, if tag == b'%' { "map" } else { "set" });
                ffi::lua_createtable(l, 0, count.min(1 << 16) as c_int);
            }
            for _ in 0..count {
                let n = push_reply(l, &buf[used..], push);
                if n == 0 {
                    if push {
                        ffi::lua_pop(l, 3);
                    }
                    return 0;
                }
                used += n;
                if tag == b'%' {
                    let n = push_reply(l, &buf[used..], push);
                    if n == 0 {
                        if push {
                            ffi::lua_pop(l, 4);
                        }
                        return 0;
                    }
                    used += n;
                } else if push {
                    ffi::lua_pushboolean(l, 1);
                }
                if push {
                    ffi::lua_settable(l, -3);
                }
            }
            if push {
                ffi::lua_settable(l, -3);
            }
        }
        b'_' => {
            if push {
                ffi::lua_pushnil(l);
            }
        }
        b'#' => {
            if push {
                ffi::lua_pushboolean(l, (body == b"t") as c_int);
            }
        }
        b',' => {
            if push {
                let d = crate::util::numfmt::parse_f64(body).unwrap_or(0.0);
                ffi::lua_createtable(l, 0, 1);
                push_str(l, "double");
                ffi::lua_pushnumber(l, d);
                ffi::lua_settable(l, -3);
            }
        }
        b'(' => {
            if push {
                ffi::lua_createtable(l, 0, 1);
                set_field_str(l, -1, "big_number", body);
            }
        }
        b'|' => {
            // attributes: skip the pairs, then the real reply follows
            let count = num(body).max(0);
            for _ in 0..2 * count {
                let n = push_reply(l, &buf[used..], false);
                if n == 0 {
                    return 0;
                }
                used += n;
            }
            let n = push_reply(l, &buf[used..], push);
            if n == 0 {
                return 0;
            }
            used += n;
        }
        _ => return 0,
    }
    used
}

/// Convert the value on top of the stack into a reply and pop it. `script_resp` is the
/// protocol the script selected with redis.setresp (it decides how booleans go out).
/// Returns how many error replies were written.
pub unsafe fn write_reply(l: *mut lua_State, out: &mut ReplyBuf, script_resp: u8) {
    write_value(l, out, script_resp, 0);
}

unsafe fn write_value(l: *mut lua_State, out: &mut ReplyBuf, script_resp: u8, depth: usize) {
    if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
        out.error("ERR reached lua stack limit");
        ffi::lua_pop(l, 1);
        return;
    }
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => out.bulk(to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => {
            let v = ffi::lua_toboolean(l, -1) != 0;
            if script_resp == 2 {
                if v {
                    out.int(1)
                } else {
                    out.null()
                }
            } else {
                out.bool(v)
            }
        }
        ffi::LUA_TNUMBER => out.int(ffi::lua_tonumber(l, -1) as i64),
        ffi::LUA_TTABLE => return write_table(l, out, script_resp, depth),
        _ => out.null(),
    }
    ffi::lua_pop(l, 1);
}

/// Push `t[k]` (raw) for the table on top of the stack and return its type.
unsafe fn raw_get_str(l: *mut lua_State, k: &str) -> c_int {
    push_str(l, k);
    ffi::lua_rawget(l, -2);
    ffi::lua_type(l, -1)
}

unsafe fn write_table(l: *mut lua_State, out: &mut ReplyBuf, script_resp: u8, depth: usize) {
    // error reply
    if raw_get_str(l, "err") == ffi::LUA_TSTRING {
        ffi::lua_pop(l, 1);
        let e = error_info(l);
        if e.counted {
            out.error_counted(&e.msg);
        } else {
            out.error(&e.msg);
        }
        ffi::lua_pop(l, 1);
        return;
    }
    ffi::lua_pop(l, 1);
    // status reply (a C string: stops at the first NUL)
    if raw_get_str(l, "ok") == ffi::LUA_TSTRING {
        let s = to_bytes(l, -1).unwrap_or_default();
        let s = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
        let clean: Vec<u8> = s.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect();
        out.simple_bytes(&clean);
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_get_str(l, "double") == ffi::LUA_TNUMBER {
        out.double(ffi::lua_tonumber(l, -1));
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_get_str(l, "big_number") == ffi::LUA_TSTRING {
        let s: Vec<u8> = to_bytes(l, -1)
            .unwrap_or_default()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        if out.resp >= 3 {
            out.raw(b"(");
            out.raw(&s);
            out.raw(b"\r\n");
        } else {
            out.bulk(&s);
        }
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_get_str(l, "verbatim_string") == ffi::LUA_TTABLE {
        if raw_get_str(l, "format") == ffi::LUA_TSTRING {
            let fmt = to_bytes(l, -1).unwrap_or_default();
            let fmt = String::from_utf8_lossy(&fmt[..fmt.len().min(3)]).into_owned();
            push_str(l, "string");
            ffi::lua_rawget(l, -3);
            if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                out.verbatim(to_bytes(l, -1).unwrap_or_default(), &fmt);
                ffi::lua_pop(l, 4);
                return;
            }
            ffi::lua_pop(l, 1);
        }
        ffi::lua_pop(l, 1);
    }
    ffi::lua_pop(l, 1);
    if raw_get_str(l, "map") == ffi::LUA_TTABLE {
        let at = out.deferred();
        let mut n = 0;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pushvalue(l, -2);
            write_value(l, out, script_resp, depth + 1); // key
            write_value(l, out, script_resp, depth + 1); // value
            n += 1;
        }
        out.fill_deferred(at, b'%', n);
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_get_str(l, "set") == ffi::LUA_TTABLE {
        let at = out.deferred();
        let mut n = 0;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pop(l, 1);
            ffi::lua_pushvalue(l, -1);
            write_value(l, out, script_resp, depth + 1);
            n += 1;
        }
        out.fill_deferred(at, b'~', n);
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    // array: stops at the first nil
    let at = out.deferred();
    let mut n = 0usize;
    loop {
        ffi::lua_rawgeti(l, -1, (n + 1) as _);
        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 1);
            break;
        }
        write_value(l, out, script_resp, depth + 1);
        n += 1;
    }
    out.fill_deferred(at, b'*', n);
    ffi::lua_pop(l, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe fn roundtrip(l: *mut lua_State, wire: &[u8], resp: u8) -> Vec<u8> {
        assert_eq!(push_reply(l, wire, true), wire.len());
        let mut out = ReplyBuf::new(resp);
        write_reply(l, &mut out, resp);
        assert_eq!(ffi::lua_gettop(l), 0);
        out.buf
    }

    #[test]
    fn reply_to_lua_and_back() {
        let vm = super::super::lua::Vm::new();
        let l = vm.l;
        unsafe {
            assert_eq!(roundtrip(l, b":5\r\n", 2), b":5\r\n");
            assert_eq!(roundtrip(l, b"$3\r\nfoo\r\n", 2), b"$3\r\nfoo\r\n");
            assert_eq!(roundtrip(l, b"$-1\r\n", 2), b"$-1\r\n");
            assert_eq!(roundtrip(l, b"+OK\r\n", 2), b"+OK\r\n");
            assert_eq!(roundtrip(l, b"-ERR bad\r\n", 2), b"-ERR bad\r\n");
            assert_eq!(roundtrip(l, b"*3\r\n:1\r\n$-1\r\n:3\r\n", 2), b"*3\r\n:1\r\n$-1\r\n:3\r\n");
            assert_eq!(roundtrip(l, b"*3\r\n:1\r\n_\r\n:3\r\n", 3), b"*1\r\n:1\r\n");
            assert_eq!(roundtrip(l, b"%1\r\n$1\r\na\r\n:1\r\n", 3), b"%1\r\n$1\r\na\r\n:1\r\n");
            assert_eq!(roundtrip(l, b"%1\r\n$1\r\na\r\n:1\r\n", 2), b"*2\r\n$1\r\na\r\n:1\r\n");
            assert_eq!(roundtrip(l, b"~1\r\n$1\r\na\r\n", 3), b"~1\r\n$1\r\na\r\n");
            assert_eq!(roundtrip(l, b",3.141\r\n", 3), b",3.141\r\n");
            assert_eq!(roundtrip(l, b",3.141\r\n", 2), b"$5\r\n3.141\r\n");
            assert_eq!(roundtrip(l, b"#t\r\n", 3), b"#t\r\n");
            assert_eq!(roundtrip(l, b"#f\r\n", 2), b"$-1\r\n");
            assert_eq!(roundtrip(l, b"_\r\n", 3), b"_\r\n");
            assert_eq!(roundtrip(l, b"(123\r\n", 3), b"(123\r\n");
            assert_eq!(roundtrip(l, b"(123\r\n", 2), b"$3\r\n123\r\n");
            assert_eq!(roundtrip(l, b"=8\r\ntxt:abcd\r\n", 3), b"=8\r\ntxt:abcd\r\n");
            assert_eq!(roundtrip(l, b"|1\r\n$1\r\nk\r\n$1\r\nv\r\n:7\r\n", 3), b":7\r\n");
        }
    }
}
