//! Signatures made on the token (GENERAL AUTHENTICATE, SP 800-73-4 part 2, 3.2.4), through
//! a [`Signer`] for one slot: what the slot's key is and whether it asks for the PIN are
//! read once (GET METADATA), then each signature is one transaction of SELECT, VERIFY when
//! the key's policy asks for the PIN, and GENERAL AUTHENTICATE.

use ukey_card_edge::{Instruction, StatusWord};

use super::{KeyMetadata, Token, Tx};
use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::keys::{DEFAULT_SIGNER_ID, PublicKey};
use crate::piv::{Algorithm, Pin, PinPolicy, Slot};
use crate::tlv;

/// Signs with the key in one slot of a token.
pub struct Signer<'t> {
    token: &'t mut Token,
    slot: Slot,
    key: KeyMetadata,
    pin: Option<Pin>,
    signer_id: String,
}

impl std::fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("slot", &self.slot)
            .field("algorithm", &self.key.algorithm)
            .field("pin_policy", &self.key.pin_policy)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// A signer for the key in `slot`, or [`Error::NotFound`] when the slot has none. One
    /// transaction reads the key's algorithm, public key and PIN policy; the signatures
    /// that follow read none of them again.
    pub fn signer(&mut self, slot: Slot) -> Result<Signer<'_>> {
        let key = self.key_metadata(slot)?.ok_or_else(|| Error::NotFound {
            what: format!("a key in slot {slot}"),
        })?;
        Ok(Signer {
            token: self,
            slot,
            key,
            pin: None,
            signer_id: DEFAULT_SIGNER_ID.to_owned(),
        })
    }
}

impl Signer<'_> {
    /// The slot.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm
    }

    /// The key's public half, which checks every signature before it is returned.
    pub fn public_key(&self) -> &PublicKey {
        &self.key.public_key
    }

    /// When the key asks for the PIN.
    pub fn pin_policy(&self) -> PinPolicy {
        self.key.pin_policy
    }

    /// Whether a signature needs the PIN: the key's policy is "once" or "always". ("Once"
    /// may be satisfied by a PIN verified earlier in the token's session, which no
    /// program can see without trying, so it counts as needing one.)
    pub fn needs_pin(&self) -> bool {
        self.key.pin_policy != PinPolicy::Never
    }

    /// The PIN to verify in each signature's transaction; kept (wiped on drop) and sent
    /// only when [`needs_pin`](Self::needs_pin). Without one, a key that needs it is
    /// refused by the token with [`Error::NotAuthenticated`], unless the PIN of a "once"
    /// key is still verified.
    pub fn with_pin(mut self, pin: Pin) -> Self {
        self.pin = Some(pin);
        self
    }

    /// The SM2 signer identifier hashed into `Z_A` (default
    /// [`DEFAULT_SIGNER_ID`]); P-256 signatures do not use it.
    pub fn with_signer_id(mut self, signer_id: &str) -> Self {
        signer_id.clone_into(&mut self.signer_id);
        self
    }

    /// Signs `message`: computes what the key's algorithm signs (SHA-256, or SM3 over
    /// `Z_A` and the message), signs it on the token in one transaction, and checks the
    /// signature with the public key before returning it (DER `SEQUENCE { r, s }`).
    pub fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let digest = self.key.public_key.digest(message, &self.signer_id)?;
        self.sign_digest(&digest)
    }

    /// Signs a digest already computed as [`PublicKey::digest`] does, in one transaction
    /// (SELECT, VERIFY when the PIN is needed and given, GENERAL AUTHENTICATE), and checks
    /// the signature before returning it.
    pub fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>> {
        let pin = self.pin.as_ref().filter(|_| self.needs_pin());
        let (slot, algorithm) = (self.slot, self.key.algorithm);
        let signature = self.token.session(|tx| {
            if let Some(pin) = pin {
                tx.verify_pin(pin)?;
            }
            tx.general_authenticate(slot, algorithm, digest)
        })?;
        self.key
            .public_key
            .verify_digest(digest, &signature, &self.signer_id)
            .map_err(|_| {
                Error::response(format!(
                    "the signature does not verify with the key read from slot {slot}; \
                     was the key replaced meanwhile?"
                ))
            })?;
        Ok(signature)
    }
}

impl Tx<'_> {
    /// GENERAL AUTHENTICATE with a digest: the signature's DER `SEQUENCE { r, s }`.
    fn general_authenticate(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        digest: &[u8; 32],
    ) -> Result<Vec<u8>> {
        self.use_key(slot, algorithm, 0x81, digest)
    }

    /// GENERAL AUTHENTICATE `7C { 82 00, tag input }` with the key in `slot`: the value of
    /// the answer's `82` (a signature for `81`, a shared secret for `85`).
    pub(super) fn use_key(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        tag: u8,
        input: &[u8],
    ) -> Result<Vec<u8>> {
        let mut inner = vec![0x82, 0x00];
        tlv::write(&mut inner, u32::from(tag), input);
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
