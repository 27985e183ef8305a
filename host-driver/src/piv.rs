//! The names and numbers of the PIV card edge (card-edge.md): slots, algorithms, policies,
//! data objects, and the secrets a user gives (PIN, PUK, management key).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
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
        match self {
            Slot::Authentication => 0x9A,
            Slot::Signature => 0x9C,
            Slot::KeyManagement => 0x9D,
            Slot::CardAuthentication => 0x9E,
        }
    }

    /// The data object that holds this slot's certificate.
    pub fn certificate_object(self) -> ObjectId {
        match self {
            Slot::Authentication => ObjectId::CERT_9A,
            Slot::Signature => ObjectId::CERT_9C,
            Slot::KeyManagement => ObjectId::CERT_9D,
            Slot::CardAuthentication => ObjectId::CERT_9E,
        }
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
        match self {
            Algorithm::P256 => 0x11,
            Algorithm::Sm2 => 0x54,
        }
    }

    /// The algorithm with PIV number `id`, if the token's algorithms include it.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0x11 => Some(Algorithm::P256),
            0x54 => Some(Algorithm::Sm2),
            _ => None,
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
            PinPolicy::Default => 0,
            PinPolicy::Never => 1,
            PinPolicy::Once => 2,
            PinPolicy::Always => 3,
        }
    }

    fn from_code(code: u8) -> Self {
        match code {
            1 => PinPolicy::Never,
            2 => PinPolicy::Once,
            3 => PinPolicy::Always,
            _ => PinPolicy::Default,
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
            TouchPolicy::Default => 0,
            TouchPolicy::Never => 1,
            TouchPolicy::Always => 2,
            TouchPolicy::Cached => 3,
        }
    }

    fn from_code(code: u8) -> Self {
        match code {
            1 => TouchPolicy::Never,
            2 => TouchPolicy::Always,
            3 => TouchPolicy::Cached,
            _ => TouchPolicy::Default,
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
        match code {
            1 => Some(KeyOrigin::Generated),
            2 => Some(KeyOrigin::Imported),
            _ => None,
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

/// A PIV data object tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjectId(pub u32);

impl ObjectId {
    /// Card Holder Unique Identifier.
    pub const CHUID: ObjectId = ObjectId(0x5FC102);
    /// Card Capability Container.
    pub const CCC: ObjectId = ObjectId(0x5FC107);
    /// Certificate of slot 9A.
    pub const CERT_9A: ObjectId = ObjectId(0x5FC105);
    /// Certificate of slot 9C.
    pub const CERT_9C: ObjectId = ObjectId(0x5FC10A);
    /// Certificate of slot 9D.
    pub const CERT_9D: ObjectId = ObjectId(0x5FC10B);
    /// Certificate of slot 9E.
    pub const CERT_9E: ObjectId = ObjectId(0x5FC101);
    /// Printed information (reading it needs the PIN).
    pub const PRINTED: ObjectId = ObjectId(0x5FC109);
    /// Discovery object.
    pub const DISCOVERY: ObjectId = ObjectId(0x7E);
    /// Key history.
    pub const KEY_HISTORY: ObjectId = ObjectId(0x5FC10C);
    /// Vendor object: device information (read-only).
    pub const DEVICE_INFO: ObjectId = ObjectId(0x5FFF01);
    /// Vendor object: the label, UTF-8, at most 32 bytes.
    pub const LABEL: ObjectId = ObjectId(0x5FFF02);

    /// The tag's bytes without leading zeros.
    pub(crate) fn bytes(self) -> Vec<u8> {
        let all = self.0.to_be_bytes();
        let skip = all.iter().take(3).take_while(|&&b| b == 0).count();
        all[skip..].to_vec()
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
        match self {
            ManagementAlgorithm::TripleDes => 0x03,
            ManagementAlgorithm::Aes128 => 0x08,
            ManagementAlgorithm::Aes192 => 0x0A,
            ManagementAlgorithm::Aes256 => 0x0C,
        }
    }

    /// The algorithm with PIV number `id`.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0x03 => Some(ManagementAlgorithm::TripleDes),
            0x08 => Some(ManagementAlgorithm::Aes128),
            0x0A => Some(ManagementAlgorithm::Aes192),
            0x0C => Some(ManagementAlgorithm::Aes256),
            _ => None,
        }
    }

    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            ManagementAlgorithm::TripleDes | ManagementAlgorithm::Aes192 => 24,
            ManagementAlgorithm::Aes128 => 16,
            ManagementAlgorithm::Aes256 => 32,
        }
    }

    /// The cipher's block length, which is also the challenge length.
    pub fn block_len(self) -> usize {
        match self {
            ManagementAlgorithm::TripleDes => 8,
            _ => 16,
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
