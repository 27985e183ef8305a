//! Signatures made on the token (GENERAL AUTHENTICATE, SP 800-73-4 part 2, 3.2.4).

use ukey_card_edge::{Instruction, StatusWord};

use super::{Token, Tx};
use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::piv::{Algorithm, Pin, Slot};
use crate::tlv;

/// A signature made on the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The DER `SEQUENCE { r, s }`.
    pub signature: Vec<u8>,
    /// The key that made it.
    pub public_key: PublicKey,
}

impl Token {
    /// Signs a 32-byte digest with the key in `slot`; `pin` is verified first in the same
    /// transaction when given. Returns the DER signature.
    pub fn sign_digest(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        digest: &[u8],
        pin: Option<&Pin>,
    ) -> Result<Vec<u8>> {
        self.session(|tx| {
            if let Some(pin) = pin {
                tx.verify_pin(pin)?;
            }
            tx.sign(slot, algorithm, digest)
        })
    }

    /// Signs `message` with the key in `slot`: reads the slot's public key, computes what
    /// the algorithm signs (SHA-256, or SM3 over Z_A with `signer_id` and the message),
    /// verifies `pin` if given, signs, and checks the signature before returning it.
    pub fn sign(
        &mut self,
        slot: Slot,
        message: &[u8],
        pin: Option<&Pin>,
        signer_id: &str,
    ) -> Result<Signed> {
        self.session(|tx| {
            let meta = tx.key_metadata(slot)?.ok_or_else(|| Error::NotFound {
                what: format!("a key in slot {slot}"),
            })?;
            let digest = meta.public_key.digest(message, signer_id)?;
            if let Some(pin) = pin {
                tx.verify_pin(pin)?;
            }
            let signature = tx.sign(slot, meta.algorithm, &digest)?;
            meta.public_key
                .verify_digest(&digest, &signature, signer_id)
                .map_err(|_| Error::response("the token's signature does not verify"))?;
            Ok(Signed {
                signature,
                public_key: meta.public_key,
            })
        })
    }
}

impl Tx<'_> {
    pub(super) fn sign(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>> {
        if digest.len() != 32 {
            return Err(Error::input("the token signs a 32-byte digest"));
        }
        let mut inner = vec![0x82, 0x00];
        tlv::write(&mut inner, 0x81, digest);
        let r = self.send(
            &Apdu::new(
                Instruction::GeneralAuthenticate,
                algorithm.id(),
                slot.reference(),
            )
            .data(tlv::encode(0x7C, &inner))
            .expect_data(),
        )?;
        match r.sw {
            StatusWord::Success => Ok(tlv::require(tlv::require(&r.data, 0x7C)?, 0x82)?.to_vec()),
            StatusWord::ReferenceNotFound | StatusWord::NotFound => Err(Error::NotFound {
                what: format!("a key in slot {slot}"),
            }),
            StatusWord::IncorrectP1P2 | StatusWord::IncorrectData => Err(Error::input(format!(
                "the key in slot {slot} is not a {algorithm} key"
            ))),
            sw => Err(Error::from_status("GENERAL AUTHENTICATE", sw)),
        }
    }
}
