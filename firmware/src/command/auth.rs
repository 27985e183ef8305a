//! The management key (9B): GENERAL AUTHENTICATE witness and challenge exchanges
//! (SP 800-73-4 part 2, 3.2.4 and appendix A.1–A.3), and SET MANAGEMENT KEY (the YubiKey
//! extension the card edge adopts).
//!
//! Exchanges, inside the dynamic authentication template `7C`:
//! - mutual: host `80 00`; card `80 E(K, W)`; host `80 W 81 C` (optionally with `82 00`, as
//!   SP 800-73-4 appendix A.3 writes it); card `82 E(K, C)`, only once `W` is proven.
//! - external: host `81 00`; card `81 C`; host `82 E(K, C)`.
//!
//! The card encrypts a host's challenge only inside mutual authentication, after the host
//! has proven the witness. A host challenge on its own (`81 C 82 00`, the "internal" form)
//! answers `6A 80`: answering it would make the card an encryption oracle for anyone, and
//! two cards sharing a key would then authenticate each other's relayed challenges.
//!
//! Starting any exchange drops a previous authentication; a wrong answer ends the exchange.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use heapless::Vec;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use ukey_card_edge::{MANAGEMENT_KEY_REFERENCE, ManagementKeyAlgorithm, StatusWord, tlv};

use crate::apdu::Reply;
use crate::context::Context;
use crate::crypto::cipher::{self, MAX_BLOCK_LEN};
use crate::profile::ManagementKey;
use crate::state::{PendingAuth, PendingKind};

/// The items of a `7C` template that the exchanges use.
#[derive(Default)]
struct Template<'a> {
    witness: Option<&'a [u8]>,
    challenge: Option<&'a [u8]>,
    response: Option<&'a [u8]>,
}

fn parse_template(data: &[u8]) -> Result<Template<'_>, StatusWord> {
    let inner = tlv::only(data, 0x7C).ok_or(StatusWord::IncorrectData)?;
    let mut t = Template::default();
    for item in tlv::iter(inner) {
        let item = item.map_err(|_| StatusWord::IncorrectData)?;
        let field = match item.tag {
            0x80 => &mut t.witness,
            0x81 => &mut t.challenge,
            0x82 => &mut t.response,
            _ => return Err(StatusWord::IncorrectData),
        };
        if field.replace(item.value).is_some() {
            return Err(StatusWord::IncorrectData);
        }
    }
    Ok(t)
}

/// GENERAL AUTHENTICATE with key reference 9B.
pub fn authenticate<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    algorithm: ManagementKeyAlgorithm,
    data: &[u8],
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    let key = ctx.security().management_key.clone();
    if key.algorithm != algorithm {
        return Err(StatusWord::IncorrectP1P2);
    }
    let t = parse_template(data)?;
    let pending = ctx.volatile.pending_auth.take();
    ctx.volatile.management_authenticated = false;
    match (t.witness, t.challenge, t.response) {
        (Some([]), None, None) => begin(ctx, &key, PendingKind::Witness, reply),
        (None, Some([]), None) => begin(ctx, &key, PendingKind::Challenge, reply),
        (Some(witness), challenge, None) | (Some(witness), challenge @ Some(_), Some([])) => {
            expect(pending, PendingKind::Witness, witness)?;
            ctx.volatile.management_authenticated = true;
            match challenge {
                Some(challenge) => encrypt_challenge(&key, challenge, reply),
                None => Ok(()),
            }
        }
        (None, None, Some(response)) => {
            let mut expected = expected_response(pending, &key)?;
            if response.ct_eq(&expected).into() {
                ctx.volatile.management_authenticated = true;
                Ok(())
            } else {
                expected.fill(0);
                Err(StatusWord::SecurityStatusNotSatisfied)
            }
        }
        _ => Err(StatusWord::IncorrectData),
    }
}

/// Sends a fresh witness (encrypted) or challenge (in clear) and remembers it.
fn begin<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    key: &ManagementKey,
    kind: PendingKind,
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    let mut block = [0u8; MAX_BLOCK_LEN];
    let block = &mut block[..key.algorithm.block_len()];
    ctx.rng.fill_bytes(block);
    let value = Vec::from_slice(block).map_err(|_| StatusWord::IncorrectData)?;
    ctx.volatile.pending_auth = Some(PendingAuth { kind, value });
    let tag = match kind {
        PendingKind::Witness => {
            if !cipher::encrypt(key, block) {
                return Err(StatusWord::IncorrectData);
            }
            0x80
        }
        PendingKind::Challenge => 0x81,
    };
    reply.header(0x7C, 2 + block.len())?;
    reply.tlv(tag, block)
}

/// Checks that `answer` is the pending value of the expected kind.
fn expect(
    pending: Option<PendingAuth>,
    kind: PendingKind,
    answer: &[u8],
) -> Result<(), StatusWord> {
    match pending {
        Some(p) if p.kind == kind && bool::from(p.value.as_slice().ct_eq(answer)) => Ok(()),
        _ => Err(StatusWord::SecurityStatusNotSatisfied),
    }
}

/// E(K, challenge) for a pending external-authentication challenge.
fn expected_response(
    pending: Option<PendingAuth>,
    key: &ManagementKey,
) -> Result<Vec<u8, 16>, StatusWord> {
    let Some(PendingAuth {
        kind: PendingKind::Challenge,
        mut value,
    }) = pending
    else {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    };
    if !cipher::encrypt(key, &mut value) {
        return Err(StatusWord::IncorrectData);
    }
    Ok(value)
}

/// Answers `82 E(K, challenge)`; called only once the host has proven the witness.
fn encrypt_challenge(
    key: &ManagementKey,
    challenge: &[u8],
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    let mut block = [0u8; MAX_BLOCK_LEN];
    let block = block
        .get_mut(..challenge.len())
        .ok_or(StatusWord::IncorrectData)?;
    block.copy_from_slice(challenge);
    if !cipher::encrypt(key, block) {
        return Err(StatusWord::IncorrectData);
    }
    reply.header(0x7C, 2 + block.len())?;
    reply.tlv(0x82, block)
}

/// SET MANAGEMENT KEY: data `alg 9B len key`; needs the management key.
pub fn set_management_key<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    data: &[u8],
) -> Result<(), StatusWord> {
    if !ctx.volatile.management_authenticated {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    let [alg, MANAGEMENT_KEY_REFERENCE, len, key @ ..] = data else {
        return Err(StatusWord::IncorrectData);
    };
    let algorithm = ManagementKeyAlgorithm::from_id(*alg).ok_or(StatusWord::IncorrectData)?;
    if usize::from(*len) != key.len() {
        return Err(StatusWord::IncorrectData);
    }
    let key = ManagementKey::new(algorithm, key).ok_or(StatusWord::IncorrectData)?;
    let mut security = ctx.security().clone();
    security.management_key_is_default = key == ctx.factory.profile.management_key;
    security.management_key = key;
    ctx.save_security(security)
}
