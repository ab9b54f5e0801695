//! The RDB file format (Redis 7.0: version 10), written and read.
//!
//! Format facts (from the Redis RDB format description): `REDIS0010` header; opcodes
//! AUX (0xFA), RESIZEDB (0xFB), EXPIRETIME_MS (0xFC), EXPIRETIME (0xFD, seconds),
//! SELECTDB (0xFE), EOF (0xFF), IDLE (0xF8), FREQ (0xF9), MODULE_AUX (0xF7),
//! FUNCTION2 (0xF5), FUNCTION (0xF6); then per key an optional expire / LRU / LFU opcode,
//! the value type byte, the key and the value; after EOF an 8-byte little-endian CRC64
//! (Jones polynomial) of everything before it, or zero when checksums are disabled.
//! Lengths: 6-bit, 14-bit (big-endian), 0x80 + 32-bit BE, 0x81 + 64-bit BE; the special
//! form 0b11xxxxxx marks an encoded string (8/16/32-bit little-endian integer, or LZF).
//!
//! Writing uses the plain encodings every Redis version loads (string, list of strings,
//! set, zset with binary scores, hash); reading accepts every encoding Redis has written
//! from RDB version 1 to 12 (ziplist, zipmap, intset, listpack, quicklist 1 and 2), which
//! `encodings.rs` decodes. Errors name the byte offset; nothing here panics on bad input.

use super::encodings;
use super::lzf;
use std::io::{self, Read, Write};

pub const RDB_VERSION: u16 = 10;
/// Highest version we read (Redis 7.4).
pub const RDB_MAX_VERSION: u16 = 12;

pub const OP_FUNCTION2: u8 = 0xF5;
pub const OP_FUNCTION: u8 = 0xF6;
pub const OP_MODULE_AUX: u8 = 0xF7;
pub const OP_IDLE: u8 = 0xF8;
pub const OP_FREQ: u8 = 0xF9;
pub const OP_AUX: u8 = 0xFA;
pub const OP_RESIZEDB: u8 = 0xFB;
pub const OP_EXPIRETIME_MS: u8 = 0xFC;
pub const OP_EXPIRETIME: u8 = 0xFD;
pub const OP_SELECTDB: u8 = 0xFE;
pub const OP_EOF: u8 = 0xFF;

