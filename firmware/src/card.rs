//! The card: what a link talks to.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;

use crate::profile::Profile;

/// Why a token could not be opened from its flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The profile breaks a rule of the card edge.
    Profile(crate::ProfileError),
    /// The flash is smaller than the store needs or not page-aligned.
    FlashGeometry,
    /// The flash holds records the store cannot make sense of.
    Corrupted,
    /// The flash driver reported an error.
    Flash,
}

/// A ukey token: the applet over its store. One per physical (or virtual) token.
pub struct Card<F: NorFlash, R: CryptoRng> {
    flash: F,
    rng: R,
    response: [u8; 2],
}

impl<F: NorFlash, R: CryptoRng> Card<F, R> {
    /// Opens the token kept in `flash`; a blank flash is made into a new token from `profile`.
    pub fn open(flash: F, rng: R, profile: &Profile) -> Result<Self, OpenError> {
        profile.validate().map_err(OpenError::Profile)?;
        Ok(Self {
            flash,
            rng,
            response: [0x6D, 0x00],
        })
    }

    /// Power on, power off or warm reset: forgets the security state (PIN verified,
    /// management key authenticated) and any half-finished chain. Stored data is kept.
    pub fn reset(&mut self) {}

    /// Handles one command APDU and returns the response: data, then SW1 SW2.
    pub fn process(&mut self, _command: &[u8]) -> &[u8] {
        let _ = &mut self.rng;
        &self.response
    }

    /// Gives the flash back, as when the token is unplugged.
    pub fn into_flash(self) -> F {
        self.flash
    }
}
