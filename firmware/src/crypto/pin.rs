//! PINs and PUKs at rest: salted SHA-256 of the 8-byte padded value, compared in constant
//! time. A six-digit PIN falls to brute force offline whatever the hash; what protects it
//! is the retry counter, and the hash keeps the value itself out of a flash dump.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A PIN or PUK as it travels in APDUs: 6 to 8 bytes, padded with `FF` to 8.
pub const PADDED_LEN: usize = 8;
/// Salt length.
pub const SALT_LEN: usize = 16;
/// Hash length.
pub const HASH_LEN: usize = 32;

/// Checks the card edge's format: 6 to 8 bytes of value, then only `FF` padding.
pub fn is_well_formed(padded: &[u8]) -> bool {
    if padded.len() != PADDED_LEN {
        return false;
    }
    let value_len = padded.iter().position(|&b| b == 0xFF).unwrap_or(PADDED_LEN);
    value_len >= 6 && padded[value_len..].iter().all(|&b| b == 0xFF)
}

/// Pads a 6-to-8-byte value with `FF` to the 8 bytes it is hashed as.
pub fn pad(value: &[u8]) -> [u8; PADDED_LEN] {
    let mut padded = [0xFF; PADDED_LEN];
    let n = value.len().min(PADDED_LEN);
    padded[..n].copy_from_slice(&value[..n]);
    padded
}

/// `SHA-256(salt ‖ padded)`.
pub fn hash(salt: &[u8; SALT_LEN], padded: &[u8; PADDED_LEN]) -> [u8; HASH_LEN] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(padded);
    h.finalize().into()
}

/// Whether `padded` hashes to `expected` under `salt`, in time independent of where they differ.
pub fn matches(salt: &[u8; SALT_LEN], expected: &[u8; HASH_LEN], padded: &[u8]) -> bool {
    let Ok(padded) = <&[u8; PADDED_LEN]>::try_from(padded) else {
        return false;
    };
    hash(salt, padded).ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_rules() {
        assert!(is_well_formed(&pad(b"123456")));
        assert!(is_well_formed(b"12345678"));
        assert!(!is_well_formed(&pad(b"12345")));
        assert!(!is_well_formed(&[
            b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, b'7'
        ]));
        assert!(!is_well_formed(b"1234567"));
    }

    #[test]
    fn salted_hash_matches_only_the_value() {
        let salt = [7u8; SALT_LEN];
        let stored = hash(&salt, &pad(b"123456"));
        assert!(matches(&salt, &stored, &pad(b"123456")));
        assert!(!matches(&salt, &stored, &pad(b"123457")));
        assert!(!matches(&[8u8; SALT_LEN], &stored, &pad(b"123456")));
    }
}