pub const T_STRING: u8 = 0;
pub const T_LIST: u8 = 1;
pub const T_SET: u8 = 2;
pub const T_ZSET: u8 = 3;
pub const T_HASH: u8 = 4;
pub const T_ZSET_2: u8 = 5;
/// The 9-character name a module type id encodes (Redis's moduleTypeNameByID): 6 bits a
/// character above the 10-bit encoding version.
pub fn module_type_name(id: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for c in name.iter_mut().rev() {
        *c = CSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// What a read past the end of the data reports (Redis's rdbLoad wording).
pub const UNEXPECTED_EOF: &str = "Unexpected EOF reading RDB file";

pub const T_MODULE: u8 = 6;
pub const T_MODULE_2: u8 = 7;
pub const T_HASH_ZIPMAP: u8 = 9;
pub const T_LIST_ZIPLIST: u8 = 10;
pub const T_SET_INTSET: u8 = 11;
pub const T_ZSET_ZIPLIST: u8 = 12;
pub const T_HASH_ZIPLIST: u8 = 13;
pub const T_LIST_QUICKLIST: u8 = 14;
pub const T_STREAM_LISTPACKS: u8 = 15;
pub const T_HASH_LISTPACK: u8 = 16;
pub const T_ZSET_LISTPACK: u8 = 17;
pub const T_LIST_QUICKLIST_2: u8 = 18;
pub const T_STREAM_LISTPACKS_2: u8 = 19;
pub const T_SET_LISTPACK: u8 = 20;
pub const T_STREAM_LISTPACKS_3: u8 = 21;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

pub static CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// A value as RDB carries it, independent of our in-memory representation.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    ZSet(Vec<(Vec<u8>, f64)>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Stream(Box<RdbStream>),
}

/// A stream as RDB carries it (RDB_TYPE_STREAM_LISTPACKS*): its nodes as (master ID,
/// listpack), the metadata and the consumer groups. IDs are (ms, seq).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbStream {
    pub nodes: Vec<([u8; 16], Vec<u8>)>,
    pub length: u64,
    pub last_id: (u64, u64),
    pub first_id: (u64, u64),
    pub max_deleted: (u64, u64),
    pub entries_added: u64,
    /// False when read from type 15 (first_id, max_deleted, entries_added and the groups'
    /// entries_read are then to be derived).
    pub has_v2_fields: bool,
    pub groups: Vec<RdbGroup>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbGroup {
    pub name: Vec<u8>,
    pub last_id: (u64, u64),
    pub entries_read: i64,
    /// (id, delivery time, delivery count)
    pub pel: Vec<([u8; 16], i64, u64)>,
    pub consumers: Vec<RdbConsumer>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbConsumer {
    pub name: Vec<u8>,
    pub seen_time: i64,
    pub pel: Vec<[u8; 16]>,
}

// ---------------------------------------------------------------------------------------
// Writing

/// Encodes RDB into any sink, keeping the running CRC64.
pub struct Writer<W: Write> {
    w: W,
    crc: crc::Digest<'static, u64>,
    pub compress: bool,
    pub written: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(w: W, compress: bool) -> Writer<W> {
        Writer { w, crc: CRC64.digest(), compress, written: 0 }
    }

    pub fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc.update(b);
        self.written += b.len() as u64;
        self.w.write_all(b)
    }

    pub fn byte(&mut self, b: u8) -> io::Result<()> {
        self.raw(&[b])
    }

    pub fn len(&mut self, n: u64) -> io::Result<()> {
        let mut buf = Vec::with_capacity(9);
        encode_len(n, &mut buf);
        self.raw(&buf)
    }

    pub fn string(&mut self, s: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(s.len() + 5);
        encode_string(s, self.compress, &mut buf);
        self.raw(&buf)
    }

    pub fn header(&mut self, aux: &[(&str, String)]) -> io::Result<()> {
        self.raw(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        for (k, v) in aux {
            self.byte(OP_AUX)?;
            self.string(k.as_bytes())?;
            self.string(v.as_bytes())?;
        }
        Ok(())
    }

    pub fn select_db(&mut self, db: usize, size: usize, expires: usize) -> io::Result<()> {
        self.byte(OP_SELECTDB)?;
        self.len(db as u64)?;
        self.byte(OP_RESIZEDB)?;
        self.len(size as u64)?;
        self.len(expires as u64)
    }

    /// One key: optional expire, then type, key and value.
    pub fn key_value(&mut self, key: &[u8], v: &RdbValue, expire_ms: Option<i64>) -> io::Result<()> {
        let mut buf = Vec::with_capacity(key.len() + 32);
        if let Some(t) = expire_ms {
            buf.push(OP_EXPIRETIME_MS);
            buf.extend_from_slice(&t.to_le_bytes());
        }
        buf.push(type_byte(v));
        encode_string(key, self.compress, &mut buf);
        encode_value_body(v, self.compress, &mut buf);
        self.raw(&buf)
    }

    /// EOF marker and checksum; returns the sink.
    pub fn finish(mut self, checksum: bool) -> io::Result<W> {
        self.byte(OP_EOF)?;
        let crc = if checksum { std::mem::replace(&mut self.crc, CRC64.digest()).finalize() } else { 0 };
        self.w.write_all(&crc.to_le_bytes())?;
        self.written += 8;
        Ok(self.w)
    }
}

pub fn encode_len(n: u64, out: &mut Vec<u8>) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Redis's string encoding: small integers as INT8/16/32, LZF for compressible strings
/// longer than 20 bytes, else length-prefixed bytes.
pub fn encode_string(s: &[u8], compress: bool, out: &mut Vec<u8>) {
    if s.len() <= 11 && !s.is_empty() {
        if let Some(v) = crate::util::numfmt::parse_i64(s) {
            if v >= i8::MIN as i64 && v <= i8::MAX as i64 {
                out.push(0xC0 | ENC_INT8);
                out.push(v as i8 as u8);
                return;
            } else if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
                out.push(0xC0 | ENC_INT16);
                out.extend_from_slice(&(v as i16).to_le_bytes());
                return;
            } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
                out.push(0xC0 | ENC_INT32);
                out.extend_from_slice(&(v as i32).to_le_bytes());
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xC0 | ENC_LZF);
            encode_len(c.len() as u64, out);
            encode_len(s.len() as u64, out);
            out.extend_from_slice(&c);
            return;
        }
    }
    encode_len(s.len() as u64, out);
    out.extend_from_slice(s);
}

