//! The emulated device with the host it is plugged into, and what the device borrows for
//! as long as it lives: usb-device its bus allocator, usbd-ccid its interchange and the
//! serial number string. One self-referential cell owns them all, so the link can keep the
//! device on its caller's thread.

use interchange::Channel;
use self_cell::self_cell;
use ukey_firmware::ATR_ISSUER_DATA;
use usb_device::bus::UsbBusAllocator;
use usb_device::device::{StringDescriptors, UsbDeviceBuilder, UsbRev, UsbVidPid};
use usbd_ccid::Ccid;

use super::bus::{SharedWire, SimBus};
use super::device::{Device, Message};
use super::host::Host;
use super::{CcidOptions, MANUFACTURER, PRODUCT, USB_PID, USB_VID};
use crate::error::{Error, Result};

/// What the device borrows.
pub(crate) struct Borrowed {
    allocator: UsbBusAllocator<SimBus>,
    interchange: Channel<Message, Message>,
    serial_number: String,
}

self_cell!(
    /// The host with the device plugged in, over what the device borrows.
    pub(crate) struct Stack {
        owner: Borrowed,

        #[covariant]
        dependent: Host,
    }
);

impl Stack {
    /// Builds the device as the firmware does, on a new cable to a new host.
    pub(crate) fn build(options: &CcidOptions) -> Result<Self> {
        let wire = SharedWire::default();
        let borrowed = Borrowed {
            allocator: UsbBusAllocator::new(SimBus::new(wire.clone())),
            interchange: Channel::new(),
            serial_number: options.serial_number.clone(),
        };
        Self::try_new(borrowed, |borrowed| {
            let (requester, responder) = borrowed
                .interchange
                .split()
                .ok_or_else(|| Error::Ccid("the interchange is already split".into()))?;
            let ccid = Ccid::new(&borrowed.allocator, requester, Some(ATR_ISSUER_DATA));
            let usb = UsbDeviceBuilder::new(&borrowed.allocator, UsbVidPid(USB_VID, USB_PID))
                .usb_rev(UsbRev::Usb200)
                .device_release(0x0100)
                .strings(&[StringDescriptors::default()
                    .manufacturer(MANUFACTURER)
                    .product(PRODUCT)
                    .serial_number(&borrowed.serial_number)])
                .and_then(|builder| builder.max_packet_size_0(64))
                .map_err(|error| Error::Ccid(format!("device builder: {error:?}")))?
                .build();
            let device = Device::new(usb, ccid, responder, options.time_extension);
            Ok(Host::new(wire, device))
        })
    }

    /// Runs `operation` with the host.
    pub(crate) fn with_host<T>(&mut self, operation: impl FnOnce(&mut Host<'_>) -> T) -> T {
        self.with_dependent_mut(|_, host| operation(host))
    }
}
