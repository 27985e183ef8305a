//! The PIV card edge (card-edge.md) in the host's words: slots, algorithms, policies and
//! data objects with their names for users, and the secrets a user gives (PIN, PUK,
//! management key). Their numbers are `ukey-card-edge`'s.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use ukey_card_edge as edge;
pub use ukey_card_edge::ObjectId;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A key slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub enum Slot {
    /// 9A: PIV authentication.
    Authentication,
    /// 9C: digital signature (PIN before every signature by default).
    Signature,
    /// 9D: key management.
    KeyManagement,
    /// 9E: card authentication (no PIN by default).
    CardAuthentication,
}

impl Slot {
    /// All slots, in the order PIV numbers them.
    pub const ALL: [Slot; 4] = [
        Slot::Authentication,
        Slot::Signature,
        Slot::KeyManagement,
        Slot::CardAuthentication,
    ];

    /// The key reference (P2 of GENERATE and GENERAL AUTHENTICATE).
    pub fn key_ref(self) -> u8 {
        edge::Slot::from(self).reference()
    }

    /// The data object that holds this slot's certificate.
    pub fn certificate_object(self) -> ObjectId {
        edge::Slot::from(self).certificate_object()
    }

    /// What the slot is for, in words.
    pub fn purpose(self) -> &'static str {
        match self {
            Slot::Authentication => "authentication",
            Slot::Signature => "digital signature",
            Slot::KeyManagement => "key management",
            Slot::CardAuthentication => "card authentication",
        }
    }
}

impl From<Slot> for edge::Slot {
    fn from(slot: Slot) -> Self {
        match slot {
            Slot::Authentication => Self::Authentication,
            Slot::Signature => Self::Signature,
            Slot::KeyManagement => Self::KeyManagement,
            Slot::CardAuthentication => Self::CardAuthentication,
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}", self.key_ref())
    }
}

impl From<Slot> for String {
    fn from(slot: Slot) -> String {
        slot.to_string()
    }
}

impl FromStr for Slot {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "9a" | "authentication" => Ok(Slot::Authentication),
            "9c" | "signature" => Ok(Slot::Signature),
            "9d" | "key-management" => Ok(Slot::KeyManagement),
            "9e" | "card-authentication" => Ok(Slot::CardAuthentication),
            _ => Err(Error::input(format!(
                "unknown slot \"{s}\"; use 9a, 9c, 9d or 9e"
            ))),
        }
    }
}

/// A signature algorithm of the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// ECDSA over NIST P-256 (PIV algorithm 11), SHA-256 on the host.
    P256,
    /// SM2 signature (GB/T 32918.2, algorithm 54), Z_A and SM3 on the host.
    Sm2,
}

impl Algorithm {
    /// The PIV algorithm number.
    pub fn id(self) -> u8 {
        edge::Algorithm::from(self).id()
    }

    /// The algorithm with PIV number `id`, if the token's algorithms include it.
    pub fn from_id(id: u8) -> Option<Self> {
        edge::Algorithm::from_id(id).map(Self::from)
    }
}

impl From<Algorithm> for edge::Algorithm {
    fn from(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::P256 => Self::P256,
            Algorithm::Sm2 => Self::Sm2,
        }
    }
}

impl From<edge::Algorithm> for Algorithm {
    fn from(algorithm: edge::Algorithm) -> Self {
        match algorithm {
            edge::Algorithm::P256 => Self::P256,
            edge::Algorithm::Sm2 => Self::Sm2,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::P256 => "ECC P-256",
            Algorithm::Sm2 => "SM2",
        })
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "eccp256" | "ecc-p256" => Ok(Algorithm::P256),
            "sm2" => Ok(Algorithm::Sm2),
            _ => Err(Error::input(format!(
                "unknown algorithm \"{s}\"; use sm2 or p256"
            ))),
        }
    }
}

/// When a slot's key asks for the PIN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PinPolicy {
    /// The slot's default (9A once, 9C always, 9D once, 9E never).
    #[default]
    Default,
    /// Never.
    Never,
    /// Once per session.
    Once,
    /// Before every use.
    Always,
}

impl PinPolicy {
    fn code(self) -> u8 {
        match self {
            PinPolicy::Default => edge::POLICY_DEFAULT,
            PinPolicy::Never => edge::PinPolicy::Never.id(),
            PinPolicy::Once => edge::PinPolicy::Once.id(),
            PinPolicy::Always => edge::PinPolicy::Always.id(),
        }
    }

