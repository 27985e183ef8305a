//! BER-TLV as PIV uses it (ISO 7816-4, 5.2; SP 800-73-4 part 2, 3.3): tags of one to three
//! bytes, lengths in the short form or `81 xx` / `82 xx xx`. Reads borrow from the buffer
//! and writes fill small arrays: nothing is allocated.

use core::ops::Deref;

/// One TLV read from a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, its bytes big-endian (`0x5FC105`, `0x7F49`, `0x53`).
    pub tag: u32,
    /// The value.
    pub value: &'a [u8],
}

/// Why a TLV could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlvError {
    /// The tag, the length or the value runs past the end of the buffer.
    Truncated,
    /// The tag is longer than three bytes.
    TagTooLong,
    /// The length is in a form other than `00`..`7F`, `81 xx`, `82 xx xx`.
    LengthForm,
}

impl core::fmt::Display for TlvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Truncated => "a TLV element is cut short",
            Self::TagTooLong => "a TLV tag is longer than three bytes",
            Self::LengthForm => "a TLV length uses an unsupported form",
        })
    }
}

impl core::error::Error for TlvError {}

/// The longest tag, in bytes.
const MAX_TAG_LEN: usize = 3;

/// Splits the first TLV off `data`.
pub fn take(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (&first, mut rest) = data.split_first().ok_or(TlvError::Truncated)?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        for tag_len in 1.. {
            let (&next, tail) = rest.split_first().ok_or(TlvError::Truncated)?;
            if tag_len == MAX_TAG_LEN {
                return Err(TlvError::TagTooLong);
            }
            tag = (tag << 8) | u32::from(next);
            rest = tail;
            if next & 0x80 == 0 {
                break;
            }
        }
    }
    let (&len0, tail) = rest.split_first().ok_or(TlvError::Truncated)?;
    let (len, tail) = match len0 {
        0..=0x7F => (usize::from(len0), tail),
        0x81 => {
            let (&len, tail) = tail.split_first().ok_or(TlvError::Truncated)?;
            (usize::from(len), tail)
        }
        0x82 => {
            let (hi_lo, tail) = tail.split_at_checked(2).ok_or(TlvError::Truncated)?;
            (usize::from(u16::from_be_bytes([hi_lo[0], hi_lo[1]])), tail)
        }
        _ => return Err(TlvError::LengthForm),
    };
    let (value, rest) = tail.split_at_checked(len).ok_or(TlvError::Truncated)?;
    Ok((Tlv { tag, value }, rest))
}

/// Iterates the TLVs of `data` in order; stops after yielding the first error.
pub fn iter(mut data: &[u8]) -> impl Iterator<Item = Result<Tlv<'_>, TlvError>> {
    core::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        match take(data) {
            Ok((tlv, rest)) => {
                data = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                data = &[];
                Some(Err(e))
            }
        }
    })
}

/// Parses `data` as exactly one TLV with tag `tag`, nothing after it.
pub fn only(data: &[u8], tag: u32) -> Option<&[u8]> {
    match take(data).ok()? {
        (tlv, []) if tlv.tag == tag => Some(tlv.value),
        _ => None,
    }
}

/// Encoded bytes of a tag, or of a TLV header (tag and length): at most seven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoded {
    bytes: [u8; 7],
    len: usize,
}

impl Encoded {
    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

impl Deref for Encoded {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The bytes of `tag` without leading zero bytes, as a `5C` tag list carries them.
pub fn tag_bytes(tag: u32) -> Encoded {
    let all = tag.to_be_bytes();
    let skip = all.iter().take(3).take_while(|&&b| b == 0).count();
    let mut out = Encoded {
        bytes: [0; 7],
        len: 0,
    };
    out.push(&all[skip..]);
    out
}

/// The header of a TLV with tag `tag` and a value of `len` bytes.
pub fn header(tag: u32, len: u16) -> Encoded {
    let mut out = tag_bytes(tag);
    let [hi, lo] = len.to_be_bytes();
    match len {
        0..=0x7F => out.push(&[lo]),
        0x80..=0xFF => out.push(&[0x81, lo]),
        _ => out.push(&[0x82, hi, lo]),
    }
    out
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
        for (bad, why) in [
            (&[0x53u8, 0x02, 0x00][..], TlvError::Truncated),
            (&[0x53, 0x83, 0, 0, 1], TlvError::LengthForm),
            (&[0x5F], TlvError::Truncated),
            (&[0x5F, 0xFF, 0xFF, 0xFF, 0x00], TlvError::TagTooLong),
            (&[0x53, 0x82, 0x01], TlvError::Truncated),
        ] {
            assert_eq!(take(bad), Err(why), "{bad:02X?}");
        }
    }

    #[test]
    fn header_round_trips() {
        for (tag, len) in [(0x53, 5), (0x7F49, 200), (0x5FC105, 3000), (0x82, 0)] {
            let mut buf = [0u8; 3008];
            let head = header(tag, len);
            buf[..head.len()].copy_from_slice(&head);
            let (tlv, _) = take(&buf[..head.len() + usize::from(len)]).unwrap();
            assert_eq!((tlv.tag, tlv.value.len()), (tag, usize::from(len)));
        }
    }

    #[test]
    fn tags_lose_leading_zeros_only() {
        assert_eq!(&*tag_bytes(0x7E), [0x7E]);
        assert_eq!(&*tag_bytes(0x5FFF02), [0x5F, 0xFF, 0x02]);
        assert_eq!(&*header(0x5C, 0x100), [0x5C, 0x82, 0x01, 0x00]);
    }
}
