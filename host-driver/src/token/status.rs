//! Everything a holder or a helpdesk asks of a token, read in one transaction: identity,
//! versions, PIN and PUK, management key, and each slot's key and certificate. `ukey info`
//! and `ukey doctor` show it; a part the token does not have or tell is `None`.

use ukey_card_edge::{PIN_REFERENCE, PUK_REFERENCE};

use super::{
    ApplicationInfo, DeviceInfo, KeyMetadata, ManagementKeyMetadata, PinStatus, RetryMetadata,
    Token, Tx,
};
use crate::error::{Error, Result};
use crate::piv::{Slot, Version};

/// A token's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The reader that holds it.
    pub reader: String,
    /// What SELECT answered.
    pub application: ApplicationInfo,
    /// Serial number (GET SERIAL).
    pub serial: Option<u32>,
    /// The PIV version GET VERSION answers (YubiKey numbering).
    pub version: Option<Version>,
    /// The device information object (firmware version, storage).
    pub device: Option<DeviceInfo>,
    /// The holder's label.
    pub label: Option<String>,
    /// The PIN.
    pub pin: SecretState,
    /// The PUK, when the token tells its state.
    pub puk: Option<SecretState>,
    /// The management key's algorithm and whether it is the default.
    pub management_key: Option<ManagementKeyMetadata>,
    /// Each slot, in [`Slot::ALL`]'s order.
    pub slots: Vec<SlotStatus>,
}

/// The state of the PIN or the PUK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SecretState {
    /// Tries left, when known.
    pub tries_left: Option<u8>,
    /// Tries in all, when known.
    pub tries_total: Option<u8>,
    /// Still the factory value.
    pub is_default: Option<bool>,
    /// Verified in the token's current session.
    pub verified: bool,
}

impl SecretState {
    /// Whether no try is left.
    pub fn is_blocked(&self) -> bool {
        self.tries_left == Some(0)
    }

    /// From the retry metadata when the token has it, else from VERIFY without data.
    fn new(meta: Option<RetryMetadata>, status: Option<PinStatus>) -> Self {
        let from_status = match status {
            Some(PinStatus::TriesLeft(n)) => Some(n),
            Some(PinStatus::Blocked) => Some(0),
            _ => None,
        };
        Self {
            tries_left: meta.map(|m| m.left).or(from_status),
            tries_total: meta.map(|m| m.total),
            is_default: meta.map(|m| m.is_default),
            verified: status == Some(PinStatus::Verified),
        }
    }
}

/// One slot's key and certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotStatus {
    /// The slot.
    pub slot: Slot,
    /// Its key, if any.
    pub key: Option<KeyMetadata>,
    /// Its certificate (DER), if any.
    pub certificate: Option<Vec<u8>>,
}

impl Token {
    /// The token's whole state, in one transaction.
    pub fn status(&mut self) -> Result<Status> {
        let reader = self.reader().to_owned();
        let mut status = self.session(|tx| {
            let (pin, puk) = tx.pin_and_puk()?;
            let mut slots = Vec::new();
            for slot in Slot::ALL {
                slots.push(SlotStatus {
                    slot,
                    key: tx.key_metadata(slot)?,
                    certificate: optional(tx.certificate(slot))?.flatten(),
                });
            }
            Ok(Status {
                reader,
                application: ApplicationInfo::default(),
                serial: optional(tx.serial())?,
                version: optional(tx.version())?,
                device: optional(tx.device_info())?,
                label: optional(tx.label())?.flatten(),
                pin,
                puk,
                management_key: optional(tx.management_metadata())?,
                slots,
            })
        })?;
        if let Some(application) = &self.application {
            status.application.clone_from(application);
        }
        Ok(status)
    }

    /// The states of the PIN and of the PUK (when the token tells it), in one transaction.
    pub fn pin_and_puk(&mut self) -> Result<(SecretState, Option<SecretState>)> {
        self.session(|tx| tx.pin_and_puk())
    }
}

impl Tx<'_> {
    fn pin_and_puk(&mut self) -> Result<(SecretState, Option<SecretState>)> {
        let pin_status = self.pin_status()?;
        let pin_meta = optional(self.retry_metadata(PIN_REFERENCE))?;
        let puk_meta = optional(self.retry_metadata(PUK_REFERENCE))?;
        Ok((
            SecretState::new(pin_meta, Some(pin_status)),
            puk_meta.map(|meta| SecretState::new(Some(meta), None)),
        ))
    }
}

/// `None` for what the token does not have or does not support.
fn optional<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound { .. } | Error::NotSupported { .. } | Error::Refused { .. }) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