    fn from_code(code: u8) -> Self {
        match edge::PinPolicy::from_id(code) {
            Some(edge::PinPolicy::Never) => PinPolicy::Never,
            Some(edge::PinPolicy::Once) => PinPolicy::Once,
            Some(edge::PinPolicy::Always) => PinPolicy::Always,
            None => PinPolicy::Default,
        }
    }
}

/// When a slot's key asks for a touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TouchPolicy {
    /// The token's default.
    #[default]
    Default,
    /// Never.
    Never,
    /// Before every use.
    Always,
    /// Once, then for 15 seconds.
    Cached,
}

impl TouchPolicy {
    fn code(self) -> u8 {
        match self {
            TouchPolicy::Default => edge::POLICY_DEFAULT,
            TouchPolicy::Never => edge::TouchPolicy::Never.id(),
            TouchPolicy::Always => edge::TouchPolicy::Always.id(),
            TouchPolicy::Cached => edge::TouchPolicy::Cached.id(),
        }
    }

    fn from_code(code: u8) -> Self {
        match edge::TouchPolicy::from_id(code) {
            Some(edge::TouchPolicy::Never) => TouchPolicy::Never,
            Some(edge::TouchPolicy::Always) => TouchPolicy::Always,
            Some(edge::TouchPolicy::Cached) => TouchPolicy::Cached,
            None => TouchPolicy::Default,
        }
    }
}

/// The PIN and touch policy given to a new key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyPolicy {
    /// When the PIN is asked.
    pub pin: PinPolicy,
    /// When a touch is asked.
    pub touch: TouchPolicy,
}

impl KeyPolicy {
    /// The `AA`/`AB` elements of a GENERATE template, empty for defaults.
    pub(crate) fn template(self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.pin != PinPolicy::Default {
            out.extend_from_slice(&[0xAA, 0x01, self.pin.code()]);
        }
        if self.touch != TouchPolicy::Default {
            out.extend_from_slice(&[0xAB, 0x01, self.touch.code()]);
        }
        out
    }

    /// Reads the two bytes of metadata tag `02`.
    pub(crate) fn from_metadata(bytes: &[u8]) -> Self {
        Self {
            pin: PinPolicy::from_code(bytes.first().copied().unwrap_or(0)),
            touch: TouchPolicy::from_code(bytes.get(1).copied().unwrap_or(0)),
        }
    }
}

/// Where a key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrigin {
    /// Generated on the token: it never existed anywhere else.
    Generated,
    /// Imported from outside.
    Imported,
}

impl KeyOrigin {
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match edge::KeyOrigin::from_id(code)? {
            edge::KeyOrigin::Generated => Some(KeyOrigin::Generated),
            edge::KeyOrigin::Imported => Some(KeyOrigin::Imported),
        }
    }
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyOrigin::Generated => "generated on the token",
            KeyOrigin::Imported => "imported",
        })
    }
}

/// A version number as GET VERSION answers it (major, minor, patch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Patch.
    pub patch: u8,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A PIN or a PUK: 6 to 8 bytes, kept padded with `FF` to 8 and wiped on drop.
#[derive(Clone)]
pub struct Pin(Zeroizing<[u8; 8]>);

impl Pin {
    /// Checks the length (6 to 8 bytes) and pads.
    pub fn new(value: &str) -> Result<Self> {
        let bytes = value.as_bytes();
        if !(6..=8).contains(&bytes.len()) {
            return Err(Error::input("a PIN or PUK has 6 to 8 characters"));
        }
        let mut padded = Zeroizing::new([0xFF; 8]);
        padded[..bytes.len()].copy_from_slice(bytes);
        Ok(Self(padded))
    }

    /// The 8 padded bytes the token expects.
    pub(crate) fn padded(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(..)")
    }
}

/// The algorithm of the management key (9B).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ManagementAlgorithm {
    /// Three-key triple DES (the PIV default).
    TripleDes,
    /// AES-128.
    Aes128,
    /// AES-192.
    Aes192,
    /// AES-256.
    Aes256,
}

impl ManagementAlgorithm {
    /// The PIV algorithm number.
    pub fn id(self) -> u8 {
        edge::ManagementKeyAlgorithm::from(self).id()
    }

    /// The algorithm with PIV number `id`.
    pub fn from_id(id: u8) -> Option<Self> {
        edge::ManagementKeyAlgorithm::from_id(id).map(Self::from)
    }

    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        edge::ManagementKeyAlgorithm::from(self).key_len()
    }

    /// The cipher's block length, which is also the challenge length.
    pub fn block_len(self) -> usize {
        edge::ManagementKeyAlgorithm::from(self).block_len()
    }
}

