//! The token's cryptography, one concern per file: signing keys on the two curves, PIN
//! hashing, and the management key's block cipher.

pub mod cipher;
pub mod ecc;
pub mod pin;
