//! `--link ccid`: every APDU goes through the firmware's own USB stack, `usb-device` with
//! `usbd-ccid`, on a simulated bus, with the simulator playing the USB host and libccid.
//!
//! ```text
//! CcidLink ──► Host ──packets──► SimBus ◄── UsbDevice + Ccid
//!                                                       │ interchange
//!                              applet (Card::process) ◄─┘
//! ```
//!
//! The host enumerates the device, reads and checks its descriptors, then sends
//! PC_to_RDR_IccPowerOn, IccPowerOff, GetSlotStatus and XfrBlock in 64-byte packets and
//! waits through the time extensions the device sends while the applet works. All of it
//! runs on the caller's thread: the host runs the device's main loop, and with it the
//! applet, whenever it waits for a packet.

mod bus;
mod descriptor;
mod device;
mod framing;
mod host;
mod lsusb;
mod stack;
#[cfg(test)]
mod tests;

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

pub use descriptor::Descriptors;

use crate::applet::Applet;
use crate::error::{Error, Result};
use crate::link::Link;
use device::MESSAGE_SIZE;
use host::Host;
use stack::Stack;

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
    /// asks for one every second, as here by default. Must be above zero.
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

/// Whether the device still answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    Working,
    /// An exchange broke the protocol; the applet is intact.
    Stopped,
    /// The device or the applet panicked; the applet's state is not to be trusted.
    AppletLost,
}

/// A token behind an emulated USB CCID device. The simulated host, the device with its USB
/// stack and the applet all run on the caller's thread, as calls into each other.
pub struct CcidLink<A: Applet> {
    applet: A,
    stack: Stack,
    descriptors: Descriptors,
    atr: Option<Vec<u8>>,
    health: Health,
}

impl<A: Applet> CcidLink<A> {
    /// Plugs in a device with `applet` behind it: the host enumerates it and checks its
    /// descriptors, as libccid would before using it.
    pub fn start(applet: A, options: CcidOptions) -> Result<Self> {
        if options.time_extension.is_zero() {
            return Err(Error::Ccid(
                "the time extension period must be above zero".into(),
            ));
        }
        let mut stack = Stack::build(&options)?;
        let descriptors =
            caught(|| stack.with_host(|host| host.enumerate())).unwrap_or_else(|| Err(lost()))?;
        Ok(Self {
            applet,
            stack,
            descriptors,
            atr: None,
            health: Health::Working,
        })
    }

    /// The descriptors the host read when it enumerated the device.
    pub fn descriptors(&self) -> &Descriptors {
        &self.descriptors
    }

    /// How many time extensions the device has sent so far.
    pub fn time_extensions(&mut self) -> Result<u64> {
        self.operate(|host, _| Ok(host.time_extensions()))
    }

    /// Unplugs the device and gives the applet back, unless it was lost to a panic.
    pub fn into_applet(self) -> Result<A> {
        match self.health {
            Health::AppletLost => Err(lost()),
            Health::Working | Health::Stopped => Ok(self.applet),
        }
    }

    /// Sends `message`, a raw CCID message of any content, in one bulk OUT transfer and reads
    /// one bulk IN transfer back: what the fuzz targets feed the device's packet handling.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn exchange_raw(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        self.operate(|host, applet| host.exchange_raw(applet, message))
    }

    /// Runs `operation` on the host with the applet behind the device, unless an earlier
    /// one failed. A failure stops the device; a panic also loses the applet, as if its task
    /// had died on a board.
    fn operate<T>(
        &mut self,
        operation: impl FnOnce(&mut Host<'_>, &mut dyn Applet) -> Result<T>,
    ) -> Result<T> {
        match self.health {
            Health::Working => {}
            Health::Stopped => {
                return Err(Error::Ccid(
                    "the device stopped after an earlier error".into(),
                ));
            }
            Health::AppletLost => return Err(lost()),
        }
        let Self { applet, stack, .. } = self;
        match caught(|| stack.with_host(|host| operation(host, applet))) {
            Some(Ok(value)) => Ok(value),
            Some(Err(error)) => {
                self.health = Health::Stopped;
                Err(error)
            }
            None => {
                self.health = Health::AppletLost;
                Err(lost())
            }
        }
    }
}

impl<A: Applet> Link for CcidLink<A> {
    fn power_on(&mut self) -> Result<Vec<u8>> {
        let atr = self.operate(|host, applet| host.power_on(applet))?;
        self.atr = Some(atr.clone());
        Ok(atr)
    }

    fn power_off(&mut self) -> Result<()> {
        self.operate(|host, applet| host.power_off(applet))
    }

    fn atr(&mut self) -> Result<Vec<u8>> {
        self.operate(|host, applet| host.slot_status(applet))?;
        match &self.atr {
            Some(atr) => Ok(atr.clone()),
            None => self.power_on(),
        }
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        if command.len() > MESSAGE_SIZE {
            return Err(Error::Ccid(format!(
                "a {}-byte command is longer than any APDU ({MESSAGE_SIZE} bytes); nothing \
                 was sent",
                command.len()
            )));
        }
        self.operate(|host, applet| host.transmit(applet, command))
    }
}

impl<A: Applet> std::fmt::Debug for CcidLink<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CcidLink")
            .field("descriptors", &self.descriptors)
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

/// Runs `operation`; `None` if it panicked (the panic hook has reported it).
fn caught<T>(operation: impl FnOnce() -> T) -> Option<T> {
    panic::catch_unwind(AssertUnwindSafe(operation)).ok()
}

fn lost() -> Error {
    Error::Ccid("the applet was lost: the device or the applet panicked".into())
}
