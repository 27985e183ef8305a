//! Status words (ISO 7816-4, 5.1.3; SP 800-73-4 part 2, appendix A; card-edge.md, "Status
//! words").

/// A status word (SW1 SW2), with the data some of them carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusWord {
    /// `90 00`: done.
    Success,
    /// `61 xx`: `len` more bytes wait for GET RESPONSE (0 means 256 or more).
    MoreData {
        /// SW2.
        len: u8,
    },
    /// `63 Cx`: wrong PIN or PUK, `tries` left.
    WrongPin {
        /// Tries left, 0 to 15.
        tries: u8,
    },
    /// `65 81`: memory failure; the token's flash failed to store and nothing changed.
    MemoryFailure,
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
    /// Any other status word: what a host may read from a card that is not a ukey token.
    Other(u16),
}

impl StatusWord {
    /// The two status bytes.
    pub const fn to_bytes(self) -> [u8; 2] {
        match self {
            Self::Success => [0x90, 0x00],
            Self::MoreData { len } => [0x61, len],
            Self::WrongPin { tries } => [0x63, 0xC0 | (tries & 0x0F)],
            Self::MemoryFailure => [0x65, 0x81],
            Self::WrongLength => [0x67, 0x00],
            Self::SecurityStatusNotSatisfied => [0x69, 0x82],
            Self::Blocked => [0x69, 0x83],
            Self::ConditionsNotSatisfied => [0x69, 0x85],
            Self::IncorrectData => [0x6A, 0x80],
            Self::FunctionNotSupported => [0x6A, 0x81],
            Self::NotFound => [0x6A, 0x82],
            Self::NotEnoughMemory => [0x6A, 0x84],
            Self::IncorrectP1P2 => [0x6A, 0x86],
            Self::ReferenceNotFound => [0x6A, 0x88],
            Self::InsNotSupported => [0x6D, 0x00],
            Self::ClaNotSupported => [0x6E, 0x00],
            Self::Other(sw) => sw.to_be_bytes(),
        }
    }

    /// Reads the two trailing bytes of a response.
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Success,
            (0x61, len) => Self::MoreData { len },
            (0x63, x) if x & 0xF0 == 0xC0 => Self::WrongPin { tries: x & 0x0F },
            (0x65, 0x81) => Self::MemoryFailure,
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
            _ => Self::Other(u16::from_be_bytes([sw1, sw2])),
        }
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        let [sw1, sw2] = sw.to_be_bytes();
        Self::from_bytes(sw1, sw2)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> u16 {
        u16::from_be_bytes(sw.to_bytes())
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
        assert_eq!(StatusWord::WrongPin { tries: 3 }.to_bytes(), [0x63, 0xC3]);
    }
}
