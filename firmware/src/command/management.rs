//! Token management: GET VERSION, GET SERIAL, SET PIN RETRIES and RESET (the YubiKey
//! extensions the card edge adopts).

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::StatusWord;

use crate::apdu::Reply;
use crate::context::Context;
use crate::crypto::pin;
use crate::state::{PinState, Volatile};

/// The version GET VERSION answers: the YubiKey firmware whose PIV the card edge follows,
/// not the firmware's own. From 5 yubico-piv-tool asks for the serial and the metadata;
/// from 5.7 ykman offers MOVE KEY and DELETE KEY (card edge v2).
const CARD_EDGE_VERSION: [u8; 3] = [5, 7, 0];

/// GET VERSION.
pub fn version(reply: &mut Reply<'_>) -> Result<(), StatusWord> {
    reply.push(&CARD_EDGE_VERSION)
}

/// GET SERIAL: four bytes, big-endian.
pub fn serial<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    reply.push(&ctx.factory.profile.serial.to_be_bytes())
}

/// SET PIN RETRIES: new limits, and PIN and PUK back to their factory values. Needs the
/// management key and the PIN.
pub fn set_pin_retries<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    pin_tries: u8,
    puk_tries: u8,
) -> Result<(), StatusWord> {
    if !ctx.volatile.management_authenticated || !ctx.volatile.pin_verified {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    if !(1..=15).contains(&pin_tries) || !(1..=15).contains(&puk_tries) {
        return Err(StatusWord::IncorrectP1P2);
    }
    let (pin_salt, puk_salt) = (ctx.salt(), ctx.salt());
    let profile = &ctx.factory.profile;
    let mut security = ctx.security().clone();
    security.pin = PinState::new(pin_salt, &pin::pad(&profile.pin), pin_tries, true);
    security.puk = PinState::new(puk_salt, &pin::pad(&profile.puk), puk_tries, true);
    ctx.save_security(security)?;
    ctx.volatile.forget_pin();
    Ok(())
}

/// RESET: back to the factory state, only once PIN and PUK are both blocked.
pub fn reset<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
) -> Result<(), StatusWord> {
    let security = ctx.security();
    if !security.pin.is_blocked() || !security.puk.is_blocked() {
        return Err(StatusWord::ConditionsNotSatisfied);
    }
    ctx.volatile = Volatile::default();
    ctx.factory_reset()
}
