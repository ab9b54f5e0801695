//! LZF compression as RDB uses it (format of liblzf: literal runs and back references).
//!
//! Format facts: a control byte `c`; if `c < 32` it is followed by `c + 1` literal bytes;
//! otherwise `len = c >> 5` (7 means "read one more byte and add it"), the back-reference
//! offset is `((c & 0x1f) << 8 | next) + 1`, and `len + 2` bytes are copied from that far
//! back in the output. Offsets reach at most 8192 bytes back.

const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const HASH_BITS: u32 = 14;

/// Decompress `input` into exactly `out_len` bytes. None if the data is malformed.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if i + run > input.len() || out.len() + run > out_len {
                return None;
            }
            out.extend_from_slice(&input[i..i + run]);
            i += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let off = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            len += 2;
            if off > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - off;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return None;
    }
    Some(out)
}

#[inline]
fn hash3(p: &[u8]) -> usize {
    let v = (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32;
    (v.wrapping_mul(2654435761) >> (32 - HASH_BITS)) as usize
}

/// Compress `input`. Returns None if the result would not be smaller than `max_out` bytes.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out = Vec::with_capacity(max_out.min(n + n / 16 + 64));
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let mut lit_start = 0usize;
    let mut i = 0usize;
    let flush_literals = |out: &mut Vec<u8>, from: usize, to: usize| {
        let mut s = from;
        while s < to {
            let run = (to - s).min(MAX_LIT);
            out.push((run - 1) as u8);
            out.extend_from_slice(&input[s..s + run]);
            s += run;
        }
    };
    while i + 2 < n {
        let h = hash3(&input[i..]);
        let cand = table[h];
        table[h] = i;
        if cand != usize::MAX && i - cand <= MAX_OFF && input[cand..cand + 3] == input[i..i + 3] {
            // extend the match
            let mut len = 3;
            let maxlen = (n - i).min(MAX_REF);
            while len < maxlen && input[cand + len] == input[i + len] {
                len += 1;
            }
            flush_literals(&mut out, lit_start, i);
            let off = i - cand - 1;
            let l = len - 2;
            if l < 7 {
                out.push(((l << 5) | (off >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (off >> 8)) as u8);
                out.push((l - 7) as u8);
            }
            out.push((off & 0xff) as u8);
            // index the positions we skip over so later matches can find them
            let end = i + len;
            i += 1;
            while i < end && i + 2 < n {
                table[hash3(&input[i..])] = i;
                i += 1;
            }
            i = end;
            lit_start = i;
            if out.len() >= max_out {
                return None;
            }
        } else {
            i += 1;
        }
    }
    flush_literals(&mut out, lit_start, n);
    if out.len() >= max_out {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let mut rng = 12345u64;
        for size in [0usize, 1, 2, 3, 10, 100, 1000, 10000, 70000] {
            for kind in 0..3 {
                let data: Vec<u8> = (0..size)
                    .map(|i| match kind {
                        0 => b'a',
                        1 => (i % 17) as u8,
                        _ => {
                            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                            (rng >> 56) as u8
                        }
                    })
                    .collect();
                if let Some(c) = compress(&data, data.len() + 100) {
                    assert_eq!(decompress(&c, data.len()).unwrap(), data, "size {size} kind {kind}");
                }
            }
        }
        let run = vec![b'x'; 500];
        assert_eq!(decompress(&compress(&run, 496).unwrap(), 500).unwrap(), run);
        let big = vec![b'x'; 5000];
        let c = compress(&big, big.len()).unwrap();
        assert!(c.len() < 200);
    }

    #[test]
    fn decompress_rejects_garbage() {
        assert!(decompress(&[0xff, 0x00], 10).is_none());
        assert!(decompress(&[5, 1, 2], 6).is_none());
        assert!(decompress(&[0, b'a'], 2).is_none());
    }
}

