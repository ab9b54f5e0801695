//! Redis glob matching (`stringmatchlen` semantics, Redis 7.0).
//!
//! Rules: `*` any run (consecutive stars collapse), `?` one byte, `[...]` a set
//! (`^` negates, `a-z` ranges with reversed ends swapped, `\x` a literal inside
//! a set), `\x` a literal outside one (a trailing `\` is itself a literal).
//! Quirks kept on purpose because clients can observe them:
//! - a pattern never matches an empty string unless it is empty too (`*` vs "");
//!   callers that treat `*` as "everything" must special-case it like Redis does;
//! - an unterminated `[` set ends the pattern: `[ab` matches "a" or "b";
//! - range ends and subjects compare as *signed* chars (x86 C), so bytes >= 0x80
//!   sort below ASCII in ranges; `\x` inside a set compares case-sensitively;
//!   `nocase` folds ASCII only.
//!
//! Pathological patterns (`*a*a*a...b`) stay polynomial: once the tail after a
//! `*` fails at every offset, no earlier `*` can help, so the whole match stops
//! (Redis 7.0's skip flag). Recursion is bounded by one level per `*`, capped at
//! `MAX_NESTING` levels (deeper patterns do not match, as in later Redis).

const MAX_NESTING: u32 = 1000;

/// Does `string` match the Redis glob `pattern`? Never panics.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut give_up = false;
    match_from(pattern, string, nocase, &mut give_up, 0)
}

fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// The byte as C's signed `char` would compare it.
fn signed(c: u8) -> i32 {
    c as i8 as i32
}

fn match_from(mut p: &[u8], mut s: &[u8], nocase: bool, give_up: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_from(&p[1..], s, nocase, give_up, nesting + 1) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                    s = &s[1..];
                }
                *give_up = true;
                return false;
            }
            b'?' => p = &p[1..],
            b'[' => {
                let (matched, rest) = match_set(&p[1..], s[0], nocase);
                if !matched {
                    return false;
                }
                p = rest;
            }
            first => {
                let (lit, rest) = match (first, p.get(1)) {
                    (b'\\', Some(&next)) => (next, &p[2..]),
                    _ => (first, &p[1..]),
                };
                if fold(lit, nocase) != fold(s[0], nocase) {
                    return false;
                }
                p = rest;
            }
        }
        s = &s[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Match byte `c` against the set whose body starts at `p` (just after `[`).
/// Returns whether it matched and the pattern after the closing `]`
/// (empty when the set is unterminated).
fn match_set(mut p: &[u8], c: u8, nocase: bool) -> (bool, &[u8]) {
    let negate = p.first() == Some(&b'^');
    if negate {
        p = &p[1..];
    }
    let mut matched = false;
    let mut i = 0;
    loop {
        let rem = p.len() - i;
        if rem == 0 {
            return (matched != negate, &[]);
        }
        if p[i] == b'\\' && rem >= 2 {
            i += 1;
            matched |= p[i] == c;
        } else if p[i] == b']' {
            return (matched != negate, &p[i + 1..]);
        } else if rem >= 3 && p[i + 1] == b'-' {
            let (mut lo, mut hi) = (signed(p[i]), signed(p[i + 2]));
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            let mut x = signed(c);
            if nocase {
                lo = signed(fold(lo as u8, true));
                hi = signed(fold(hi as u8, true));
                x = signed(fold(c, true));
            }
            matched |= lo <= x && x <= hi;
            i += 2;
        } else {
            matched |= fold(p[i], nocase) == fold(c, nocase);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn star_and_question() {
        assert!(m("*", "anything"));
        assert!(m("h*o", "hello"));
        assert!(m("h**o", "hello"));
        assert!(!m("h*x", "hello"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("*o*", "foo"));
        assert!(m("a*", "a"), "trailing stars match nothing");
        assert!(m("a**", "a"));
        assert!(
            !m("*", ""),
            "Redis: a non-empty pattern never matches an empty string"
        );
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn sets_ranges_negation() {
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-c]llo", "hbllo"));
        assert!(m("h[c-a]llo", "hbllo"), "reversed range swaps");
        assert!(!m("h[a-c]llo", "hdllo"));
        assert!(m("[a-]", "]"), "'a-]' is a range up to ']'");
        assert!(m("[\\]]", "]"));
        assert!(
            !m("[]", "]") && !m("[]", "a"),
            "an empty set matches nothing"
        );
    }

    #[test]
    fn unterminated_set() {
        assert!(m("[ab", "a"));
        assert!(m("[ab", "b"));
        assert!(!m("[ab", "ab"), "an unterminated set ends the pattern");
        assert!(!m("[", "["));
        assert!(m("[^", "x"));
        assert!(m("x[a\\", "x\\"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\?b", "a?b"));
        assert!(!m("a\\?b", "axb"));
        assert!(m("a\\", "a\\"), "trailing backslash is a literal");
        assert!(!m("a\\", "ab"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
        assert!(glob_match(b"[A-C]x", b"bX", true));
        assert!(glob_match(b"[abc]", b"B", true));
        assert!(
            !glob_match(b"[\\A]", b"a", true),
            "escaped set member is case-sensitive"
        );
    }

    #[test]
    fn high_bytes_compare_signed() {
        // 0xff is -1 as a signed char, so [a-\xff] means [\xff-a].
        assert!(glob_match(b"[a-\xff]", b"\x00", false));
        assert!(glob_match(b"[a-\xff]", b"\xff", false));
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(!glob_match(b"[a-\xff]", b"\x80", false));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let pattern = "*a".repeat(50) + "b";
        let subject = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!m(&pattern, &subject));
        assert!(start.elapsed().as_secs() < 2);
        assert!(m(&("*a".repeat(50)), &subject));
    }

    #[test]
    fn nesting_limit_does_not_overflow_the_stack() {
        let pattern = "*a".repeat(5000);
        let subject = "a".repeat(6000);
        assert!(
            !m(&pattern, &subject),
            "deeper than the nesting limit: no match"
        );
        assert!(m(&"*a".repeat(900), &subject));
    }

    #[test]
    fn random_bytes_never_panic() {
        // xorshift: deterministic, dependency-free.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        const ALPHABET: &[u8] = b"*?[]^-\\ab\xff\x00";
        for _ in 0..50_000 {
            let plen = (next() % 12) as usize;
            let slen = (next() % 12) as usize;
            let pat: Vec<u8> = (0..plen)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let s: Vec<u8> = (0..slen)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let nocase = next() % 2 == 0;
            let _ = glob_match(&pat, &s, nocase);
            // A pattern without special bytes matches exactly itself.
            if !pat.iter().any(|c| b"*?[\\".contains(c)) {
                assert_eq!(glob_match(&pat, &s, false), pat == s);
            }
        }
    }
}
