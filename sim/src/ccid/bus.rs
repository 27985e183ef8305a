//! A simulated USB device controller: the `UsbBus` that `usb-device` drives, and the wire
//! the simulated host reads and writes.
//!
//! Each endpoint holds at most one packet, as a controller's buffer does: the device's
//! write of an IN packet waits (`WouldBlock`) until the host has taken the previous one,
//! and the host sees a packet it wrote to an OUT endpoint until the device reads it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use usb_device::bus::{PollResult, UsbBus};
use usb_device::endpoint::{EndpointAddress, EndpointType};
use usb_device::{UsbDirection, UsbError};

use super::framing::CcidFraming;

const ENDPOINTS: usize = 16;

/// The state both sides of the cable see.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    /// Host-to-device packets not yet read, per endpoint number.
    out: [Option<Vec<u8>>; ENDPOINTS],
    /// The packet pending on endpoint 0 OUT is a SETUP packet.
    setup: bool,
    /// Device-to-host packets not yet taken, per endpoint number.
    in_: [Option<Vec<u8>>; ENDPOINTS],
    /// IN endpoints whose packet the host took since the device last polled.
    in_complete: u16,
    /// Stalled endpoints: bit n for OUT n, bit 16 + n for IN n.
    stalled: u32,
    /// Maximum packet sizes of allocated endpoints: OUT then IN.
    max_packet: [[u16; ENDPOINTS]; 2],
    /// The host signalled a bus reset the device has not seen yet.
    reset: bool,
    /// The address the device took.
    address: u8,
    /// usbd-ccid's bulk OUT endpoint: the first bulk OUT endpoint allocated.
    ccid_out: Option<usize>,
    /// Where usbd-ccid is in its messages, to refuse the one it would panic on.
    ccid_framing: CcidFraming,
}

/// The shared wire.
pub(crate) type SharedWire = Arc<Mutex<Wire>>;

/// Locks the wire; a poisoned lock is still usable (nothing holds it across a panic).
pub(crate) fn lock(wire: &SharedWire) -> MutexGuard<'_, Wire> {
    wire.lock().unwrap_or_else(PoisonError::into_inner)
}

fn stall_bit(address: EndpointAddress) -> u32 {
    let shift = if address.is_in() { 16 } else { 0 };
    1 << (shift + address.index())
}

impl Wire {
    /// Host: signals a bus reset.
    pub(crate) fn bus_reset(&mut self) {
        self.reset = true;
    }

    /// Host: sends a SETUP packet on endpoint 0; as on a real bus it flushes whatever
    /// endpoint 0 still had queued from an earlier transfer.
    pub(crate) fn send_setup(&mut self, packet: [u8; 8]) {
        self.in_[0] = None;
        self.in_complete &= !1;
        self.stalled &= !(stall_bit(EndpointAddress::from_parts(0, UsbDirection::In)) | 1);
        self.out[0] = Some(packet.to_vec());
        self.setup = true;
    }

    /// Host: sends a packet to an OUT endpoint. Fails while the previous one is unread.
    pub(crate) fn send_out(&mut self, index: usize, packet: &[u8]) -> bool {
        if self.out[index].is_some() {
            return false;
        }
        self.out[index] = Some(packet.to_vec());
        true
    }

    /// Host: takes the packet waiting on an IN endpoint.
    pub(crate) fn take_in(&mut self, index: usize) -> Option<Vec<u8>> {
        let packet = self.in_[index].take()?;
        self.in_complete |= 1 << index;
        Some(packet)
    }

    /// Host: whether the device stalled the endpoint.
    pub(crate) fn is_stalled(&self, address: EndpointAddress) -> bool {
        self.stalled & stall_bit(address) != 0
    }

    /// Host: the address the device took.
    pub(crate) fn address(&self) -> u8 {
        self.address
    }
}

/// The device side of the wire, as `usb-device` sees it.
#[derive(Debug)]
pub(crate) struct SimBus {
    wire: SharedWire,
}

impl SimBus {
    /// A controller on `wire`.
    pub(crate) fn new(wire: SharedWire) -> Self {
        Self { wire }
    }
}