pub fn type_byte(v: &RdbValue) -> u8 {
    match v {
        RdbValue::Str(_) => T_STRING,
        RdbValue::List(_) => T_LIST,
        RdbValue::Set(_) => T_SET,
        RdbValue::ZSet(_) => T_ZSET_2,
        RdbValue::Hash(_) => T_HASH,
        RdbValue::Stream(_) => T_STREAM_LISTPACKS_2,
    }
}

pub fn encode_value_body(v: &RdbValue, compress: bool, out: &mut Vec<u8>) {
    match v {
        RdbValue::Str(s) => encode_string(s, compress, out),
        RdbValue::List(items) | RdbValue::Set(items) => {
            encode_len(items.len() as u64, out);
            for i in items {
                encode_string(i, compress, out);
            }
        }
        RdbValue::ZSet(items) => {
            encode_len(items.len() as u64, out);
            for (m, s) in items {
                encode_string(m, compress, out);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        RdbValue::Hash(items) => {
            encode_len(items.len() as u64, out);
            for (f, v) in items {
                encode_string(f, compress, out);
                encode_string(v, compress, out);
            }
        }
        RdbValue::Stream(st) => encode_stream(st, compress, out),
    }
}

/// RDB_TYPE_STREAM_LISTPACKS_2 body (what Redis 7.0 writes).
fn encode_stream(st: &RdbStream, compress: bool, out: &mut Vec<u8>) {
    encode_len(st.nodes.len() as u64, out);
    for (k, lp) in &st.nodes {
        encode_string(k, false, out);
        encode_string(lp, compress, out);
    }
    for v in [st.length, st.last_id.0, st.last_id.1, st.first_id.0, st.first_id.1, st.max_deleted.0, st.max_deleted.1, st.entries_added] {
        encode_len(v, out);
    }
    encode_len(st.groups.len() as u64, out);
    for g in &st.groups {
        encode_string(&g.name, compress, out);
        encode_len(g.last_id.0, out);
        encode_len(g.last_id.1, out);
        encode_len(g.entries_read as u64, out);
        encode_len(g.pel.len() as u64, out);
        for (id, t, c) in &g.pel {
            out.extend_from_slice(id);
            out.extend_from_slice(&t.to_le_bytes());
            encode_len(*c, out);
        }
        encode_len(g.consumers.len() as u64, out);
        for c in &g.consumers {
            encode_string(&c.name, compress, out);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            encode_len(c.pel.len() as u64, out);
            for id in &c.pel {
                out.extend_from_slice(id);
            }
        }
    }
}

/// DUMP payload: type + value, RDB version (2 bytes LE), CRC64 (8 bytes LE).
pub fn dump_payload(v: &RdbValue) -> Vec<u8> {
    let mut out = vec![type_byte(v)];
    encode_value_body(v, true, &mut out);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Check and decode a RESTORE payload.
pub fn restore_payload(p: &[u8]) -> Result<RdbValue, &'static str> {
    restore_payload_opt(p, false)
}

/// As `restore_payload`; `skip_crc` ignores the checksum (DEBUG SET-SKIP-CHECKSUM-VALIDATION 1).
pub fn restore_payload_opt(p: &[u8], skip_crc: bool) -> Result<RdbValue, &'static str> {
    const BAD: &str = "ERR DUMP payload version or checksum are wrong";
    if p.len() < 10 {
        return Err(BAD);
    }
    let (body, footer) = p.split_at(p.len() - 10);
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    if ver > RDB_MAX_VERSION {
        return Err(BAD);
    }
    let crc = u64::from_le_bytes(footer[2..10].try_into().unwrap());
    if !skip_crc && crc != 0 && CRC64.checksum(&p[..p.len() - 8]) != crc {
        return Err(BAD);
    }
    let mut r = Reader::new(body);
    let t = r.byte().map_err(|_| "ERR Bad data format")?;
    let v = match r.value(t) {
        Ok(v) => v,
        Err(e) => {
            // Redis's rdbReportError in a RESTORE context: logged (verbose), not fatal.
            crate::log::verbose(&format!("Internal error in RDB reading offset 0, function at rdb.c:0 -> {}", e.msg));
            return Err("ERR Bad data format");
        }
    };
    if r.pos != body.len() as u64 || v.is_empty_collection() {
        return Err("ERR Bad data format");
    }
    Ok(v)
}

impl RdbValue {
    /// An empty list/set/zset/hash: Redis refuses such a key (RDB_LOAD_ERR_EMPTY_KEY):
    /// RESTORE fails, loading a file skips it.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            RdbValue::List(v) | RdbValue::Set(v) => v.is_empty(),
            RdbValue::ZSet(v) => v.is_empty(),
            RdbValue::Hash(v) => v.is_empty(),
            RdbValue::Str(_) | RdbValue::Stream(_) => false,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading

#[derive(Debug)]
pub struct RdbError {
    pub offset: u64,
    pub msg: String,
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at offset {})", self.msg, self.offset)
    }
}

