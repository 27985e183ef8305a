//! Preloading the fixtures into a token made just now from a blank flash, through the
//! firmware's personalisation calls (outside the card edge, as a manufacturer loads a
//! token). A token made before keeps what it holds: fixtures are never applied twice.

use std::path::Path;

use embedded_storage::nor_flash::ReadNorFlash;
use ukey_firmware::flash::PAGE_SIZE;

use super::fixture::Fixtures;
use crate::error::{Error, Result};
use crate::flash::Flash;
use crate::token::SimCard;

/// Whether `flash` is erased everywhere: a token not made yet, which `Card::open` makes
/// from the profile and which then gets the fixtures.
pub fn is_blank(flash: &mut Flash) -> Result<bool> {
    let mut page = vec![0; PAGE_SIZE];
    for start in (0..flash.capacity()).step_by(PAGE_SIZE) {
        let offset = u32::try_from(start)
            .map_err(|_| Error::Open("the flash is larger than 4 GiB".to_string()))?;
        flash
            .read(offset, &mut page)
            .map_err(|error| Error::Open(format!("reading the flash: {error:?}")))?;
        if page.iter().any(|&byte| byte != 0xFF) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Fixtures {
    /// Preloads the fixtures into `card`, a token just made from a blank flash. If the
    /// firmware refuses one, the image file (`image`, made just now) is removed, so that a
    /// bad fixture leaves no half-made token behind.
    pub fn provision(&self, card: &mut SimCard, image: Option<&Path>) -> Result<()> {
        self.load_into(card).inspect_err(|_| {
            if let Some(path) = image {
                // The image held nothing before; if removing it fails, the error the user
                // needs is still the fixture's.
                let _ = std::fs::remove_file(path);
            }
        })
    }

    fn load_into(&self, card: &mut SimCard) -> Result<()> {
        for key in &self.keys {
            let slot = key.slot.reference();
            let refused = |what: &str, reason: &dyn std::fmt::Display| {
                Error::Profile(format!(
                    "the token refused the {what} of fixture slot {slot:02X}: {reason}"
                ))
            };
            let public = card
                .import_key(
                    slot,
                    key.curve.piv_algorithm(),
                    key.secret.as_slice(),
                    key.pin_policy.byte(),
                )
                .map_err(|error| refused("key", &error))?;
            if public != key.public {
                return Err(refused(
                    "key",
                    &"its public key is not the one the file gives",
                ));
            }
            if let Some(certificate) = &key.certificate {
                card.put_object(key.slot.certificate_tag(), certificate)
                    .map_err(|error| refused("certificate", &error))?;
            }
        }
        for object in &self.objects {
            card.put_object(object.tag, &object.value)
                .map_err(|error| {
                    Error::Profile(format!(
                        "the token refused the fixture object {:06X}: {error}",
                        object.tag
                    ))
                })?;
        }
        Ok(())
    }
}
