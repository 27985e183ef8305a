//! Algorithm identifiers (SP 800-78-4, table 6-2; card-edge.md, "Algorithms" and "Key
//! references").

/// The algorithm identifier `00`: an older name for three-key 3DES on the management key,
/// the one OpenSC's `piv_get_challenge` sends (SP 800-78-4, table 6-2).
pub const LEGACY_TRIPLE_DES_ID: u8 = 0x00;

/// The signature algorithms of the card edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Algorithm {
    /// `11`: ECDSA over NIST P-256.
    P256,
    /// `54`: SM2 signature (GB/T 32918.2), the number CanoKey uses; outside the NIST range.
    Sm2,
}

impl Algorithm {
    /// The algorithm identifier (P1 of GENERAL AUTHENTICATE, `80` in GENERATE).
    pub const fn id(self) -> u8 {
        match self {
            Self::P256 => 0x11,
            Self::Sm2 => 0x54,
        }
    }

    /// The algorithm with identifier `id`.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0x11 => Some(Self::P256),
            0x54 => Some(Self::Sm2),
            _ => None,
        }
    }
}

/// The management key's (9B) block ciphers; in serde's formats by the names the command
/// line takes (`3des`, `aes128`, ...), as the key algorithms are (`p256`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum ManagementKeyAlgorithm {
    /// `03`: three-key 3DES, the PIV default.
    #[cfg_attr(feature = "serde", serde(rename = "3des"))]
    TripleDes,
    /// `08`: AES-128.
    Aes128,
    /// `0A`: AES-192.
    Aes192,
    /// `0C`: AES-256.
    Aes256,
}

impl ManagementKeyAlgorithm {
    /// The algorithm identifier as it travels in APDUs.
    pub const fn id(self) -> u8 {
        match self {
            Self::TripleDes => 0x03,
            Self::Aes128 => 0x08,
            Self::Aes192 => 0x0A,
            Self::Aes256 => 0x0C,
        }
    }

    /// The algorithm with identifier `id` ([`LEGACY_TRIPLE_DES_ID`] is not one).
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0x03 => Some(Self::TripleDes),
            0x08 => Some(Self::Aes128),
            0x0A => Some(Self::Aes192),
            0x0C => Some(Self::Aes256),
            _ => None,
        }
    }

    /// Key length in bytes (the `len` of SET MANAGEMENT KEY).
    pub const fn key_len(self) -> usize {
        match self {
            Self::TripleDes | Self::Aes192 => 24,
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// Cipher block length in bytes: the length of witnesses and challenges.
    pub const fn block_len(self) -> usize {
        match self {
            Self::TripleDes => 8,
            Self::Aes128 | Self::Aes192 | Self::Aes256 => 16,
        }
    }
}
