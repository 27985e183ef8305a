//! Bench tokens in this process: the applet itself, and the applet behind the emulated USB
//! CCID device, both over RAM flash and ready to sign.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use ukey_firmware::{Card, Profile};
use ukey_sim::{Flash, Link, LinkKind, SimCard, Token, TokenOptions};

use super::apdu::{self, Publics, Transmit};

/// The serial number of bench tokens.
const SERIAL: u32 = 60_000_006;
/// The RNG seed of in-process bench tokens: reproducible runs.
const SEED: u64 = 6;

impl Transmit for SimCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String> {
        Ok(self.process(apdu).to_vec())
    }
}

impl Transmit for Token {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String> {
        Link::transmit(self, apdu).map_err(|e| e.to_string())
    }
}

/// The applet over RAM flash, as `ukey-sim` runs it, with a key of each curve and the PIN
/// verified; APDUs go straight to `Card::process`. Also returns the public points, in the
/// order of `Curve::ALL`.
pub fn card() -> Result<(Box<SimCard>, Publics), String> {
    let card = Card::open(
        Flash::ram(),
        ChaCha20Rng::seed_from_u64(SEED),
        &Profile::standard(SERIAL),
    )
    .map_err(|e| format!("opening the bench card: {e}"))?;
    let mut card = Box::new(card);
    let publics = apdu::provision(card.as_mut())?;
    Ok((card, publics))
}

/// A simulated token on `link`, powered on, with a key of each curve and the PIN verified;
/// also returns the public points.
pub fn token(link: LinkKind) -> Result<(Token, Publics), String> {
    let mut token = Token::open(&options(link)).map_err(|e| e.to_string())?;
    token.power_on().map_err(|e| e.to_string())?;
    let publics = apdu::provision(&mut token)?;
    Ok((token, publics))
}

/// The options of a bench token on `link`: in memory, seeded.
pub fn options(link: LinkKind) -> TokenOptions {
    TokenOptions {
        profile: Profile::standard(SERIAL),
        seed: Some(SEED),
        link,
        ..TokenOptions::default()
    }
}
