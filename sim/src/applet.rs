//! What a link carries APDUs to.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_firmware::Card;

/// The card behind a link: the ukey applet, or a stand-in in tests of the links themselves.
pub trait Applet: Send {
    /// Power on, power off or warm reset: the applet forgets its security state.
    fn reset(&mut self);

    /// Handles one command APDU; the answer is data then SW1 SW2.
    fn process(&mut self, command: &[u8]) -> &[u8];
}

impl<F, R> Applet for Card<F, R>
where
    F: NorFlash + MultiwriteNorFlash + Send,
    R: CryptoRng + Send,
{
    fn reset(&mut self) {
        Card::reset(self);
    }

    fn process(&mut self, command: &[u8]) -> &[u8] {
        Card::process(self, command)
    }
}
