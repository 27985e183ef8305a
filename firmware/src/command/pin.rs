//! VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (SP 800-73-4 part 2, 3.2.1–3.2.3).
//!
//! A wrong value costs its try before the comparison: the lowered counter is stored first,
//! so cutting power during the command never yields a free guess.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::StatusWord;

use super::SecretRef;
use crate::context::Context;
use crate::crypto::pin::{self, PADDED_LEN};
use crate::state::{PinState, Security};

fn state_mut(security: &mut Security, which: SecretRef) -> &mut PinState {
    match which {
        SecretRef::Pin => &mut security.pin,
        SecretRef::Puk => &mut security.puk,
    }
}

/// Spends one try of `which`, compares `candidate`, and on a match restores the counter.
/// `on_match` may change the security record further; it is stored in the same write. If it
/// refuses, only the counter is restored and its error answered.
///
/// A candidate of the right length that is no valid PIN (ykman sends eight `FF` to block the
/// PIN before a reset) is compared like any other and costs its try (card edge v2, Client
/// habits to honour).
fn check_and_apply<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    which: SecretRef,
    candidate: &[u8],
    on_match: impl FnOnce(&mut Security) -> Result<(), StatusWord>,
) -> Result<(), StatusWord> {
    let mut security = ctx.security().clone();
    let state = state_mut(&mut security, which);
    if state.is_blocked() {
        return Err(StatusWord::Blocked);
    }
    state.tries_left -= 1;
    let (salt, hash, left) = (state.salt, state.hash, state.tries_left);
    ctx.save_security(security.clone())?;
    if !pin::matches(&salt, &hash, candidate) {
        return Err(StatusWord::WrongPin { tries: left });
    }
    let state = state_mut(&mut security, which);
    state.tries_left = state.tries_max;
    let mut changed = security.clone();
    match on_match(&mut changed) {
        Ok(()) => ctx.save_security(changed),
        Err(refused) => {
            ctx.save_security(security)?;
            Err(refused)
        }
    }
}

/// VERIFY: with a PIN, checks it; without data, reports whether the PIN is verified.
pub fn verify<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    candidate: &[u8],
) -> Result<(), StatusWord> {
    if candidate.is_empty() {
        let pin = &ctx.security().pin;
        return match (ctx.volatile.pin_verified, pin.is_blocked()) {
            (true, _) => Ok(()),
            (false, true) => Err(StatusWord::Blocked),
            (false, false) => Err(StatusWord::WrongPin {
                tries: pin.tries_left,
            }),
        };
    }
    if candidate.len() != PADDED_LEN {
        return Err(StatusWord::IncorrectData);
    }
    ctx.volatile.forget_pin();
    check_and_apply(ctx, SecretRef::Pin, candidate, |_| Ok(()))?;
    ctx.volatile.pin_verified_now();
    Ok(())
}

/// VERIFY with P1 `FF`: the PIN is no longer verified.
pub fn forget<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
) -> Result<(), StatusWord> {
    ctx.volatile.forget_pin();
    Ok(())
}

/// Splits `old ‖ new` (8 + 8 bytes). The old value is compared whatever its form (a wrong
/// one costs its try, as ykman's PUK blocking expects); the new one is checked by
/// [`well_formed`] once the old one matched.
fn split_pair(data: &[u8]) -> Result<(&[u8], [u8; PADDED_LEN]), StatusWord> {
    let (first, second) = data
        .split_at_checked(PADDED_LEN)
        .ok_or(StatusWord::IncorrectData)?;
    let second: [u8; PADDED_LEN] = second.try_into().map_err(|_| StatusWord::IncorrectData)?;
    Ok((first, second))
}

/// `new` if it is a valid PIN or PUK (6 to 8 bytes, `FF`-padded), else `6A 80`.
fn well_formed(new: &[u8; PADDED_LEN]) -> Result<&[u8; PADDED_LEN], StatusWord> {
    if pin::is_well_formed(new) {
        Ok(new)
    } else {
        Err(StatusWord::IncorrectData)
    }
}

/// CHANGE REFERENCE DATA: the holder of the old PIN (or PUK) sets a new one.
pub fn change<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    which: SecretRef,
    data: &[u8],
) -> Result<(), StatusWord> {
    let (old, new) = split_pair(data)?;
    let salt = ctx.salt();
    check_and_apply(ctx, which, old, |security| {
        let new = well_formed(&new)?;
        let state = state_mut(security, which);
        *state = PinState::new(salt, new, state.tries_max, false);
        Ok(())
    })?;
    if which == SecretRef::Pin {
        ctx.volatile.pin_verified_now();
    }
    Ok(())
}

/// RESET RETRY COUNTER: the holder of the PUK sets a new PIN and unblocks it.
pub fn unblock<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    data: &[u8],
) -> Result<(), StatusWord> {
    let (puk, new_pin) = split_pair(data)?;
    ctx.volatile.forget_pin();
    let salt = ctx.salt();
    check_and_apply(ctx, SecretRef::Puk, puk, |security| {
        let new_pin = well_formed(&new_pin)?;
        let tries = security.pin.tries_max;
        security.pin = PinState::new(salt, new_pin, tries, false);
        Ok(())
    })
}