pub type RResult<T> = Result<T, RdbError>;

/// Streaming RDB decoder with offset tracking and CRC.
pub struct Reader<R: Read> {
    r: R,
    pub pos: u64,
    crc: crc::Digest<'static, u64>,
    /// Upper bound on a single allocation, to reject absurd lengths in corrupt files.
    pub max_alloc: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(r: R) -> Reader<R> {
        Reader { r, pos: 0, crc: CRC64.digest(), max_alloc: 1 << 34 }
    }

    /// A decoded blob, or Redis's integrity message for its type.
    fn integrity(&self, v: Result<RdbValue, String>, msg: &str) -> RResult<RdbValue> {
        match v {
            Ok(v) => Ok(v),
            Err(_) => self.err(msg),
        }
    }

    fn err<T>(&self, msg: impl Into<String>) -> RResult<T> {
        Err(RdbError { offset: self.pos, msg: msg.into() })
    }

    pub fn exact(&mut self, n: usize) -> RResult<Vec<u8>> {
        if n as u64 > self.max_alloc {
            return self.err(format!("length {n} too large"));
        }
        let mut v = Vec::new();
        // read in chunks so a lying length in a truncated file cannot allocate it all
        let mut left = n;
        while left > 0 {
            let chunk = left.min(1 << 20);
            let start = v.len();
            v.resize(start + chunk, 0);
            if self.r.read_exact(&mut v[start..]).is_err() {
                return self.err(UNEXPECTED_EOF);
            }
            left -= chunk;
        }
        self.crc.update(&v);
        self.pos += n as u64;
        Ok(v)
    }

    pub fn byte(&mut self) -> RResult<u8> {
        let mut b = [0u8; 1];
        if self.r.read_exact(&mut b).is_err() {
            return self.err(UNEXPECTED_EOF);
        }
        self.crc.update(&b);
        self.pos += 1;
        Ok(b[0])
    }

    fn array<const N: usize>(&mut self) -> RResult<[u8; N]> {
        let mut b = [0u8; N];
        if self.r.read_exact(&mut b).is_err() {
            return self.err(UNEXPECTED_EOF);
        }
        self.crc.update(&b);
        self.pos += N as u64;
        Ok(b)
    }

