//! The management key's block cipher (SP 800-73-4 part 2, 3.2.4; SP 800-78-4 table 5). The
//! card only ever encrypts: the witness it sends, and the challenges it answers or checks.

use aes::cipher::{BlockCipherEncrypt, KeyInit};

use crate::profile::{ManagementKey, ManagementKeyAlgorithm};

/// Longest block (AES).
pub const MAX_BLOCK_LEN: usize = 16;

/// Encrypts one block in place (`block.len()` must be the algorithm's block length).
/// Returns `false` if the key or block length is wrong (a damaged record or a bad APDU).
pub fn encrypt(key: &ManagementKey, block: &mut [u8]) -> bool {
    if block.len() != key.algorithm.block_len() {
        return false;
    }
    match key.algorithm {
        ManagementKeyAlgorithm::TripleDes => run::<des::TdesEde3>(&key.key, block),
        ManagementKeyAlgorithm::Aes128 => run::<aes::Aes128>(&key.key, block),
        ManagementKeyAlgorithm::Aes192 => run::<aes::Aes192>(&key.key, block),
        ManagementKeyAlgorithm::Aes256 => run::<aes::Aes256>(&key.key, block),
    }
}

fn run<C: KeyInit + BlockCipherEncrypt>(key: &[u8], block: &mut [u8]) -> bool {
    let (Ok(cipher), Ok(block)) = (C::new_from_slice(key), block.try_into()) else {
        return false;
    };
    cipher.encrypt_block(block);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_hex(s: &str) -> heapless::Vec<u8, 32> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Known answers from `openssl enc -des-ede3 -K 0102..08 (x3) -nopad` over zero bytes and
    /// `openssl enc -aes-128-ecb -K 000102..0f -nopad` over FIPS 197's C.1 plaintext.
    #[test]
    fn known_answers() {
        let tdes = ManagementKey::piv_default();
        let mut block = [0u8; 8];
        assert!(encrypt(&tdes, &mut block));
        assert_eq!(block[..], from_hex("b073dc3fb209536d")[..]);
        let aes = ManagementKey::new(
            ManagementKeyAlgorithm::Aes128,
            &from_hex("000102030405060708090a0b0c0d0e0f"),
        )
        .unwrap();
        let mut block: [u8; 16] = from_hex("00112233445566778899aabbccddeeff")[..]
            .try_into()
            .unwrap();
        assert!(encrypt(&aes, &mut block));
        assert_eq!(block[..], from_hex("69c4e0d86a7b0430d8cdb78070b4c55a")[..]);
    }

    #[test]
    fn refuses_a_wrong_block_length() {
        assert!(!encrypt(&ManagementKey::piv_default(), &mut [0u8; 16]));
    }
}
