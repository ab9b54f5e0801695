//! Decoders for the packed blobs Redis stores inside RDB values: ziplist, listpack,
//! intset and zipmap. Only reading is needed (we write the plain encodings).
//! Every function validates bounds and returns an error text instead of panicking.
//!
//! Format facts:
//! - intset: u32 LE element width (2, 4, 8), u32 LE count, then the integers LE.
//! - ziplist: u32 total bytes, u32 tail offset, u16 count, entries, 0xFF. An entry is
//!   prevlen (1 byte, or 0xFE + u32 LE), encoding, data. Encodings: 00xxxxxx (6-bit string
//!   length), 01xxxxxx yyyyyyyy (14-bit, BE), 10000000 + u32 BE; 0xC0 int16, 0xD0 int32,
//!   0xE0 int64, 0xF0 int24, 0xFE int8, 0xF1..0xFD immediate 0..12.
//! - listpack: u32 total bytes, u16 count, entries, 0xFF. An entry is encoding+data then a
//!   backlen of 1-5 bytes. Encodings: 0xxxxxxx 7-bit uint, 10xxxxxx 6-bit string length,
//!   110xxxxx 13-bit int, 1110xxxx 12-bit string length, 0xF0 + u32 LE string length,
//!   0xF1 int16, 0xF2 int24, 0xF3 int32, 0xF4 int64 (all LE).
//! - zipmap: 1 byte count, then (len key len value free value-padding)*, 0xFF; a length
//!   is 1 byte (< 254) or 254 + u32 LE.

type R<T> = Result<T, String>;

fn get(b: &[u8], i: usize, n: usize) -> R<&[u8]> {
    b.get(i..i.checked_add(n).ok_or("overflow")?).ok_or_else(|| "blob truncated".to_string())
}

fn int_str(v: i64) -> Vec<u8> {
    itoa::Buffer::new().format(v).as_bytes().to_vec()
}

pub fn intset_members(b: &[u8]) -> R<Vec<Vec<u8>>> {
    let enc = u32::from_le_bytes(get(b, 0, 4)?.try_into().unwrap()) as usize;
    let n = u32::from_le_bytes(get(b, 4, 4)?.try_into().unwrap()) as usize;
    if ![2, 4, 8].contains(&enc) || 8 + enc * n != b.len() {
        return Err("invalid intset".into());
    }
    let vals: Vec<i64> = (0..n)
        .map(|i| {
            let p = &b[8 + i * enc..8 + (i + 1) * enc];
            match enc {
                2 => i16::from_le_bytes(p.try_into().unwrap()) as i64,
                4 => i32::from_le_bytes(p.try_into().unwrap()) as i64,
                _ => i64::from_le_bytes(p.try_into().unwrap()),
            }
        })
        .collect();
    // Redis's intsetValidateIntegrity: strictly ascending (sorted, no duplicates), not empty.
    if n == 0 || vals.windows(2).any(|w| w[0] >= w[1]) {
        return Err("intset members not ascending".into());
    }
    Ok(vals.into_iter().map(int_str).collect())
}

