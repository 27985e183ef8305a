//! Instruction bytes (SP 800-73-4 part 2, 3; the YubiKey extensions the card edge adopts;
//! card-edge.md, "Commands") and the class byte's chaining bit.

/// The CLA bit that says more parts of this command follow (ISO 7816-4, 5.4.1).
pub const CLA_CHAINING: u8 = 0x10;

/// The instructions of the card edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// `A4`: SELECT (SP 800-73-4 part 2, 3.1.1).
    Select,
    /// `20`: VERIFY (3.2.1).
    Verify,
    /// `24`: CHANGE REFERENCE DATA (3.2.2).
    ChangeReferenceData,
    /// `2C`: RESET RETRY COUNTER (3.2.3).
    ResetRetryCounter,
    /// `87`: GENERAL AUTHENTICATE (3.2.4).
    GeneralAuthenticate,
    /// `CB`: GET DATA (3.1.2).
    GetData,
    /// `DB`: PUT DATA (3.3.1).
    PutData,
    /// `47`: GENERATE ASYMMETRIC KEY PAIR (3.3.2).
    GenerateAsymmetricKeyPair,
    /// `FE`: IMPORT ASYMMETRIC KEY (YubiKey extension; card edge v2).
    ImportAsymmetricKey,
    /// `C0`: GET RESPONSE (ISO 7816-4, 7.6.1), for the rest of a long response.
    GetResponse,
    /// `FD`: GET VERSION (YubiKey extension).
    GetVersion,
    /// `F8`: GET SERIAL (YubiKey extension).
    GetSerial,
    /// `F7`: GET METADATA (YubiKey extension).
    GetMetadata,
    /// `FF`: SET MANAGEMENT KEY (YubiKey extension).
    SetManagementKey,
    /// `FA`: SET PIN RETRIES (YubiKey extension).
    SetPinRetries,
    /// `FB`: RESET (YubiKey extension).
    Reset,
    /// `F6`: MOVE KEY, or DELETE KEY when P1 is [`DELETE_KEY_TARGET`] (YubiKey 5.7
    /// extension; card edge v2).
    MoveKey,
}

/// The P1 of MOVE KEY that deletes the key named in P2 instead of moving it.
pub const DELETE_KEY_TARGET: u8 = 0xFF;

impl Instruction {
    /// The INS byte.
    pub const fn byte(self) -> u8 {
        match self {
            Self::Select => 0xA4,
            Self::Verify => 0x20,
            Self::ChangeReferenceData => 0x24,
            Self::ResetRetryCounter => 0x2C,
            Self::GeneralAuthenticate => 0x87,
            Self::GetData => 0xCB,
            Self::PutData => 0xDB,
            Self::GenerateAsymmetricKeyPair => 0x47,
            Self::ImportAsymmetricKey => 0xFE,
            Self::GetResponse => 0xC0,
            Self::GetVersion => 0xFD,
            Self::GetSerial => 0xF8,
            Self::GetMetadata => 0xF7,
            Self::SetManagementKey => 0xFF,
            Self::SetPinRetries => 0xFA,
            Self::Reset => 0xFB,
            Self::MoveKey => 0xF6,
        }
    }

    /// The instruction with INS byte `ins`.
    pub const fn from_byte(ins: u8) -> Option<Self> {
        match ins {
            0xA4 => Some(Self::Select),
            0x20 => Some(Self::Verify),
            0x24 => Some(Self::ChangeReferenceData),
            0x2C => Some(Self::ResetRetryCounter),
            0x87 => Some(Self::GeneralAuthenticate),
            0xCB => Some(Self::GetData),
            0xDB => Some(Self::PutData),
            0x47 => Some(Self::GenerateAsymmetricKeyPair),
            0xFE => Some(Self::ImportAsymmetricKey),
            0xC0 => Some(Self::GetResponse),
            0xFD => Some(Self::GetVersion),
            0xF8 => Some(Self::GetSerial),
            0xF7 => Some(Self::GetMetadata),
            0xFF => Some(Self::SetManagementKey),
            0xFA => Some(Self::SetPinRetries),
            0xFB => Some(Self::Reset),
            0xF6 => Some(Self::MoveKey),
            _ => None,
        }
    }
}
