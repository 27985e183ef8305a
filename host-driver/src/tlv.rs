//! BER-TLV as PIV uses it (ISO 7816-4 section 5.2): tags of one to three bytes, lengths in
//! the short form or `81 xx` / `82 xx xx`.

use crate::error::{Error, Result};

/// One tag-length-value element borrowed from a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    /// The tag, its bytes read big-endian (`0x5FC105`, `0x7F49`, `0x53`).
    pub(crate) tag: u32,
    /// The value.
    pub(crate) value: &'a [u8],
}

/// Reads every element at the top level of `input`.
pub(crate) fn parse(mut input: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = parse_one(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// The value of the first top-level element with `tag`.
pub(crate) fn find(input: &[u8], tag: u32) -> Result<Option<&[u8]>> {
    Ok(parse(input)?
        .into_iter()
        .find(|tlv| tlv.tag == tag)
        .map(|tlv| tlv.value))
}

/// The value of the first top-level element with `tag`, or an error naming it.
pub(crate) fn require(input: &[u8], tag: u32) -> Result<&[u8]> {
    find(input, tag)?.ok_or_else(|| Error::response(format!("tag {tag:02X} is missing")))
}

fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let truncated = || Error::response("a TLV element is cut short");
    let (&first, mut rest) = input.split_first().ok_or_else(truncated)?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        loop {
            let (&next, after) = rest.split_first().ok_or_else(truncated)?;
            if tag > 0xFFFF {
                return Err(Error::response("a TLV tag is longer than three bytes"));
            }
            tag = (tag << 8) | u32::from(next);
            rest = after;
            if next & 0x80 == 0 {
                break;
            }
        }
    }
    let (&len0, after) = rest.split_first().ok_or_else(truncated)?;
    rest = after;
    let len = match len0 {
        0x00..=0x7F => usize::from(len0),
        0x81 => {
            let (&l, after) = rest.split_first().ok_or_else(truncated)?;
            rest = after;
            usize::from(l)
        }
        0x82 => {
            let (bytes, after) = rest.split_at_checked(2).ok_or_else(truncated)?;
            rest = after;
            usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
        }
        _ => return Err(Error::response("a TLV length uses an unsupported form")),
    };
    let (value, rest) = rest.split_at_checked(len).ok_or_else(truncated)?;
    Ok((Tlv { tag, value }, rest))
}

/// Appends `tag`, the length of `value` and `value` to `out`.
pub(crate) fn write(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    let tag_bytes = tag.to_be_bytes();
    let skip = tag_bytes.iter().take(3).take_while(|&&b| b == 0).count();
    out.extend_from_slice(&tag_bytes[skip..]);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        let len = u16::try_from(len).unwrap_or(u16::MAX);
        out.push(0x82);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(value);
}

/// `tag`, the length of `value` and `value` as a new buffer.
pub(crate) fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    write(&mut out, tag, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_byte_tags_and_long_lengths() {
        let mut buf = encode(0x5FC105, &[0xAB; 300]);
        buf.extend(encode(0x7F49, &[1, 2]));
        buf.extend(encode(0x53, &[0; 0x90]));
        let all = parse(&buf).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].tag, 0x5FC105);
        assert_eq!(all[0].value.len(), 300);
        assert_eq!(&buf[..6], &[0x5F, 0xC1, 0x05, 0x82, 0x01, 0x2C]);
        assert_eq!(
            all[1],
            Tlv {
                tag: 0x7F49,
                value: &[1, 2]
            }
        );
        assert_eq!(&buf[buf.len() - 0x92..][..2], &[0x81, 0x90]);
        assert_eq!(find(&buf, 0x53).unwrap().map(<[u8]>::len), Some(0x90));
        assert_eq!(find(&buf, 0x70).unwrap(), None);
    }

    #[test]
    fn rejects_truncated_input() {
        for bad in [
            &[0x53][..],
            &[0x53, 0x02, 0x00],
            &[0x5F],
            &[0x53, 0x82, 0x01],
            &[0x53, 0x85],
        ] {
            assert!(parse(bad).is_err(), "{bad:02X?}");
        }
        assert!(require(&[0x80, 0x00], 0x81).is_err());
    }

    #[test]
    fn empty_values() {
        assert_eq!(encode(0x82, &[]), [0x82, 0x00]);
        assert_eq!(parse(&[0x82, 0x00]).unwrap()[0].value, &[] as &[u8]);
    }
}
