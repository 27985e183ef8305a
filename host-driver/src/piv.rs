//! What the host adds to `ukey-card-edge`'s values: the policy asked of a new key, the
//! version GET VERSION answers, and the secrets a user gives (PIN, PUK, management key),
//! wiped from memory when dropped.

use std::fmt;

pub use ukey_card_edge::{
    Algorithm, KeyOrigin, ManagementKeyAlgorithm, ObjectId, PinPolicy, Slot, TouchPolicy,
};
use ukey_card_edge::{DEFAULT_PIN, DEFAULT_PUK};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The PIN and touch policy given to a new key; `None` leaves the choice to the token
/// (the slot's default PIN policy, no touch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyPolicy {
    /// When the PIN is asked.
    pub pin: Option<PinPolicy>,
    /// When a touch is asked.
    pub touch: Option<TouchPolicy>,
}

impl KeyPolicy {
    /// The `AA`/`AB` elements of a GENERATE template, empty for defaults.
    pub(crate) fn template(self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(pin) = self.pin {
            out.extend_from_slice(&[0xAA, 0x01, pin.id()]);
        }
        if let Some(touch) = self.touch {
            out.extend_from_slice(&[0xAB, 0x01, touch.id()]);
        }
        out
    }
}

/// A version number as GET VERSION answers it (major, minor, patch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    /// Checks the rule, 6 to 8 ASCII characters (so characters and the card's bytes count
    /// alike), and pads.
    pub fn new(value: &str) -> Result<Self> {
        let bytes = value.as_bytes();
        if !value.is_ascii() {
            return Err(Error::input(
                "a PIN or PUK is 6 to 8 ASCII characters (letters, digits or symbols)",
            ));
        }
        if !(6..=8).contains(&bytes.len()) {
            return Err(Error::input("a PIN or PUK has 6 to 8 characters"));
        }
        let mut padded = Zeroizing::new([0xFF; 8]);
        padded[..bytes.len()].copy_from_slice(bytes);
        Ok(Self(padded))
    }

    /// Whether this is a value tokens ship with ([`DEFAULT_PIN`], [`DEFAULT_PUK`]), which
    /// anyone holding the token may try.
    pub fn is_factory_default(&self) -> bool {
        [DEFAULT_PIN, DEFAULT_PUK].iter().any(|default| {
            let (value, padding) = self.0.split_at(default.len());
            value == *default && padding.iter().all(|&byte| byte == 0xFF)
        })
    }

    /// The 8 padded bytes the token expects.
    pub(crate) fn padded(&self) -> &[u8; 8] {
        &self.0
    }
}

impl PartialEq for Pin {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Pin {}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(..)")
    }
}

/// The management key: its algorithm and value, wiped on drop.
#[derive(Clone)]
pub struct ManagementKey {
    algorithm: ManagementKeyAlgorithm,
    key: Zeroizing<Vec<u8>>,
}

/// The PIV default management key (3DES).
const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

impl Default for ManagementKey {
    fn default() -> Self {
        Self {
            algorithm: ManagementKeyAlgorithm::TripleDes,
            key: Zeroizing::new(DEFAULT_MANAGEMENT_KEY.to_vec()),
        }
    }
}

impl ManagementKey {
    /// A key of `algorithm` from its bytes.
    pub fn new(algorithm: ManagementKeyAlgorithm, key: &[u8]) -> Result<Self> {
        if key.len() != algorithm.key_len() {
            return Err(Error::input(format!(
                "a {algorithm} management key has {} bytes",
                algorithm.key_len()
            )));
        }
        Ok(Self {
            algorithm,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// A new key of `algorithm` from the system's random source.
    pub fn random(algorithm: ManagementKeyAlgorithm) -> Result<Self> {
        let mut key = Zeroizing::new(vec![0u8; algorithm.key_len()]);
        getrandom::fill(&mut key).map_err(Error::Random)?;
        Self::new(algorithm, &key)
    }

    /// The key in hex, to show it once to whoever must keep it.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(base16ct::lower::encode_string(&self.key))
    }

    /// A key from hex: 32 digits are AES-128, 64 AES-256, 48 triple DES unless `algorithm`
    /// says AES-192.
    pub fn from_hex(hex: &str, algorithm: Option<ManagementKeyAlgorithm>) -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; hex.len() / 2]);
        let decoded = base16ct::mixed::decode(hex.trim(), &mut bytes)
            .map_err(|_| Error::input("the management key must be written in hex"))?;
        let algorithm = match (algorithm, decoded.len()) {
            (Some(a), _) => a,
            (None, 16) => ManagementKeyAlgorithm::Aes128,
            (None, 32) => ManagementKeyAlgorithm::Aes256,
            (None, _) => ManagementKeyAlgorithm::TripleDes,
        };
        Self::new(algorithm, decoded)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ManagementKeyAlgorithm {
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
            ManagementKeyAlgorithm::TripleDes => {
                crypt_with::<des::TdesEde3>(&self.key, block, encrypt)
            }
            ManagementKeyAlgorithm::Aes128 => crypt_with::<aes::Aes128>(&self.key, block, encrypt),
            ManagementKeyAlgorithm::Aes192 => crypt_with::<aes::Aes192>(&self.key, block, encrypt),
            ManagementKeyAlgorithm::Aes256 => crypt_with::<aes::Aes256>(&self.key, block, encrypt),
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
