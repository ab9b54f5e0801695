//! Reply encoding: RESP2 and RESP3 written straight into a client's output buffer.
//!
//! `ReplyBuf` knows the connection's protocol version and picks the wire form for each
//! reply kind (a map is `%n` in RESP3 and a flat `*2n` array in RESP2, a null is `_` or
//! `$-1`, and so on), so command code states *what* it replies, never *how*.
//! Invariant: every reply written here is one complete RESP value (arrays are followed by
//! exactly their element count of values, which the caller writes).

use crate::util::numfmt;

pub struct ReplyBuf {
    pub buf: Vec<u8>,
    /// 2 or 3.
    pub resp: u8,
    /// Error replies written since the last `take_errors` (for errorstats / counting).
    pub errors: u32,
    /// Of `errors`, those already counted in the error stats where they were produced
    /// (a script passing on the error of a command it called): not counted again.
    pub counted_errors: u32,
    /// Byte ranges of push messages (pub/sub confirmations and messages) written by the
    /// current command: CLIENT REPLY OFF/SKIP does not silence them (Redis's CLIENT_PUSHING).
    pub pushed: Vec<(usize, usize)>,
}

#[inline]
fn push_int(buf: &mut Vec<u8>, v: i64) {
    let mut b = itoa::Buffer::new();
    buf.extend_from_slice(b.format(v).as_bytes());
}

impl ReplyBuf {
    pub fn new(resp: u8) -> ReplyBuf {
        ReplyBuf { buf: Vec::with_capacity(16 * 1024), resp, errors: 0, counted_errors: 0, pushed: Vec::new() }
    }

    /// Mark what was written since `start` as a push message (see `pushed`).
    pub fn mark_pushed(&mut self, start: usize) {
        self.pushed.push((start, self.buf.len()));
    }

    /// Drop what was written since `from` (a silenced reply), except push messages.
    pub fn truncate_keep_pushed(&mut self, from: usize) {
        let mut w = from;
        for (a, b) in std::mem::take(&mut self.pushed) {
            if a < from {
                continue;
            }
            self.buf.copy_within(a..b, w);
            w += b - a;
        }
        self.buf.truncate(w);
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    #[inline]
    fn header(&mut self, tag: u8, n: i64) {
        self.buf.push(tag);
        push_int(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply, `+s`. `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.simple_bytes(s.as_bytes());
    }

    pub fn simple_bytes(&mut self, s: &[u8]) {
        self.buf.reserve(s.len() + 3);
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. `msg` is the full text without the leading '-', e.g.
    /// "ERR syntax error" or "WRONGTYPE Operation against ...". Newlines are
    /// replaced by spaces (an error must stay on one line).
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// `error` for a text that may hold arbitrary bytes (Redis echoes client bytes in
    /// some errors: unknown command names, protocol errors).
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.errors += 1;
        self.buf.push(b'-');
        for &c in msg {
            self.buf.push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply whose error stats were already updated (see `counted_errors`).
    pub fn error_counted(&mut self, msg: &str) {
        self.error(msg);
        self.counted_errors += 1;
    }

    #[inline]
    pub fn int(&mut self, v: i64) {
        self.header(b':', v);
    }

    #[inline]
    pub fn bulk(&mut self, b: &[u8]) {
        self.header(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }

    /// An integer sent as a bulk string (e.g. GET of an int-encoded value).
    pub fn bulk_i64(&mut self, v: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(v).as_bytes());
    }

    /// The null bulk reply: `$-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array reply: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` key/value pairs (the caller then writes 2n values).
    pub fn map(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    pub fn set(&mut self, n: usize) {
        self.header(if self.resp >= 3 { b'~' } else { b'*' }, n as i64);
    }

    pub fn push(&mut self, n: usize) {
        self.header(if self.resp >= 3 { b'>' } else { b'*' }, n as i64);
    }

    pub fn bool(&mut self, v: bool) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// A double: RESP3 `,` type, RESP2 a bulk string, both in Redis's `%.17g` form.
    pub fn double(&mut self, v: f64) {
        let s = numfmt::fmt_double_17g(v);
        if self.resp >= 3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// Verbatim text (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2).
    pub fn verbatim(&mut self, text: &[u8], format: &str) {
        if self.resp >= 3 {
            self.header(b'=', (text.len() + 4) as i64);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Raw, already-encoded RESP bytes.
    #[inline]
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Reserve room for an aggregate header whose length is not known yet.
    /// Returns a handle for `fill_deferred`.
    pub fn deferred(&mut self) -> usize {
        self.buf.len()
    }

    /// Insert the header of an aggregate started with `deferred`.
    /// `kind` is b'*' (array), b'%' (map: n pairs), b'~' (set).
    pub fn fill_deferred(&mut self, at: usize, kind: u8, n: usize) {
        let (tag, count) = match kind {
            b'%' if self.resp >= 3 => (b'%', n),
            b'%' => (b'*', 2 * n),
            b'~' if self.resp >= 3 => (b'~', n),
            _ => (b'*', n),
        };
        let mut h = Vec::with_capacity(16);
        h.push(tag);
        push_int(&mut h, count as i64);
        h.extend_from_slice(b"\r\n");
        self.buf.splice(at..at, h);
    }

    /// A `<CMD> HELP` reply (Redis's addReplyHelp): the usage line, `lines`, then HELP's
    /// own entry, each as a status reply.
    pub fn help(&mut self, cmd_upper: &str, lines: &[&str]) {
        self.array(lines.len() + 3);
        self.simple(&format!("{cmd_upper} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
        for l in lines {
            self.simple(l);
        }
        self.simple("HELP");
        self.simple("    Prints this help.");
    }

    /// Convenience: an array of bulk strings.
    pub fn bulk_array<I, B>(&mut self, items: I)
    where
        I: IntoIterator<Item = B>,
        I::IntoIter: ExactSizeIterator,
        B: AsRef<[u8]>,
    {
        let it = items.into_iter();
        self.array(it.len());
        for b in it {
            self.bulk(b.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_forms() {
        let mut r = ReplyBuf::new(2);
        r.null();
        r.map(1);
        r.double(1.5);
        r.bool(true);
        assert_eq!(r.buf, b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n");
        let mut r = ReplyBuf::new(3);
        r.null();
        r.map(1);
        r.double(1.5);
        r.bool(true);
        assert_eq!(r.buf, b"_\r\n%1\r\n,1.5\r\n#t\r\n");
    }

    #[test]
    fn deferred_header() {
        let mut r = ReplyBuf::new(2);
        let d = r.deferred();
        r.int(1);
        r.int(2);
        r.fill_deferred(d, b'*', 2);
        assert_eq!(r.buf, b"*2\r\n:1\r\n:2\r\n");
    }

    #[test]
    fn error_is_one_line() {
        let mut r = ReplyBuf::new(2);
        r.error("ERR a\r\nb");
        assert_eq!(r.buf, b"-ERR a  b\r\n");
        assert_eq!(r.errors, 1);
    }
}
