//! The host's cryptography: the management key's block cipher (one block, as the 9B
//! exchanges use it) and signature checks with the curve crates' own verifiers.

use aes::{Aes128, Aes192, Aes256};
use des::TdesEde3;
use des::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use p256::ecdsa::signature::hazmat::PrehashVerifier;

use super::apdu::hex;
use super::commands::{P256, SM2};
use super::model::ManagementKey;

/// The SM2 signer ID; a verifying key wants one, though the token signs the host's `e`.
const SM2_DISTID: &str = "1234567812345678";

/// The block length of a management key's cipher: 8 for 3DES, 16 for AES.
pub fn block_len(key: &ManagementKey) -> usize {
    if key.algorithm == 0x03 { 8 } else { 16 }
}

/// Encrypts (or decrypts) one block in place with the management key.
pub fn cipher_block(key: &ManagementKey, block: &mut [u8], encrypt: bool) -> Result<(), String> {
    match key.algorithm {
        0x03 => one_block::<TdesEde3>(&key.key, block, encrypt),
        0x08 => one_block::<Aes128>(&key.key, block, encrypt),
        0x0A => one_block::<Aes192>(&key.key, block, encrypt),
        0x0C => one_block::<Aes256>(&key.key, block, encrypt),
        other => Err(format!("no management key algorithm {other:02X}")),
    }
}

fn one_block<C: KeyInit + BlockCipherEncrypt + BlockCipherDecrypt>(
    key: &[u8],
    block: &mut [u8],
    encrypt: bool,
) -> Result<(), String> {
    let cipher = C::new_from_slice(key).map_err(|_| format!("a {}-byte key", key.len()))?;
    let mut one =
        Block::<C>::try_from(&*block).map_err(|_| format!("a {}-byte block", block.len()))?;
    if encrypt {
        cipher.encrypt_block(&mut one);
    } else {
        cipher.decrypt_block(&mut one);
    }
    block.copy_from_slice(&one);
    Ok(())
}

/// Checks the DER signature `der` of the 32-byte `digest` (SM2: `e`) against the public
/// point `public` (`04‖X‖Y`).
pub fn verify_signature(
    algorithm: u8,
    public: &[u8],
    digest: &[u8],
    der: &[u8],
) -> Result<(), String> {
    let verified = match algorithm {
        P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(public)
            .and_then(|key| Ok((key, p256::ecdsa::Signature::from_der(der)?)))
            .and_then(|(key, signature)| key.verify_prehash(digest, &signature)),
        SM2 => sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, public)
            .and_then(|key| Ok((key, sm2::dsa::Signature::from_der(der)?)))
            .and_then(|(key, signature)| key.verify_prehash(digest, &signature)),
        other => return Err(format!("no signature algorithm {other:02X}")),
    };
    verified.map_err(|_| {
        format!(
            "the signature {} of {} does not verify against {}",
            hex(der),
            hex(digest),
            hex(public)
        )
    })
}
