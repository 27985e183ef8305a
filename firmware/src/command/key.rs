//! Key slots: GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 part 2, 3.3.2), IMPORT ASYMMETRIC KEY
//! (the YubiKey extension card edge v2 adopts), GENERAL AUTHENTICATE signing and key agreement
//! (3.2.4), and GET METADATA (the YubiKey extension the card edge adopts).

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{
    KeyOrigin, MANAGEMENT_KEY_REFERENCE, PIN_REFERENCE, POLICY_DEFAULT, PUK_REFERENCE, PinPolicy,
    Slot, StatusWord, tlv,
};

use crate::apdu::Reply;
use crate::context::Context;
use crate::crypto::ecc::{
    self, KeyAlgorithm, MAX_AGREEMENT_LEN, MAX_SIGNATURE_LEN, POINT_LEN, SCALAR_LEN, SigningKey,
};
use crate::state::{SlotKey, TOUCH_NEVER};
use zeroize::Zeroizing;

pub(super) mod relocate;

/// GENERATE: a fresh key pair in `slot`, replacing any key there; answers the public point.
pub fn generate<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    slot: Slot,
    data: &[u8],
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    if !ctx.volatile.management_authenticated {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    let template = tlv::only(data, 0xAC).ok_or(StatusWord::IncorrectData)?;
    let (mut algorithm, mut pin_policy) = (None, slot.default_pin_policy());
    for item in tlv::iter(template) {
        let item = item.map_err(|_| StatusWord::IncorrectData)?;
        match (item.tag, item.value) {
            (0x80, &[id]) => {
                algorithm = Some(KeyAlgorithm::from_id(id).ok_or(StatusWord::IncorrectData)?)
            }
            (tag, value) if read_policy(slot, tag, value, &mut pin_policy)? => {}
            _ => return Err(StatusWord::IncorrectData),
        }
    }
    let algorithm = algorithm.ok_or(StatusWord::IncorrectData)?;
    let (secret, public) = ecc::generate(algorithm, &mut ctx.rng);
    let key = SigningKey::from_stored(algorithm, &secret, &public)
        .map_err(|_| StatusWord::IncorrectData)?;
    ctx.save_key(
        slot,
        SlotKey::prepared(key, pin_policy, KeyOrigin::Generated),
    )?;
    reply.header(0x7F49, 2 + public.len())?;
    reply.tlv(0x86, &public)
}

/// Reads a policy element of GENERATE or IMPORT into `pin_policy`: `AA` the PIN policy
/// (`00` the slot's default), `AB` the touch policy, of which only the default and never are
/// taken (the YubiKey encoding, card edge "Commands"). `Ok(false)` for any other tag.
fn read_policy(
    slot: Slot,
    tag: u32,
    value: &[u8],
    pin_policy: &mut PinPolicy,
) -> Result<bool, StatusWord> {
    match (tag, value) {
        (0xAA, &[POLICY_DEFAULT]) => *pin_policy = slot.default_pin_policy(),
        (0xAA, &[id]) => *pin_policy = PinPolicy::from_id(id).ok_or(StatusWord::IncorrectData)?,
        (0xAB, &[POLICY_DEFAULT | TOUCH_NEVER]) => {}
        (0xAA | 0xAB, _) => return Err(StatusWord::IncorrectData),
        _ => return Ok(false),
    }
    Ok(true)
}

/// IMPORT ASYMMETRIC KEY (YubiKey extension; card edge v2, "Commands added"): the private
/// scalar in `06`, left-padded with zeros to the curve's length as yubico-piv-tool and ykman
/// send it, then the optional `AA` PIN and `AB` touch policies as GENERATE takes them. The
/// key replaces any key in `slot` and is reported as imported (GET METADATA origin `02`);
/// the answer has no data. An algorithm the card does not hold keys of (RSA, Ed25519) answers
/// `6A 80`, as GENERATE does.
pub fn import<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    algorithm: u8,
    slot: Slot,
    data: &[u8],
) -> Result<(), StatusWord> {
    if !ctx.volatile.management_authenticated {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    let algorithm = KeyAlgorithm::from_id(algorithm).ok_or(StatusWord::IncorrectData)?;
    let (mut secret, mut pin_policy) = (None, slot.default_pin_policy());
    for item in tlv::iter(data) {
        let item = item.map_err(|_| StatusWord::IncorrectData)?;
        match (item.tag, item.value) {
            (0x06, value) => {
                if secret.replace(value).is_some() {
                    return Err(StatusWord::IncorrectData);
                }
            }
            (tag, value) if read_policy(slot, tag, value, &mut pin_policy)? => {}
            _ => return Err(StatusWord::IncorrectData),
        }
    }
    let secret = secret.ok_or(StatusWord::IncorrectData)?;
    store_imported(ctx, slot, algorithm, secret, pin_policy).map(|_| ())
}

/// Prepares `secret` as a private key of `algorithm` and stores it in `slot` as imported,
/// replacing any key there; returns its public point. IMPORT and personalisation
/// ([`crate::Card::import_key`]) store a key made elsewhere only through here. A scalar of
/// the wrong length, zero, or not below the group order (for SM2 also `n - 1`, which has no
/// `(1 + d)^-1`) answers `6A 80` and changes nothing.
pub(crate) fn store_imported<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    slot: Slot,
    algorithm: KeyAlgorithm,
    secret: &[u8],
    pin_policy: PinPolicy,
) -> Result<[u8; POINT_LEN], StatusWord> {
    let secret: &[u8; SCALAR_LEN] = secret.try_into().map_err(|_| StatusWord::IncorrectData)?;
    let key = SigningKey::new(algorithm, secret).map_err(|_| StatusWord::IncorrectData)?;
    let public = key.public_key();
    ctx.save_key(
        slot,
        SlotKey::prepared(key, pin_policy, KeyOrigin::Imported),
    )?;
    Ok(public)
}

