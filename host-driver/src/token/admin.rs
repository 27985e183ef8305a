//! What needs the management key (SP 800-73-4 part 2, appendix A; the YubiKey extensions
//! the card edge adopts): mutual authentication, a new management key, PIN retries and
//! reset.

use ukey_card_edge::{Instruction, MANAGEMENT_KEY_REFERENCE, StatusWord};
use zeroize::Zeroizing;

use super::{Token, Tx};
use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::piv::{ManagementKey, ManagementKeyAlgorithm, Pin};
use crate::tlv;

/// What the token says about its management key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ManagementKeyMetadata {
    /// The algorithm.
    pub algorithm: ManagementKeyAlgorithm,
    /// Still the well-known default value.
    pub is_default: bool,
}

impl Token {
    /// Authenticates with the management key, each side proving it to the other. The
    /// other administrative methods do this themselves within their own transaction.
    pub fn authenticate(&mut self, key: &ManagementKey) -> Result<()> {
        self.session(|tx| tx.authenticate(key))
    }

    /// Replaces the management key (SET MANAGEMENT KEY).
    pub fn set_management_key(
        &mut self,
        current: &ManagementKey,
        new: &ManagementKey,
    ) -> Result<()> {
        self.session(|tx| {
            tx.authenticate(current)?;
            tx.set_management_key(new)
        })
    }

    /// The management key's algorithm and whether it is still the default.
    pub fn management_key_metadata(&mut self) -> Result<ManagementKeyMetadata> {
        self.session(|tx| tx.management_metadata())
    }

    /// Sets the number of PIN and PUK tries (1 to 15); both go back to their defaults.
    pub fn set_pin_retries(
        &mut self,
        key: &ManagementKey,
        pin: &Pin,
        pin_tries: u8,
        puk_tries: u8,
    ) -> Result<()> {
        if !(1..=15).contains(&pin_tries) || !(1..=15).contains(&puk_tries) {
            return Err(Error::input("PIN and PUK tries are 1 to 15"));
        }
        self.session(|tx| {
            tx.authenticate(key)?;
            tx.verify_pin(pin)?;
            tx.send(&Apdu::new(Instruction::SetPinRetries, pin_tries, puk_tries))?
                .ok("SET PIN RETRIES")
                .map(drop)
        })
    }

    /// Returns the token to its factory state: keys and certificates erased. The token
    /// accepts this only when the PIN and the PUK are both blocked.
    pub fn reset(&mut self) -> Result<()> {
        self.session(|tx| {
            let r = tx.send(&Apdu::new(Instruction::Reset, 0x00, 0x00))?;
            match r.sw {
                StatusWord::Success => Ok(()),
                StatusWord::ConditionsNotSatisfied | StatusWord::SecurityStatusNotSatisfied => Err(
                    Error::input("the token resets only when both the PIN and the PUK are blocked"),
                ),
                sw => Err(Error::from_status("RESET", sw)),
            }
        })
    }
}

impl Tx<'_> {
    /// SET MANAGEMENT KEY, once authenticated with the current one.
    pub(super) fn set_management_key(&mut self, new: &ManagementKey) -> Result<()> {
        let mut data = Zeroizing::new(vec![
            new.algorithm().id(),
            MANAGEMENT_KEY_REFERENCE,
            new.bytes().len() as u8,
        ]);
        data.extend_from_slice(new.bytes());
        self.send(&Apdu::new(Instruction::SetManagementKey, 0xFF, 0xFF).data(data.to_vec()))?
            .ok("SET MANAGEMENT KEY")
            .map(drop)
    }

    pub(super) fn management_metadata(&mut self) -> Result<ManagementKeyMetadata> {
        let data = self
            .metadata(MANAGEMENT_KEY_REFERENCE)?
            .ok_or_else(|| Error::NotFound {
                what: "management key metadata".into(),
            })?;
        let id = tlv::require(&data, 0x01)?
            .first()
            .copied()
            .unwrap_or_default();
        Ok(ManagementKeyMetadata {
            algorithm: ManagementKeyAlgorithm::from_id(id).ok_or_else(|| Error::NotSupported {
                what: format!("management key algorithm {id:02X}"),
            })?,
            is_default: tlv::find(&data, 0x05)?.is_some_and(|v| v.first() == Some(&1)),
        })
    }

    /// Mutual authentication with the management key (SP 800-73-4 part 2, appendix A): the
    /// token sends an encrypted witness, the host answers it decrypted with a challenge of
    /// its own, the token answers the challenge encrypted.
    pub(super) fn authenticate(&mut self, key: &ManagementKey) -> Result<()> {
        let key = self.match_algorithm(key)?;
        let alg = key.algorithm();
        let n = alg.block_len();
        let r = self.send(
            &Apdu::new(
                Instruction::GeneralAuthenticate,
                alg.id(),
                MANAGEMENT_KEY_REFERENCE,
            )
            .data(tlv::encode(0x7C, &[0x80, 0x00]))
            .expect_data(),
        )?;
        let r = match r.sw {
            StatusWord::Success => r.data,
            StatusWord::IncorrectP1P2 | StatusWord::IncorrectData => {
                return Err(Error::WrongManagementKey);
            }
            sw => return Err(Error::from_status("GENERAL AUTHENTICATE", sw)),
        };
        let mut witness = Zeroizing::new(tlv::require(tlv::require(&r, 0x7C)?, 0x80)?.to_vec());
        if witness.len() != n {
            return Err(Error::response("the witness has the wrong length"));
        }
        key.crypt(&mut witness, false)?;
        let mut challenge = vec![0u8; n];
        getrandom::fill(&mut challenge).map_err(Error::Random)?;
        let mut inner = tlv::encode(0x80, &witness);
        tlv::write(&mut inner, 0x81, &challenge);
        let r = self.send(
            &Apdu::new(
                Instruction::GeneralAuthenticate,
                alg.id(),
                MANAGEMENT_KEY_REFERENCE,
            )
            .data(tlv::encode(0x7C, &inner))
            .expect_data(),
        )?;
        let r = match r.sw {
            StatusWord::Success => r.data,
            StatusWord::SecurityStatusNotSatisfied | StatusWord::IncorrectData => {
                return Err(Error::WrongManagementKey);
            }
            sw => return Err(Error::from_status("GENERAL AUTHENTICATE", sw)),
        };
        let answer = tlv::require(tlv::require(&r, 0x7C)?, 0x82)?;
        let mut expected = challenge;
        key.crypt(&mut expected, true)?;
        if answer != expected.as_slice() {
            return Err(Error::response(
                "the token could not prove it knows the management key",
            ));
        }
        Ok(())
    }

    /// A 24-byte key is triple DES or AES-192: the token's metadata, when it has any, says
    /// which.
    fn match_algorithm(&mut self, key: &ManagementKey) -> Result<ManagementKey> {
        if key.algorithm().key_len() != 24 {
            return Ok(key.clone());
        }
        match self.management_metadata() {
            Ok(meta) if meta.algorithm.key_len() == 24 => {
                ManagementKey::new(meta.algorithm, key.bytes())
            }
            _ => Ok(key.clone()),
        }
    }
}
