//! SELECT (SP 800-73-4 part 2, 3.1.1): answers the Application Property Template.

use crate::apdu::{Reply, Status};
use crate::crypto::ecc::KeyAlgorithm;

/// The PIV AID with its version: RID `A0 00 00 03 08`, PIX `00 00 10 00 01 00`.
const PIV_AID: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];
/// The shortest AID prefix that selects (the RID, as yubico-piv-tool sends it).
const MIN_AID_LEN: usize = 5;
const LABEL: &[u8] = b"ukey PIV";

/// Selects the PIV application by its full AID or a prefix of it at least the RID long.
pub fn select(aid: &[u8], reply: &mut Reply<'_>) -> Result<(), Status> {
    if aid.len() < MIN_AID_LEN || !PIV_AID.starts_with(aid) {
        return Err(Status::NotFound);
    }
    let algorithms = [KeyAlgorithm::P256.id(), KeyAlgorithm::Sm2.id()];
    let ac_len = algorithms.len() * 3 + 3;
    let pix = &PIV_AID[5..];
    let rid = &PIV_AID[..5];
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
