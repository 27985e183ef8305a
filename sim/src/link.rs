//! A card slot as a reader driver sees it, and the direct link that calls the applet.

use ukey_firmware::ATR;

use crate::applet::Applet;
use crate::error::Result;

/// A card slot as a reader driver (vpcd, a test) drives it: power, ATR and APDUs.
pub trait Link {
    /// Powers the card on (cold reset) and returns its ATR.
    fn power_on(&mut self) -> Result<Vec<u8>>;

    /// Powers the card off.
    fn power_off(&mut self) -> Result<()>;

    /// Warm reset; returns the ATR.
    fn reset(&mut self) -> Result<Vec<u8>> {
        self.power_off()?;
        self.power_on()
    }

    /// The card's ATR, as pcscd asks for it when it polls for presence. Does not reset the
    /// card.
    fn atr(&mut self) -> Result<Vec<u8>>;

    /// Sends one command APDU and returns the response: data, then SW1 SW2.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>>;
}

/// `--link direct`: APDUs go straight to [`Applet::process`].
#[derive(Debug)]
pub struct DirectLink<A> {
    applet: A,
}

impl<A: Applet> DirectLink<A> {
    /// A link to `applet`.
    pub fn new(applet: A) -> Self {
        Self { applet }
    }

    /// Gives the applet back, as when the token is unplugged.
    pub fn into_applet(self) -> A {
        self.applet
    }
}

impl<A: Applet> Link for DirectLink<A> {
    fn power_on(&mut self) -> Result<Vec<u8>> {
        self.applet.reset();
        Ok(ATR.to_vec())
    }

    fn power_off(&mut self) -> Result<()> {
        self.applet.reset();
        Ok(())
    }

    fn atr(&mut self) -> Result<Vec<u8>> {
        Ok(ATR.to_vec())
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        Ok(self.applet.process(command).to_vec())
    }
}
