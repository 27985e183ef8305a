//! The descriptors the simulated host reads at enumeration, and the checks libccid makes
//! on them before it will drive a reader (CCID rev 1.1.0, 5.1; libccid's `ccid_usb.c`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Descriptor types (USB 2.0, table 9-5) and the CCID functional descriptor (CCID 5.1).
pub(crate) const DEVICE: u8 = 1;
pub(crate) const CONFIGURATION: u8 = 2;
pub(crate) const STRING: u8 = 3;
const INTERFACE: u8 = 4;
const ENDPOINT: u8 = 5;
const CCID_FUNCTIONAL: u8 = 0x21;

const CLASS_CCID: u8 = 0x0B;
const CCID_DESCRIPTOR_LEN: usize = 54;
const PROTOCOL_T1: u32 = 0x02;
const EXCHANGE_MASK: u32 = 0x0007_0000;
const EXCHANGE_EXTENDED_APDU: u32 = 0x0004_0000;
/// The smallest dwMaxCCIDMsgLen that holds a short APDU: 261 bytes and the 10-byte header.
const MIN_MESSAGE_LEN: u32 = 271;

/// The device's descriptors as the host read them: device, configuration (with its
/// interface, class and endpoint descriptors) and the strings they name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptors {
    pub(crate) address: u8,
    pub(crate) device: Vec<u8>,
    pub(crate) configuration: Vec<u8>,
    pub(crate) strings: BTreeMap<u8, String>,
}

/// What the host needs to drive the CCID interface, taken from the descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CcidInterface {
    pub(crate) bulk_in: u8,
    pub(crate) bulk_out: u8,
    pub(crate) packet_in: usize,
    pub(crate) packet_out: usize,
    pub(crate) max_message: usize,
}

impl Descriptors {
    /// The 18-byte device descriptor.
    pub fn device(&self) -> &[u8] {
        &self.device
    }

    /// The whole configuration descriptor, as GET_DESCRIPTOR(CONFIGURATION) returns it.
    pub fn configuration(&self) -> &[u8] {
        &self.configuration
    }

    /// The string at `index` (language 0x0409), if the device named one there.
    pub fn string(&self, index: u8) -> Option<&str> {
        self.strings.get(&index).map(String::as_str)
    }

    /// The CCID functional (class) descriptor, 54 bytes.
    pub fn ccid_class(&self) -> Option<&[u8]> {
        self.walk()
            .find(|descriptor| descriptor.get(1) == Some(&CCID_FUNCTIONAL))
    }

    /// The device's address on the simulated bus.
    pub fn address(&self) -> u8 {
        self.address
    }

    /// The descriptors inside the configuration descriptor, in order (each with its
    /// length and type bytes).
    pub(crate) fn walk(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.configuration.as_slice();
        std::iter::from_fn(move || {
            let length = usize::from(*rest.first()?);
            if length < 2 || length > rest.len() {
                return None;
            }
            let (descriptor, tail) = rest.split_at(length);
            rest = tail;
            Some(descriptor)
        })
    }

    /// Checks the descriptors as libccid does and finds the CCID interface.
    pub(crate) fn check(&self) -> Result<CcidInterface> {
        let device = &self.device;
        if device.len() != 18 || device[0] != 18 || device[1] != DEVICE {
            return Err(bad("the device descriptor is not 18 bytes of type 1"));
        }
        if device[17] == 0 {
            return Err(bad("the device has no configuration"));
        }
        let config = &self.configuration;
        if config.len() < 9 || config[1] != CONFIGURATION {
            return Err(bad("the configuration descriptor is malformed"));
        }
        if usize::from(u16::from_le_bytes([config[2], config[3]])) != config.len() {
            return Err(bad("wTotalLength differs from the configuration's length"));
        }
        let walked: usize = self.walk().map(<[u8]>::len).sum();
        if walked != config.len() {
            return Err(bad(
                "a descriptor inside the configuration has a wrong bLength",
            ));
        }
        let mut in_ccid = false;
        let mut class = None;
        let mut bulk_in = None;
        let mut bulk_out = None;
        for descriptor in self.walk() {
            match descriptor[1] {
                INTERFACE if descriptor.len() >= 9 => {
                    in_ccid = descriptor[5] == CLASS_CCID;
                }
                CCID_FUNCTIONAL if in_ccid => class = Some(descriptor),
                ENDPOINT if in_ccid && descriptor.len() >= 7 && descriptor[3] & 0x03 == 2 => {
                    let address = descriptor[2];
                    let size = usize::from(u16::from_le_bytes([descriptor[4], descriptor[5]]));
                    if address & 0x80 != 0 {
                        bulk_in = Some((address, size));
                    } else {
                        bulk_out = Some((address, size));
                    }
                }
                _ => {}
            }
        }
        let class =
            class.ok_or_else(|| bad("no CCID interface (class 0x0B) with its class descriptor"))?;
        if class.len() != CCID_DESCRIPTOR_LEN {
            return Err(bad(format!(
                "the CCID class descriptor is {} bytes, not {CCID_DESCRIPTOR_LEN}",
                class.len()
            )));
        }
        if class[4] != 0 {
            return Err(bad("a USB token has one slot (bMaxSlotIndex 0)"));
        }
        let protocols = le32(class, 6);
        if protocols & PROTOCOL_T1 == 0 {
            return Err(bad(
                "dwProtocols does not offer T=1, the protocol of the ATR",
            ));
        }
        let features = le32(class, 40);
        if features & EXCHANGE_MASK != EXCHANGE_EXTENDED_APDU {
            return Err(bad(format!(
                "dwFeatures {features:08X} does not announce short and extended APDU exchange"
            )));
        }
        let max_message = le32(class, 44);
        if max_message < MIN_MESSAGE_LEN {
            return Err(bad(format!(
                "dwMaxCCIDMsgLen {max_message} cannot carry a short APDU"
            )));
        }
        let (bulk_in, packet_in) = bulk_in.ok_or_else(|| bad("no bulk IN endpoint"))?;
        let (bulk_out, packet_out) = bulk_out.ok_or_else(|| bad("no bulk OUT endpoint"))?;
        if packet_in == 0 || packet_out == 0 {
            return Err(bad("a bulk endpoint has wMaxPacketSize 0"));
        }
        Ok(CcidInterface {
            bulk_in,
            bulk_out,
            packet_in,
            packet_out,
            max_message: max_message as usize,
        })
    }
}

/// Reads a little-endian 32-bit field of a descriptor.
pub(crate) fn le32(descriptor: &[u8], offset: usize) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(field) = descriptor.get(offset..offset + 4) {
        bytes.copy_from_slice(field);
    }
    u32::from_le_bytes(bytes)
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Ccid(format!("descriptors refused: {}", reason.into()))
}
