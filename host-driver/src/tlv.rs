//! BER-TLV as PIV uses it, over `ukey-card-edge`'s codec: whole buffers parsed into a
//! list, missing tags as errors, and values written into growing buffers.

use ukey_card_edge::tlv as codec;
pub(crate) use ukey_card_edge::tlv::{Tlv, tag_bytes};

use crate::error::{Error, Result};

/// Reads every element at the top level of `input`.
pub(crate) fn parse(input: &[u8]) -> Result<Vec<Tlv<'_>>> {
    codec::iter(input)
        .map(|tlv| tlv.map_err(Error::MalformedTlv))
        .collect()
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

/// The longest value a length of the card edge's BER-TLV can state (`82 FF FF`).
pub(crate) const MAX_VALUE: usize = u16::MAX as usize;

/// Appends `tag`, the length of `value` and `value` to `out`. Values are the host's own
/// fixed-size fields, or a data object whose size `put_data` has checked against
/// [`MAX_VALUE`]; a longer one would get a length of [`MAX_VALUE`].
pub(crate) fn write(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&codec::header(tag, len));
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
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// What a token answers is read or refused, never a panic; and what the host
        /// writes (ykman's `88 { 89 key }` in 5FC109 among them) reads back as written.
        #[test]
        fn answers_parse_or_fail_and_written_values_read_back(
            answer in proptest::collection::vec(any::<u8>(), 0..600),
            elements in proptest::collection::vec(
                (prop::sample::select(vec![0x53, 0x88, 0x89, 0x7F49, 0x5FC109]),
                 proptest::collection::vec(any::<u8>(), 0..300)),
                0..4,
            ),
        ) {
            let _ = parse(&answer);
            let mut written = Vec::new();
            for (tag, value) in &elements {
                write(&mut written, *tag, value);
            }
            let read = parse(&written).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let read: Vec<_> = read.iter().map(|tlv| (tlv.tag, tlv.value.to_vec())).collect();
            prop_assert_eq!(read, elements);
            let nested = encode(0x88, &encode(0x89, &answer));
            let template = find(&nested, 0x88).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(find(template.unwrap_or_default(), 0x89).ok().flatten(), Some(&answer[..]));
        }
    }

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
