//! The driver's C entry points called in this process, as pcscd calls them, over a reader
//! configured in a temporary folder.
#![allow(dead_code)] // Shared by several test binaries, each using a part.
#![allow(
    clippy::unwrap_used,
    reason = "test support: a failure stops the test where it happens"
)]

use std::ffi::CString;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use ukey_ifd::ffi::{
    IFDHCloseChannel, IFDHCreateChannelByName, IFDHGetCapabilities, IFDHICCPresence, IFDHPowerICC,
    IFDHTransmitToICC,
};
use ukey_ifd::{
    Dword, IFD_ICC_NOT_PRESENT, IFD_ICC_PRESENT, IFD_POWER_DOWN, IFD_POWER_UP, IFD_RESET,
    IFD_SUCCESS, Lun, ReaderConfig, ResponseCode, SCARD_PROTOCOL_T1, ScardIoHeader,
};

/// pcscd's APDU buffer (`MAX_BUFFER_SIZE_EXTENDED`).
const RESPONSE_BUFFER: usize = 65_548;

/// A reader of the driver in this process: its folder (configuration, images, socket) and
/// its reader number. Each test takes a reader number of its own, since the driver's
/// readers are shared by the whole process.
pub struct Bed {
    pub dir: TempDir,
    pub reader: u16,
    pub config: PathBuf,
}

impl Bed {
    /// Writes `config` into a fresh folder; nothing is opened yet.
    pub fn new(reader: u16, config: &ReaderConfig) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ukey-ifd-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("reader.toml");
        config.write(&path).unwrap();
        Self {
            dir,
            reader,
            config: path,
        }
    }

    /// A path in the bed's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The raw LUN of `slot`.
    pub fn lun(&self, slot: u16) -> Dword {
        Lun {
            reader: self.reader,
            slot,
        }
        .raw()
    }

    /// `IFDHCreateChannelByName` for `slot` with the bed's configuration.
    pub fn open(&self, slot: u16) -> ResponseCode {
        open_with(self.lun(slot), &self.config)
    }

    /// `IFDHCloseChannel`.
    pub fn close(&self, slot: u16) -> ResponseCode {
        IFDHCloseChannel(self.lun(slot))
    }

    /// `IFDHICCPresence` as a bool; panics on an error code.
    pub fn present(&self, slot: u16) -> bool {
        match IFDHICCPresence(self.lun(slot)) {
            IFD_ICC_PRESENT => true,
            IFD_ICC_NOT_PRESENT => false,
            other => panic!("IFDHICCPresence answered {other}"),
        }
    }

    /// `IFDHPowerICC` up or reset: the ATR, or the code.
    pub fn power(&self, slot: u16, action: Dword) -> Result<Vec<u8>, ResponseCode> {
        let mut atr = [0u8; 33];
        let mut length: Dword = 33;
        // SAFETY: `atr` has `length` bytes.
        let code = unsafe { IFDHPowerICC(self.lun(slot), action, atr.as_mut_ptr(), &mut length) };
        match code {
            IFD_SUCCESS => Ok(atr[..length as usize].to_vec()),
            other => {
                assert_eq!(length, 0, "AtrLength is zeroed on an error");
                Err(other)
            }
        }
    }

    /// Powers the card up and returns its ATR; panics on an error.
    pub fn power_up(&self, slot: u16) -> Vec<u8> {
        self.power(slot, IFD_POWER_UP).unwrap()
    }

    /// Warm reset.
    pub fn reset(&self, slot: u16) -> Vec<u8> {
        self.power(slot, IFD_RESET).unwrap()
    }

    /// Powers the card down, as pcscd does: with null ATR pointers.
    pub fn power_down(&self, slot: u16) -> ResponseCode {
        // SAFETY: null pointers are allowed for a power down.
        unsafe {
            IFDHPowerICC(
                self.lun(slot),
                IFD_POWER_DOWN,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        }
    }

    /// `IFDHTransmitToICC` with pcscd's buffer: the response, or the code.
    pub fn transmit(&self, slot: u16, command: &[u8]) -> Result<Vec<u8>, ResponseCode> {
        self.transmit_into(slot, command, RESPONSE_BUFFER)
    }

    /// `IFDHTransmitToICC` with a response buffer of `capacity` bytes.
    pub fn transmit_into(
        &self,
        slot: u16,
        command: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, ResponseCode> {
        let mut response = vec![0u8; capacity];
        let mut length = capacity as Dword;
        let mut recv = ScardIoHeader::default();
        let send = ScardIoHeader {
            protocol: SCARD_PROTOCOL_T1,
            length: 16,
        };
        // SAFETY: every buffer has the length given with it.
        let code = unsafe {
            IFDHTransmitToICC(
                self.lun(slot),
                send,
                command.as_ptr(),
                command.len() as Dword,
                response.as_mut_ptr(),
                &mut length,
                &mut recv,
            )
        };
        match code {
            IFD_SUCCESS => {
                assert_eq!(recv.protocol, SCARD_PROTOCOL_T1);
                Ok(response[..length as usize].to_vec())
            }
            other => {
                assert_eq!(length, 0, "RxLength is zeroed on an error");
                Err(other)
            }
        }
    }

    /// Sends `command` and checks the answer ends with `sw`; returns the data.
    pub fn expect(&self, slot: u16, command: &[u8], sw: [u8; 2]) -> Vec<u8> {
        let response = self.transmit(slot, command).unwrap();
        let (data, status) = response.split_at(response.len() - 2);
        assert_eq!(status, sw, "answer to {command:02X?}: {response:02X?}");
        data.to_vec()
    }

    /// `IFDHGetCapabilities` with a buffer of `capacity` bytes.
    pub fn capability(
        &self,
        slot: u16,
        tag: Dword,
        capacity: usize,
    ) -> Result<Vec<u8>, ResponseCode> {
        let mut value = vec![0u8; capacity];
        let mut length = capacity as Dword;
        // SAFETY: `value` has `length` bytes.
        let code =
            unsafe { IFDHGetCapabilities(self.lun(slot), tag, &mut length, value.as_mut_ptr()) };
        match code {
            IFD_SUCCESS => Ok(value[..length as usize].to_vec()),
            other => Err(other),
        }
    }
}

/// `IFDHCreateChannelByName(lun, device)`.
pub fn open_with(lun: Dword, device: &Path) -> ResponseCode {
    let name = CString::new(device.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated string alive through the call.
    unsafe { IFDHCreateChannelByName(lun, name.as_ptr()) }
}

/// One slot of a bed, to send APDUs to.
pub struct SlotOf<'a>(pub &'a Bed, pub u16);

impl crate::apdu::Exchange for SlotOf<'_> {
    fn send(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.0
            .transmit(self.1, apdu)
            .unwrap_or_else(|code| panic!("IFDHTransmitToICC of {apdu:02X?}: {code}"))
    }
}
