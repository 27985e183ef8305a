//! Command APDUs (ISO 7816-4, short or extended Lc) and the BER-TLV the answers carry.

/// `00 INS P1 P2 [Lc data]`, with an extended Lc when the data is over 255 bytes.
pub fn build(ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, ins, p1, p2];
    match data.len() {
        0 => {}
        len @ 1..=255 => apdu.push(len as u8),
        len => {
            apdu.push(0x00);
            apdu.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
    apdu.extend_from_slice(data);
    apdu
}

/// The BER-TLV `tag len value`; `tag` of one to three bytes.
pub fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = tag
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    match value.len() {
        len @ 0..=0x7F => out.push(len as u8),
        len @ 0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        len => {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(value);
    out
}

/// The items of a BER-TLV sequence as `(tag, value)`; `None` if it is malformed.
pub fn items(mut bytes: &[u8]) -> Option<Vec<(u32, &[u8])>> {
    let mut items = Vec::new();
    while !bytes.is_empty() {
        let (&first, rest) = bytes.split_first()?;
        let mut tag = u32::from(first);
        bytes = rest;
        if first & 0x1F == 0x1F {
            loop {
                let (&next, rest) = bytes.split_first()?;
                tag = (tag << 8) | u32::from(next);
                bytes = rest;
                if next & 0x80 == 0 {
                    break;
                }
            }
        }
        let (&len, rest) = bytes.split_first()?;
        bytes = rest;
        let len = match len {
            0x00..=0x7F => usize::from(len),
            0x81 => {
                let (&len, rest) = bytes.split_first()?;
                bytes = rest;
                usize::from(len)
            }
            0x82 => {
                let (len, rest) = bytes.split_first_chunk::<2>()?;
                bytes = rest;
                usize::from(u16::from_be_bytes(*len))
            }
            _ => return None,
        };
        let (value, rest) = bytes.split_at_checked(len)?;
        items.push((tag, value));
        bytes = rest;
    }
    Some(items)
}

/// The value of the only item of `bytes` if its tag is `tag`.
pub fn only(bytes: &[u8], tag: u32) -> Option<&[u8]> {
    match items(bytes)?.as_slice() {
        [(found, value)] if *found == tag => Some(value),
        _ => None,
    }
}

/// The value of the first item tagged `tag` in `bytes`.
pub fn find(bytes: &[u8], tag: u32) -> Option<&[u8]> {
    items(bytes)?
        .into_iter()
        .find(|(found, _)| *found == tag)
        .map(|(_, value)| value)
}

/// A PIN or PUK padded with `FF` to 8 bytes (card-edge.md, "Key references").
pub fn padded(secret: &[u8]) -> [u8; 8] {
    let mut out = [0xFF; 8];
    out[..secret.len()].copy_from_slice(secret);
    out
}

/// Bytes in hex, for messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