impl From<ManagementAlgorithm> for edge::ManagementKeyAlgorithm {
    fn from(algorithm: ManagementAlgorithm) -> Self {
        match algorithm {
            ManagementAlgorithm::TripleDes => Self::TripleDes,
            ManagementAlgorithm::Aes128 => Self::Aes128,
            ManagementAlgorithm::Aes192 => Self::Aes192,
            ManagementAlgorithm::Aes256 => Self::Aes256,
        }
    }
}

impl From<edge::ManagementKeyAlgorithm> for ManagementAlgorithm {
    fn from(algorithm: edge::ManagementKeyAlgorithm) -> Self {
        match algorithm {
            edge::ManagementKeyAlgorithm::TripleDes => Self::TripleDes,
            edge::ManagementKeyAlgorithm::Aes128 => Self::Aes128,
            edge::ManagementKeyAlgorithm::Aes192 => Self::Aes192,
            edge::ManagementKeyAlgorithm::Aes256 => Self::Aes256,
        }
    }
}

/// The management key: its algorithm and value, wiped on drop.
#[derive(Clone)]
pub struct ManagementKey {
    algorithm: ManagementAlgorithm,
    key: Zeroizing<Vec<u8>>,
}

/// The PIV default management key (3DES).
const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

impl Default for ManagementKey {
    fn default() -> Self {
        Self {
            algorithm: ManagementAlgorithm::TripleDes,
            key: Zeroizing::new(DEFAULT_MANAGEMENT_KEY.to_vec()),
        }
    }
}

impl ManagementKey {
    /// A key of `algorithm` from its bytes.
    pub fn new(algorithm: ManagementAlgorithm, key: &[u8]) -> Result<Self> {
        if key.len() != algorithm.key_len() {
            return Err(Error::input(format!(
                "a {algorithm:?} management key has {} bytes",
                algorithm.key_len()
            )));
        }
        Ok(Self {
            algorithm,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// A key from hex: 32 digits are AES-128, 64 AES-256, 48 triple DES unless `algorithm`
    /// says AES-192.
    pub fn from_hex(hex: &str, algorithm: Option<ManagementAlgorithm>) -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; hex.len() / 2]);
        let decoded = base16ct::mixed::decode(hex.trim(), &mut bytes)
            .map_err(|_| Error::input("the management key must be written in hex"))?;
        let algorithm = match (algorithm, decoded.len()) {
            (Some(a), _) => a,
            (None, 16) => ManagementAlgorithm::Aes128,
            (None, 32) => ManagementAlgorithm::Aes256,
            (None, _) => ManagementAlgorithm::TripleDes,
        };
        Self::new(algorithm, decoded)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ManagementAlgorithm {
        self.algorithm
    }

    /// Whether this is the well-known PIV default.
    pub fn is_default(&self) -> bool {
        self.key.as_slice() == DEFAULT_MANAGEMENT_KEY
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.key
    }

    /// Encrypts or decrypts one block in place with this key.
    pub(crate) fn crypt(&self, block: &mut [u8], encrypt: bool) -> Result<()> {
        match self.algorithm {
            ManagementAlgorithm::TripleDes => {
                crypt_with::<des::TdesEde3>(&self.key, block, encrypt)
            }
            ManagementAlgorithm::Aes128 => crypt_with::<aes::Aes128>(&self.key, block, encrypt),
            ManagementAlgorithm::Aes192 => crypt_with::<aes::Aes192>(&self.key, block, encrypt),
            ManagementAlgorithm::Aes256 => crypt_with::<aes::Aes256>(&self.key, block, encrypt),
        }
    }
}

fn crypt_with<C>(key: &[u8], block: &mut [u8], encrypt: bool) -> Result<()>
where
    C: aes::cipher::KeyInit + aes::cipher::BlockCipherEncrypt + aes::cipher::BlockCipherDecrypt,
{
    let cipher = C::new_from_slice(key).map_err(|_| Error::input("bad management key length"))?;
    let block = <&mut aes::cipher::Block<C>>::try_from(block)
        .map_err(|_| Error::response("a witness or challenge has the wrong length"))?;
    if encrypt {
        cipher.encrypt_block(block);
    } else {
        cipher.decrypt_block(block);
    }
    Ok(())
}

impl fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManagementKey({:?}, ..)", self.algorithm)
    }
}