/// Decode a ziplist, validating it as Redis's ziplistValidateIntegrity does (deep): header
/// byte count, tail offset, entry count, every entry's prevlen against the previous
/// entry's size, every encoding, nothing past the end.
pub fn ziplist_entries(b: &[u8]) -> R<Vec<Vec<u8>>> {
    let total = u32::from_le_bytes(get(b, 0, 4)?.try_into().unwrap()) as usize;
    if total != b.len() || b.len() < 11 || *b.last().unwrap() != 0xFF {
        return Err("invalid ziplist header".into());
    }
    let tail = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
    let count = u16::from_le_bytes(b[8..10].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut i = 10;
    let mut prev_len = 0usize;
    let mut last_start = 10;
    while i < b.len() && b[i] != 0xFF {
        let start = i;
        // prevlen: one byte, or 0xFE + u32 LE
        let prevlen = if b[i] == 0xFE {
            let v = u32::from_le_bytes(get(b, i + 1, 4)?.try_into().unwrap()) as usize;
            i += 5;
            v
        } else {
            i += 1;
            b[i - 1] as usize
        };
        if prevlen != prev_len {
            return Err("ziplist entry prevlen mismatch".into());
        }
        let e = *b.get(i).ok_or("ziplist truncated")?;
        match e >> 6 {
            0 => {
                let n = (e & 0x3f) as usize;
                out.push(get(b, i + 1, n)?.to_vec());
                i += 1 + n;
            }
            1 => {
                let n = (((e & 0x3f) as usize) << 8) | *b.get(i + 1).ok_or("ziplist truncated")? as usize;
                out.push(get(b, i + 2, n)?.to_vec());
                i += 2 + n;
            }
            2 => {
                if e != 0x80 {
                    return Err(format!("invalid ziplist encoding {e:#x}"));
                }
                let n = u32::from_be_bytes(get(b, i + 1, 4)?.try_into().unwrap()) as usize;
                out.push(get(b, i + 5, n)?.to_vec());
                i += 5 + n;
            }
            _ => {
                let (v, len) = match e {
                    0xC0 => (i16::from_le_bytes(get(b, i + 1, 2)?.try_into().unwrap()) as i64, 2),
                    0xD0 => (i32::from_le_bytes(get(b, i + 1, 4)?.try_into().unwrap()) as i64, 4),
                    0xE0 => (i64::from_le_bytes(get(b, i + 1, 8)?.try_into().unwrap()), 8),
                    0xF0 => {
                        let p = get(b, i + 1, 3)?;
                        ((i32::from_le_bytes([0, p[0], p[1], p[2]]) >> 8) as i64, 3)
                    }
                    0xFE => (get(b, i + 1, 1)?[0] as i8 as i64, 1),
                    0xF1..=0xFD => ((e & 0x0f) as i64 - 1, 0),
                    _ => return Err(format!("invalid ziplist encoding {e:#x}")),
                };
                out.push(int_str(v));
                i += 1 + len;
            }
        }
        if i >= b.len() {
            return Err("ziplist entry reaches outside the blob".into());
        }
        prev_len = i - start;
        last_start = start;
    }
    if i != b.len() - 1 {
        return Err("ziplist entries overrun".into());
    }
    if tail != last_start {
        return Err("ziplist tail offset mismatch".into());
    }
    if count != 0xFFFF && count != out.len() {
        return Err("ziplist entry count mismatch".into());
    }
    Ok(out)
}

fn backlen_size(entry_len: usize) -> usize {
    match entry_len {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2097151 => 3,
        2097152..=268435455 => 4,
        _ => 5,
    }
}

pub fn listpack_entries(b: &[u8]) -> R<Vec<Vec<u8>>> {
    let total = u32::from_le_bytes(get(b, 0, 4)?.try_into().unwrap()) as usize;
    if total != b.len() || b.len() < 7 || *b.last().unwrap() != 0xFF {
        return Err("invalid listpack header".into());
    }
    let count = u16::from_le_bytes(b[4..6].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut i = 6;
    while i < b.len() && b[i] != 0xFF {
        let e = b[i];
        let (val, enc_len): (Vec<u8>, usize) = if e & 0x80 == 0 {
            (int_str((e & 0x7f) as i64), 1)
        } else if e & 0xC0 == 0x80 {
            let n = (e & 0x3f) as usize;
            (get(b, i + 1, n)?.to_vec(), 1 + n)
        } else if e & 0xE0 == 0xC0 {
            let lo = *b.get(i + 1).ok_or("listpack truncated")? as u16;
            let u = (((e & 0x1f) as u16) << 8) | lo;
            let v = if u >= 1 << 12 { u as i64 - (1 << 13) } else { u as i64 };
            (int_str(v), 2)
        } else if e & 0xF0 == 0xE0 {
            let n = (((e & 0x0f) as usize) << 8) | *b.get(i + 1).ok_or("listpack truncated")? as usize;
            (get(b, i + 2, n)?.to_vec(), 2 + n)
        } else {
            match e {
                0xF0 => {
                    let n = u32::from_le_bytes(get(b, i + 1, 4)?.try_into().unwrap()) as usize;
                    (get(b, i + 5, n)?.to_vec(), 5 + n)
                }
                0xF1 => (int_str(i16::from_le_bytes(get(b, i + 1, 2)?.try_into().unwrap()) as i64), 3),
                0xF2 => {
                    let p = get(b, i + 1, 3)?;
                    (int_str((i32::from_le_bytes([0, p[0], p[1], p[2]]) >> 8) as i64), 4)
                }
                0xF3 => (int_str(i32::from_le_bytes(get(b, i + 1, 4)?.try_into().unwrap()) as i64), 5),
                0xF4 => (int_str(i64::from_le_bytes(get(b, i + 1, 8)?.try_into().unwrap())), 9),
                _ => return Err(format!("invalid listpack encoding {e:#x}")),
            }
        };
        out.push(val);
        // the back-length must encode this entry's size (lpValidateNext)
        let bl = backlen_size(enc_len);
        let back = get(b, i + enc_len, bl)?;
        let mut v = 0usize;
        for (k, &byte) in back.iter().rev().enumerate() {
            v |= ((byte & 127) as usize) << (7 * k);
            if (byte & 128 == 0) != (k + 1 == bl) {
                return Err("listpack back-length mismatch".into());
            }
        }
        if v != enc_len {
            return Err("listpack back-length mismatch".into());
        }
        i += enc_len + bl;
    }
    if i != b.len() - 1 {
        return Err("listpack entries overrun".into());
    }
    if count != 65535 && count != out.len() {
        return Err("listpack entry count mismatch".into());
    }
    Ok(out)
}

pub fn zipmap_pairs(b: &[u8]) -> R<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut i = 1;
    let len_at = |i: usize| -> R<(usize, usize)> {
        let f = *b.get(i).ok_or("zipmap truncated")?;
        match f {
            0..=253 => Ok((f as usize, 1)),
            254 => {
                let n = u32::from_le_bytes(get(b, i + 1, 4)?.try_into().unwrap()) as usize;
                // the 5-byte form is only for lengths that do not fit in one byte
                if n < 254 {
                    return Err("zipmap 5-byte length for a small length".into());
                }
                Ok((n, 5))
            }
            _ => Err("zipmap end inside entry".into()),
        }
    };
    while *b.get(i).ok_or("zipmap truncated")? != 0xFF {
        let (kl, ks) = len_at(i)?;
        let key = get(b, i + ks, kl)?.to_vec();
        i += ks + kl;
        let (vl, vs) = len_at(i)?;
        let free = *b.get(i + vs).ok_or("zipmap truncated")? as usize;
        let val = get(b, i + vs + 1, vl)?.to_vec();
        i += vs + 1 + vl + free;
        out.push((key, val));
    }
    // (an empty zipmap fails Redis's zipmapValidateIntegrity too)
    if i != b.len() - 1 || (b[0] < 254 && b[0] as usize != out.len()) || out.is_empty() {
        return Err("zipmap end mismatch".into());
    }
    Ok(out)
}

/// Flat [k1, v1, k2, v2, ...] into pairs.
pub fn pairs(flat: Vec<Vec<u8>>) -> R<Vec<(Vec<u8>, Vec<u8>)>> {
    if flat.len() % 2 != 0 {
        return Err("odd number of elements in a hash blob".into());
    }
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// Pairs whose first elements are unique (Redis validates ziplist/listpack hashes and
/// zsets for duplicates while converting them).
pub fn unique_pairs<V>(p: Vec<(Vec<u8>, V)>) -> R<Vec<(Vec<u8>, V)>> {
    let mut seen = std::collections::HashSet::with_capacity(p.len());
    if p.iter().any(|(k, _)| !seen.insert(k.as_slice())) {
        return Err("duplicate elements".into());
    }
    Ok(p)
}

/// Flat [member, score, ...] into (member, score) pairs.
pub fn zset_pairs(flat: Vec<Vec<u8>>) -> R<Vec<(Vec<u8>, f64)>> {
    pairs(flat)?
        .into_iter()
        .map(|(m, s)| {
            let v = crate::util::numfmt::parse_f64(&s).ok_or_else(|| "invalid zset score".to_string())?;
            if v.is_nan() {
                return Err("zset score is NaN".to_string());
            }
            Ok((m, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_ints_and_strings() {
        // [total u32][count u16] entries 0xFF: 7-bit int 5, string "ab", 13-bit int -1
        let mut b = vec![0, 0, 0, 0, 3, 0];
        b.extend_from_slice(&[5, 1]); // uint 5, backlen 1
        b.extend_from_slice(&[0x82, b'a', b'b', 3]); // str "ab", backlen 3
        b.extend_from_slice(&[0xDF, 0xFF, 2]); // 13-bit: 0x1FFF = -1
        b.push(0xFF);
        let n = b.len() as u32;
        b[..4].copy_from_slice(&n.to_le_bytes());
        assert_eq!(listpack_entries(&b).unwrap(), vec![b"5".to_vec(), b"ab".to_vec(), b"-1".to_vec()]);
        assert!(listpack_entries(&b[..b.len() - 2]).is_err());
    }

    #[test]
    fn intset_and_garbage() {
        let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0];
        b.extend_from_slice(&(-3i16).to_le_bytes());
        b.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(intset_members(&b).unwrap(), vec![b"-3".to_vec(), b"7".to_vec()]);
        assert!(intset_members(&b[..9]).is_err());
        assert!(ziplist_entries(&[1, 2, 3]).is_err());
        assert!(zipmap_pairs(&[1, 200]).is_err());
    }
}
