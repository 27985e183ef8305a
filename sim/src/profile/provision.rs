//! Preloading the fixtures into a token made just now from a blank flash, through the
//! firmware's personalisation calls (outside the card edge, as a manufacturer loads a
//! token). A token made before keeps what it holds: fixtures are never applied twice.

use super::fixture::Fixtures;
use crate::error::{Error, Result};
use crate::token::SimCard;

impl Fixtures {
    /// Preloads the fixtures into `card`, a token just made from a blank flash. The image of
    /// a token being made is still aside ([`ukey_firmware::flash::NewImage`]): if the firmware
    /// refuses a fixture, it is never published, so a bad fixture leaves no half-made token.
    pub fn provision(&self, card: &mut SimCard) -> Result<()> {
        self.load_into(card)
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
