//! `--link ccid`: every APDU goes through the firmware's own USB stack, `usb-device` with
//! `usbd-ccid`, on a simulated bus, with the simulator playing the USB host and libccid.
//!
//! ```text
//! CcidLink ──calls──► USB thread: Host ──packets──► SimBus ◄── UsbDevice + Ccid
//!                                                                │ interchange
//!                                                   applet task ◄┘ (Card::process)
//! ```
//!
//! The host enumerates the device, reads and checks its descriptors, then sends
//! PC_to_RDR_IccPowerOn, IccPowerOff, GetSlotStatus and XfrBlock in 64-byte packets and
//! waits through the time extensions the device sends while the applet works.

mod bus;
mod descriptor;
mod device;
mod host;
mod lsusb;

use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use interchange::Channel;
use ukey_firmware::ATR_ISSUER_DATA;
use usb_device::bus::UsbBusAllocator;
use usb_device::device::{StringDescriptors, UsbDeviceBuilder, UsbRev, UsbVidPid};
use usbd_ccid::Ccid;

pub use descriptor::Descriptors;

use crate::applet::Applet;
use crate::error::{Error, Result};
use crate::link::Link;
use bus::{SharedWire, SimBus};
use device::{Device, Message, applet_task};
use host::Host;

/// The token's USB vendor ID: pid.codes, whose test PID below is meant for development.
pub const USB_VID: u16 = 0x1209;
/// The token's USB product ID (pid.codes' test PID).
pub const USB_PID: u16 = 0x0001;
/// The manufacturer string.
pub const MANUFACTURER: &str = "ukey";
/// The product string.
pub const PRODUCT: &str = "ukey USB token";

/// How the emulated device is built.
#[derive(Clone, Debug)]
pub struct CcidOptions {
    /// The USB serial number string (iSerial).
    pub serial_number: String,
    /// How long the applet may work before the device sends a time extension; usbd-ccid
    /// asks for one every second, as here by default.
    pub time_extension: Duration,
}

impl Default for CcidOptions {
    fn default() -> Self {
        Self {
            serial_number: String::from("00000000"),
            time_extension: Duration::from_secs(1),
        }
    }
}

enum Call {
    PowerOn,
    PowerOff,
    SlotStatus,
    Transmit(Vec<u8>),
    TimeExtensions,
}

enum Reply {
    Descriptors(Box<Descriptors>),
    Atr(Vec<u8>),
    Done,
    Response(Vec<u8>),
    Count(u64),
}

/// A token behind an emulated USB CCID device. The device, its USB stack and the simulated
/// host run in a thread of their own; the applet in another, as a board's applet task.
pub struct CcidLink<A: Applet + 'static> {
    calls: Option<Sender<Call>>,
    replies: Receiver<Result<Reply>>,
    thread: Option<JoinHandle<Option<A>>>,
    descriptors: Descriptors,
    atr: Option<Vec<u8>>,
}

impl<A: Applet + 'static> CcidLink<A> {
    /// Plugs in a device with `applet` behind it: the host enumerates it and checks its
    /// descriptors, as libccid would before using it.
    pub fn start(applet: A, options: CcidOptions) -> Result<Self> {
        let (calls, call_rx) = mpsc::channel();
        let (reply_tx, replies) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("ukey-usb".into())
            .spawn(move || usb_thread(applet, &options, &call_rx, &reply_tx))
            .map_err(|error| Error::io("starting the USB thread", error))?;
        match replies.recv() {
            Ok(Ok(Reply::Descriptors(descriptors))) => Ok(Self {
                calls: Some(calls),
                replies,
                thread: Some(thread),
                descriptors: *descriptors,
                atr: None,
            }),
            first => {
                drop(calls);
                let _ = thread.join();
                Err(match first {
                    Ok(Err(error)) => error,
                    _ => usb_gone(),
                })
            }
        }
    }

    /// The descriptors the host read when it enumerated the device.
    pub fn descriptors(&self) -> &Descriptors {
        &self.descriptors
    }

    /// How many time extensions the device has sent so far.
    pub fn time_extensions(&mut self) -> Result<u64> {
        match self.call(Call::TimeExtensions)? {
            Reply::Count(count) => Ok(count),
            _ => Err(unexpected()),
        }
    }

    /// Unplugs the device and gives the applet back.
    pub fn into_applet(mut self) -> Result<A> {
        self.calls = None;
        let thread = self.thread.take().ok_or_else(unexpected)?;
        thread
            .join()
            .ok()
            .flatten()
            .ok_or_else(|| Error::Ccid("the applet was lost: its task panicked".into()))
    }

    fn call(&mut self, call: Call) -> Result<Reply> {
        let calls = self.calls.as_ref().ok_or_else(unexpected)?;
        calls.send(call).map_err(|_| usb_gone())?;
        self.reply()
    }

    fn reply(&mut self) -> Result<Reply> {
        self.replies.recv().map_err(|_| usb_gone())?
    }
}

