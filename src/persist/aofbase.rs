//! The AOF-format base file (`aof-use-rdb-preamble no`): the dataset written as the
//! commands that rebuild it, as Redis 7.0's rewriteAppendOnlyFileRio does.
//!
//! Layout: an optional `#TS:<unix time>` annotation (aof-timestamp-enabled), a FUNCTION
//! LOAD per function library, then per non-empty db a SELECT followed by one key after
//! the other: SET for strings, RPUSH / SADD / ZADD / HMSET in batches of 64 items, XADD
//! per stream entry (or `XADD key MAXLEN 0 0-1 x y` for an empty stream), XSETID with
//! ENTRIESADDED and MAXDELETEDID, XGROUP CREATE ... ENTRIESREAD per group, XCLAIM ...
//! JUSTID FORCE per pending entry or XGROUP CREATECONSUMER for a consumer without any,
//! and PEXPIREAT for a key with a TTL.
//!
//! The snapshot walker (`persist::write_snapshot`) and the locked writer hand their keys
//! over as RDB records (optional EXPIRETIME_MS, type, key, value: what `snapshot::
//! encode_entry` produces, also for entries captured before a writer changed them);
//! `records` decodes them and writes the commands. Loading such a file is the AOF replay
//! (`persist::aof`): everything that is not an RDB preamble is commands.

use super::rdb::{self, RdbValue};
use std::io::{self, Write};

/// Items per command for lists, sets, sorted sets and hashes (Redis's
/// AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;

pub struct Writer<W: Write> {
    w: W,
    buf: Vec<u8>,
    pub written: u64,
}

