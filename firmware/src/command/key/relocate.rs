//! MOVE KEY and DELETE KEY (`F6`, the YubiKey 5.7 extension the card edge v2 adopts).
//!
//! As a YubiKey 5.7 (and as ykman reads the answers): the management key is needed; the
//! key moves with its PIN policy and origin; a destination that holds a key (or is the
//! source) is refused with `6A 80` (ykman: "DEST slot is not empty"), an empty source with
//! `6A 88`, a reference that is no key slot with `6A 86`; the slots'
//! certificate objects stay where they are. A power cut leaves the key in its old slot or
//! in its new one, never in both (see [`Context::move_key`]).

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{Slot, StatusWord};

use crate::context::Context;

/// MOVE KEY (`00 F6 to from`): the key in `from` goes to the empty slot `to`.
pub fn move_key<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    from: Slot,
    to: Slot,
) -> Result<(), StatusWord> {
    if !ctx.volatile.management_authenticated {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    if ctx.key(from).is_none() {
        return Err(StatusWord::ReferenceNotFound);
    }
    if from == to || ctx.key(to).is_some() {
        return Err(StatusWord::IncorrectData);
    }
    ctx.move_key(from, to)
}

/// DELETE KEY (`00 F6 FF slot`): the key in `slot` is erased.
pub fn delete_key<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    slot: Slot,
) -> Result<(), StatusWord> {
    if !ctx.volatile.management_authenticated {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    if ctx.key(slot).is_none() {
        return Err(StatusWord::ReferenceNotFound);
    }
    ctx.delete_key(slot)
}
