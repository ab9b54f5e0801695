//! Bit commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! Bit 0 is the most significant bit of the first byte (Redis's convention). Strings grow
//! zero-padded as bits past their end are written; a grown or modified string is
//! raw-encoded, as in Redis. Range arguments of BITCOUNT/BITPOS are resolved to an
//! inclusive bit range [first, last] and scanned a word at a time.

use super::strings::{keep_raw, new_raw, obeys_master, raw_buf};
use super::{arg_i64, eq_ic, notify, Ctx, Ks, Registration, NOT_INT, SYNTAX_ERR, WRONGTYPE};
use crate::keyspace::Value;
use crate::protocol::ReplyBuf;
use crate::util::numfmt::parse_i64;
use std::borrow::Cow;
use std::sync::atomic::Ordering::Relaxed;

pub const COMMANDS: &[Registration] = &[
    ("setbit", setbit, 0),
    ("getbit", getbit, 0),
    ("bitcount", bitcount, 0),
    ("bitpos", bitpos, 0),
    ("bitop", bitop, 0),
    ("bitfield", bitfield, 0),
    ("bitfield_ro", bitfield_ro, 0),
];

const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";

/// Redis's getBitOffsetFromArgument: a bit offset below proto-max-bulk-len bytes.
/// With `hash_bits > 0` (BITFIELD) "#n" means n * hash_bits.
fn bit_offset(ctx: &mut Ctx, arg: &[u8], hash_bits: u32) -> Option<u64> {
    let (digits, mul) = match arg.first() {
        Some(b'#') if hash_bits > 0 => (&arg[1..], hash_bits as i64),
        _ => (arg, 1),
    };
    let off = parse_i64(digits).map(|v| v.wrapping_mul(mul));
    match off {
        Some(o) if o >= 0 && (obeys_master(ctx) || (o >> 3) < ctx.srv.hot.proto_max_bulk_len.load(Relaxed)) => {
            Some(o as u64)
        }
        _ => {
            ctx.out.error(BIT_OFFSET_ERR);
            None
        }
    }
}

/// Redis's lookupStringForBitCommand: the string at `key` grown to hold bit `maxbit`
/// (created if missing). Returns (buffer, whether it was created or grew), or None after
/// replying WRONGTYPE.
fn string_for_bits<'k>(ks: &'k mut Ks, out: &mut ReplyBuf, key: &[u8], maxbit: u64) -> Option<(&'k mut Vec<u8>, bool)> {
    let need = (maxbit >> 3) as usize + 1;
    let created = match ks.peek(key) {
        None => {
            ks.add_key(key, new_raw(need));
            true
        }
        Some(v) if !v.is_string() => {
            out.error(WRONGTYPE);
            return None;
        }
        Some(_) => false,
    };
    let b = raw_buf(ks.get_mut(key).expect("key present")).expect("string value");
    let grew = b.len() < need;
    if grew {
        b.resize(need, 0);
        keep_raw(b);
    }
    Some((b, created || grew))
}

