//! ISO 7816-4 status words as the ukey card edge uses them (card-edge.md, "Status words").

/// A status word, with the data some of them carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusWord {
    /// `90 00`: done.
    Success,
    /// `61 xx`: `len` more bytes wait for GET RESPONSE (0 means 256).
    MoreData { len: u8 },
    /// `63 Cx`: wrong PIN or PUK, `tries` left.
    WrongPin { tries: u8 },
    /// `67 00`: wrong length.
    WrongLength,
    /// `69 82`: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// `69 83`: authentication method blocked.
    Blocked,
    /// `69 85`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `6A 80`: incorrect data.
    IncorrectData,
    /// `6A 81`: function not supported.
    FunctionNotSupported,
    /// `6A 82`: file or application not found.
    NotFound,
    /// `6A 84`: not enough memory.
    NotEnoughMemory,
    /// `6A 86`: incorrect P1 P2.
    IncorrectP1P2,
    /// `6A 88`: referenced data (key) not found.
    ReferenceNotFound,
    /// `6D 00`: instruction not supported.
    InsNotSupported,
    /// `6E 00`: class not supported.
    ClaNotSupported,
    /// Any other status word.
    Other(u16),
}

impl StatusWord {
    /// Reads the two trailing bytes of a response.
    pub(crate) fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self::from(u16::from_be_bytes([sw1, sw2]))
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        let [sw1, sw2] = sw.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Success,
            (0x61, len) => Self::MoreData { len },
            (0x63, x) if x & 0xF0 == 0xC0 => Self::WrongPin { tries: x & 0x0F },
            (0x67, 0x00) => Self::WrongLength,
            (0x69, 0x82) => Self::SecurityStatusNotSatisfied,
            (0x69, 0x83) => Self::Blocked,
            (0x69, 0x85) => Self::ConditionsNotSatisfied,
            (0x6A, 0x80) => Self::IncorrectData,
            (0x6A, 0x81) => Self::FunctionNotSupported,
            (0x6A, 0x82) => Self::NotFound,
            (0x6A, 0x84) => Self::NotEnoughMemory,
            (0x6A, 0x86) => Self::IncorrectP1P2,
            (0x6A, 0x88) => Self::ReferenceNotFound,
            (0x6D, 0x00) => Self::InsNotSupported,
            (0x6E, 0x00) => Self::ClaNotSupported,
            _ => Self::Other(sw),
        }
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> u16 {
        match sw {
            StatusWord::Success => 0x9000,
            StatusWord::MoreData { len } => 0x6100 | u16::from(len),
            StatusWord::WrongPin { tries } => 0x63C0 | u16::from(tries & 0x0F),
            StatusWord::WrongLength => 0x6700,
            StatusWord::SecurityStatusNotSatisfied => 0x6982,
            StatusWord::Blocked => 0x6983,
            StatusWord::ConditionsNotSatisfied => 0x6985,
            StatusWord::IncorrectData => 0x6A80,
            StatusWord::FunctionNotSupported => 0x6A81,
            StatusWord::NotFound => 0x6A82,
            StatusWord::NotEnoughMemory => 0x6A84,
            StatusWord::IncorrectP1P2 => 0x6A86,
            StatusWord::ReferenceNotFound => 0x6A88,
            StatusWord::InsNotSupported => 0x6D00,
            StatusWord::ClaNotSupported => 0x6E00,
            StatusWord::Other(sw) => sw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StatusWord;

    #[test]
    fn every_status_word_round_trips() {
        for sw in 0..=u16::MAX {
            assert_eq!(u16::from(StatusWord::from(sw)), sw, "{sw:04X}");
        }
    }

    #[test]
    fn data_carrying_variants() {
        assert_eq!(StatusWord::from(0x63C2), StatusWord::WrongPin { tries: 2 });
        assert_eq!(StatusWord::from(0x6110), StatusWord::MoreData { len: 0x10 });
        assert_eq!(StatusWord::from(0x6300), StatusWord::Other(0x6300));
        assert_eq!(
            StatusWord::from_bytes(0x6A, 0x88),
            StatusWord::ReferenceNotFound
        );
    }
}
