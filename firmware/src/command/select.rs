//! SELECT (SP 800-73-4 part 2, 3.1.1): answers the Application Property Template.
//!
//! As a YubiKey, and as card edge v2 (Client habits to honour) asks, selecting the PIV
//! application forgets a verified PIN: libykpiv and yubikey.rs count the PIN's tries by a
//! re-SELECT and an empty VERIFY.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{PIV_AID, PIV_RID_LEN, StatusWord};

use crate::apdu::Reply;
use crate::context::Context;
use crate::crypto::ecc::KeyAlgorithm;

const LABEL: &[u8] = b"ukey PIV";

/// Selects the PIV application by its full AID or a prefix of it at least the RID long;
/// answers the template unless `template` is false (P2 `0C`: no response data).
pub fn select<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    aid: &[u8],
    template: bool,
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    if aid.len() < PIV_RID_LEN || !PIV_AID.starts_with(aid) {
        return Err(StatusWord::NotFound);
    }
    ctx.volatile.forget_pin();
    if !template {
        return Ok(());
    }
    let algorithms = [KeyAlgorithm::P256.id(), KeyAlgorithm::Sm2.id()];
    let ac_len = algorithms.len() * 3 + 3;
    let (rid, pix) = PIV_AID.split_at(PIV_RID_LEN);
    let body_len = (2 + pix.len()) + (2 + 2 + rid.len()) + (2 + LABEL.len()) + (2 + ac_len);
    reply.header(0x61, body_len)?;
    reply.tlv(0x4F, pix)?;
    reply.header(0x79, 2 + rid.len())?;
    reply.tlv(0x4F, rid)?;
    reply.tlv(0x50, LABEL)?;
    reply.header(0xAC, ac_len)?;
    for id in algorithms {
        reply.tlv(0x80, &[id])?;
    }
    reply.tlv(0x06, &[0x00])
}