fn setbit(ctx: &mut Ctx, argv: &[&[u8]]) {
    const ERR: &str = "ERR bit is not an integer or out of range";
    let key = argv[1];
    let Some(off) = bit_offset(ctx, argv[2], 0) else { return };
    let on = match parse_i64(argv[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return ctx.out.error(ERR),
    };
    let Some((b, dirty)) = string_for_bits(&mut ctx.ks, ctx.out, key, off) else { return };
    let (byte, mask) = ((off >> 3) as usize, 0x80u8 >> (off & 7));
    let old = (b[byte] & mask != 0) as u8;
    if dirty || old != on {
        b[byte] = if on == 1 { b[byte] | mask } else { b[byte] & !mask };
        ctx.ks.signal_modified(key);
        ctx.ks.notify(notify::STRING, "setbit", key);
        ctx.ks.dirty(1);
    }
    ctx.out.int(old as i64);
}

fn getbit(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(off) = bit_offset(ctx, argv[2], 0) else { return };
    let Some(v) = ctx.ks.get(argv[1]) else { return ctx.out.int(0) };
    let (byte, mask) = ((off >> 3) as usize, 0x80u8 >> (off & 7));
    match v.with_bytes(|s| s.get(byte).is_some_and(|c| c & mask != 0)) {
        Some(bit) => ctx.out.int(bit as i64),
        None => ctx.out.error(WRONGTYPE),
    }
}

/// Number of set bits in the bit range [first, last] (inclusive) of `s`.
fn count_bits(s: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let mut n = popcount(&s[fb..=lb]);
    // Drop the bits of the edge bytes that are outside the range.
    n -= (s[fb] & !(0xFFu8 >> (first & 7))).count_ones() as u64;
    n -= (s[lb] & (0x7Fu8 >> (last & 7))).count_ones() as u64;
    n
}

fn popcount(s: &[u8]) -> u64 {
    let mut chunks = s.chunks_exact(8);
    let mut n: u64 = (&mut chunks).map(|c| u64::from_ne_bytes(c.try_into().unwrap()).count_ones() as u64).sum();
    n += chunks.remainder().iter().map(|c| c.count_ones() as u64).sum::<u64>();
    n
}

/// Position of the first bit equal to `bit` in the bit range [first, last] of `s`.
fn find_bit(s: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    // Byte `i` with the bits outside the range forced to the opposite of `bit`.
    let masked = |i: usize| -> u8 {
        let mut inside = 0xFFu8;
        if i == fb {
            inside &= 0xFF >> (first & 7);
        }
        if i == lb {
            inside &= 0xFF << (7 - (last & 7));
        }
        let c = if bit { s[i] } else { !s[i] };
        c & inside
    };
    let hit = |i: usize, c: u8| Some(i as u64 * 8 + c.leading_zeros() as u64);
    let c = masked(fb);
    if c != 0 {
        return hit(fb, c);
    }
    if fb == lb {
        return None;
    }
    // Whole bytes in between: skip 8 at a time.
    let skip: u8 = if bit { 0 } else { 0xFF };
    let mut i = fb + 1;
    while i + 8 <= lb {
        let w = u64::from_ne_bytes(s[i..i + 8].try_into().unwrap());
        if w != u64::from_ne_bytes([skip; 8]) {
            break;
        }
        i += 8;
    }
    while i < lb {
        if s[i] != skip {
            return hit(i, masked(i));
        }
        i += 1;
    }
    let c = masked(lb);
    if c != 0 {
        hit(lb, c)
    } else {
        None
    }
}

/// BITCOUNT/BITPOS range arithmetic: negative indexes from the end, clamped to the string
/// of `len` bytes; returns the inclusive bit range, or None if it is empty.
fn bit_range(mut start: i64, mut end: i64, len: usize, isbit: bool) -> Option<(u64, u64)> {
    let total = if isbit { len as i64 * 8 } else { len as i64 };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0).min(total - 1);
    if start > end {
        return None;
    }
    Some(if isbit { (start as u64, end as u64) } else { (start as u64 * 8, end as u64 * 8 + 7) })
}

/// BYTE or BIT unit argument (absent: BYTE); None after a syntax error reply.
fn unit_arg(out: &mut ReplyBuf, arg: Option<&&[u8]>) -> Option<bool> {
    match arg {
        None => Some(false),
        Some(a) if eq_ic(a, "bit") => Some(true),
        Some(a) if eq_ic(a, "byte") => Some(false),
        Some(_) => {
            out.error(SYNTAX_ERR);
            None
        }
    }
}

/// An integer argument (absent: `default`); None after the error reply.
fn int_arg(out: &mut ReplyBuf, arg: Option<&&[u8]>, default: i64) -> Option<i64> {
    match arg {
        None => Some(default),
        Some(a) => {
            let v = parse_i64(a);
            if v.is_none() {
                out.error(NOT_INT);
            }
            v
        }
    }
}

fn bitcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(v) = ctx.ks.get(argv[1]) else { return ctx.out.int(0) };
    let Some(s) = v.as_bytes() else { return ctx.out.error(WRONGTYPE) };
    let range = match argv.len() {
        2 if s.is_empty() => None,
        2 => Some((0, s.len() as u64 * 8 - 1)),
        4 | 5 => {
            let Some(start) = int_arg(ctx.out, argv.get(2), 0) else { return };
            let Some(end) = int_arg(ctx.out, argv.get(3), 0) else { return };
            if start < 0 && end < 0 && start > end {
                return ctx.out.int(0);
            }
            let Some(isbit) = unit_arg(ctx.out, argv.get(4)) else { return };
            bit_range(start, end, s.len(), isbit)
        }
        _ => return ctx.out.error(SYNTAX_ERR),
    };
    let n = range.map_or(0, |(first, last)| count_bits(&s, first, last));
    ctx.out.int(n as i64);
}

