//! What a host does with a running token, in card-edge terms: select, authenticate with the
//! management key, read metadata and objects, sign, and run a command to completion with
//! its answer checked against the model.

use super::apdu::{self, hex};
use super::commands::Command;
use super::crypto;
use super::dice::Dice;
use super::model::{Factory, ManagementKey, Reference, SUCCESS, SlotKey, Token};
use super::token_process::TokenProcess;

/// `6A 82`: not found.
const NOT_FOUND: u16 = 0x6A82;
/// `6A 88`: referenced data (key) not found.
const REFERENCE_NOT_FOUND: u16 = 0x6A88;
/// `69 82`: security status not satisfied.
const SECURITY_NOT_SATISFIED: u16 = 0x6982;

/// A PIN or PUK as GET METADATA reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct SecretMetadata {
    /// `05`: still the factory value.
    pub is_default: bool,
    /// `06`, first byte: tries in all.
    pub tries_max: u8,
    /// `06`, second byte: tries left.
    pub tries_left: u8,
}

/// The management key as GET METADATA reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct ManagementMetadata {
    /// `01`: the algorithm.
    pub algorithm: u8,
    /// `05`: still the factory key.
    pub is_default: bool,
}

/// SELECT of the PIV application with the 5-byte AID, as yubico-piv-tool sends it.
pub fn select(token: &mut TokenProcess) -> Result<(), String> {
    let apdu = apdu::build(0xA4, 0x04, 0x00, &[0xA0, 0x00, 0x00, 0x03, 0x08]);
    expect_success(token, "SELECT", &apdu).map(drop)
}

/// Runs `command` on `token` to completion and checks its status word against the model;
/// returns the state after it (a generated key with the public point it answered).
pub fn run(
    token: &mut TokenProcess,
    command: &Command,
    state: &Token,
    factory: &Factory,
) -> Result<Token, String> {
    let outcomes = command.outcomes(state, factory);
    let (data, status) = token.command(&command.apdu())?;
    if status != outcomes.status {
        return Err(format!(
            "{command} answered {status:04X}; the model says {:04X}",
            outcomes.status
        ));
    }
    let mut after = outcomes.completed;
    fill_generated_key(&mut after, command, &data)?;
    Ok(after)
}

/// After a GENERATE that answered `data`: the slot's public point, from `7F49 { 86 point }`.
pub fn fill_generated_key(state: &mut Token, command: &Command, data: &[u8]) -> Result<(), String> {
    let Command::Generate { slot, .. } = command else {
        return Ok(());
    };
    let point = apdu::only(data, 0x7F49)
        .and_then(|template| apdu::only(template, 0x86))
        .filter(|point| point.len() == 65 && point[0] == 0x04)
        .ok_or_else(|| format!("GENERATE answered {}, not 7F49 {{86 point}}", hex(data)))?;
    if let Some(key) = state.slots.get_mut(slot) {
        key.public = Some(point.to_vec());
    }
    Ok(())
}

/// Mutual authentication with `key` (SP 800-73-4 part 2, 3.2.4 and appendix A): decrypt the
/// card's witness, send it back with a challenge, check the card's encryption of it. False
/// if the card refuses the witness or the algorithm (the key is another one).
pub fn authenticate(
    token: &mut TokenProcess,
    key: &ManagementKey,
    dice: &mut Dice,
) -> Result<bool, String> {
    let ask = apdu::build(
        0x87,
        key.algorithm,
        0x9B,
        &apdu::tlv(0x7C, &apdu::tlv(0x80, &[])),
    );
    let (data, status) = token.command(&ask)?;
    if status != SUCCESS {
        return Ok(false);
    }
    let mut witness = apdu::only(&data, 0x7C)
        .and_then(|template| apdu::only(template, 0x80))
        .filter(|witness| witness.len() == crypto::block_len(key))
        .ok_or_else(|| format!("the witness answer is {}", hex(&data)))?
        .to_vec();
    crypto::cipher_block(key, &mut witness, false)?;
    let challenge = dice.bytes(crypto::block_len(key));
    let template = [apdu::tlv(0x80, &witness), apdu::tlv(0x81, &challenge)].concat();
    let answer = apdu::build(0x87, key.algorithm, 0x9B, &apdu::tlv(0x7C, &template));
    let (data, status) = token.command(&answer)?;
    if status == SECURITY_NOT_SATISFIED {
        return Ok(false);
    }
    let mut expected = challenge;
    crypto::cipher_block(key, &mut expected, true)?;
    let response = apdu::only(&data, 0x7C).and_then(|template| apdu::only(template, 0x82));
    if status != SUCCESS || response != Some(expected.as_slice()) {
        return Err(format!(
            "the card took the witness of key {} but answered the challenge with {} {status:04X}",
            hex(&key.key),
            hex(&data)
        ));
    }
    Ok(true)
}