    /// The CRC of everything read so far (call before reading the trailing checksum).
    pub fn crc_so_far(&self) -> u64 {
        self.crc.clone().finalize()
    }

    pub fn u64_le(&mut self) -> RResult<u64> {
        Ok(u64::from_le_bytes(self.array::<8>()?))
    }

    pub fn i64_le(&mut self) -> RResult<i64> {
        Ok(i64::from_le_bytes(self.array::<8>()?))
    }

    pub fn u32_le(&mut self) -> RResult<u32> {
        Ok(u32::from_le_bytes(self.array::<4>()?))
    }

    /// A length, or (true, encoding) for the special string encodings.
    fn len_or_enc(&mut self) -> RResult<(bool, u64)> {
        let b = self.byte()?;
        match b >> 6 {
            0 => Ok((false, (b & 0x3f) as u64)),
            1 => {
                let b2 = self.byte()?;
                Ok((false, (((b & 0x3f) as u64) << 8) | b2 as u64))
            }
            2 => match b {
                0x80 => Ok((false, u32::from_be_bytes(self.array::<4>()?) as u64)),
                0x81 => Ok((false, u64::from_be_bytes(self.array::<8>()?))),
                _ => self.err(format!("unknown length encoding {b:#x}")),
            },
            _ => Ok((true, (b & 0x3f) as u64)),
        }
    }

    pub fn len(&mut self) -> RResult<u64> {
        match self.len_or_enc()? {
            (false, n) => Ok(n),
            (true, _) => self.err("unexpected encoded length"),
        }
    }

    pub fn string(&mut self) -> RResult<Vec<u8>> {
        let (enc, n) = self.len_or_enc()?;
        if !enc {
            return self.exact(n as usize);
        }
        match n as u8 {
            ENC_INT8 => Ok(itoa::Buffer::new().format(self.byte()? as i8).as_bytes().to_vec()),
            ENC_INT16 => Ok(itoa::Buffer::new().format(i16::from_le_bytes(self.array::<2>()?)).as_bytes().to_vec()),
            ENC_INT32 => Ok(itoa::Buffer::new().format(i32::from_le_bytes(self.array::<4>()?)).as_bytes().to_vec()),
            ENC_LZF => {
                let clen = self.len()? as usize;
                let len = self.len()? as usize;
                if len as u64 > self.max_alloc {
                    return self.err("LZF length too large");
                }
                let c = self.exact(clen)?;
                match lzf::decompress(&c, len) {
                    Some(v) => Ok(v),
                    None => self.err("invalid LZF compressed string"),
                }
            }
            e => self.err(format!("unknown string encoding {e}")),
        }
    }

    /// Binary double (ZSET_2) or the old text form (ZSET).
    fn double_bin(&mut self) -> RResult<f64> {
        Ok(f64::from_le_bytes(self.array::<8>()?))
    }