fn bitpos(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(bit) = arg_i64(ctx, argv[2]) else { return };
    if bit != 0 && bit != 1 {
        return ctx.out.error("ERR The bit argument must be 1 or 0.");
    }
    let bit = bit == 1;
    let Some(v) = ctx.ks.get(argv[1]) else { return ctx.out.int(if bit { -1 } else { 0 }) };
    let Some(s) = v.as_bytes() else { return ctx.out.error(WRONGTYPE) };
    let len = s.len();
    let (range, end_given) = match argv.len() {
        3 => (bit_range(0, -1, len, false), false),
        4..=6 => {
            let Some(start) = int_arg(ctx.out, argv.get(3), 0) else { return };
            let Some(isbit) = unit_arg(ctx.out, argv.get(5)) else { return };
            let Some(end) = int_arg(ctx.out, argv.get(4), -1) else { return };
            (bit_range(start, end, len, isbit), argv.len() >= 5)
        }
        _ => return ctx.out.error(SYNTAX_ERR),
    };
    let pos = match range {
        None => -1,
        Some((first, last)) => match find_bit(&s, bit, first, last) {
            Some(p) => p as i64,
            // Looking for a clear bit without an explicit end: the string is taken as
            // zero-padded on the right.
            None if !bit && !end_given => (last / 8 + 1) as i64 * 8,
            None => -1,
        },
    };
    ctx.out.int(pos);
}

#[derive(Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let op = match argv[1].to_ascii_lowercase().as_slice() {
        b"and" => BitOp::And,
        b"or" => BitOp::Or,
        b"xor" => BitOp::Xor,
        b"not" => BitOp::Not,
        _ => return ctx.out.error(SYNTAX_ERR),
    };
    if op == BitOp::Not && argv.len() != 4 {
        return ctx.out.error("ERR BITOP NOT must be called with a single source key.");
    }
    let dest = argv[2];
    let mut srcs: Vec<Cow<[u8]>> = Vec::with_capacity(argv.len() - 3);
    for k in &argv[3..] {
        match ctx.ks.get(k) {
            None => srcs.push(Cow::Borrowed(&[])),
            Some(v) => match v.as_bytes() {
                Some(b) => srcs.push(b),
                None => return ctx.out.error(WRONGTYPE),
            },
        }
    }
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut res = Vec::with_capacity(maxlen + 1);
    if maxlen > 0 {
        res.extend_from_slice(&srcs[0]);
        res.resize(maxlen, 0);
        match op {
            BitOp::Not => res.iter_mut().for_each(|c| *c = !*c),
            _ => {
                for s in &srcs[1..] {
                    // Missing bytes of shorter inputs are zeros.
                    match op {
                        BitOp::And => {
                            res.iter_mut().zip(s.iter()).for_each(|(r, c)| *r &= c);
                            res[s.len()..].iter_mut().for_each(|r| *r = 0);
                        }
                        BitOp::Or => res.iter_mut().zip(s.iter()).for_each(|(r, c)| *r |= c),
                        _ => res.iter_mut().zip(s.iter()).for_each(|(r, c)| *r ^= c),
                    }
                }
            }
        }
    }
    drop(srcs);
    if maxlen > 0 {
        ctx.ks.set_key(dest, Value::Heap(Box::new(res)), false);
        ctx.ks.notify(notify::STRING, "set", dest);
        ctx.ks.dirty(1);
    } else if ctx.ks.exists(dest) {
        ctx.ks.delete(dest);
        ctx.ks.notify(notify::GENERIC, "del", dest);
        ctx.ks.dirty(1);
    }
    ctx.out.int(maxlen as i64);
}

// ---------------------------------------------------------------------------------------
// BITFIELD

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set(i64),
    Incr(i64),
}

#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    overflow: Overflow,
}

fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for o in offset..offset + bits as u64 {
        let bit = (p[(o >> 3) as usize] >> (7 - (o & 7))) & 1;
        v = (v << 1) | bit as u64;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        v | (-1i64 << bits)
    } else {
        v
    }
}

fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let bit = (value >> (bits as u64 - 1 - j)) & 1;
        let o = offset + j;
        let (byte, shift) = ((o >> 3) as usize, 7 - (o & 7));
        p[byte] = (p[byte] & !(1 << shift)) | ((bit as u8) << shift);
    }
}

/// Redis's checkUnsignedBitfieldOverflow: Some(result) on overflow (the wrapped or
/// saturated value; unused for FAIL), None if `value + incr` fits in `bits` bits.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrap() })
    } else if incr < 0 && incr < minincr {
        Some(if ow == Overflow::Sat { 0 } else { wrap() })
    } else {
        None
    }
}

/// Redis's checkSignedBitfieldOverflow, same contract as `unsigned_overflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            (if c & (1 << (bits - 1)) != 0 { c | mask } else { c & !mask }) as i64
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrap() })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        Some(if ow == Overflow::Sat { min } else { wrap() })
    } else {
        None
    }
}

/// "i8", "u16"...: (signed, bits). u64 is not supported, i64 is.
fn field_type(ctx: &mut Ctx, arg: &[u8]) -> Option<(bool, u32)> {
    let signed = match arg.first() {
        Some(b'i') => Some(true),
        Some(b'u') => Some(false),
        _ => None,
    };
    // The width is read up to a NUL, as C's strlen would.
    let digits = arg.get(1..).map(|d| d.split(|&c| c == 0).next().unwrap_or(d));
    let bits = digits.and_then(parse_i64);
    match (signed, bits) {
        (Some(true), Some(b @ 1..=64)) | (Some(false), Some(b @ 1..=63)) => Some((signed.unwrap(), b as u32)),
        _ => {
            ctx.out.error(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            );
            None
        }
    }
}

fn parse_fields(ctx: &mut Ctx, argv: &[&[u8]]) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let rem = argv.len() - j - 1;
        let sub = argv[j];
        let is_get = eq_ic(sub, "get") && rem >= 2;
        let is_set = eq_ic(sub, "set") && rem >= 3;
        let is_incr = eq_ic(sub, "incrby") && rem >= 3;
        if eq_ic(sub, "overflow") && rem >= 1 {
            let t = argv[j + 1];
            overflow = if eq_ic(t, "wrap") {
                Overflow::Wrap
            } else if eq_ic(t, "sat") {
                Overflow::Sat
            } else if eq_ic(t, "fail") {
                Overflow::Fail
            } else {
                ctx.out.error("ERR Invalid OVERFLOW type specified");
                return None;
            };
            j += 2;
            continue;
        }
        if !(is_get || is_set || is_incr) {
            ctx.out.error(SYNTAX_ERR);
            return None;
        }
        let (signed, bits) = field_type(ctx, argv[j + 1])?;
        let offset = bit_offset(ctx, argv[j + 2], bits)?;
        let op = if is_get {
            FieldOp::Get
        } else {
            let v = arg_i64(ctx, argv[j + 3])?;
            if is_set {
                FieldOp::Set(v)
            } else {
                FieldOp::Incr(v)
            }
        };
        fields.push(Field { op, offset, bits, signed, overflow });
        j += if is_get { 3 } else { 4 };
    }
    Some(fields)
}

