//! Byte-level text helpers with the exact C semantics redis.conf handling
//! relies on: argument splitting and quoting, number parsing, memory units.

/// The C-string view of a value: everything before the first NUL.
pub fn cstr(s: &[u8]) -> &[u8] {
    s.iter().position(|&c| c == 0).map_or(s, |n| &s[..n])
}

/// C `isspace` in the "C" locale.
pub fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Trim the given bytes from both ends (sdstrim).
pub fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !set.contains(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !set.contains(c))
        .map_or(start, |n| n + 1);
    &s[start..end]
}

/// Split a line into arguments like sdssplitargs: blanks separate, "double
/// quotes" take \n \r \t \b \a \xHH and \<any> escapes, 'single quotes' take
/// \' only; a closing quote must be followed by a blank or the end.
/// `None` means unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = cstr(line);
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while is_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut quote = None;
        loop {
            let c = at(i);
            match quote {
                None => match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' | b'\'' => quote = Some(c),
                    _ => cur.push(c),
                },
                Some(_) if c == 0 => return None,
                Some(q) if c == q => {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                }
                Some(b'"')
                    if c == b'\\'
                        && at(i + 1) == b'x'
                        && at(i + 2).is_ascii_hexdigit()
                        && at(i + 3).is_ascii_hexdigit() =>
                {
                    let hex = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
                    cur.push(hex(at(i + 2)) * 16 + hex(at(i + 3)));
                    i += 3;
                }
                Some(b'"') if c == b'\\' && at(i + 1) != 0 => {
                    i += 1;
                    cur.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                }
                Some(_) if c == b'\\' && at(i + 1) == b'\'' => {
                    i += 1;
                    cur.push(b'\'');
                }
                Some(_) => cur.push(c),
            }
            i += 1;
        }
        args.push(cur);
    }
}

/// Quote a value so split_args reads it back (sdscatrepr).
pub fn repr(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// Redis string2ll: strict decimal, no spaces, no '+', no leading zeros.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        (v <= 1u64 << 63).then(|| (v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// C strtoll(s, &end, radix) requiring `*end == '\0'`: leading blanks and a
/// sign are allowed, an empty string is 0. Returns the (saturated) value and
/// whether it overflowed, or `None` when characters are left over.
pub fn strtoll_all(s: &[u8], radix: u32) -> Option<(i64, bool)> {
    let s = cstr(s);
    let mut i = s.iter().take_while(|&&c| is_space(c)).count();
    let neg = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits_start = i;
    let mut v: u128 = 0;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(radix)) {
        v = (v * radix as u128 + d as u128).min(1 << 64);
        i += 1;
    }
    if i == digits_start {
        // No conversion: end points at the start of the string.
        return s.is_empty().then_some((0, false));
    }
    if i != s.len() {
        return None;
    }
    let limit = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    let overflow = v > limit;
    let v = v.min(limit) as i128;
    Some(((if neg { -v } else { v }) as i64, overflow))
}

/// Redis memtoull: digits with an optional b/k/kb/m/mb/g/gb unit (k=1000,
/// kb=1024, case-insensitive). No sign allowed; overflow wraps like C.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    let s = cstr(s);
    if s.first() == Some(&b'-') {
        return None;
    }
    let ndigits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mul: u64 = match s[ndigits..].to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if ndigits >= 128 {
        return None;
    }
    let val = s[..ndigits].iter().fold(0u64, |v, &d| {
        v.saturating_mul(10).saturating_add((d - b'0') as u64)
    });
    Some(val.wrapping_mul(mul))
}

/// Memory value as written by CONFIG REWRITE: 1gb / 1mb / 1kb when exact.
pub fn format_memory(bytes: i64) -> String {
    const UNITS: [(i64, &str); 3] = [(1 << 30, "gb"), (1 << 20, "mb"), (1 << 10, "kb")];
    for (size, unit) in UNITS {
        if bytes != 0 && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// "%f" with trailing zeros (and a trailing dot) removed.
pub fn format_double(d: f64) -> String {
    let s = format!("{d:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// strerror(errno) text of an io error, without Rust's " (os error N)".
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(n) => s[..n].to_string(),
        None => s,
    }
}

/// A warning line as serverLog writes it before the server is initialised:
/// `pid:C 21 Nov 2024 09:42:25.337 # msg`.
pub fn log_line(msg: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    let mut buf = [0u8; 64];
    // SAFETY: localtime_r fills `tm`; strftime writes at most buf.len() bytes.
    let len = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%d %b %Y %H:%M:%S.".as_ptr(),
            &tm,
        )
    };
    format!(
        "{}:C {}{:03} # {msg}\n",
        std::process::id(),
        String::from_utf8_lossy(&buf[..len]),
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Option<Vec<String>> {
        split_args(line.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8(a).unwrap())
                .collect()
        })
    }

    #[test]
    fn splitting_and_quotes() {
        assert_eq!(args("  set  a\tb  ").unwrap(), ["set", "a", "b"]);
        assert_eq!(
            args(r#"x "a b\n\x41\"" 'it\'s' "" ''"#).unwrap(),
            ["x", "a b\nA\"", "it's", "", ""]
        );
        assert_eq!(args(r#"x "\q\xZZ""#).unwrap(), ["x", "qxZZ"]);
        assert_eq!(
            args("a\"b c\"").unwrap(),
            ["ab c"],
            "quotes may start mid-token"
        );
        assert_eq!(
            args("x 'a\\nb'").unwrap(),
            ["x", "a\\nb"],
            "no escapes in single quotes"
        );
        assert!(args(r#"x "abc"#).is_none());
        assert!(args("x 'abc").is_none());
        assert!(
            args(r#"x "a"b"#).is_none(),
            "closing quote must be followed by a blank"
        );
        assert!(args("").unwrap().is_empty());
        assert_eq!(
            args("a\x0bb").unwrap(),
            ["a\x0bb"],
            "\\v separates only leading blanks"
        );
    }

    #[test]
    fn repr_round_trips() {
        let raw = b"a \"q\" \\ \n\t\x01\xff";
        assert_eq!(repr(raw), r#""a \"q\" \\ \n\t\x01\xff""#);
        assert_eq!(
            split_args(repr(raw).as_bytes()).unwrap(),
            vec![raw.to_vec()]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        for bad in ["", "01", "+1", " 1", "-0", "1x", "-"] {
            assert_eq!(string2ll(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(strtoll_all(b" -12", 10), Some((-12, false)));
        assert_eq!(strtoll_all(b"", 10), Some((0, false)));
        assert_eq!(strtoll_all(b" ", 10), None);
        assert_eq!(strtoll_all(b"12a", 10), None);
        assert_eq!(
            strtoll_all(b"99999999999999999999", 10),
            Some((i64::MAX, true))
        );
        assert_eq!(strtoll_all(b"0777", 8), Some((0o777, false)));
        assert_eq!(strtoll_all(b"8", 8), None);
    }

    #[test]
    fn memory_units() {
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"2m"), Some(2_000_000));
        assert_eq!(memtoull(b"2Mb"), Some(2 << 20));
        assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
        assert_eq!(memtoull(b"1gb"), Some(1 << 30));
        assert_eq!(memtoull(b"5b"), Some(5));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"k"), Some(0));
        for bad in ["-1", "1x", "1 k", "+1", "1.5mb"] {
            assert_eq!(memtoull(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(3 << 20), "3mb");
        assert_eq!(format_memory(2048), "2kb");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_double(99.9), "99.9");
        assert_eq!(format_double(50.0), "50");
    }
}