impl UsbBus for SimBus {
    fn alloc_ep(
        &mut self,
        ep_dir: UsbDirection,
        ep_addr: Option<EndpointAddress>,
        ep_type: EndpointType,
        max_packet_size: u16,
        _interval: u8,
    ) -> usb_device::Result<EndpointAddress> {
        let mut wire = lock(&self.wire);
        let direction = usize::from(ep_dir == UsbDirection::In);
        let index = match ep_addr {
            Some(address) if wire.max_packet[direction][address.index()] == 0 => address.index(),
            Some(_) => return Err(UsbError::InvalidEndpoint),
            None => (1..ENDPOINTS)
                .find(|&index| wire.max_packet[direction][index] == 0)
                .ok_or(UsbError::EndpointOverflow)?,
        };
        wire.max_packet[direction][index] = max_packet_size;
        if wire.ccid_out.is_none() && ep_dir == UsbDirection::Out && ep_type == EndpointType::Bulk {
            wire.ccid_out = Some(index);
        }
        Ok(EndpointAddress::from_parts(index, ep_dir))
    }

    fn enable(&mut self) {}

    fn reset(&self) {
        let mut wire = lock(&self.wire);
        wire.out = Default::default();
        wire.in_ = Default::default();
        wire.setup = false;
        wire.in_complete = 0;
        wire.stalled = 0;
        wire.address = 0;
    }

    fn set_device_address(&self, addr: u8) {
        lock(&self.wire).address = addr;
    }

    fn write(&self, ep_addr: EndpointAddress, buf: &[u8]) -> usb_device::Result<usize> {
        let mut wire = lock(&self.wire);
        let index = ep_addr.index();
        let max_packet = wire.max_packet[1][index];
        if !ep_addr.is_in() || max_packet == 0 {
            return Err(UsbError::InvalidEndpoint);
        }
        if buf.len() > usize::from(max_packet) {
            return Err(UsbError::BufferOverflow);
        }
        if wire.in_[index].is_some() {
            return Err(UsbError::WouldBlock);
        }
        wire.in_[index] = Some(buf.to_vec());
        Ok(buf.len())
    }

    fn read(&self, ep_addr: EndpointAddress, buf: &mut [u8]) -> usb_device::Result<usize> {
        let mut wire = lock(&self.wire);
        let index = ep_addr.index();
        if !ep_addr.is_out() || wire.max_packet[0][index] == 0 {
            return Err(UsbError::InvalidEndpoint);
        }
        let Some(packet) = wire.out[index].take() else {
            return Err(UsbError::WouldBlock);
        };
        if packet.len() > buf.len() {
            wire.out[index] = Some(packet);
            return Err(UsbError::BufferOverflow);
        }
        if index == 0 {
            wire.setup = false;
        }
        let read = &mut buf[..packet.len()];
        read.copy_from_slice(&packet);
        if wire.ccid_out == Some(index) {
            wire.ccid_framing.packet(read);
        }
        Ok(packet.len())
    }

    fn set_stalled(&self, ep_addr: EndpointAddress, stalled: bool) {
        let mut wire = lock(&self.wire);
        if stalled {
            wire.stalled |= stall_bit(ep_addr);
        } else {
            wire.stalled &= !stall_bit(ep_addr);
        }
    }

    fn is_stalled(&self, ep_addr: EndpointAddress) -> bool {
        lock(&self.wire).is_stalled(ep_addr)
    }

    fn suspend(&self) {}

    fn resume(&self) {}

    fn poll(&self) -> PollResult {
        let mut wire = lock(&self.wire);
        if wire.reset {
            wire.reset = false;
            return PollResult::Reset;
        }
        let mut ep_out = 0u16;
        let mut ep_setup = 0u16;
        for (index, packet) in wire.out.iter().enumerate() {
            if packet.is_some() {
                if index == 0 && wire.setup {
                    ep_setup |= 1;
                } else {
                    ep_out |= 1 << index;
                }
            }
        }
        let ep_in_complete = std::mem::take(&mut wire.in_complete);
        if ep_out | ep_setup | ep_in_complete == 0 {
            PollResult::None
        } else {
            PollResult::Data {
                ep_out,
                ep_in_complete,
                ep_setup,
            }
        }
    }
}