/// Run one SET/INCRBY on `p`: Some(reply value) or None (FAIL overflow: nothing written),
/// and whether the stored bits changed.
fn write_field(p: &mut [u8], f: &Field) -> (Option<i64>, bool) {
    let (old, new, overflow, ret_new);
    if f.signed {
        let o = get_signed(p, f.offset, f.bits);
        let (cand, incr, is_incr) = match f.op {
            FieldOp::Incr(i) => (o, i, true),
            FieldOp::Set(v) => (v, 0, false),
            FieldOp::Get => unreachable!(),
        };
        let ow = signed_overflow(cand, incr, f.bits, f.overflow);
        let n = ow.unwrap_or(cand.wrapping_add(incr));
        (old, new, overflow, ret_new) = (o as u64, n as u64, ow.is_some(), is_incr);
    } else {
        let o = get_unsigned(p, f.offset, f.bits);
        let (cand, incr, is_incr) = match f.op {
            FieldOp::Incr(i) => (o, i, true),
            FieldOp::Set(v) => (v as u64, 0, false),
            FieldOp::Get => unreachable!(),
        };
        let ow = unsigned_overflow(cand, incr, f.bits, f.overflow);
        let n = ow.unwrap_or(cand.wrapping_add(incr as u64));
        (old, new, overflow, ret_new) = (o, n, ow.is_some(), is_incr);
    }
    if overflow && f.overflow == Overflow::Fail {
        return (None, false);
    }
    set_unsigned(p, f.offset, f.bits, new);
    (Some(if ret_new { new as i64 } else { old as i64 }), old != new)
}

fn read_field(p: &[u8], f: &Field) -> i64 {
    // Copy the (up to 9) bytes holding the field into a zero-padded buffer.
    let byte = (f.offset >> 3) as usize;
    let mut buf = [0u8; 9];
    if byte < p.len() {
        let n = (p.len() - byte).min(9);
        buf[..n].copy_from_slice(&p[byte..byte + n]);
    }
    let off = f.offset & 7;
    if f.signed {
        get_signed(&buf, off, f.bits)
    } else {
        get_unsigned(&buf, off, f.bits) as i64
    }
}

