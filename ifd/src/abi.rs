//! The numbers of pcsc-lite's IFD handler API, as `PCSC/ifdhandler.h`, `PCSC/pcsclite.h`
//! and `PCSC/reader.h` of pcsc-lite 1.9.9 (libpcsclite-dev) define them, and the LUN that
//! names a reader and a slot.

use std::ffi::{c_long, c_ulong};

/// `DWORD`: `unsigned long` in pcsc-lite on Linux (64 bits on x86-64, unlike Windows).
pub type Dword = c_ulong;
/// `RESPONSECODE`: `long`.
pub type ResponseCode = c_long;

/// The call succeeded.
pub const IFD_SUCCESS: ResponseCode = 0;
/// The tag is unknown (`IFDHGetCapabilities`, `IFDHSetCapabilities`).
pub const IFD_ERROR_TAG: ResponseCode = 600;
/// The request is not supported (`IFDHControl`).
pub const IFD_ERROR_NOT_SUPPORTED: ResponseCode = 606;
/// The protocol asked for is not supported (`IFDHSetProtocolParameters`).
pub const IFD_PROTOCOL_NOT_SUPPORTED: ResponseCode = 607;
/// Powering the card up, down or resetting it failed.
pub const IFD_ERROR_POWER_ACTION: ResponseCode = 608;
/// A generic error: an unknown reader, a token that failed, a bad argument.
pub const IFD_COMMUNICATION_ERROR: ResponseCode = 612;
/// The action is not supported (`IFDHPowerICC` with an unknown action).
pub const IFD_NOT_SUPPORTED: ResponseCode = 614;
/// `IFDHICCPresence`: a card is in the slot.
pub const IFD_ICC_PRESENT: ResponseCode = 615;
/// `IFDHICCPresence`: the slot is empty; `IFDHTransmitToICC` to an empty slot.
pub const IFD_ICC_NOT_PRESENT: ResponseCode = 616;
/// The reader is gone (here: a slot number beyond the reader's slots).
pub const IFD_NO_SUCH_DEVICE: ResponseCode = 617;
/// The caller's buffer is too small for the answer.
pub const IFD_ERROR_INSUFFICIENT_BUFFER: ResponseCode = 618;

/// `IFDHPowerICC`: power the card up.
pub const IFD_POWER_UP: Dword = 500;
/// `IFDHPowerICC`: power the card down.
pub const IFD_POWER_DOWN: Dword = 501;
/// `IFDHPowerICC`: warm reset.
pub const IFD_RESET: Dword = 502;

/// The card's ATR.
pub const TAG_IFD_ATR: Dword = 0x0303;
/// Whether slots of one reader may be used at the same time (1 byte).
pub const TAG_IFD_SLOT_THREAD_SAFE: Dword = 0x0FAC;
/// Whether readers of this driver may be used at the same time (1 byte).
pub const TAG_IFD_THREAD_SAFE: Dword = 0x0FAD;
/// How many slots the reader has (1 byte).
pub const TAG_IFD_SLOTS_NUMBER: Dword = 0x0FAE;
/// How many readers the driver can serve (1 byte).
pub const TAG_IFD_SIMULTANEOUS_ACCESS: Dword = 0x0FAF;
/// Whether pcscd may `pthread_cancel` the polling thread (1 byte).
pub const TAG_IFD_POLLING_THREAD_KILLABLE: Dword = 0x0FB1;
/// The function that stops the polling function: `RESPONSECODE f(DWORD Lun)`.
pub const TAG_IFD_STOP_POLLING_THREAD: Dword = 0x0FB2;
/// The polling function: `RESPONSECODE f(DWORD Lun, int timeout_ms)`.
pub const TAG_IFD_POLLING_THREAD_WITH_TIMEOUT: Dword = 0x0FB3;
/// `SCARD_ATTR_ATR_STRING` (`SCARD_ATTR_VALUE(SCARD_CLASS_ICC_STATE, 0x0303)`), as
/// `SCardGetAttrib` asks for the ATR.
pub const SCARD_ATTR_ATR_STRING: Dword = (9 << 16) | 0x0303;

/// `SCARD_PROTOCOL_T1` in `IFDHSetProtocolParameters` and `SCARD_IO_HEADER`.
pub const SCARD_PROTOCOL_T1: Dword = 0x0002;

/// `MAX_ATR_SIZE`: pcscd's ATR buffers hold this many bytes.
pub const MAX_ATR_SIZE: usize = 33;

/// How many readers pcscd 1.9.9 serves at most (`PCSCLITE_MAX_READERS_CONTEXTS`); every
/// slot counts as a reader there.
pub const MAX_READERS: usize = 16;

/// `SCARD_IO_HEADER`: the protocol of an APDU exchange.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScardIoHeader {
    /// `SCARD_PROTOCOL_T0`, `SCARD_PROTOCOL_T1`, …
    pub protocol: Dword,
    /// Unused by pcscd.
    pub length: Dword,
}

/// A logical unit number, `0xRRRRSSSS`: pcscd numbers the readers loaded from one driver
/// file in the high 16 bits and their slots in the low 16 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lun {
    /// The reader's number among those of this driver.
    pub reader: u16,
    /// The slot's number in its reader.
    pub slot: u16,
}

impl Lun {
    /// The reader and slot of a LUN as pcscd passes it; `None` for a value wider than 32
    /// bits, which pcscd never passes.
    pub fn from_raw(raw: Dword) -> Option<Self> {
        let raw = u32::try_from(raw).ok()?;
        Some(Self {
            reader: (raw >> 16) as u16,
            slot: (raw & 0xFFFF) as u16,
        })
    }

    /// The LUN as pcscd passes it.
    pub fn raw(self) -> Dword {
        Dword::from(self.reader) << 16 | Dword::from(self.slot)
    }
}

impl std::fmt::Display for Lun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reader {} slot {}", self.reader, self.slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lun_splits_into_reader_and_slot_and_back() {
        let lun = Lun::from_raw(0x0003_0002).unwrap();
        assert_eq!((lun.reader, lun.slot), (3, 2));
        assert_eq!(lun.raw(), 0x0003_0002);
        assert_eq!(Lun::from_raw(0x1_0000_0000), None);
    }

    #[test]
    fn the_io_header_is_two_dwords_as_in_c() {
        assert_eq!(
            std::mem::size_of::<ScardIoHeader>(),
            2 * std::mem::size_of::<std::ffi::c_ulong>()
        );
    }
}
