//! The C entry points pcscd looks up in the driver (IFD handler API 3.0,
//! `PCSC/ifdhandler.h`), and the polling functions it is given by address.
//!
//! Each one checks its pointers, turns them into slices for the length pcscd gave, and
//! calls the safe [`crate::driver`]. No panic crosses into pcscd: each body runs under
//! `catch_unwind`, and a panic or a refusal becomes an `IFD_*` code (a refusal's reason is
//! written to pcscd's log).
#![allow(non_snake_case)]

use std::ffi::{CStr, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::time::Duration;

use crate::abi::{
    Dword, IFD_COMMUNICATION_ERROR, IFD_ERROR_INSUFFICIENT_BUFFER, IFD_ERROR_NOT_SUPPORTED,
    IFD_ERROR_POWER_ACTION, IFD_ERROR_TAG, IFD_ICC_NOT_PRESENT, IFD_ICC_PRESENT, IFD_NOT_SUPPORTED,
    IFD_POWER_DOWN, IFD_POWER_UP, IFD_RESET, IFD_SUCCESS, Lun, ResponseCode, ScardIoHeader,
};
use crate::driver::{self, Capability};
use crate::refusal::{Refusal, log};
use crate::slot::Power;

/// Opens the channel of slot `Lun` on the reader configured by the file `DeviceName`
/// (reader.conf's `DEVICENAME`).
///
/// # Safety
/// `DeviceName` is null or a NUL-terminated string that lives through the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHCreateChannelByName(
    Lun: Dword,
    DeviceName: *const c_char,
) -> ResponseCode {
    guard("IFDHCreateChannelByName", Lun, |lun| {
        if DeviceName.is_null() {
            return Err(bad("no DEVICENAME"));
        }
        // SAFETY: not null, and NUL-terminated and alive through the call by the caller's
        // contract (pcscd passes its copy of the reader.conf value).
        let device = unsafe { CStr::from_ptr(DeviceName) };
        let device = device
            .to_str()
            .map_err(|_| bad("DEVICENAME is not UTF-8"))?;
        driver::create_channel(lun, device).map(|()| IFD_SUCCESS)
    })
}

/// Refused: a reader of this driver is named by its configuration file, which only
/// `DEVICENAME` can carry.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHCreateChannel(Lun: Dword, Channel: Dword) -> ResponseCode {
    guard("IFDHCreateChannel", Lun, |_| {
        Err(bad(format!(
            "CHANNELID {Channel} without DEVICENAME: reader.conf must name the reader's \
             configuration file in DEVICENAME"
        )))
    })
}

/// Closes slot `Lun`'s channel: its token is pulled out and its image flushed.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHCloseChannel(Lun: Dword) -> ResponseCode {
    guard("IFDHCloseChannel", Lun, |lun| {
        driver::close_channel(lun).map(|()| IFD_SUCCESS)
    })
}

/// Answers a capability `Tag` into `Value`, whose size is `*Length` on entry; `*Length` is
/// the answer's size on return.
///
/// # Safety
/// `Length` is null or points to a `DWORD`, and `Value` is null or points to `*Length`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHGetCapabilities(
    Lun: Dword,
    Tag: Dword,
    Length: *mut Dword,
    Value: *mut u8,
) -> ResponseCode {
    guard("IFDHGetCapabilities", Lun, |lun| {
        let answer = match driver::capability(lun, Tag)? {
            Capability::Bytes(bytes) => bytes,
            Capability::PollingFunction => address(IFDHPolling as *const ()),
            Capability::StopPollingFunction => address(IFDHStopPolling as *const ()),
        };
        // SAFETY: by the caller's contract, `Length` is a DWORD and `Value` has `*Length`
        // bytes.
        unsafe { write_sized(&answer, Value, Length) }
    })
}

/// Nothing is settable: `IFD_ERROR_TAG` for a reader that is open.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHSetCapabilities(
    Lun: Dword,
    Tag: Dword,
    _Length: Dword,
    _Value: *mut u8,
) -> ResponseCode {
    guard("IFDHSetCapabilities", Lun, |lun| {
        driver::set_capability(lun, Tag).map(|()| IFD_SUCCESS)
    })
}

/// Accepts T=1 (the only protocol of the card's ATR); the PTS values are ignored.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHSetProtocolParameters(
    Lun: Dword,
    Protocol: Dword,
    _Flags: u8,
    _PTS1: u8,
    _PTS2: u8,
    _PTS3: u8,
) -> ResponseCode {
    guard("IFDHSetProtocolParameters", Lun, |lun| {
        driver::set_protocol(lun, Protocol).map(|()| IFD_SUCCESS)
    })
}

