//! Key policies and origins as GENERATE (tags `AA`, `AB`) and GET METADATA (tags `02`, `03`)
//! carry them: the YubiKey encoding that the card edge adopts (card-edge.md, "Commands").

/// The policy byte that asks for the slot's default, in GENERATE's `AA` and `AB`.
pub const POLICY_DEFAULT: u8 = 0x00;

/// When a slot's key needs the PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum PinPolicy {
    /// `01`: never.
    Never,
    /// `02`: once per session.
    Once,
    /// `03`: before every use.
    Always,
}

impl PinPolicy {
    /// The policy byte.
    pub const fn id(self) -> u8 {
        match self {
            Self::Never => 0x01,
            Self::Once => 0x02,
            Self::Always => 0x03,
        }
    }

    /// The policy with byte `id` ([`POLICY_DEFAULT`] is resolved by the caller).
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0x01 => Some(Self::Never),
            0x02 => Some(Self::Once),
            0x03 => Some(Self::Always),
            _ => None,
        }
    }
}

/// When a slot's key needs a touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum TouchPolicy {
    /// `01`: never (the only one a token without a touch sensor keeps).
    Never,
    /// `02`: before every use.
    Always,
    /// `03`: once, then for 15 seconds.
    Cached,
}

impl TouchPolicy {
    /// The policy byte.
    pub const fn id(self) -> u8 {
        match self {
            Self::Never => 0x01,
            Self::Always => 0x02,
            Self::Cached => 0x03,
        }
    }

    /// The policy with byte `id` ([`POLICY_DEFAULT`] is resolved by the caller).
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0x01 => Some(Self::Never),
            0x02 => Some(Self::Always),
            0x03 => Some(Self::Cached),
            _ => None,
        }
    }
}

/// Where a key came from (GET METADATA tag `03`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum KeyOrigin {
    /// `01`: generated on the card.
    Generated,
    /// `02`: made elsewhere and loaded into the card.
    Imported,
}

impl KeyOrigin {
    /// The origin byte.
    pub const fn id(self) -> u8 {
        match self {
            Self::Generated => 0x01,
            Self::Imported => 0x02,
        }
    }

    /// The origin with byte `id`.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0x01 => Some(Self::Generated),
            0x02 => Some(Self::Imported),
            _ => None,
        }
    }
}
