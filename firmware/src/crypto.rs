//! The token's cryptography, one concern per file: signing keys on the two curves, PIN
//! hashing, and the management key's block cipher.
//!
//! Public for benchmarks and for a host that wants the card's exact signing core:
//! [`SigningKey`] prepares a key once ([`SigningKey::new`]) and signs many digests with it
//! ([`SigningKey::sign`]); [`generate`] makes a key pair.

pub(crate) mod cipher;
pub(crate) mod ecc;
pub(crate) mod pin;

pub use ecc::{
    AgreeError, KeyAlgorithm, MAX_AGREEMENT_LEN, MAX_SIGNATURE_LEN, POINT_LEN, SCALAR_LEN, Secret,
    SignError, SigningKey, generate,
};
