//! RESP request parsing: multibulk (`*N\r\n$len\r\narg\r\n...`) and inline commands.
//!
//! The parser is incremental: it keeps the state of a half-received multibulk command
//! (how many args remain, the length of the bulk being read, the argument ranges found so
//! far) so a command split over many reads is never re-scanned from its start.
//! Arguments are returned as byte ranges into the caller's query buffer: no copy.
//! Every limit and error text is Redis's (`processMultibulkBuffer` / `processInlineBuffer`):
//! an error means the connection must be closed after the error reply is sent.

use std::ops::Range;

/// Longest inline command line, and longest `*N` / `$N` header line (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;

pub struct Limits {
    pub max_bulk_len: i64,
    /// The client has not authenticated yet: Redis caps multibulk at 10 args and bulks at 16 KiB.
    pub unauthenticated: bool,
}

#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A whole command; its arguments are in `args`; `consumed` bytes of the buffer are used up.
    Command,
    /// Empty line or `*0` / `*-1`: consumed, nothing to run.
    Empty,
    /// Need more bytes.
    Incomplete,
    /// Protocol error; the bytes are the full error (without '-'). Raw bytes, because
    /// Redis echoes the offending byte (`expected '$', got '\xff'`).
    Error(Vec<u8>),
}

#[derive(Default)]
pub struct RequestParser {
    /// Args still to read of the current multibulk (0 = between commands).
    remaining: i64,
    /// Length of the bulk whose header was read (-1 = need the `$N` header).
    bulk_len: i64,
    /// Argument ranges collected so far (relative to the buffer start).
    pub args: Vec<Range<usize>>,
    /// Parse position inside the buffer.
    pos: usize,
    /// Is a multibulk in progress?
    in_multibulk: bool,
    /// Set for an inline command with quoted arguments: the unescaped args (then `args`
    /// only tells their count).
    pub owned: Option<Vec<Vec<u8>>>,
}

/// Position of the first `c` at or after `from`, as Redis's `strchr` on its NUL-terminated
/// query buffer sees it: the search stops at a NUL byte, so a terminator behind a NUL is
/// not found and the line counts as unterminated (until it is too long).
#[inline]
fn find_byte(buf: &[u8], from: usize, c: u8) -> Option<usize> {
    for (i, &b) in buf[from..].iter().enumerate() {
        if b == c {
            return Some(from + i);
        }
        if b == 0 {
            return None;
        }
    }
    None
}

