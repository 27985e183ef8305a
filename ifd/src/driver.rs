//! The driver's state inside pcscd: the open readers, by the reader number of their LUNs,
//! and each IFD handler call as a safe function of a [`Lun`].
//!
//! pcscd opens a channel for every slot of a reader (`IFDHCreateChannelByName` with the
//! same `DEVICENAME` and LUNs `R<<16 | 0`, `R<<16 | 1`, …): the first opens the reader, the
//! others find it. It closes them the same way; the last close closes the reader.
//! Calls on different slots run at the same time (the driver tells pcscd it is thread
//! safe); each slot serialises its own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::abi::{
    Dword, IFD_COMMUNICATION_ERROR, IFD_ERROR_TAG, IFD_NO_SUCH_DEVICE, IFD_PROTOCOL_NOT_SUPPORTED,
    Lun, MAX_READERS, SCARD_ATTR_ATR_STRING, SCARD_PROTOCOL_T1, TAG_IFD_ATR,
    TAG_IFD_POLLING_THREAD_KILLABLE, TAG_IFD_POLLING_THREAD_WITH_TIMEOUT,
    TAG_IFD_SIMULTANEOUS_ACCESS, TAG_IFD_SLOT_THREAD_SAFE, TAG_IFD_SLOTS_NUMBER,
    TAG_IFD_STOP_POLLING_THREAD, TAG_IFD_THREAD_SAFE,
};
use crate::reader::Reader;
use crate::refusal::{Refusal, log};
use crate::slot::{Power, Slot};

struct Open {
    reader: Arc<Reader>,
    slots: BTreeSet<u16>,
}

static READERS: Mutex<BTreeMap<u16, Open>> = Mutex::new(BTreeMap::new());

fn readers() -> MutexGuard<'static, BTreeMap<u16, Open>> {
    READERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What `IFDHGetCapabilities` answers for a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The address of the polling function (`TAG_IFD_POLLING_THREAD_WITH_TIMEOUT`).
    PollingFunction,
    /// The address of the function that stops it (`TAG_IFD_STOP_POLLING_THREAD`).
    StopPollingFunction,
}

/// `IFDHCreateChannelByName`: opens the channel of `lun`'s slot on the reader that the
/// file `device` configures, opening the reader if it is the first of its slots.
pub fn create_channel(lun: Lun, device: &str) -> Result<(), Refusal> {
    let mut readers = readers();
    if let Some(open) = readers.get_mut(&lun.reader) {
        if open.reader.device() != device {
            return Err(Refusal::new(
                IFD_COMMUNICATION_ERROR,
                format!(
                    "reader {} is already open with {}, not {device}",
                    lun.reader,
                    open.reader.device()
                ),
            ));
        }
        let slot = open
            .reader
            .slot(lun.slot)
            .ok_or_else(|| no_slot(lun, &open.reader))?;
        slot.open();
        open.slots.insert(lun.slot);
        return Ok(());
    }
    let reader =
        Reader::open(device).map_err(|reason| Refusal::new(IFD_COMMUNICATION_ERROR, reason))?;
    let slot = reader.slot(lun.slot).ok_or_else(|| no_slot(lun, &reader))?;
    slot.open();
    log(format_args!(
        "reader {} open: {} slot(s) from {device}",
        lun.reader,
        reader.slot_count()
    ));
    readers.insert(
        lun.reader,
        Open {
            reader: Arc::new(reader),
            slots: BTreeSet::from([lun.slot]),
        },
    );
    Ok(())
}

/// `IFDHCloseChannel`: pulls out the slot's token (flushing its image); the last slot's
/// close closes the reader and its control socket.
pub fn close_channel(lun: Lun) -> Result<(), Refusal> {
    let (reader, last) = {
        let mut readers = readers();
        let open = readers.get_mut(&lun.reader).ok_or_else(|| unknown(lun))?;
        if !open.slots.remove(&lun.slot) {
            return Err(Refusal::new(
                IFD_COMMUNICATION_ERROR,
                format!("{lun} is not open"),
            ));
        }
        let reader = open.reader.clone();
        let last = open.slots.is_empty().then(|| readers.remove(&lun.reader));
        (reader, last)
    };
    let closed = match reader.slot(lun.slot) {
        Some(slot) => slot.close(),
        None => Ok(()),
    };
    // The reader itself (and its control thread) goes when the last `Arc` does, here
    // unless a call on another slot still runs.
    drop(last);
    closed.map_err(|reason| Refusal::new(IFD_COMMUNICATION_ERROR, reason))
}

