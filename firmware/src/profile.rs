//! The factory settings a token is made with: serial, label, PIN, PUK, retry limits and
//! management key. Written to flash when a blank flash is first opened, and restored by RESET.

use heapless::Vec;

/// The management key's ciphers, as the card edge numbers them.
pub use ukey_card_edge::ManagementKeyAlgorithm;

/// A management key (key reference 9B): its algorithm and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagementKey {
    /// The block cipher.
    pub algorithm: ManagementKeyAlgorithm,
    /// The key, exactly `algorithm.key_len()` bytes.
    pub key: Vec<u8, 32>,
}

impl ManagementKey {
    /// The well-known PIV default, 3DES `0102030405060708` three times.
    pub fn piv_default() -> Self {
        let mut key = Vec::new();
        for _ in 0..3 {
            for b in 1..=8u8 {
                let _ = key.push(b);
            }
        }
        Self {
            algorithm: ManagementKeyAlgorithm::TripleDes,
            key,
        }
    }

    /// A key of the given algorithm, if `key` has the right length.
    pub fn new(algorithm: ManagementKeyAlgorithm, key: &[u8]) -> Option<Self> {
        if key.len() != algorithm.key_len() {
            return None;
        }
        Vec::from_slice(key).ok().map(|key| Self { algorithm, key })
    }
}

/// Why a profile was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileError {
    /// A PIN or PUK is not 6 to 8 bytes.
    SecretLength,
    /// A PIN or PUK contains `FF`, which the card edge reserves for padding.
    SecretPadding,
    /// Retry limits must be 1 to 15.
    Tries,
    /// The label is longer than 32 bytes or not UTF-8.
    Label,
}

/// Everything a token is made with. See `card-edge.md`, "Key references".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The serial number GET SERIAL answers.
    pub serial: u32,
    /// The holder's label (vendor object `5FFF02`), UTF-8, at most 32 bytes.
    pub label: Vec<u8, 32>,
    /// The factory PIN, 6 to 8 bytes.
    pub pin: Vec<u8, 8>,
    /// The factory PUK, 6 to 8 bytes.
    pub puk: Vec<u8, 8>,
    /// PIN tries, 1 to 15.
    pub pin_tries: u8,
    /// PUK tries, 1 to 15.
    pub puk_tries: u8,
    /// The factory management key.
    pub management_key: ManagementKey,
}

impl Profile {
    /// The card edge's defaults: PIN `123456`, PUK `12345678`, 3 tries each, the PIV
    /// default management key.
    pub fn standard(serial: u32) -> Self {
        Self {
            serial,
            label: Vec::new(),
            pin: vec_of(b"123456"),
            puk: vec_of(b"12345678"),
            pin_tries: 3,
            puk_tries: 3,
            management_key: ManagementKey::piv_default(),
        }
    }

    /// The habits of a Beijing CA legal-person key: PIN `12345678` with 10 tries.
    pub fn bjca(serial: u32) -> Self {
        Self {
            pin: vec_of(b"12345678"),
            pin_tries: 10,
            ..Self::standard(serial)
        }
    }

    /// Checks the rules of the card edge; a token is only ever made from a valid profile.
    pub fn validate(&self) -> Result<(), ProfileError> {
        for secret in [&self.pin, &self.puk] {
            if !(6..=8).contains(&secret.len()) {
                return Err(ProfileError::SecretLength);
            }
            if secret.contains(&0xFF) {
                return Err(ProfileError::SecretPadding);
            }
        }
        if !(1..=15).contains(&self.pin_tries) || !(1..=15).contains(&self.puk_tries) {
            return Err(ProfileError::Tries);
        }
        if core::str::from_utf8(&self.label).is_err() {
            return Err(ProfileError::Label);
        }
        Ok(())
    }
}

fn vec_of<const N: usize>(bytes: &[u8]) -> Vec<u8, N> {
    Vec::from_slice(bytes).unwrap_or_default()
}
