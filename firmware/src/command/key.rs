//! Key slots: GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 part 2, 3.3.2), GENERAL AUTHENTICATE
//! signing (3.2.4), and GET METADATA (the YubiKey extension the card edge adopts).

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;

use super::{MANAGEMENT_REFERENCE, PIN_REFERENCE, PUK_REFERENCE};
use crate::apdu::{Reply, Status};
use crate::context::Context;
use crate::crypto::ecc::{self, KeyAlgorithm, MAX_SIGNATURE_LEN, SigningKey};
use crate::state::{Origin, PinPolicy, Slot, SlotKey, TOUCH_NEVER};
use crate::tlv;

/// The policy bytes GENERATE accepts: `00` (the slot's default) or a policy.
const POLICY_DEFAULT: u8 = 0;

/// GENERATE: a fresh key pair in `slot`, replacing any key there; answers the public point.
pub fn generate<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    slot: Slot,
    data: &[u8],
    reply: &mut Reply<'_>,
) -> Result<(), Status> {
    if !ctx.volatile.management_authenticated {
        return Err(Status::SecurityStatusNotSatisfied);
    }
    let template = tlv::only(data, 0xAC).ok_or(Status::IncorrectData)?;
    let (mut algorithm, mut pin_policy) = (None, slot.default_pin_policy());
    for item in tlv::iter(template) {
        let item = item.map_err(|()| Status::IncorrectData)?;
        match (item.tag, item.value) {
            (0x80, &[id]) => {
                algorithm = Some(KeyAlgorithm::from_id(id).ok_or(Status::IncorrectData)?)
            }
            (0xAA, &[POLICY_DEFAULT]) => pin_policy = slot.default_pin_policy(),
            (0xAA, &[id]) => pin_policy = PinPolicy::from_id(id).ok_or(Status::IncorrectData)?,
            (0xAB, &[POLICY_DEFAULT | TOUCH_NEVER]) => {}
            _ => return Err(Status::IncorrectData),
        }
    }
    let algorithm = algorithm.ok_or(Status::IncorrectData)?;
    let (secret, public) = ecc::generate(algorithm, &mut ctx.rng);
    let key =
        SigningKey::from_stored(algorithm, &secret, &public).map_err(|_| Status::IncorrectData)?;
    ctx.save_key(slot, SlotKey::prepared(key, pin_policy, Origin::Generated))?;
    reply.header(0x7F49, 2 + public.len())?;
    reply.tlv(0x86, &public)
}

/// GENERAL AUTHENTICATE with a slot key: signs the digest in `7C { 82 00, 81 digest }`.
pub fn sign<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    algorithm: KeyAlgorithm,
    slot: Slot,
    data: &[u8],
    reply: &mut Reply<'_>,
) -> Result<(), Status> {
    let template = tlv::only(data, 0x7C).ok_or(Status::IncorrectData)?;
    let (mut digest, mut asks_response) = (None, false);
    for item in tlv::iter(template) {
        let item = item.map_err(|()| Status::IncorrectData)?;
        match (item.tag, item.value) {
            (0x81, value) => digest = Some(value),
            (0x82, []) => asks_response = true,
            _ => return Err(Status::IncorrectData),
        }
    }
    let (Some(digest), true) = (digest, asks_response) else {
        return Err(Status::IncorrectData);
    };
    let key = ctx.key(slot).ok_or(Status::ReferencedDataNotFound)?;
    if key.algorithm() != algorithm {
        return Err(Status::IncorrectData);
    }
    let pin_ok = match key.pin_policy {
        PinPolicy::Never => true,
        PinPolicy::Once => ctx.volatile.pin_verified,
        PinPolicy::Always => ctx.volatile.pin_fresh,
    };
    if !pin_ok {
        return Err(Status::SecurityStatusNotSatisfied);
    }
    // A copy (wiped on drop) frees `ctx` for the RNG.
    let (signer, policy) = (key.signer().clone(), key.pin_policy);
    let mut signature = [0u8; MAX_SIGNATURE_LEN];
    let len = signer
        .sign(digest, &mut ctx.rng, &mut signature)
        .map_err(|_| Status::IncorrectData)?;
    if policy == PinPolicy::Always {
        ctx.volatile.pin_fresh = false;
    }
    reply.header(0x7C, 2 + len)?;
    reply.tlv(0x82, &signature[..len])
}

/// GET METADATA for a key reference: PIN, PUK, management key or slot key.
pub fn metadata<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    reference: u8,
    reply: &mut Reply<'_>,
) -> Result<(), Status> {
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
        MANAGEMENT_REFERENCE => {
            reply.tlv(0x01, &[security.management_key.algorithm.id()])?;
            reply.tlv(0x02, &[POLICY_DEFAULT, TOUCH_NEVER])?;
            reply.tlv(0x05, &[u8::from(security.management_key_is_default)])
        }
        _ => {
            let slot = Slot::from_reference(reference).ok_or(Status::ReferencedDataNotFound)?;
            let key = ctx.key(slot).ok_or(Status::ReferencedDataNotFound)?;
            reply.tlv(0x01, &[key.algorithm().id()])?;
            reply.tlv(0x02, &[key.pin_policy.id(), TOUCH_NEVER])?;
            reply.tlv(0x03, &[key.origin.id()])?;
            reply.header(0x04, 2 + key.public().len())?;
            reply.tlv(0x86, key.public())
        }
    }
}
