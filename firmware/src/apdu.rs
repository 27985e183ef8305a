//! ISO 7816-4 command APDUs: short and extended lengths, and the response writer the
//! command handlers fill.

use ukey_card_edge::{CLA_CHAINING, StatusWord, tlv};

/// Largest command data the card accepts, after chaining: a PUT DATA carrying the largest
/// data object (see [`crate::state::MAX_OBJECT`]) with its `5C` and `53` headers.
pub const MAX_COMMAND_DATA: usize = 3400;

/// Largest response data the card produces: a GET DATA of the largest data object.
pub const MAX_RESPONSE_DATA: usize = 3400;

/// A parsed command APDU, borrowing its data from the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandApdu<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// First parameter.
    pub p1: u8,
    /// Second parameter.
    pub p2: u8,
    /// Command data (empty in cases 1 and 2).
    pub data: &'a [u8],
    /// Largest response the host accepts. A command without Le may get up to 256 bytes back
    /// (the card edge: yubico-piv-tool sends no Le at all).
    pub le: usize,
}

impl<'a> CommandApdu<'a> {
    /// Parses the four ISO 7816-3 cases in their short and extended forms.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, StatusWord> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(StatusWord::WrongLength);
        };
        let (data, le) = match body {
            [] => (&[][..], 256),
            [le] => (&[][..], short_le(*le)),
            [0, rest @ ..] if rest.len() >= 2 => extended_body(rest)?,
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => (rest, 256),
                    Some(1) => (&rest[..lc], short_le(rest[lc])),
                    _ => return Err(StatusWord::WrongLength),
                }
            }
        };
        Ok(Self {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data,
            le,
        })
    }

    /// Whether more parts of this command follow (command chaining).
    pub fn is_chained(&self) -> bool {
        self.cla & CLA_CHAINING != 0
    }
}

fn short_le(le: u8) -> usize {
    if le == 0 { 256 } else { usize::from(le) }
}

fn extended_le(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => 65536,
        n => usize::from(n),
    }
}

/// The body after the `00` that marks an extended length: `Le(2)`, `Lc(2) data`, or
/// `Lc(2) data Le(2)`.
fn extended_body(body: &[u8]) -> Result<(&[u8], usize), StatusWord> {
    match body {
        [hi, lo] => Ok((&[][..], extended_le(*hi, *lo))),
        [hi, lo, rest @ ..] => {
            let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
            if lc == 0 {
                return Err(StatusWord::WrongLength);
            }
            match rest.len().checked_sub(lc) {
                Some(0) => Ok((rest, 256)),
                Some(2) => Ok((&rest[..lc], extended_le(rest[lc], rest[lc + 1]))),
                _ => Err(StatusWord::WrongLength),
            }
        }
        _ => Err(StatusWord::WrongLength),
    }
}

/// Where a command handler writes its response data.
pub struct Reply<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Reply<'a> {
    /// An empty reply over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends `bytes`; a reply that would not fit is a card fault, reported as 6A84.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), StatusWord> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(StatusWord::NotEnoughMemory)?;
        let target = self
            .buf
            .get_mut(self.len..end)
            .ok_or(StatusWord::NotEnoughMemory)?;
        target.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends a BER-TLV header for `tag` and a value of `len` bytes.
    pub fn header(&mut self, tag: u32, len: usize) -> Result<(), StatusWord> {
        let len = u16::try_from(len).map_err(|_| StatusWord::NotEnoughMemory)?;
        self.push(&tlv::header(tag, len))
    }

    /// Appends a whole BER-TLV.
    pub fn tlv(&mut self, tag: u32, value: &[u8]) -> Result<(), StatusWord> {
        self.header(tag, value.len())?;
        self.push(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_cases_short_and_extended() {
        let c = CommandApdu::parse(&[0, 0xFD, 0, 0]).unwrap();
        assert_eq!((c.data, c.le), (&[][..], 256));
        let c = CommandApdu::parse(&[0, 0xC0, 0, 0, 0x10]).unwrap();
        assert_eq!(c.le, 16);
        let c = CommandApdu::parse(&[0, 0x20, 0, 0x80, 2, 1, 2]).unwrap();
        assert_eq!((c.data, c.le), (&[1, 2][..], 256));
        let c = CommandApdu::parse(&[0, 0x20, 0, 0x80, 2, 1, 2, 0]).unwrap();
        assert_eq!(c.le, 256);
        let c = CommandApdu::parse(&[0, 0xCB, 0x3F, 0xFF, 0, 0, 0]).unwrap();
        assert_eq!((c.data, c.le), (&[][..], 65536));
        let c = CommandApdu::parse(&[0, 0xDB, 0x3F, 0xFF, 0, 0, 2, 7, 8, 0x01, 0x00]).unwrap();
        assert_eq!((c.data, c.le), (&[7, 8][..], 256));
        let c = CommandApdu::parse(&[0, 0xDB, 0x3F, 0xFF, 0, 0, 2, 7, 8]).unwrap();
        assert_eq!(c.data, &[7, 8]);
    }

    #[test]
    fn rejects_inconsistent_lengths() {
        for bad in [
            &[0u8, 0x20, 0][..],
            &[0, 0x20, 0, 0x80, 3, 1, 2],
            &[0, 0x20, 0, 0x80, 1, 1, 2, 3],
            &[0, 0xDB, 0x3F, 0xFF, 0, 0, 0, 1],
            &[0, 0xDB, 0x3F, 0xFF, 0, 0, 3, 7, 8],
        ] {
            assert_eq!(
                CommandApdu::parse(bad),
                Err(StatusWord::WrongLength),
                "{bad:02X?}"
            );
        }
    }

    #[test]
    fn reply_refuses_to_overflow() {
        let mut buf = [0u8; 4];
        let mut reply = Reply::new(&mut buf);
        reply.push(&[1, 2, 3]).unwrap();
        assert_eq!(reply.push(&[4, 5]), Err(StatusWord::NotEnoughMemory));
        assert_eq!(reply.len(), 3);
    }
}