/// GET METADATA of the PIN or PUK.
pub fn secret_metadata(
    token: &mut TokenProcess,
    which: Reference,
) -> Result<SecretMetadata, String> {
    let data = metadata(token, which.byte())?.ok_or("no PIN or PUK metadata")?;
    match (apdu::find(&data, 0x05), apdu::find(&data, 0x06)) {
        (Some(&[default]), Some(&[tries_max, tries_left])) => Ok(SecretMetadata {
            is_default: default == 1,
            tries_max,
            tries_left,
        }),
        _ => Err(format!("metadata of {which:?} is {}", hex(&data))),
    }
}

/// GET METADATA of the management key: its algorithm and whether it is the default.
pub fn management_metadata(token: &mut TokenProcess) -> Result<ManagementMetadata, String> {
    let data = metadata(token, 0x9B)?.ok_or("no management key metadata")?;
    match (apdu::find(&data, 0x01), apdu::find(&data, 0x05)) {
        (Some(&[algorithm]), Some(&[default])) => Ok(ManagementMetadata {
            algorithm,
            is_default: default == 1,
        }),
        _ => Err(format!("metadata of 9B is {}", hex(&data))),
    }
}

/// GET METADATA of a key slot: the key with its public point, or `None` for an empty slot.
pub fn slot_metadata(token: &mut TokenProcess, slot: u8) -> Result<Option<SlotKey>, String> {
    let Some(data) = metadata(token, slot)? else {
        return Ok(None);
    };
    let public = apdu::find(&data, 0x04).and_then(|public| apdu::only(public, 0x86));
    match (
        apdu::find(&data, 0x01),
        apdu::find(&data, 0x02),
        apdu::find(&data, 0x03),
        public,
    ) {
        (Some(&[algorithm]), Some(&[pin_policy, _touch]), Some(&[origin]), Some(public)) => {
            Ok(Some(SlotKey {
                algorithm,
                pin_policy,
                origin,
                public: Some(public.to_vec()),
            }))
        }
        _ => Err(format!("metadata of {slot:02X} is {}", hex(&data))),
    }
}

fn metadata(token: &mut TokenProcess, reference: u8) -> Result<Option<Vec<u8>>, String> {
    let (data, status) = token.command(&apdu::build(0xF7, 0x00, reference, &[]))?;
    match status {
        SUCCESS => Ok(Some(data)),
        REFERENCE_NOT_FOUND => Ok(None),
        other => Err(format!("GET METADATA {reference:02X} answered {other:04X}")),
    }
}

/// GET DATA of object `tag`: the value inside `53`, or `None` if there is none.
pub fn get_object(token: &mut TokenProcess, tag: u32) -> Result<Option<Vec<u8>>, String> {
    let apdu = apdu::build(0xCB, 0x3F, 0xFF, &apdu::tlv(0x5C, &tag.to_be_bytes()[1..]));
    let (data, status) = token.command(&apdu)?;
    match status {
        SUCCESS => apdu::only(&data, 0x53)
            .map(|value| Some(value.to_vec()))
            .ok_or_else(|| format!("GET DATA {tag:06X} answered {}", hex(&data))),
        NOT_FOUND => Ok(None),
        other => Err(format!("GET DATA {tag:06X} answered {other:04X}")),
    }
}

/// GENERAL AUTHENTICATE with a slot key: signs a random 32-byte digest (SM2: `e`) and
/// checks the signature against the public point.
pub fn check_signature(
    token: &mut TokenProcess,
    slot: u8,
    key: &SlotKey,
    dice: &mut Dice,
) -> Result<(), String> {
    let public = key
        .public
        .as_deref()
        .ok_or("a key whose public point is unknown")?;
    let digest = dice.bytes(32);
    let template = [apdu::tlv(0x82, &[]), apdu::tlv(0x81, &digest)].concat();
    let apdu = apdu::build(0x87, key.algorithm, slot, &apdu::tlv(0x7C, &template));
    let data = expect_success(token, "GENERAL AUTHENTICATE (sign)", &apdu)?;
    let signature = apdu::only(&data, 0x7C)
        .and_then(|template| apdu::only(template, 0x82))
        .ok_or_else(|| format!("the signature answer is {}", hex(&data)))?;
    crypto::verify_signature(key.algorithm, public, &digest, signature)
        .map_err(|error| format!("slot {slot:02X}: {error}"))
}

fn expect_success(token: &mut TokenProcess, what: &str, apdu: &[u8]) -> Result<Vec<u8>, String> {
    match token.command(apdu)? {
        (data, SUCCESS) => Ok(data),
        (_, status) => Err(format!("{what} answered {status:04X}")),
    }
}
