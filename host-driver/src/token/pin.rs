//! The PIN and the PUK: their state, VERIFY, CHANGE REFERENCE DATA and RESET RETRY
//! COUNTER (SP 800-73-4 part 2, 3.2.1 to 3.2.3), and their retry counters (GET METADATA).

use ukey_card_edge::{Instruction, PIN_REFERENCE, PUK_REFERENCE, StatusWord};
use zeroize::Zeroizing;

use super::{Token, Tx};
use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::piv::Pin;
use crate::tlv;

/// Whether the PIN is verified in this session, or how many tries are left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PinStatus {
    /// Verified in the current session.
    Verified,
    /// Not verified; this many tries left.
    TriesLeft(u8),
    /// Blocked.
    Blocked,
}

/// The retry counter and default state of the PIN or the PUK (GET METADATA 80 / 81).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RetryMetadata {
    /// Still the factory value: change it before first use.
    pub is_default: bool,
    /// Tries allowed in all.
    pub total: u8,
    /// Tries left.
    pub left: u8,
}

impl Token {
    /// Whether the PIN is verified, or the tries left (VERIFY without data; costs no try).
    pub fn pin_status(&mut self) -> Result<PinStatus> {
        self.session(|tx| tx.pin_status())
    }

    /// Verifies the PIN.
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<()> {
        self.session(|tx| tx.verify_pin(pin))
    }

    /// Forgets a verified PIN (VERIFY with P1 `FF`).
    pub fn forget_pin(&mut self) -> Result<()> {
        self.session(|tx| {
            tx.send(&Apdu::new(Instruction::Verify, 0xFF, PIN_REFERENCE))?
                .ok("VERIFY")
                .map(drop)
        })
    }

    /// Changes the PIN (CHANGE REFERENCE DATA 80).
    pub fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<()> {
        self.session(|tx| tx.change_reference(PIN_REFERENCE, old, new))
    }

    /// Changes the PUK (CHANGE REFERENCE DATA 81).
    pub fn change_puk(&mut self, old: &Pin, new: &Pin) -> Result<()> {
        self.session(|tx| tx.change_reference(PUK_REFERENCE, old, new))
    }

    /// Sets a new PIN with the PUK and so unblocks it (RESET RETRY COUNTER).
    pub fn unblock_pin(&mut self, puk: &Pin, new_pin: &Pin) -> Result<()> {
        self.session(|tx| {
            let mut data = Zeroizing::new(puk.padded().to_vec());
            data.extend_from_slice(new_pin.padded());
            let r = tx.send(
                &Apdu::new(Instruction::ResetRetryCounter, 0x00, PIN_REFERENCE).data(data.to_vec()),
            )?;
            pin_result(r.sw, PUK_REFERENCE, "RESET RETRY COUNTER")
        })
    }

    /// The PIN's retry counter and whether it is still the default.
    pub fn pin_metadata(&mut self) -> Result<RetryMetadata> {
        self.session(|tx| tx.retry_metadata(PIN_REFERENCE))
    }

    /// The PUK's retry counter and whether it is still the default.
    pub fn puk_metadata(&mut self) -> Result<RetryMetadata> {
        self.session(|tx| tx.retry_metadata(PUK_REFERENCE))
    }
}

impl Tx<'_> {
    pub(super) fn pin_status(&mut self) -> Result<PinStatus> {
        let r = self.send(&Apdu::new(Instruction::Verify, 0x00, PIN_REFERENCE))?;
        match r.sw {
            StatusWord::Success => Ok(PinStatus::Verified),
            StatusWord::WrongPin { tries: 0 } | StatusWord::Blocked => Ok(PinStatus::Blocked),
            StatusWord::WrongPin { tries } => Ok(PinStatus::TriesLeft(tries)),
            sw => Err(Error::from_status("VERIFY", sw)),
        }
    }

    pub(super) fn verify_pin(&mut self, pin: &Pin) -> Result<()> {
        let r = self.send(
            &Apdu::new(Instruction::Verify, 0x00, PIN_REFERENCE).data(pin.padded().to_vec()),
        )?;
        pin_result(r.sw, PIN_REFERENCE, "VERIFY")
    }

    pub(super) fn change_reference(&mut self, reference: u8, old: &Pin, new: &Pin) -> Result<()> {
        let mut data = Zeroizing::new(old.padded().to_vec());
        data.extend_from_slice(new.padded());
        let r = self.send(
            &Apdu::new(Instruction::ChangeReferenceData, 0x00, reference).data(data.to_vec()),
        )?;
        pin_result(r.sw, reference, "CHANGE REFERENCE DATA")
    }

    pub(super) fn retry_metadata(&mut self, reference: u8) -> Result<RetryMetadata> {
        let data = self.metadata(reference)?.ok_or_else(|| Error::NotFound {
            what: format!("metadata of reference {reference:02X}"),
        })?;
        let is_default = tlv::find(&data, 0x05)?.is_some_and(|v| v.first() == Some(&1));
        match tlv::require(&data, 0x06)? {
            [total, left, ..] => Ok(RetryMetadata {
                is_default,
                total: *total,
                left: *left,
            }),
            _ => Err(Error::response("the retry counter has fewer than 2 bytes")),
        }
    }
}

/// The error (or success) a status word means after VERIFY, CHANGE or RESET RETRY for
/// reference `reference`.
fn pin_result(sw: StatusWord, reference: u8, command: &'static str) -> Result<()> {
    let puk = reference == PUK_REFERENCE;
    match sw {
        StatusWord::Success => Ok(()),
        StatusWord::WrongPin { tries: 0 } | StatusWord::Blocked if puk => Err(Error::PukBlocked),
        StatusWord::WrongPin { tries: 0 } | StatusWord::Blocked => Err(Error::PinBlocked),
        StatusWord::WrongPin { tries } if puk => Err(Error::WrongPuk { tries }),
        StatusWord::WrongPin { tries } => Err(Error::WrongPin { tries }),
        StatusWord::WrongLength | StatusWord::IncorrectData => Err(Error::input(
            "the token refused the new value (6 to 8 characters)",
        )),
        sw => Err(Error::from_status(command, sw)),
    }
}
