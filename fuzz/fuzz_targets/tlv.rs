//! The BER-TLV codec over arbitrary bytes.
//! Invariants: no panic; every TLV read re-encodes (header and value) to bytes that read
//! back as the same TLV; `only` agrees with `take`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ukey_card_edge::tlv;

fuzz_target!(|data: &[u8]| {
    for item in tlv::iter(data) {
        let Ok(item) = item else { break };
        let Ok(len) = u16::try_from(item.value.len()) else {
            continue;
        };
        let mut encoded = tlv::header(item.tag, len).to_vec();
        encoded.extend_from_slice(item.value);
        let (again, rest) = tlv::take(&encoded).expect("a re-encoded TLV reads back");
        assert_eq!(again, item, "a re-encoded TLV reads back differently");
        assert!(rest.is_empty(), "a re-encoded TLV leaves bytes behind");
    }
    let first = tlv::take(data);
    if let Ok((item, [])) = first {
        assert_eq!(tlv::only(data, item.tag), Some(item.value));
    }
    if let Some(value) = tlv::only(data, first.map_or(0, |(item, _)| item.tag)) {
        assert_eq!(first.map(|(item, _)| item.value), Ok(value));
    }
});
