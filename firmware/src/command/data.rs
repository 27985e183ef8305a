//! Data objects: GET DATA and PUT DATA (SP 800-73-4 part 2, 3.1.2 and 3.3.1), including the
//! discovery object and the vendor objects of the card edge.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{ObjectId, StatusWord, tlv};

use crate::apdu::{MAX_COMMAND_DATA, Reply};
use crate::context::Context;
use crate::state::{DataObject, MAX_OBJECT};

/// Discovery (SP 800-73-4 part 1, 3.3.2): the PIV AID, and a PIN usage policy of `40 00`
/// (the PIV application PIN only; no global PIN, no pairing code).
const DISCOVERY_VALUE: [u8; 18] = [
    0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02,
    0x40, 0x00,
];

/// The FASC-N of a non-federal PIV-interoperable card (agency code 9999, SP 800-73-4 part 1,
/// 3.1.2), which OpenSC and yubico-piv-tool accept.
const NON_FEDERAL_FASCN: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08,
    0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];

const MANUFACTURER: &[u8] = b"ukey project";
const MODEL: &[u8] = b"ukey PIV token";
const FIRMWARE_VERSION: &[u8] = env!("CARGO_PKG_VERSION").as_bytes();

/// Reads the `5C` tag list of GET/PUT DATA: exactly one tag of one to three bytes.
fn requested_tag(tag_list: &[u8]) -> Result<ObjectId, StatusWord> {
    let tag = match tag_list {
        [t] => u32::from(*t),
        [a, b] => u32::from_be_bytes([0, 0, *a, *b]),
        [a, b, c] => u32::from_be_bytes([0, *a, *b, *c]),
        _ => return Err(StatusWord::IncorrectData),
    };
    Ok(ObjectId(tag))
}

/// GET DATA: answers `53 { value }` of the object named in `5C`.
pub fn get<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    data: &[u8],
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    let tag = requested_tag(tlv::only(data, 0x5C).ok_or(StatusWord::IncorrectData)?)?;
    match tag {
        ObjectId::DISCOVERY => return reply.tlv(ObjectId::DISCOVERY.0, &DISCOVERY_VALUE),
        ObjectId::DEVICE_INFO => return device_info(ctx, reply),
        _ => {}
    }
    let object = DataObject::from_tag(tag).ok_or(StatusWord::NotFound)?;
    if object == DataObject::PrintedInformation && !ctx.volatile.pin_verified {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    if object == DataObject::Label {
        let label = label(ctx)?;
        return if label.is_empty() {
            Err(StatusWord::NotFound)
        } else {
            reply.tlv(0x53, &label)
        };
    }
    if let Some(value) = ctx.object(object)? {
        return reply.tlv(0x53, value);
    }
    match object {
        DataObject::Chuid => default_chuid(ctx.factory.profile.serial, reply),
        _ => Err(StatusWord::NotFound),
    }
}

/// PUT DATA: `5C tag` then `53 { value }`; an empty value deletes the object. Needs the
/// management key. A refused or interrupted write leaves the old object intact.
pub fn put<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    data: &[u8],
) -> Result<(), StatusWord> {
    if !ctx.volatile.management_authenticated {
        return Err(StatusWord::SecurityStatusNotSatisfied);
    }
    let (tag_list, rest) = tlv::take(data).map_err(|_| StatusWord::IncorrectData)?;
    if tag_list.tag != 0x5C {
        return Err(StatusWord::IncorrectData);
    }
    let tag = requested_tag(tag_list.value)?;
    let value = tlv::only(rest, 0x53).ok_or(StatusWord::IncorrectData)?;
    store(ctx, tag, value)
}

/// Replaces object `tag` with `value` (an empty value deletes it), under PUT DATA's rules
/// of what may be written; the caller has checked who may write.
pub fn store<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    tag: ObjectId,
    value: &[u8],
) -> Result<(), StatusWord> {
    if tag == ObjectId::DISCOVERY || tag == ObjectId::DEVICE_INFO {
        return Err(StatusWord::FunctionNotSupported);
    }
    let object = DataObject::from_tag(tag).ok_or(StatusWord::NotFound)?;
    if value.len() > MAX_OBJECT {
        return Err(StatusWord::NotEnoughMemory);
    }
    if object == DataObject::Label && (value.len() > 32 || core::str::from_utf8(value).is_err()) {
        return Err(StatusWord::IncorrectData);
    }
    ctx.save_object(object, value)
}

/// The CHUID a token has until one is written: the non-federal FASC-N, a GUID made from
/// the serial, an expiry date, and an empty issuer signature.
fn default_chuid(serial: u32, reply: &mut Reply<'_>) -> Result<(), StatusWord> {
    let mut guid = [0u8; 16];
    guid[..4].copy_from_slice(b"ukey");
    guid[12..].copy_from_slice(&serial.to_be_bytes());
    const EXPIRY: &[u8] = b"20351231";
    let len = (2 + NON_FEDERAL_FASCN.len()) + (2 + guid.len()) + (2 + EXPIRY.len()) + 2 + 2;
    reply.header(0x53, len)?;
    reply.tlv(0x30, &NON_FEDERAL_FASCN)?;
    reply.tlv(0x34, &guid)?;
    reply.tlv(0x35, EXPIRY)?;
    reply.tlv(0x3E, &[])?;
    reply.tlv(0xFE, &[])
}

/// Vendor object 5FFF01: who made the token, its serial, label, storage and limits.
fn device_info<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    let (total, free) = ctx.storage_usage()?;
    let mut serial_text = [0u8; 10];
    let serial_text = decimal(ctx.factory.profile.serial, &mut serial_text);
    let label = label(ctx)?;
    let mut storage = [0u8; 8];
    storage[..4].copy_from_slice(&total.to_be_bytes());
    storage[4..].copy_from_slice(&free.to_be_bytes());
    let largest = (MAX_COMMAND_DATA as u32).to_be_bytes();
    let items: [(u32, &[u8]); 7] = [
        (0x01, MANUFACTURER),
        (0x02, MODEL),
        (0x03, serial_text),
        (0x04, FIRMWARE_VERSION),
        (0x05, &label),
        (0x06, &storage),
        (0x07, &largest),
    ];
    let len: usize = items.iter().map(|(_, v)| 2 + v.len()).sum();
    reply.header(0x53, len)?;
    for (tag, value) in items {
        reply.tlv(tag, value)?;
    }
    Ok(())
}

/// The holder's label: the one written with PUT DATA, else the factory one (maybe empty).
fn label<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
) -> Result<heapless::Vec<u8, 32>, StatusWord> {
    match ctx.object(DataObject::Label)? {
        Some(stored) => heapless::Vec::from_slice(stored).map_err(|_| StatusWord::IncorrectData),
        None => Ok(ctx.factory.profile.label.clone()),
    }
}

/// Writes `n` in decimal into `buf`; returns the digits.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[start..]
}