/// `IFDHICCPresence`: whether a token is in the slot.
pub fn presence(lun: Lun) -> Result<bool, Refusal> {
    with_slot(lun, |slot| Ok(slot.presence()))
}

/// `IFDHPowerICC`: the ATR when the card is powered after `action`.
pub fn power(lun: Lun, action: Power) -> Result<Option<Vec<u8>>, Refusal> {
    with_slot(lun, |slot| slot.power(action))
}

/// `IFDHTransmitToICC`: the length of the response written into `response`.
pub fn transmit(lun: Lun, command: &[u8], response: &mut [u8]) -> Result<usize, Refusal> {
    with_slot(lun, |slot| slot.transmit(command, response))
}

/// `IFDHSetProtocolParameters`: the card speaks T=1 only; PTS values mean nothing to a
/// card that is not on a wire.
pub fn set_protocol(lun: Lun, protocol: Dword) -> Result<(), Refusal> {
    with_slot(lun, |_| match protocol {
        SCARD_PROTOCOL_T1 => Ok(()),
        other => Err(Refusal::new(
            IFD_PROTOCOL_NOT_SUPPORTED,
            format!("protocol {other:#x} asked; the card speaks T=1 only"),
        )),
    })
}

/// `IFDHGetCapabilities`.
pub fn capability(lun: Lun, tag: Dword) -> Result<Capability, Refusal> {
    let byte = |value: usize| Ok(Capability::Bytes(vec![value as u8]));
    with_reader(lun, |reader| match tag {
        TAG_IFD_ATR | SCARD_ATTR_ATR_STRING => {
            let slot = reader.slot(lun.slot).ok_or_else(|| no_slot(lun, reader))?;
            Ok(Capability::Bytes(slot.atr().unwrap_or_default()))
        }
        TAG_IFD_SLOTS_NUMBER => byte(reader.slot_count()),
        TAG_IFD_SIMULTANEOUS_ACCESS => byte(MAX_READERS),
        TAG_IFD_THREAD_SAFE | TAG_IFD_SLOT_THREAD_SAFE => byte(1),
        TAG_IFD_POLLING_THREAD_KILLABLE => byte(0),
        TAG_IFD_POLLING_THREAD_WITH_TIMEOUT => Ok(Capability::PollingFunction),
        TAG_IFD_STOP_POLLING_THREAD => Ok(Capability::StopPollingFunction),
        other => Err(Refusal::new(IFD_ERROR_TAG, format!("no tag {other:#x}"))),
    })
}

/// `IFDHSetCapabilities`: nothing is settable.
pub fn set_capability(lun: Lun, tag: Dword) -> Result<(), Refusal> {
    with_reader(lun, |_| {
        Err(Refusal::new(
            IFD_ERROR_TAG,
            format!("tag {tag:#x} cannot be set"),
        ))
    })
}

/// The polling function: returns when the slot's content changes from what pcscd was
/// last told, when pcscd stops polling, or after `timeout`.
pub fn wait_for_event(lun: Lun, timeout: Duration) -> Result<(), Refusal> {
    with_slot(lun, |slot| {
        slot.wait_for_event(timeout);
        Ok(())
    })
}

/// The function that stops the polling function.
pub fn stop_polling(lun: Lun) -> Result<(), Refusal> {
    with_slot(lun, |slot| {
        slot.stop_polling();
        Ok(())
    })
}

/// Runs `call` on `lun`'s reader, outside the registry's lock.
fn with_reader<T>(
    lun: Lun,
    call: impl FnOnce(&Reader) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let reader = readers()
        .get(&lun.reader)
        .map(|open| open.reader.clone())
        .ok_or_else(|| unknown(lun))?;
    call(&reader)
}

/// Runs `call` on `lun`'s slot, outside the registry's lock.
fn with_slot<T>(lun: Lun, call: impl FnOnce(&Slot) -> Result<T, Refusal>) -> Result<T, Refusal> {
    with_reader(lun, |reader| {
        let slot = reader.slot(lun.slot).ok_or_else(|| no_slot(lun, reader))?;
        call(slot)
    })
}

fn unknown(lun: Lun) -> Refusal {
    Refusal::new(
        IFD_COMMUNICATION_ERROR,
        format!("reader {} is not open", lun.reader),
    )
}

fn no_slot(lun: Lun, reader: &Reader) -> Refusal {
    Refusal::new(
        IFD_NO_SUCH_DEVICE,
        format!(
            "{lun}: the reader has {} slot(s) ({})",
            reader.slot_count(),
            reader.device()
        ),
    )
}