/// Powers the card up (`IFD_POWER_UP`), down (`IFD_POWER_DOWN`) or resets it
/// (`IFD_RESET`); the ATR goes to `Atr`, whose size is `*AtrLength` on entry.
///
/// # Safety
/// `AtrLength` is null or points to a `DWORD`; `Atr` is null or points to `*AtrLength`
/// writable bytes. pcscd passes both null when it powers a card down.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHPowerICC(
    Lun: Dword,
    Action: Dword,
    Atr: *mut u8,
    AtrLength: *mut Dword,
) -> ResponseCode {
    // SAFETY: `AtrLength` is null or a DWORD, by the caller's contract.
    let clear = || unsafe { set_length(AtrLength, 0) };
    let code = guard("IFDHPowerICC", Lun, |lun| {
        let action = match Action {
            IFD_POWER_UP => Power::Up,
            IFD_POWER_DOWN => Power::Down,
            IFD_RESET => Power::Reset,
            other => {
                return Err(Refusal::new(
                    IFD_NOT_SUPPORTED,
                    format!("power action {other}"),
                ));
            }
        };
        match driver::power(lun, action)? {
            None => Ok(IFD_SUCCESS),
            Some(_) if Atr.is_null() || AtrLength.is_null() => Ok(IFD_SUCCESS),
            // SAFETY: by the caller's contract, `AtrLength` is a DWORD and `Atr` has
            // `*AtrLength` bytes.
            Some(atr) => unsafe { write_sized(&atr, Atr, AtrLength) }
                .map_err(|refusal| Refusal::new(IFD_ERROR_POWER_ACTION, refusal.reason)),
        }
    });
    if code != IFD_SUCCESS || Action == IFD_POWER_DOWN {
        clear();
    }
    code
}

/// Sends the APDU `TxBuffer[..TxLength]` to the card and writes its response into
/// `RxBuffer`, whose size is `*RxLength` on entry; `*RxLength` is the response's length on
/// return (0 on an error).
///
/// # Safety
/// `TxBuffer` is null or points to `TxLength` readable bytes; `RxLength` is null or points
/// to a `DWORD`; `RxBuffer` is null or points to `*RxLength` writable bytes, not overlapping
/// `TxBuffer`; `RecvPci` is null or points to a writable `SCARD_IO_HEADER`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHTransmitToICC(
    Lun: Dword,
    SendPci: ScardIoHeader,
    TxBuffer: *const u8,
    TxLength: Dword,
    RxBuffer: *mut u8,
    RxLength: *mut Dword,
    RecvPci: *mut ScardIoHeader,
) -> ResponseCode {
    guard("IFDHTransmitToICC", Lun, |lun| {
        // SAFETY: by the caller's contract.
        let capacity = unsafe { read_length(RxLength) }?;
        // SAFETY: by the caller's contract.
        unsafe { set_length(RxLength, 0) };
        // SAFETY: `TxBuffer` has `TxLength` bytes by the caller's contract.
        let command = unsafe { slice(TxBuffer, TxLength) }?;
        // SAFETY: `RxBuffer` has `capacity` writable bytes, apart from `TxBuffer`, by the
        // caller's contract.
        let response = unsafe { slice_mut(RxBuffer, capacity) }?;
        let length = driver::transmit(lun, command, response)?;
        // SAFETY: by the caller's contract.
        unsafe { set_length(RxLength, length) };
        if !RecvPci.is_null() {
            // SAFETY: not null, and a writable SCARD_IO_HEADER by the caller's contract.
            unsafe {
                ptr::write(
                    RecvPci,
                    ScardIoHeader {
                        protocol: SendPci.protocol,
                        length: std::mem::size_of::<ScardIoHeader>() as Dword,
                    },
                );
            }
        }
        Ok(IFD_SUCCESS)
    })
}

/// No reader commands (PIN pad, display): `IFD_ERROR_NOT_SUPPORTED`, nothing returned.
///
/// # Safety
/// `pdwBytesReturned` is null or points to a writable `DWORD`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn IFDHControl(
    Lun: Dword,
    _dwControlCode: Dword,
    _TxBuffer: *const u8,
    _TxLength: Dword,
    _RxBuffer: *mut u8,
    _RxLength: Dword,
    pdwBytesReturned: *mut Dword,
) -> ResponseCode {
    // SAFETY: null or a writable DWORD, by the caller's contract.
    unsafe { set_length(pdwBytesReturned, 0) };
    guard("IFDHControl", Lun, |_| {
        Err(Refusal::new(IFD_ERROR_NOT_SUPPORTED, "no reader commands"))
    })
}

/// `IFD_ICC_PRESENT` when a token is in the slot, else `IFD_ICC_NOT_PRESENT`.
#[unsafe(no_mangle)]
pub extern "C" fn IFDHICCPresence(Lun: Dword) -> ResponseCode {
    guard("IFDHICCPresence", Lun, |lun| {
        Ok(match driver::presence(lun)? {
            true => IFD_ICC_PRESENT,
            false => IFD_ICC_NOT_PRESENT,
        })
    })
}