/// The common header: a positive decimal without a leading zero, of at most 17 digits,
/// then `\r` with at least one byte after it. Its value and the position of the `\r`;
/// None for anything else, which the general path (`find_byte` + `parse_len`) decides.
/// Where this answers, the general path would give the same value and position.
#[inline]
fn quick_len(buf: &[u8], at: usize) -> Option<(i64, usize)> {
    let first = *buf.get(at)?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = (first - b'0') as i64;
    let mut i = at + 1;
    loop {
        let c = *buf.get(i)?;
        if c == b'\r' {
            return (i + 1 < buf.len()).then_some((v, i));
        }
        if !c.is_ascii_digit() || i - at >= 17 {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
        i += 1;
    }
}

fn err(msg: &str) -> Parsed {
    Parsed::Error(msg.as_bytes().to_vec())
}

fn parse_len(s: &[u8]) -> Option<i64> {
    crate::util::numfmt::parse_i64(s)
}

impl RequestParser {
    pub fn new() -> RequestParser {
        RequestParser { remaining: 0, bulk_len: -1, args: Vec::with_capacity(8), pos: 0, in_multibulk: false, owned: None }
    }

    /// Bytes of the buffer consumed by complete commands so far (the caller drains them
    /// and calls `shift`).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The caller removed the first `n` bytes of its buffer (all before `pos`).
    pub fn shift(&mut self, n: usize) {
        debug_assert!(n <= self.pos);
        self.pos -= n;
        if !self.in_multibulk {
            // the ranges of a finished command may point into the dropped bytes
            self.args.clear();
            self.owned = None;
            return;
        }
        for r in self.args.iter_mut() {
            r.start -= n;
            r.end -= n;
        }
    }

    /// Start of the command being parsed (bytes before it may be dropped).
    pub fn command_start(&self) -> usize {
        if self.in_multibulk {
            // args of a partial command start after its header; keep it all
            self.args.first().map(|r| r.start).unwrap_or(self.pos).min(self.pos)
        } else {
            self.pos
        }
    }

    /// Forget a command that was parsed but not run (CLIENT PAUSE): parsing resumes at `pos`.
    pub fn rewind(&mut self, pos: usize) {
        self.pos = pos;
        self.in_multibulk = false;
        self.remaining = 0;
        self.bulk_len = -1;
        self.args.clear();
        self.owned = None;
    }

    /// Between commands, give back the argument list of a command with many arguments
    /// (Redis frees such an argv after the command instead of keeping it for the next).
    pub fn release_large_args(&mut self) {
        if !self.in_multibulk && self.args.capacity() > 1024 {
            self.args = Vec::new();
        }
    }

    /// True while half a command has been received.
    pub fn in_progress(&self) -> bool {
        self.in_multibulk
    }

    /// Parse the next command from `buf[pos..]`. After `Command`, the arguments are in
    /// `self.args`; call `reset_args` (done by the next `next` call) before reading again.
    pub fn next(&mut self, buf: &[u8], limits: &Limits) -> Parsed {
        self.next_with(buf, limits, true)
    }

    /// `next`, with or without the one-pass path for whole commands (`whole_command`;
    /// the tests check both ways give the same results).
    #[inline]
    fn next_with(&mut self, buf: &[u8], limits: &Limits, one_pass: bool) -> Parsed {
        if !self.in_multibulk {
            self.args.clear();
            if self.owned.is_some() {
                self.owned = None;
            }
            if self.pos >= buf.len() {
                return Parsed::Incomplete;
            }
            if one_pass && !limits.unauthenticated && self.whole_command(buf, limits.max_bulk_len) {
                return Parsed::Command;
            }
            if buf[self.pos] == b'*' {
                let (n, cr) = match quick_len(buf, self.pos + 1) {
                    Some(q) => q,
                    None => {
                        let Some(cr) = find_byte(buf, self.pos, b'\r') else {
                            if buf.len() - self.pos > INLINE_MAX {
                                return err("ERR Protocol error: too big mbulk count string");
                            }
                            return Parsed::Incomplete;
                        };
                        if cr + 1 >= buf.len() {
                            return Parsed::Incomplete;
                        }
                        match parse_len(&buf[self.pos + 1..cr]) {
                            Some(n) => (n, cr),
                            None => return err("ERR Protocol error: invalid multibulk length"),
                        }
                    }
                };
                if n > i32::MAX as i64 {
                    return err("ERR Protocol error: invalid multibulk length");
                }
                if limits.unauthenticated && n > 10 {
                    return err("ERR Protocol error: unauthenticated multibulk length");
                }
                self.pos = cr + 2;
                if n <= 0 {
                    return Parsed::Empty;
                }
                self.remaining = n;
                self.bulk_len = -1;
                self.in_multibulk = true;
                self.args.reserve((n as usize).min(1024));
            } else {
                return self.parse_inline(buf);
            }
        }
        // multibulk body
        while self.remaining > 0 {
            if self.bulk_len < 0 {
                if self.pos >= buf.len() {
                    return Parsed::Incomplete;
                }
                let quick = if buf[self.pos] == b'$' { quick_len(buf, self.pos + 1) } else { None };
                let (len, cr) = match quick {
                    Some(q) => q,
                    None => {
                        let Some(cr) = find_byte(buf, self.pos, b'\r') else {
                            if buf.len() - self.pos > INLINE_MAX {
                                return err("ERR Protocol error: too big bulk count string");
                            }
                            return Parsed::Incomplete;
                        };
                        if cr + 1 >= buf.len() {
                            return Parsed::Incomplete;
                        }
                        if buf[self.pos] != b'$' {
                            let mut e = b"ERR Protocol error: expected '$', got '".to_vec();
                            e.push(buf[self.pos]);
                            e.push(b'\'');
                            return Parsed::Error(e);
                        }
                        match parse_len(&buf[self.pos + 1..cr]) {
                            Some(l) if l >= 0 => (l, cr),
                            _ => return err("ERR Protocol error: invalid bulk length"),
                        }
                    }
                };
                if len > limits.max_bulk_len {
                    return err("ERR Protocol error: invalid bulk length");
                }
                if limits.unauthenticated && len > 16384 {
                    return err("ERR Protocol error: unauthenticated bulk length");
                }
                self.bulk_len = len;
                self.pos = cr + 2;
            }
            let len = self.bulk_len as usize;
            if buf.len() - self.pos < len + 2 {
                return Parsed::Incomplete;
            }
            self.args.push(self.pos..self.pos + len);
            self.pos += len + 2;
            self.bulk_len = -1;
            self.remaining -= 1;
        }
        self.in_multibulk = false;
        Parsed::Command
    }

    /// The common case in one pass: a whole multibulk command already in the buffer, every
    /// header in `quick_len`'s form. Its arguments go to `args` and `pos` moves past it;
    /// anything else (a partial command, an odd or bad header, a limit) leaves the state as
    /// it was (`args` empty) and returns false, for the general path to parse or refuse.
    #[inline]
    fn whole_command(&mut self, buf: &[u8], max_bulk_len: i64) -> bool {
        if buf[self.pos] != b'*' {
            return false;
        }
        let Some((n, cr)) = quick_len(buf, self.pos + 1) else { return false };
        if n > 1024 {
            return false;
        }
        let mut p = cr + 2;
        for _ in 0..n {
            let header = if buf.get(p) == Some(&b'$') { quick_len(buf, p + 1) } else { None };
            let Some((len, cr)) = header.filter(|&(len, _)| len <= max_bulk_len) else {
                self.args.clear();
                return false;
            };
            let start = cr + 2;
            let len = len as usize;
            if buf.len() - start < len + 2 {
                self.args.clear();
                return false;
            }
            self.args.push(start..start + len);
            p = start + len + 2;
        }
        self.pos = p;
        true
    }

    /// Bytes still needed to complete the bulk being read (for sizing reads of big values).
    pub fn pending_bulk(&self, buf_len: usize) -> usize {
        if self.in_multibulk && self.bulk_len >= 0 {
            (self.pos + self.bulk_len as usize + 2).saturating_sub(buf_len)
        } else {
            0
        }
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Parsed {
        let start = self.pos;
        let Some(nl) = find_byte(buf, start, b'\n') else {
            if buf.len() - start > INLINE_MAX {
                return err("ERR Protocol error: too big inline request");
            }
            return Parsed::Incomplete;
        };
        let mut end = nl;
        if end > start && buf[end - 1] == b'\r' {
            end -= 1;
        }
        self.pos = nl + 1;
        match split_args(buf, start, end, &mut self.args, &mut self.owned) {
            Ok(()) if self.args.is_empty() => Parsed::Empty,
            Ok(()) => Parsed::Command,
            Err(()) => {
                self.args.clear();
                err("ERR Protocol error: unbalanced quotes in request")
            }
        }
    }
}

/// Split an inline line into argument ranges. Lines with quotes need unescaping, which a
/// range cannot express: those are split by `split_args_quoted` into `owned`.
fn split_args(buf: &[u8], start: usize, end: usize, out: &mut Vec<Range<usize>>, owned: &mut Option<Vec<Vec<u8>>>) -> Result<(), ()> {
    let line = &buf[start..end];
    if line.iter().any(|&c| c == b'"' || c == b'\'') {
        let v = split_args_quoted(line).ok_or(())?;
        // keep `out` non-empty iff there are args, so callers can test emptiness uniformly
        out.extend(v.iter().map(|_| start..start));
        *owned = Some(v);
        return Ok(());
    }
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let s = i;
        // sdssplitargs ends a bare token only at these (not at \v or \f)
        while i < line.len() && !matches!(line[i], b' ' | b'\n' | b'\r' | b'\t') {
            i += 1;
        }
        out.push(start + s..start + i);
    }
    Ok(())
}

#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

/// Redis's `sdssplitargs`: split a line into arguments honouring "double quotes" with
/// \n \r \t \b \a \\ \" \xHH escapes and 'single quotes' with \' escape. A closing quote
/// must be followed by a space or the end. Returns None on unbalanced quotes.
pub fn split_args_quoted(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' && line[i + 2].is_ascii_hexdigit() && line[i + 3].is_ascii_hexdigit() {
                    let h = |c: u8| (c as char).to_digit(16).unwrap() as u8;
                    cur.push(h(line[i + 2]) * 16 + h(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        o => o,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

/// Fuzzing harness, shared by the cargo-fuzz target `fuzz/fuzz_targets/resp_parser.rs`
/// and the deterministic test below. The first byte picks the limits and a chunk size;
/// the rest is parsed twice, as one buffer and fed in chunks the way a worker does
/// (append, parse until incomplete, drop the consumed prefix, `shift`). Both must never
/// panic, keep every argument inside the buffer, and yield the same commands up to the
/// first protocol error (only the "too big" checks may fire earlier when fed in pieces).
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let limits = Limits { max_bulk_len: [16, 1024, 512 << 20][ctl as usize % 3], unauthenticated: ctl & 4 != 0 };
    let chunk = 1 + (ctl >> 3) as usize;
    let (whole, whole_err) = fuzz_feed(rest, rest.len().max(1), &limits);
    let (pieces, pieces_err) = fuzz_feed(rest, chunk, &limits);
    let n = whole.len().min(pieces.len());
    assert_eq!(whole[..n], pieces[..n], "chunk {chunk}");
    if whole_err.is_none() && pieces_err.is_none() {
        assert_eq!(whole.len(), pieces.len(), "chunk {chunk}");
    }
}

type FuzzCommands = Vec<Vec<Vec<u8>>>;

fn fuzz_feed(data: &[u8], chunk: usize, limits: &Limits) -> (FuzzCommands, Option<Vec<u8>>) {
    let mut p = RequestParser::new();
    let mut buf = Vec::new();
    let mut cmds = Vec::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match p.next(&buf, limits) {
                Parsed::Command => {
                    assert!(!p.args.is_empty() && p.pos() <= buf.len());
                    let args: Vec<Vec<u8>> = match &p.owned {
                        Some(owned) => owned.clone(),
                        None => p.args.iter().map(|r| buf[r.clone()].to_vec()).collect(),
                    };
                    assert_eq!(args.len(), p.args.len());
                    cmds.push(args);
                }
                Parsed::Empty => {}
                Parsed::Incomplete => break,
                Parsed::Error(e) => return (cmds, Some(e)),
            }
        }
        let keep = p.command_start();
        assert!(keep <= buf.len());
        buf.drain(..keep);
        p.shift(keep);
    }
    (cmds, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits { max_bulk_len: 512 * 1024 * 1024, unauthenticated: false }
    }

    fn args<'a>(p: &RequestParser, buf: &'a [u8]) -> Vec<&'a [u8]> {
        p.args.iter().map(|r| &buf[r.clone()]).collect()
    }

    #[test]
    fn multibulk_incremental() {
        let full = b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n*1\r\n$4\r\nPING\r\n";
        let mut p = RequestParser::new();
        for cut in 0..full.len() {
            let mut p2 = RequestParser::new();
            let r = p2.next(&full[..cut], &lim());
            assert!(r == Parsed::Incomplete || cut >= 22, "cut {cut}: {r:?}");
        }
        assert_eq!(p.next(full, &lim()), Parsed::Command);
        assert_eq!(args(&p, full), vec![&b"GET"[..], b"foo"]);
        assert_eq!(p.next(full, &lim()), Parsed::Command);
        assert_eq!(args(&p, full), vec![&b"PING"[..]]);
        assert_eq!(p.next(full, &lim()), Parsed::Incomplete);
    }

    #[test]
    fn split_feed() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut p = RequestParser::new();
        let mut buf = Vec::new();
        let mut got = None;
        for &b in full.iter() {
            buf.push(b);
            if let Parsed::Command = p.next(&buf, &lim()) {
                got = Some(args(&p, &buf).iter().map(|a| a.to_vec()).collect::<Vec<_>>());
            }
        }
        assert_eq!(got.unwrap(), vec![b"SET".to_vec(), b"k".to_vec(), b"hello".to_vec()]);
    }

    #[test]
    fn errors() {
        let mut p = RequestParser::new();
        assert_eq!(p.next(b"*1\r\n:3\r\n", &lim()), Parsed::Error("ERR Protocol error: expected '$', got ':'".into()));
        let mut p = RequestParser::new();
        assert_eq!(p.next(b"*1\r\n$-1\r\n", &lim()), Parsed::Error("ERR Protocol error: invalid bulk length".into()));
        let mut p = RequestParser::new();
        assert_eq!(p.next(b"*1\r\n$1099511627776\r\n", &lim()), Parsed::Error("ERR Protocol error: invalid bulk length".into()));
        let mut p = RequestParser::new();
        assert_eq!(p.next(b"*3000000000\r\n", &lim()), Parsed::Error("ERR Protocol error: invalid multibulk length".into()));
        let mut p = RequestParser::new();
        assert_eq!(p.next(b"*abc\r\n", &lim()), Parsed::Error("ERR Protocol error: invalid multibulk length".into()));
        let mut p = RequestParser::new();
        assert_eq!(p.next(&vec![b'a'; INLINE_MAX + 1], &lim()), Parsed::Error("ERR Protocol error: too big inline request".into()));
        let mut p = RequestParser::new();
        assert_eq!(p.next(b"*-1\r\n", &lim()), Parsed::Empty);
    }

    #[test]
    fn inline() {
        let buf = b"SET  foo bar\r\nPING\n\r\n";
        let mut p = RequestParser::new();
        assert_eq!(p.next(buf, &lim()), Parsed::Command);
        assert_eq!(args(&p, buf), vec![&b"SET"[..], b"foo", b"bar"]);
        assert_eq!(p.next(buf, &lim()), Parsed::Command);
        assert_eq!(args(&p, buf), vec![&b"PING"[..]]);
        assert_eq!(p.next(buf, &lim()), Parsed::Empty);
    }

    #[test]
    fn quoted_split() {
        assert_eq!(
            split_args_quoted(b"set \"a b\" 'c\\'d' \"\\x41\\n\"").unwrap(),
            vec![b"set".to_vec(), b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()]
        );
        assert!(split_args_quoted(b"set \"abc").is_none());
        assert!(split_args_quoted(b"set \"abc\"x").is_none());
    }

    /// A deterministic xorshift64 generator for the randomised tests.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// The one-pass path for whole commands gives exactly what the general path gives:
    /// random pipelines (valid, damaged, empty args, big counts), fed in random pieces,
    /// give the same sequence of results, arguments and positions both ways.
    #[test]
    fn one_pass_path_agrees_with_the_general_path() {
        let mut rnd = xorshift(0x1234_5678_9ABC_DEF1);
        let pieces: [&[u8]; 12] = [
            b"*1\r\n$4\r\nPING\r\n",
            b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
            b"*0\r\n",
            b"*2\r\n$3\r\nGET\r\n$12345678901234567890\r\n",
            b"*2\r\n$3\r\nGET\r\n$-1\r\n",
            b"*2000\r\n",
            b"*1\r\n+4\r\nPING\r\n",
            b"*1\r\n$04\r\nPING\r\n",
            b"PING\r\n",
            b"*2\r\n$3\r\nGET\r\n$2\r\nk\r\r\n",
            b"*1\r\n$20\r\n",
        ];
        for case in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..1 + rnd() % 5 {
                input.extend_from_slice(pieces[(rnd() % pieces.len() as u64) as usize]);
            }
            if case % 3 == 0 && !input.is_empty() {
                let at = (rnd() as usize) % input.len();
                input[at] = rnd() as u8;
            }
            let limits = Limits { max_bulk_len: if case % 7 == 0 { 4 } else { 512 * 1024 * 1024 }, unauthenticated: false };
            let run = |one_pass: bool, cuts: &[usize]| {
                let mut p = RequestParser::new();
                let mut out = Vec::new();
                let mut buf: Vec<u8> = Vec::new();
                let mut fed = 0;
                for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
                    buf.extend_from_slice(&input[fed..cut.max(fed)]);
                    fed = cut.max(fed);
                    loop {
                        let r = p.next_with(&buf, &limits, one_pass);
                        let args: Vec<Vec<u8>> = p.args.iter().map(|r| buf[r.clone()].to_vec()).collect();
                        let done = matches!(r, Parsed::Incomplete | Parsed::Error(_));
                        out.push((format!("{r:?}"), args, p.pos()));
                        if done {
                            break;
                        }
                    }
                    if matches!(out.last(), Some((r, _, _)) if r.starts_with("Error")) {
                        break;
                    }
                }
                out
            };
            let mut cuts: Vec<usize> = (0..rnd() % 3).map(|_| (rnd() as usize) % (input.len() + 1)).collect();
            cuts.sort();
            assert_eq!(run(true, &cuts), run(false, &cuts), "input {:?} cuts {cuts:?}", String::from_utf8_lossy(&input));
        }
    }

    /// Wherever the header fast path answers, the general path gives the same length and
    /// `\r` position: every string of up to 19 bytes over digits, `\r`, `-`, NUL and `x`.
    #[test]
    fn quick_len_agrees_with_the_general_path() {
        let alphabet: [u8; 8] = [b'0', b'1', b'7', b'9', b'\r', b'-', 0, b'x'];
        let mut rnd = xorshift(0x2545_F491_4F6C_DD1D);
        let mut checked = 0;
        for _ in 0..200_000 {
            let state = rnd();
            let len = 1 + (state % 19) as usize;
            let mut buf = vec![b'*'];
            buf.extend((0..len).map(|i| alphabet[((state >> (3 * (i % 20))) & 7) as usize]));
            if let Some((v, cr)) = quick_len(&buf, 1) {
                let general = find_byte(&buf, 0, b'\r').filter(|&c| c + 1 < buf.len()).and_then(|c| Some((parse_len(&buf[1..c])?, c)));
                assert_eq!(Some((v, cr)), general, "{buf:?}");
                checked += 1;
            }
        }
        assert!(checked > 1000);
        // long numbers are left to the general path
        assert_eq!(quick_len(b"*123456789012345678\r\n", 1), None);
        assert_eq!(quick_len(b"*12345678901234567\r\n", 1), Some((12345678901234567, 18)));
    }

    /// 100k deterministic inputs through the fuzz harness: random bytes, and valid
    /// pipelines with bytes flipped, inserted, removed or lengths rewritten.
    #[test]
    fn fuzz_deterministic() {
        let mut rnd = xorshift(0x9E37_79B9_7F4A_7C15);
        let seeds: [&[u8]; 6] = [
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n",
            b"PING\r\nSET \"a b\" 'c\\'d' \"\\x41\\n\"\r\n\r\n",
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n*0\r\n*-1\r\n",
            b"*1\r\n$20\r\n01234567890123456789\r\n  ECHO x\n",
            b"*11\r\n$1\r\na\r\n",
            b"\x00\r\n*\x00$\x00\r\n",
        ];
        const TOKENS: [&[u8]; 10] = [b"\r\n", b"*", b"$", b"-1", b"0", b"\"", b"'", b"\x00", b"2147483648", b"99999"];
        for i in 0..100_000u32 {
            let mut input = vec![rnd() as u8];
            if i % 4 == 0 {
                let len = (rnd() % 300) as usize;
                input.extend((0..len).map(|_| rnd() as u8));
            } else {
                let seed = seeds[(rnd() % seeds.len() as u64) as usize];
                input.extend_from_slice(&seed.repeat(1 + (rnd() % 3) as usize));
                for _ in 0..1 + rnd() % 4 {
                    let at = (rnd() as usize) % input.len().max(1);
                    match rnd() % 4 {
                        0 => input[at] = rnd() as u8,
                        1 => input.insert(at, rnd() as u8),
                        2 if input.len() > 1 => {
                            input.remove(at.max(1));
                        }
                        _ => {
                            let t = TOKENS[(rnd() % TOKENS.len() as u64) as usize];
                            input.splice(at.max(1)..at.max(1), t.iter().copied());
                        }
                    }
                }
            }
            fuzz_one(&input);
        }
    }
}