/// What GENERAL AUTHENTICATE asks of a slot key.
enum Operation<'a> {
    /// `7C { 82 00, 81 digest }`: sign the digest.
    Sign(&'a [u8]),
    /// `7C { 82 00, 85 point }`: key agreement with the peer's point (card edge v2).
    Agree(&'a [u8]),
}

fn parse_operation(data: &[u8]) -> Result<Operation<'_>, StatusWord> {
    let template = tlv::only(data, 0x7C).ok_or(StatusWord::IncorrectData)?;
    let (mut operation, mut asks_response) = (None, false);
    for item in tlv::iter(template) {
        let item = item.map_err(|_| StatusWord::IncorrectData)?;
        let given = match (item.tag, item.value) {
            (0x81, value) => Operation::Sign(value),
            (0x85, value) => Operation::Agree(value),
            (0x82, []) => {
                asks_response = true;
                continue;
            }
            _ => return Err(StatusWord::IncorrectData),
        };
        if operation.replace(given).is_some() {
            return Err(StatusWord::IncorrectData);
        }
    }
    match (operation, asks_response) {
        (Some(operation), true) => Ok(operation),
        _ => Err(StatusWord::IncorrectData),
    }
}

/// GENERAL AUTHENTICATE with a slot key, per the slot's PIN policy: signs the digest in
/// `7C { 82 00, 81 digest }` (card edge, Commands) or agrees a key with the point in
/// `7C { 82 00, 85 point }` (card edge v2, Commands added); answers `7C { 82 result }`.
pub fn general_authenticate<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    algorithm: KeyAlgorithm,
    slot: Slot,
    data: &[u8],
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    let operation = parse_operation(data)?;
    let key = ctx.key(slot).ok_or(StatusWord::ReferenceNotFound)?;
    if key.algorithm() != algorithm {
        return Err(StatusWord::IncorrectData);
    }
    let pin_ok = match key.pin_policy {
        PinPolicy::Never => true,
        PinPolicy::Once => ctx.volatile.pin_verified,
        PinPolicy::Always => ctx.volatile.pin_fresh,
    };
    if !pin_ok {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    // A copy (wiped on drop) frees `ctx` for the RNG.
    let (key, policy) = (key.signer().clone(), key.pin_policy);
    let mut result = Zeroizing::new([0u8; MAX_RESULT_LEN]);
    let len = match operation {
        Operation::Sign(digest) => {
            let signature = result
                .first_chunk_mut::<MAX_SIGNATURE_LEN>()
                .ok_or(StatusWord::IncorrectData)?;
            key.sign(digest, &mut ctx.rng, signature)
                .map_err(|_| StatusWord::IncorrectData)?
        }
        Operation::Agree(peer) => {
            let shared = result
                .first_chunk_mut::<MAX_AGREEMENT_LEN>()
                .ok_or(StatusWord::IncorrectData)?;
            key.agree(peer, shared)
                .map_err(|_| StatusWord::IncorrectData)?
        }
    };
    if policy == PinPolicy::Always {
        ctx.volatile.pin_fresh = false;
    }
    reply.header(0x7C, 2 + len)?;
    reply.tlv(0x82, &result[..len])
}

/// Room for the longest answer of either operation.
const MAX_RESULT_LEN: usize = if MAX_SIGNATURE_LEN > MAX_AGREEMENT_LEN {
    MAX_SIGNATURE_LEN
} else {
    MAX_AGREEMENT_LEN
};

/// GET METADATA for a key reference: PIN, PUK, management key or slot key.
pub fn metadata<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    reference: u8,
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    let security = ctx.security();
    match reference {
        PIN_REFERENCE | PUK_REFERENCE => {
            let state = if reference == PIN_REFERENCE {
                &security.pin
            } else {
                &security.puk
            };
            reply.tlv(0x01, &[0xFF])?;
            reply.tlv(0x05, &[u8::from(state.is_default)])?;
            reply.tlv(0x06, &[state.tries_max, state.tries_left])
        }
        MANAGEMENT_KEY_REFERENCE => {
            reply.tlv(0x01, &[security.management_key.algorithm.id()])?;
            reply.tlv(0x02, &[POLICY_DEFAULT, TOUCH_NEVER])?;
            reply.tlv(0x05, &[u8::from(security.management_key_is_default)])
        }
        _ => {
            let slot = Slot::from_reference(reference).ok_or(StatusWord::ReferenceNotFound)?;
            let key = ctx.key(slot).ok_or(StatusWord::ReferenceNotFound)?;
            reply.tlv(0x01, &[key.algorithm().id()])?;
            reply.tlv(0x02, &[key.pin_policy.id(), TOUCH_NEVER])?;
            reply.tlv(0x03, &[key.origin.id()])?;
            reply.header(0x04, 2 + key.public().len())?;
            reply.tlv(0x86, key.public())
        }
    }
}