fn bulk(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(s.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

fn count(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    count(out, args.len());
    for a in args {
        bulk(out, a);
    }
}

fn int(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// `cmd key` followed by `items` in batches of ITEMS_PER_CMD (each item is `width`
/// arguments).
fn batched<'a>(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], width: usize, items: impl ExactSizeIterator<Item = Vec<&'a [u8]>>) {
    let mut left = items.len();
    let mut in_cmd = 0;
    for item in items {
        if in_cmd == 0 {
            let n = left.min(ITEMS_PER_CMD);
            count(out, 2 + n * width);
            bulk(out, cmd);
            bulk(out, key);
        }
        for a in item {
            bulk(out, a);
        }
        in_cmd += 1;
        left -= 1;
        if in_cmd == ITEMS_PER_CMD {
            in_cmd = 0;
        }
    }
}

/// The commands that rebuild `key` with value `v` (and its TTL).
pub fn rewrite_key(out: &mut Vec<u8>, key: &[u8], v: RdbValue, expire_ms: Option<i64>) -> Result<(), String> {
    match v {
        RdbValue::Str(s) => command(out, &[b"SET", key, &s]),
        RdbValue::List(items) => batched(out, b"RPUSH", key, 1, items.iter().map(|i| vec![&i[..]])),
        RdbValue::Set(items) => batched(out, b"SADD", key, 1, items.iter().map(|i| vec![&i[..]])),
        RdbValue::ZSet(items) => {
            let scores: Vec<Vec<u8>> = items.iter().map(|(_, s)| crate::util::numfmt::fmt_double_17g(*s).into_bytes()).collect();
            batched(out, b"ZADD", key, 2, items.iter().zip(scores.iter()).map(|((m, _), s)| vec![&s[..], &m[..]]))
        }
        RdbValue::Hash(items) => batched(out, b"HMSET", key, 2, items.iter().map(|(f, v)| vec![&f[..], &v[..]])),
        RdbValue::Stream(st) => rewrite_stream(out, key, crate::types::StreamValue::from_rdb(*st)?),
    }
    if let Some(t) = expire_ms {
        command(out, &[b"PEXPIREAT", key, &int(t)]);
    }
    Ok(())
}

fn rewrite_stream(out: &mut Vec<u8>, key: &[u8], s: crate::types::StreamValue) {
    use crate::types::stream::StreamId;
    if s.len() > 0 {
        s.range(StreamId::MIN, StreamId::MAX, false, |e| {
            count(out, 3 + 2 * e.num_fields());
            bulk(out, b"XADD");
            bulk(out, key);
            bulk(out, &e.id.to_bytes());
            for (f, v) in e.fields() {
                bulk(out, f);
                bulk(out, v);
            }
            true
        });
    } else {
        // the XADD MAXLEN 0 trick creates the empty stream
        command(out, &[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
    }
    command(
        out,
        &[b"XSETID", key, &s.last_id.to_bytes(), b"ENTRIESADDED", &int(s.entries_added as i64), b"MAXDELETEDID", &s.max_deleted.to_bytes()],
    );
    for (name, g) in &s.groups {
        command(out, &[b"XGROUP", b"CREATE", key, name, &g.last_id.to_bytes(), b"ENTRIESREAD", &int(g.entries_read)]);
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                command(out, &[b"XGROUP", b"CREATECONSUMER", key, name, cname]);
                continue;
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                command(
                    out,
                    &[
                        b"XCLAIM",
                        key,
                        name,
                        cname,
                        b"0",
                        &id.to_bytes(),
                        b"TIME",
                        &int(nack.delivery_time),
                        b"RETRYCOUNT",
                        &int(nack.delivery_count as i64),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
    }
}

impl<W: Write> Writer<W> {
    pub fn new(w: W) -> Writer<W> {
        Writer { w, buf: Vec::with_capacity(1 << 16), written: 0 }
    }

    fn flush_buf(&mut self, force: bool) -> io::Result<()> {
        if force || self.buf.len() >= 1 << 16 {
            self.written += self.buf.len() as u64;
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// `#TS:<secs>` (aof-timestamp-enabled: the rewrite's start time).
    pub fn timestamp(&mut self, secs: i64) -> io::Result<()> {
        self.buf.extend_from_slice(format!("#TS:{secs}\r\n").as_bytes());
        self.flush_buf(false)
    }

    pub fn functions(&mut self, codes: &[Vec<u8>]) -> io::Result<()> {
        for code in codes {
            command(&mut self.buf, &[b"FUNCTION", b"LOAD", code]);
            self.flush_buf(false)?;
        }
        Ok(())
    }

    pub fn select_db(&mut self, db: usize) -> io::Result<()> {
        command(&mut self.buf, &[b"SELECT", itoa::Buffer::new().format(db).as_bytes()]);
        self.flush_buf(false)
    }

    /// Decode RDB key records (as `snapshot::encode_entry` writes them) and write the
    /// commands rebuilding those keys.
    pub fn records(&mut self, recs: &[u8]) -> io::Result<()> {
        let mut rd = rdb::Reader::new(recs);
        let mut expire = None;
        let bad = |e: rdb::RdbError| io::Error::other(format!("AOF rewrite: bad snapshot record: {e}"));
        while (rd.pos as usize) < recs.len() {
            match rd.byte().map_err(bad)? {
                rdb::OP_EXPIRETIME_MS => expire = Some(rd.i64_le().map_err(bad)?),
                rdb::OP_IDLE => {
                    rd.len().map_err(bad)?;
                }
                rdb::OP_FREQ => {
                    rd.byte().map_err(bad)?;
                }
                t => {
                    let key = rd.string().map_err(bad)?;
                    let v = rd.value(t).map_err(bad)?;
                    rewrite_key(&mut self.buf, &key, v, expire.take()).map_err(io::Error::other)?;
                    self.flush_buf(false)?;
                }
            }
        }
        Ok(())
    }

    /// Write out what is buffered; returns the sink and the bytes written in all.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.flush_buf(true)?;
        Ok((self.w, self.written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_of_64_and_ttl() {
        let items: Vec<Vec<u8>> = (0..65).map(|i| i.to_string().into_bytes()).collect();
        let mut out = Vec::new();
        rewrite_key(&mut out, b"l", RdbValue::List(items), Some(1234)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("*66\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\n0\r\n"));
        assert!(text.contains("*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$2\r\n64\r\n*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nl\r\n$4\r\n1234\r\n"));
    }

    #[test]
    fn zset_scores_as_17g() {
        let mut out = Vec::new();
        rewrite_key(&mut out, b"z", RdbValue::ZSet(vec![(b"a".to_vec(), 0.1), (b"b".to_vec(), f64::INFINITY)]), None).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "*6\r\n$4\r\nZADD\r\n$1\r\nz\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$3\r\ninf\r\n$1\r\nb\r\n"
        );
    }
}
