//! BER-TLV as PIV uses it (ISO 7816-4, 5.2; SP 800-73-4 part 2, 3.3): tags of one to three
//! bytes, lengths of one to three bytes (`81 xx`, `82 xx xx`).

/// One TLV read from the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, its bytes big-endian (`0x5FC105`).
    pub tag: u32,
    /// The value.
    pub value: &'a [u8],
}

/// Splits the first TLV off `data`; `None` if it is malformed or runs past the end.
pub fn take(data: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&first, mut rest) = data.split_first()?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        for count in 0.. {
            let (&b, tail) = rest.split_first()?;
            if count == 2 {
                return None;
            }
            tag = (tag << 8) | u32::from(b);
            rest = tail;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let (&len0, tail) = rest.split_first()?;
    let (len, tail) = match len0 {
        0..=0x7F => (usize::from(len0), tail),
        0x81 => {
            let (&b, tail) = tail.split_first()?;
            (usize::from(b), tail)
        }
        0x82 => {
            let (hi_lo, tail) = tail.split_at_checked(2)?;
            (usize::from(u16::from_be_bytes([hi_lo[0], hi_lo[1]])), tail)
        }
        _ => return None,
    };
    let (value, rest) = tail.split_at_checked(len)?;
    Some((Tlv { tag, value }, rest))
}

/// Iterates the TLVs of `data` in order; stops (yielding `Err`) at the first malformed one.
pub fn iter(mut data: &[u8]) -> impl Iterator<Item = Result<Tlv<'_>, ()>> {
    core::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        match take(data) {
            Some((tlv, rest)) => {
                data = rest;
                Some(Ok(tlv))
            }
            None => {
                data = &[];
                Some(Err(()))
            }
        }
    })
}

/// Parses `data` as exactly one TLV with tag `tag`, nothing after it.
pub fn only(data: &[u8], tag: u32) -> Option<&[u8]> {
    match take(data)? {
        (tlv, []) if tlv.tag == tag => Some(tlv.value),
        _ => None,
    }
}

/// Writes the header of a TLV into `out`; returns its length, or `None` if `len` exceeds
/// 65,535 or `out` is too short.
pub fn encode_header(tag: u32, len: usize, out: &mut [u8]) -> Option<usize> {
    let tag_bytes = tag.to_be_bytes();
    let skip = tag_bytes.iter().take(3).take_while(|&&b| b == 0).count();
    let tag_bytes = &tag_bytes[skip..];
    let mut len_bytes = [0u8; 3];
    let len_bytes = match len {
        0..=0x7F => {
            len_bytes[0] = len as u8;
            &len_bytes[..1]
        }
        0x80..=0xFF => {
            len_bytes[..2].copy_from_slice(&[0x81, len as u8]);
            &len_bytes[..2]
        }
        0x100..=0xFFFF => {
            let [hi, lo] = (len as u16).to_be_bytes();
            len_bytes.copy_from_slice(&[0x82, hi, lo]);
            &len_bytes[..]
        }
        _ => return None,
    };
    let total = tag_bytes.len() + len_bytes.len();
    let out = out.get_mut(..total)?;
    out[..tag_bytes.len()].copy_from_slice(tag_bytes);
    out[tag_bytes.len()..].copy_from_slice(len_bytes);
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_byte_tags_and_long_lengths() {
        let mut data = [0u8; 300];
        data[..6].copy_from_slice(&[0x5F, 0xC1, 0x05, 0x82, 0x01, 0x00]);
        data[262..265].copy_from_slice(&[0x7C, 0x00, 0xEE]);
        let (tlv, rest) = take(&data).unwrap();
        assert_eq!((tlv.tag, tlv.value.len()), (0x5FC105, 256));
        let (tlv, rest) = take(rest).unwrap();
        assert_eq!((tlv.tag, tlv.value, rest.len()), (0x7C, &[][..], 36));
    }

    #[test]
    fn refuses_truncated_or_oversized() {
        for bad in [
            &[0x53u8, 0x02, 0x00][..],
            &[0x53, 0x83, 0, 0, 1],
            &[0x5F],
            &[0x5F, 0xFF, 0xFF, 0xFF, 0x00],
            &[0x53, 0x82, 0x01],
        ] {
            assert_eq!(take(bad), None, "{bad:02X?}");
        }
    }

    #[test]
    fn header_round_trips() {
        for (tag, len) in [(0x53, 5), (0x7F49, 200), (0x5FC105, 3000), (0x82, 0)] {
            let mut buf = [0u8; 3008];
            let n = encode_header(tag, len, &mut buf).unwrap();
            let (tlv, _) = take(&buf[..n + len]).unwrap();
            assert_eq!((tlv.tag, tlv.value.len()), (tag, len));
        }
    }
}