fn bitfield_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly_cmd: bool) {
    let key = argv[1];
    let Some(fields) = parse_fields(ctx, argv) else { return };
    let highest = fields.iter().filter(|f| f.op != FieldOp::Get).map(|f| f.offset + f.bits as u64 - 1).max();
    let Some(highest) = highest else {
        // Only GETs: a read, missing key reads as zeros.
        let out = &mut *ctx.out;
        let mut reply = |s: &[u8]| {
            out.array(fields.len());
            fields.iter().for_each(|f| out.int(read_field(s, f)));
        };
        match ctx.ks.get(key) {
            None => reply(&[]),
            Some(v) => {
                if v.with_bytes(reply).is_none() {
                    ctx.out.error(WRONGTYPE);
                }
            }
        }
        return;
    };
    if readonly_cmd {
        return ctx.out.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let Some((buf, dirty)) = string_for_bits(&mut ctx.ks, ctx.out, key, highest) else { return };
    let out = &mut *ctx.out;
    out.array(fields.len());
    let mut changes = 0;
    for f in &fields {
        match f.op {
            FieldOp::Get => out.int(read_field(buf, f)),
            _ => match write_field(buf, f) {
                (Some(v), changed) => {
                    out.int(v);
                    if dirty || changed {
                        changes += 1;
                    }
                }
                (None, _) => out.null(),
            },
        }
    }
    if changes > 0 {
        ctx.ks.signal_modified(key);
        ctx.ks.notify(notify::STRING, "setbit", key);
        ctx.ks.dirty(changes);
    }
}

fn bitfield(ctx: &mut Ctx, argv: &[&[u8]]) {
    bitfield_generic(ctx, argv, false);
}

fn bitfield_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    bitfield_generic(ctx, argv, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::strings::harness::H;

    #[test]
    fn wrong_type_errors() {
        let mut h = H::new();
        h.make_list(b"l");
        h.reply(&[b"set", b"x", b"1"]);
        let wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for args in [
            &[&b"setbit"[..], b"l", b"0", b"1"][..],
            &[b"getbit", b"l", b"0"],
            &[b"bitcount", b"l"],
            &[b"bitpos", b"l", b"1"],
            &[b"bitop", b"or", b"d", b"x", b"l"],
            &[b"bitfield", b"l", b"get", b"u8", b"0"],
            &[b"bitfield", b"l", b"set", b"u8", b"0", b"1"],
            &[b"bitfield_ro", b"l", b"get", b"u8", b"0"],
        ] {
            let r = h.run(args);
            assert_eq!(r.reply, wrongtype, "{:?}", String::from_utf8_lossy(args[0]));
            assert_eq!(r.dirty, 0);
        }
        assert_eq!(
            h.reply(&[b"bitfield_ro", b"l", b"set", b"u8", b"0", b"1"]),
            b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"
        );
    }

    /// SETBIT and BITFIELD count a write only when the string was created, grew or changed.
    #[test]
    fn dirty_only_on_change() {
        let mut h = H::new();
        let mut dirty = |args: &[&[u8]]| h.run(args).dirty;
        assert_eq!(dirty(&[b"setbit", b"a", b"0", b"0"]), 1);
        assert_eq!(dirty(&[b"bitfield", b"b", b"set", b"i5", b"0", b"0"]), 1);
        assert_eq!(dirty(&[b"setbit", b"a", b"0", b"0"]), 0);
        assert_eq!(dirty(&[b"bitfield", b"b", b"set", b"i5", b"0", b"0"]), 0);
        assert_eq!(dirty(&[b"setbit", b"a", b"0", b"1"]), 1);
        assert_eq!(dirty(&[b"bitfield", b"b", b"set", b"i5", b"0", b"1", b"set", b"i5", b"0", b"1"]), 1);
        assert_eq!(dirty(&[b"bitfield", b"c", b"incrby", b"i5", b"0", b"1", b"incrby", b"i5", b"0", b"1"]), 2);
        assert_eq!(dirty(&[b"setbit", b"a", b"90", b"0"]), 1);
        assert_eq!(dirty(&[b"bitfield", b"b", b"set", b"i5", b"90", b"0"]), 1);
        assert_eq!(dirty(&[b"bitfield", b"b", b"overflow", b"fail", b"set", b"u2", b"0", b"9"]), 0);
        assert_eq!(dirty(&[b"bitop", b"not", b"d", b"a"]), 1);
        assert_eq!(dirty(&[b"bitop", b"and", b"d", b"nokey"]), 1);
        assert_eq!(dirty(&[b"bitop", b"and", b"d", b"nokey"]), 0);
    }

    #[test]
    fn count_and_find_in_ranges() {
        let s = b"foobar";
        assert_eq!(count_bits(s, 0, 47), 26);
        assert_eq!(count_bits(s, 8, 39), popcount(b"ooba"));
        // bits 10..=14 of "foobar"
        let naive = |a: u64, b: u64| (a..=b).filter(|&i| s[(i / 8) as usize] & (0x80 >> (i % 8)) != 0).count() as u64;
        for (a, b) in [(10, 14), (3, 14), (3, 29), (0, 0), (7, 8), (47, 47)] {
            assert_eq!(count_bits(s, a, b), naive(a, b), "{a}..{b}");
        }
        let z = b"\xff\xf0\x00";
        assert_eq!(find_bit(z, false, 0, 23), Some(12));
        assert_eq!(find_bit(z, true, 12, 23), None);
        let mut long = vec![0u8; 40];
        long[33] = 0x10;
        assert_eq!(find_bit(&long, true, 3, 319), Some(33 * 8 + 3));
        assert_eq!(find_bit(&long, true, 3, 33 * 8 + 2), None);
    }

    #[test]
    fn bitpos_ranges() {
        assert_eq!(bit_range(0, -1, 3, false), Some((0, 23)));
        assert_eq!(bit_range(2, 200, 3, false), Some((16, 23)));
        assert_eq!(bit_range(1, 1, 3, false), Some((8, 15)));
        assert_eq!(bit_range(0, -1, 0, false), None);
        assert_eq!(bit_range(10, -34, 6, true), Some((10, 14)));
    }

    #[test]
    fn bitfield_overflow_rules() {
        // u8 100 + 257 wraps to 101, saturates to 255
        assert_eq!(unsigned_overflow(100, 257, 8, Overflow::Wrap), Some(101));
        assert_eq!(unsigned_overflow(100, 257, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(100, -255, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(100, 10, 8, Overflow::Fail), None);
        assert_eq!(signed_overflow(100, 257, 8, Overflow::Wrap), Some(101));
        assert_eq!(signed_overflow(100, 257, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_overflow(100, -255, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(signed_overflow(-1, 1, 64, Overflow::Fail), None);
        let mut p = [0u8; 3];
        set_unsigned(&mut p, 7, 5, 23);
        assert_eq!(p, [0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(get_unsigned(&p, 7, 5), 23);
        assert_eq!(get_signed(&[0xff], 0, 8), -1);
    }
}