    fn double_text(&mut self) -> RResult<f64> {
        let n = self.byte()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let b = self.exact(n as usize)?;
                match std::str::from_utf8(&b).ok().and_then(|s| s.parse::<f64>().ok()) {
                    Some(v) => Ok(v),
                    None => self.err("invalid double"),
                }
            }
        }
    }

    fn count(&mut self) -> RResult<usize> {
        let n = self.len()?;
        if n > self.max_alloc {
            return self.err("collection length too large");
        }
        Ok(n as usize)
    }

    fn id_pair(&mut self) -> RResult<(u64, u64)> {
        Ok((self.len()?, self.len()?))
    }

    /// A stream of type 15, 19 or 21 (21 adds each consumer's active time).
    fn stream(&mut self, t: u8) -> RResult<RdbValue> {
        let mut st = RdbStream { has_v2_fields: t != T_STREAM_LISTPACKS, ..Default::default() };
        let n = self.count()?;
        for _ in 0..n {
            let k = self.string()?;
            let Ok(key) = <[u8; 16]>::try_from(k.as_slice()) else { return self.err("stream node key is not 128 bits") };
            let lp = self.string()?;
            st.nodes.push((key, lp));
        }
        st.length = self.len()?;
        st.last_id = self.id_pair()?;
        if st.has_v2_fields {
            st.first_id = self.id_pair()?;
            st.max_deleted = self.id_pair()?;
            st.entries_added = self.len()?;
        }
        let ng = self.count()?;
        for _ in 0..ng {
            let mut g = RdbGroup { name: self.string()?, last_id: self.id_pair()?, entries_read: -1, ..Default::default() };
            if st.has_v2_fields {
                g.entries_read = self.len()? as i64;
            }
            let np = self.count()?;
            for _ in 0..np {
                let id = self.array::<16>()?;
                let time = self.i64_le()?;
                let count = self.len()?;
                g.pel.push((id, time, count));
            }
            let nc = self.count()?;
            for _ in 0..nc {
                let mut c = RdbConsumer { name: self.string()?, seen_time: self.i64_le()?, pel: Vec::new() };
                if t == T_STREAM_LISTPACKS_3 {
                    self.i64_le()?; // active time
                }
                let np = self.count()?;
                for _ in 0..np {
                    c.pel.push(self.array::<16>()?);
                }
                g.consumers.push(c);
            }
            st.groups.push(g);
        }
        Ok(RdbValue::Stream(Box::new(st)))
    }

    /// Decode a value of RDB type `t`.
    pub fn value(&mut self, t: u8) -> RResult<RdbValue> {
        match t {
            T_STRING => Ok(RdbValue::Str(self.string()?)),
            T_LIST | T_SET => {
                let n = self.count()?;
                let mut v = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    v.push(self.string()?);
                }
                Ok(if t == T_LIST { RdbValue::List(v) } else { RdbValue::Set(v) })
            }
            T_ZSET | T_ZSET_2 => {
                let n = self.count()?;
                let mut v = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    let m = self.string()?;
                    let s = if t == T_ZSET_2 { self.double_bin()? } else { self.double_text()? };
                    if s.is_nan() {
                        return self.err("zset score is NaN");
                    }
                    v.push((m, s));
                }
                Ok(RdbValue::ZSet(v))
            }
            T_HASH => {
                let n = self.count()?;
                let mut v = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    let f = self.string()?;
                    let val = self.string()?;
                    v.push((f, val));
                }
                Ok(RdbValue::Hash(v))
            }
            // Packed blobs are always validated deeply; a bad one is reported with Redis's
            // message for its type (rdbReportCorruptRDB).
            T_HASH_ZIPMAP => {
                let blob = self.string()?;
                let v = encodings::zipmap_pairs(&blob).and_then(encodings::unique_pairs).map(RdbValue::Hash);
                self.integrity(v, "Zipmap integrity check failed.")
            }
            T_LIST_ZIPLIST => {
                let blob = self.string()?;
                self.integrity(encodings::ziplist_entries(&blob).map(RdbValue::List), "List ziplist integrity check failed.")
            }
            T_SET_INTSET => {
                let blob = self.string()?;
                self.integrity(encodings::intset_members(&blob).map(RdbValue::Set), "Intset integrity check failed.")
            }
            T_SET_LISTPACK => {
                let blob = self.string()?;
                self.integrity(encodings::listpack_entries(&blob).map(RdbValue::Set), "Set listpack integrity check failed.")
            }
            T_ZSET_ZIPLIST | T_ZSET_LISTPACK => {
                let blob = self.string()?;
                let entries =
                    if t == T_ZSET_ZIPLIST { encodings::ziplist_entries(&blob) } else { encodings::listpack_entries(&blob) };
                let v = entries
                    .and_then(|e| encodings::pairs(e).and_then(encodings::unique_pairs))
                    .and_then(|p| encodings::zset_pairs(p.into_iter().flat_map(|(a, b)| [a, b]).collect()))
                    .map(RdbValue::ZSet);
                let what = if t == T_ZSET_ZIPLIST { "Zset ziplist" } else { "Zset listpack" };
                self.integrity(v, &format!("{what} integrity check failed."))
            }
            T_HASH_ZIPLIST | T_HASH_LISTPACK => {
                let blob = self.string()?;
                let entries =
                    if t == T_HASH_ZIPLIST { encodings::ziplist_entries(&blob) } else { encodings::listpack_entries(&blob) };
                let v = entries.and_then(|e| encodings::pairs(e).and_then(encodings::unique_pairs)).map(RdbValue::Hash);
                let what = if t == T_HASH_ZIPLIST { "Hash ziplist" } else { "Hash listpack" };
                self.integrity(v, &format!("{what} integrity check failed."))
            }
            T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
                let n = self.count()?;
                let mut items = Vec::new();
                for _ in 0..n {
                    let container = if t == T_LIST_QUICKLIST { 2 } else { self.len()? };
                    let blob = self.string()?;
                    match container {
                        // a plain node holds one big element, never an empty one
                        1 if t == T_LIST_QUICKLIST_2 && !blob.is_empty() => items.push(blob),
                        1 if t == T_LIST_QUICKLIST_2 => return self.err("Quicklist integrity check failed."),
                        2 => {
                            let (entries, what) = if t == T_LIST_QUICKLIST {
                                (encodings::ziplist_entries(&blob), "Ziplist")
                            } else {
                                (encodings::listpack_entries(&blob), "Listpack")
                            };
                            match entries {
                                // empty nodes are skipped (an all-empty list is an empty key)
                                Ok(e) => items.extend(e),
                                Err(_) => return self.err(format!("{what} integrity check failed.")),
                            }
                        }
                        c => return self.err(format!("Quicklist integrity check failed. (unknown container {c})")),
                    }
                }
                Ok(RdbValue::List(items))
            }
            T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 | T_STREAM_LISTPACKS_3 => self.stream(t),
            T_MODULE | T_MODULE_2 => {
                // no modules: every module type is unknown (Redis's message, with the
                // type name its 64-bit id encodes)
                let id = self.len()?;
                self.err(format!("The RDB file contains module data I can't load: no matching module type '{}'", module_type_name(id)))
            }
            t => self.err(format!("unknown RDB value type {t}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_encodings_roundtrip() {
        for s in [&b""[..], b"0", b"-1", b"127", b"128", b"-32768", b"32768", b"2147483647", b"2147483648", b"007", b"hello"] {
            let mut out = Vec::new();
            encode_string(s, true, &mut out);
            let mut r = Reader::new(&out[..]);
            assert_eq!(r.string().unwrap(), s);
        }
        let long = vec![b'a'; 1000];
        let mut out = Vec::new();
        encode_string(&long, true, &mut out);
        assert!(out.len() < 100);
        assert_eq!(Reader::new(&out[..]).string().unwrap(), long);
    }

    #[test]
    fn value_roundtrip_and_dump() {
        let vals = vec![
            RdbValue::Str(b"x".to_vec()),
            RdbValue::List(vec![b"a".to_vec(), b"12".to_vec()]),
            RdbValue::Set(vec![b"m".to_vec()]),
            RdbValue::ZSet(vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), f64::INFINITY)]),
            RdbValue::Hash(vec![(b"f".to_vec(), b"v".to_vec())]),
        ];
        for v in vals {
            let p = dump_payload(&v);
            assert_eq!(restore_payload(&p).unwrap(), v);
            let mut bad = p.clone();
            bad[1] ^= 1;
            assert!(restore_payload(&bad).is_err());
        }
    }

    #[test]
    fn lengths() {
        for n in [0u64, 63, 64, 16383, 16384, 1 << 31, 1 << 40] {
            let mut out = Vec::new();
            encode_len(n, &mut out);
            assert_eq!(Reader::new(&out[..]).len().unwrap(), n);
        }
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let p = dump_payload(&RdbValue::Hash(vec![(b"f".to_vec(), b"v".to_vec()); 10]));
        for cut in 0..p.len() {
            let _ = restore_payload(&p[..cut]);
            let mut r = Reader::new(&p[..cut]);
            if let Ok(t) = r.byte() {
                let _ = r.value(t);
            }
        }
    }
}