/// Lookahead for prefetching: the argument count and the ranges of the first four
/// arguments (empty when absent) of the complete multibulk commands at `buf[from..]`, at
/// most `max` of them.
/// Changes no parser state and reports nothing: it stops at the first inline command,
/// incomplete or malformed input (the real parser deals with those).
pub fn peek_commands(
    buf: &[u8],
    mut from: usize,
    max: usize,
    out: &mut smallvec::SmallVec<[(usize, [Range<usize>; 4]); 16]>,
) {
    fn number(buf: &[u8], at: usize, lead: u8) -> Option<(usize, usize)> {
        if buf.get(at) != Some(&lead) {
            return None;
        }
        let mut n: usize = 0;
        let mut i = at + 1;
        while i < buf.len() && buf[i].is_ascii_digit() && i - at <= 10 {
            n = n * 10 + (buf[i] - b'0') as usize;
            i += 1;
        }
        if i == at + 1 || buf.get(i) != Some(&b'\r') || buf.get(i + 1) != Some(&b'\n') {
            return None;
        }
        Some((n, i + 2))
    }
    while out.len() < max {
        let Some((argc, mut at)) = number(buf, from, b'*') else { return };
        if argc < 2 {
            return;
        }
        let mut args = [0..0, 0..0, 0..0, 0..0];
        for i in 0..argc {
            let Some((len, start)) = number(buf, at, b'$') else { return };
            let end = start.saturating_add(len);
            if end.saturating_add(2) > buf.len() {
                return;
            }
            if i < 4 {
                args[i] = start..end;
            }
            at = end + 2;
        }
        out.push((argc, args));
        from = at;
    }
}
