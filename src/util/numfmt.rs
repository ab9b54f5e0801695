//! Number parsing and formatting with Redis's exact rules.
//!
//! - `parse_i64` is Redis's `string2ll`: optional '-', digits, no '+', no spaces,
//!   no leading zeros (except "0"), must fit in i64.
//! - `parse_f64` is Redis's `string2d` / getDoubleFromObject: C `strtod` over the whole
//!   string, no leading space, NaN rejected.
//! - `fmt_double_17g` is C's "%.17g" (scores, RESP doubles).
//! - `ld_add` is INCRBYFLOAT's long-double add + "%.17Lf" human form (C shim in longdouble.c).

use std::ffi::CString;

extern "C" {
    fn ferrodis_ld_add(
        a: *const u8,
        alen: usize,
        b: *const u8,
        blen: usize,
        out: *mut u8,
        cap: usize,
    ) -> i32;
    fn ferrodis_ld_parse_ok(s: *const u8, len: usize) -> i32;
}

/// Redis `string2ll`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Redis `string2ull`-like for unsigned values.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    if s[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

/// Redis's double parsing (strtod over the whole string; no leading space; no NaN; ERANGE rejected
/// unless the result is 0/inf-free overflow as strtod reports it).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5000 || s[0].is_ascii_whitespace() || s.contains(&0) {
        return None;
    }
    let c = CString::new(s).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: c is a valid NUL-terminated string; end is written by strtod.
    let (v, consumed, erange) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(c.as_ptr(), &mut end);
        let consumed = end.offset_from(c.as_ptr()) as usize;
        (v, consumed, *libc::__errno_location() == libc::ERANGE)
    };
    if consumed != s.len() || v.is_nan() {
        return None;
    }
    if erange && (v == 0.0 || v.is_infinite()) {
        // Redis: (errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL || value == 0))
        return None;
    }
    Some(v)
}

/// Whether `s` parses as a long double the way INCRBYFLOAT's argument must.
pub fn is_long_double(s: &[u8]) -> bool {
    // SAFETY: pointer/len pair from a valid slice.
    unsafe { ferrodis_ld_parse_ok(s.as_ptr(), s.len()) == 0 }
}

/// Result of a long double add.
pub enum LdAdd {
    Ok(Vec<u8>),
    /// An operand is not a valid float.
    NotFloat,
    /// The result would be NaN or infinity.
    Overflow,
}

/// INCRBYFLOAT arithmetic: `a + b` in long double, formatted like Redis.
pub fn ld_add(a: &[u8], b: &[u8]) -> LdAdd {
    let mut out = vec![0u8; 5600];
    // SAFETY: all pointers come from live slices/vectors with the given lengths.
    let n = unsafe { ferrodis_ld_add(a.as_ptr(), a.len(), b.as_ptr(), b.len(), out.as_mut_ptr(), out.len()) };
    match n {
        -2 => LdAdd::NotFloat,
        n if n < 0 => LdAdd::Overflow,
        n => {
            out.truncate(n as usize);
            LdAdd::Ok(out)
        }
    }
}

fn snprintf_double(fmt: &[u8], v: f64) -> String {
    let mut buf = [0u8; 128];
    // SAFETY: fmt is NUL-terminated, buf has the length given.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), fmt.as_ptr() as *const libc::c_char, v) };
    let n = (n.max(0) as usize).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// C's "%.17g", with "inf"/"-inf" as Redis prints infinities.
pub fn fmt_double_17g(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    snprintf_double(b"%.17g\0", v)
}

/// Any printf double format (e.g. b"%.4f\0" for GEO distances).
pub fn fmt_double_with(fmt_nul_terminated: &[u8], v: f64) -> String {
    snprintf_double(fmt_nul_terminated, v)
}

/// Redis `d2string`-like shortest form used by e.g. zset scores in RESP2 replies
/// (Redis 7.0 uses "%.17g" for those; kept separate for future tweaks).
pub fn fmt_score(v: f64) -> String {
    fmt_double_17g(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b""), None);
    }

    #[test]
    fn doubles() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(fmt_double_17g(1.5), "1.5");
        assert_eq!(fmt_double_17g(0.1), "0.10000000000000001");
        assert_eq!(fmt_double_17g(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn incrbyfloat_format() {
        match ld_add(b"10.5", b"0.1") {
            LdAdd::Ok(v) => assert_eq!(v, b"10.6"),
            _ => panic!(),
        }
        match ld_add(b"3", b"2") {
            LdAdd::Ok(v) => assert_eq!(v, b"5"),
            _ => panic!(),
        }
        assert!(matches!(ld_add(b"abc", b"1"), LdAdd::NotFloat));
        // long double reaches ~1.19e4932: 2e4000 fits, 2e4932 does not, 1e5000 does not parse.
        assert!(matches!(ld_add(b"1e4000", b"1e4000"), LdAdd::Ok(_)));
        assert!(matches!(ld_add(b"1e4932", b"1e4932"), LdAdd::Overflow));
        assert!(matches!(ld_add(b"1e5000", b"1"), LdAdd::NotFloat));
        assert!(matches!(ld_add(b"1e-5000", b"1"), LdAdd::NotFloat));
        assert!(matches!(ld_add(&[b'1'; 5120], b"1"), LdAdd::NotFloat));
        assert!(matches!(ld_add(b"0", b"+inf"), LdAdd::Overflow));
    }
}
