//! Data objects (GET DATA and PUT DATA, SP 800-73-4 part 2, 3.1.2 and 3.3.1): the
//! certificates of the slots, the vendor objects for device information and label.

use ukey_card_edge::{Instruction, StatusWord};

use super::{Token, Tx};
use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::piv::{ManagementKey, ObjectId, Slot};
use crate::tlv;

/// The vendor device information object `5FFF01`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DeviceInfo {
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Serial number, as text.
    pub serial: Option<String>,
    /// Firmware version, as text.
    pub firmware: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Storage in bytes.
    pub storage_total: Option<u64>,
    /// Free storage in bytes.
    pub storage_free: Option<u64>,
    /// The largest command the token accepts, in bytes.
    pub max_command: Option<u64>,
}

impl Token {
    /// The content of a data object (inside its `53`), or [`Error::NotFound`].
    pub fn get_data(&mut self, object: ObjectId) -> Result<Vec<u8>> {
        self.session(|tx| tx.get_data(object))
    }

    /// Writes a data object.
    pub fn put_data(
        &mut self,
        key: &ManagementKey,
        object: ObjectId,
        content: &[u8],
    ) -> Result<()> {
        self.session(|tx| {
            tx.authenticate(key)?;
            tx.put_data(object, content)
        })
    }

    /// The device information vendor object.
    pub fn device_info(&mut self) -> Result<DeviceInfo> {
        self.session(|tx| tx.device_info())
    }

    /// The label (vendor object `5FFF02`), `None` when none was set.
    pub fn label(&mut self) -> Result<Option<String>> {
        self.session(|tx| tx.label())
    }

    /// Sets the label (at most 32 bytes of UTF-8).
    pub fn set_label(&mut self, key: &ManagementKey, label: &str) -> Result<()> {
        if label.len() > 32 {
            return Err(Error::input("a label has at most 32 bytes"));
        }
        self.put_data(key, ObjectId::LABEL, label.as_bytes())
    }

    /// The DER certificate stored for `slot`, if any.
    pub fn certificate(&mut self, slot: Slot) -> Result<Option<Vec<u8>>> {
        self.session(|tx| tx.certificate(slot))
    }

    /// Stores a DER certificate for `slot`.
    pub fn import_certificate(
        &mut self,
        key: &ManagementKey,
        slot: Slot,
        der: &[u8],
    ) -> Result<()> {
        let mut content = tlv::encode(0x70, der);
        content.extend_from_slice(&[0x71, 0x01, 0x00, 0xFE, 0x00]);
        self.put_data(key, slot.certificate_object(), &content)
    }

    /// Removes the certificate of `slot`.
    pub fn delete_certificate(&mut self, key: &ManagementKey, slot: Slot) -> Result<()> {
        self.put_data(key, slot.certificate_object(), &[])
    }
}

impl Tx<'_> {
    pub(super) fn device_info(&mut self) -> Result<DeviceInfo> {
        parse_device_info(&self.get_data(ObjectId::DEVICE_INFO)?)
    }

    pub(super) fn label(&mut self) -> Result<Option<String>> {
        match self.get_data(ObjectId::LABEL) {
            Ok(bytes) if bytes.is_empty() => Ok(None),
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn certificate(&mut self, slot: Slot) -> Result<Option<Vec<u8>>> {
        match self.get_data(slot.certificate_object()) {
            Ok(content) if content.is_empty() => Ok(None),
            Ok(content) => Ok(Some(tlv::require(&content, 0x70)?.to_vec())),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn get_data(&mut self, object: ObjectId) -> Result<Vec<u8>> {
        let r = self.send(
            &Apdu::new(Instruction::GetData, 0x3F, 0xFF)
                .data(tlv::encode(0x5C, &tlv::tag_bytes(object.0)))
                .expect_data(),
        )?;
        match r.sw {
            StatusWord::Success => Ok(tlv::require(&r.data, 0x53)?.to_vec()),
            StatusWord::NotFound => Err(Error::NotFound {
                what: format!("data object {:06X}", object.0),
            }),
            sw => Err(Error::from_status("GET DATA", sw)),
        }
    }

    pub(super) fn put_data(&mut self, object: ObjectId, content: &[u8]) -> Result<()> {
        if content.len() > tlv::MAX_VALUE {
            return Err(Error::input(format!(
                "a data object of {} bytes is over the {} bytes a PIV object can hold; \
                 store a smaller certificate or object",
                content.len(),
                tlv::MAX_VALUE
            )));
        }
        let mut data = tlv::encode(0x5C, &tlv::tag_bytes(object.0));
        tlv::write(&mut data, 0x53, content);
        let r = self.send(&Apdu::new(Instruction::PutData, 0x3F, 0xFF).data(data))?;
        match r.sw {
            StatusWord::Success => Ok(()),
            StatusWord::NotEnoughMemory => Err(self.refused_as_too_big(content.len())),
            sw => Err(Error::from_status("PUT DATA", sw)),
        }
    }

    /// Why the token answered `6A 84` to a `len`-byte object: over its largest data object,
    /// or more than its free storage, told apart by the free space the token reports.
    fn refused_as_too_big(&mut self, len: usize) -> Error {
        let free = self
            .get_data(ObjectId::DEVICE_INFO)
            .ok()
            .and_then(|content| parse_device_info(&content).ok())
            .and_then(|info| info.storage_free);
        Error::input(match free {
            Some(free) if (len as u64) < free => format!(
                "a {len}-byte object is over the largest data object the token stores \
                 (it has {free} bytes free); use a smaller certificate or object"
            ),
            Some(free) => format!(
                "the token's storage is full ({free} bytes free for a {len}-byte object); \
                 delete a certificate or object it no longer needs"
            ),
            None => format!(
                "the token refused a {len}-byte object: over its largest data object, \
                 or more than its free storage"
            ),
        })
    }
}

fn be_number(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

fn parse_device_info(content: &[u8]) -> Result<DeviceInfo> {
    let mut info = DeviceInfo::default();
    for item in tlv::parse(content)? {
        // An empty text is no text, as an empty label object is no label.
        let text =
            || (!item.value.is_empty()).then(|| String::from_utf8_lossy(item.value).into_owned());
        match item.tag {
            0x01 => info.manufacturer = text(),
            0x02 => info.model = text(),
            0x03 => info.serial = text(),
            0x04 => info.firmware = text(),
            0x05 => info.label = text(),
            0x06 => {
                let (total, free) = item.value.split_at(item.value.len() / 2);
                info.storage_total = Some(be_number(total));
                info.storage_free = Some(be_number(free));
            }
            0x07 => info.max_command = Some(be_number(item.value)),
            _ => {}
        }
    }
    Ok(info)
}