/// The polling function pcscd's event thread calls (`TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`):
/// returns when a token is inserted or removed, when polling is stopped, or after
/// `timeout` milliseconds.
pub extern "C" fn IFDHPolling(Lun: Dword, timeout: c_int) -> ResponseCode {
    guard("IFDHPolling", Lun, |lun| {
        let timeout = Duration::from_millis(u64::try_from(timeout).unwrap_or(0));
        driver::wait_for_event(lun, timeout).map(|()| IFD_SUCCESS)
    })
}

/// Makes [`IFDHPolling`] return (`TAG_IFD_STOP_POLLING_THREAD`): pcscd calls it before it
/// joins its event thread.
pub extern "C" fn IFDHStopPolling(Lun: Dword) -> ResponseCode {
    guard("IFDHStopPolling", Lun, |lun| {
        driver::stop_polling(lun).map(|()| IFD_SUCCESS)
    })
}

/// Runs one entry point's body: a refusal becomes its code (logged unless routine), a
/// panic `IFD_COMMUNICATION_ERROR`.
fn guard(
    name: &str,
    raw: Dword,
    body: impl FnOnce(Lun) -> Result<ResponseCode, Refusal>,
) -> ResponseCode {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let lun = Lun::from_raw(raw).ok_or_else(|| bad(format!("LUN {raw:#x} is not 32 bits")))?;
        body(lun)
    }));
    match result {
        Ok(Ok(code)) => code,
        Ok(Err(refusal)) => {
            if !matches!(refusal.code, IFD_ERROR_TAG | IFD_ERROR_NOT_SUPPORTED) {
                log(format_args!("{name} (LUN {raw:#x}): {}", refusal.reason));
            }
            refusal.code
        }
        Err(_) => {
            log(format_args!("{name} (LUN {raw:#x}): panicked; refused"));
            IFD_COMMUNICATION_ERROR
        }
    }
}

fn bad(reason: impl Into<String>) -> Refusal {
    Refusal::new(IFD_COMMUNICATION_ERROR, reason)
}

/// A function's address as the bytes pcscd reads a function pointer from.
fn address(function: *const ()) -> Vec<u8> {
    (function as usize).to_ne_bytes().to_vec()
}

/// Copies `answer` into `value`, whose size is `*length`, and sets `*length` to its size.
///
/// # Safety
/// `length` is null or points to a `DWORD`; `value` is null or points to `*length`
/// writable bytes.
unsafe fn write_sized(
    answer: &[u8],
    value: *mut u8,
    length: *mut Dword,
) -> Result<ResponseCode, Refusal> {
    // SAFETY: by this function's contract.
    let capacity = unsafe { read_length(length) }?;
    // SAFETY: `value` has `capacity` bytes by this function's contract.
    let room = unsafe { slice_mut(value, capacity) }?;
    let room = room.get_mut(..answer.len()).ok_or_else(|| {
        Refusal::new(
            IFD_ERROR_INSUFFICIENT_BUFFER,
            format!("{} bytes to answer, room for {capacity}", answer.len()),
        )
    })?;
    room.copy_from_slice(answer);
    // SAFETY: by this function's contract.
    unsafe { set_length(length, answer.len()) };
    Ok(IFD_SUCCESS)
}

/// `*length` as a size.
///
/// # Safety
/// `length` is null or points to a readable `DWORD`.
unsafe fn read_length(length: *const Dword) -> Result<usize, Refusal> {
    if length.is_null() {
        return Err(bad("no length"));
    }
    // SAFETY: not null, and a readable DWORD by this function's contract.
    let value = unsafe { ptr::read(length) };
    usize::try_from(value).map_err(|_| bad(format!("length {value} is out of range")))
}

/// Sets `*length` to `value` unless `length` is null.
///
/// # Safety
/// `length` is null or points to a writable `DWORD`.
unsafe fn set_length(length: *mut Dword, value: usize) {
    if !length.is_null() {
        // SAFETY: not null, and a writable DWORD by this function's contract; a usize
        // fits a DWORD (both 64 bits on Linux x86-64, and `value` is a buffer length).
        unsafe { ptr::write(length, value as Dword) };
    }
}

/// `len` bytes at `data`; empty for a null pointer of length 0.
///
/// # Safety
/// `data` is null or points to `len` readable bytes that nothing writes during the call.
unsafe fn slice<'a>(data: *const u8, len: Dword) -> Result<&'a [u8], Refusal> {
    let len = usize::try_from(len).map_err(|_| bad("length out of range"))?;
    if data.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(bad("no buffer"))
        };
    }
    // SAFETY: not null, and `len` readable bytes unchanged during the call by this
    // function's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// `len` writable bytes at `data`; empty for a null pointer of length 0.
///
/// # Safety
/// `data` is null or points to `len` writable bytes that nothing else reads or writes
/// during the call.
unsafe fn slice_mut<'a>(data: *mut u8, len: usize) -> Result<&'a mut [u8], Refusal> {
    if data.is_null() {
        return if len == 0 {
            Ok(&mut [])
        } else {
            Err(bad("no buffer"))
        };
    }
    // SAFETY: not null, and `len` writable bytes used by nothing else during the call by
    // this function's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(data, len) })
}
