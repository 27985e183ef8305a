//! Personalisation: what a manufacturer, or a test fixture, loads into a token before it
//! ships, through a Rust API of the platform rather than the card edge: no management key is
//! asked. A key is stored exactly as IMPORT ASYMMETRIC KEY stores one (the same code).
//!
//! What is loaded here is ordinary token content: a RESET wipes it like a generated key or a
//! certificate written by PUT DATA, and the factory settings stay those of the profile.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{ObjectId, POLICY_DEFAULT, PinPolicy, Slot, StatusWord};

use super::Card;
use crate::command::{data, key};
use crate::crypto::ecc::{KeyAlgorithm, POINT_LEN};

/// Why personalisation refused a key or an object; the token is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisionError {
    /// No token is loaded ([`Card::load`] has not succeeded).
    NotLoaded,
    /// Not a key slot of the card edge (9A, 9C, 9D, 9E).
    Slot,
    /// Not a key algorithm of the card (11 P-256, 54 SM2).
    Algorithm,
    /// Not a private scalar of the curve: 32 bytes, between 1 and the order less 1.
    Key,
    /// Not a PIN policy (00 the slot's default, 01 never, 02 once, 03 always).
    PinPolicy,
    /// Not a data object PUT DATA can write, or a value the object does not take.
    Object,
    /// The store has no room left for it.
    Full,
    /// The flash reported an error.
    Flash,
}

impl core::fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NotLoaded => "no token is loaded",
            Self::Slot => "not a key slot: use 9A, 9C, 9D or 9E",
            Self::Algorithm => "not a key algorithm: use 11 (P-256) or 54 (SM2)",
            Self::Key => "not a private key of the curve (32 bytes, 1 to n-1)",
            Self::PinPolicy => "not a PIN policy: use 00 (default), 01, 02 or 03",
            Self::Object => "not a data object PUT DATA writes, or a value it does not take",
            Self::Full => "the token's store is full",
            Self::Flash => "the flash reported an error",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProvisionError {}

impl From<StatusWord> for ProvisionError {
    fn from(status: StatusWord) -> Self {
        match status {
            StatusWord::NotEnoughMemory => Self::Full,
            StatusWord::MemoryFailure => Self::Flash,
            _ => Self::Object,
        }
    }
}

impl<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> Card<F, R> {
    /// Puts a private key made elsewhere into `slot` (replacing any key there) and returns
    /// its public point. GET METADATA then reports the key as imported (origin `02`).
    /// `algorithm` is the card edge's identifier (11 or 54), `secret` the 32-byte scalar,
    /// `pin_policy` as GENERATE takes it (00 for the slot's default).
    pub fn import_key(
        &mut self,
        slot: u8,
        algorithm: u8,
        secret: &[u8],
        pin_policy: u8,
    ) -> Result<[u8; POINT_LEN], ProvisionError> {
        let ctx = self.ctx.get_mut().ok_or(ProvisionError::NotLoaded)?;
        let slot = Slot::from_reference(slot).ok_or(ProvisionError::Slot)?;
        let algorithm = KeyAlgorithm::from_id(algorithm).ok_or(ProvisionError::Algorithm)?;
        let pin_policy = match pin_policy {
            POLICY_DEFAULT => slot.default_pin_policy(),
            id => PinPolicy::from_id(id).ok_or(ProvisionError::PinPolicy)?,
        };
        let stored = key::store_imported(ctx, slot, algorithm, secret, pin_policy);
        stored.map_err(|status| match status {
            StatusWord::IncorrectData => ProvisionError::Key,
            other => other.into(),
        })
    }

    /// Stores data object `tag` (for example `5FC105`, the 9A certificate) with `value`, the
    /// contents of tag `53` exactly as PUT DATA takes them (a certificate as
    /// `70 cert 71 01 00 FE 00`), under PUT DATA's rules but without the management key.
    pub fn put_object(&mut self, tag: u32, value: &[u8]) -> Result<(), ProvisionError> {
        let ctx = self.ctx.get_mut().ok_or(ProvisionError::NotLoaded)?;
        if value.is_empty() {
            return Err(ProvisionError::Object);
        }
        Ok(data::store(ctx, ObjectId(tag), value)?)
    }
}