impl<A: Applet + 'static> Link for CcidLink<A> {
    fn power_on(&mut self) -> Result<Vec<u8>> {
        match self.call(Call::PowerOn)? {
            Reply::Atr(atr) => {
                self.atr = Some(atr.clone());
                Ok(atr)
            }
            _ => Err(unexpected()),
        }
    }

    fn power_off(&mut self) -> Result<()> {
        match self.call(Call::PowerOff)? {
            Reply::Done => Ok(()),
            _ => Err(unexpected()),
        }
    }

    fn atr(&mut self) -> Result<Vec<u8>> {
        match self.call(Call::SlotStatus)? {
            Reply::Done => {}
            _ => return Err(unexpected()),
        }
        match &self.atr {
            Some(atr) => Ok(atr.clone()),
            None => self.power_on(),
        }
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        match self.call(Call::Transmit(command.to_vec()))? {
            Reply::Response(response) => Ok(response),
            _ => Err(unexpected()),
        }
    }
}

impl<A: Applet + 'static> Drop for CcidLink<A> {
    fn drop(&mut self) {
        self.calls = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<A: Applet + 'static> std::fmt::Debug for CcidLink<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CcidLink")
            .field("descriptors", &self.descriptors)
            .finish_non_exhaustive()
    }
}

/// The USB thread: builds the device as the firmware would, runs the applet task beside
/// it, enumerates, then serves calls until the link is dropped. Returns the applet, or
/// nothing if its task panicked.
fn usb_thread<A: Applet>(
    applet: A,
    options: &CcidOptions,
    calls: &Receiver<Call>,
    replies: &Sender<Result<Reply>>,
) -> Option<A> {
    let wire = SharedWire::default();
    let allocator = UsbBusAllocator::new(SimBus::new(wire.clone()));
    let channel = Channel::<Message, Message>::new();
    let Some((requester, responder)) = channel.split() else {
        let _ = replies.send(Err(Error::Ccid("the interchange is already split".into())));
        return Some(applet);
    };
    let (job_tx, job_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::scope(|scope| {
        let task = scope.spawn(move || {
            let mut applet = applet;
            applet_task(&mut applet, responder, &job_rx, &done_tx);
            applet
        });
        let ccid = Ccid::new(&allocator, requester, Some(ATR_ISSUER_DATA));
        let built = UsbDeviceBuilder::new(&allocator, UsbVidPid(USB_VID, USB_PID))
            .usb_rev(UsbRev::Usb200)
            .device_release(0x0100)
            .strings(&[StringDescriptors::default()
                .manufacturer(MANUFACTURER)
                .product(PRODUCT)
                .serial_number(&options.serial_number)])
            .and_then(|builder| builder.max_packet_size_0(64));
        match built {
            Ok(builder) => {
                let device = Device::new(
                    builder.build(),
                    ccid,
                    job_tx,
                    done_rx,
                    options.time_extension,
                );
                serve(Host::new(wire, device), calls, replies);
            }
            Err(error) => {
                let _ = replies.send(Err(Error::Ccid(format!("device builder: {error:?}"))));
                drop(job_tx);
            }
        }
        task.join().ok()
    })
}

/// Enumerates, then answers calls until the link hangs up or the device breaks.
fn serve(mut host: Host<'_>, calls: &Receiver<Call>, replies: &Sender<Result<Reply>>) {
    let enumerated = host
        .enumerate()
        .map(|descriptors| Reply::Descriptors(Box::new(descriptors)));
    let mut healthy = enumerated.is_ok();
    if replies.send(enumerated).is_err() {
        return;
    }
    for call in calls {
        let reply = if healthy {
            let reply = match call {
                Call::PowerOn => host.power_on().map(Reply::Atr),
                Call::PowerOff => host.power_off().map(|()| Reply::Done),
                Call::SlotStatus => host.slot_status().map(|()| Reply::Done),
                Call::Transmit(apdu) => host.transmit(&apdu).map(Reply::Response),
                Call::TimeExtensions => Ok(Reply::Count(host.time_extensions())),
            };
            healthy = reply.is_ok();
            reply
        } else {
            Err(Error::Ccid(
                "the device stopped after an earlier error".into(),
            ))
        };
        if replies.send(reply).is_err() {
            return;
        }
    }
}

fn usb_gone() -> Error {
    Error::Ccid("the USB thread stopped".into())
}

fn unexpected() -> Error {
    Error::Ccid("the USB thread answered out of turn".into())
}
