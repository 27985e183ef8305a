//! Power events for the applet. usbd-ccid 0.5 answers PC_to_RDR_IccPowerOn and IccPowerOff
//! itself and tells the application nothing, yet a card must forget its security state (the
//! PIN verified, the management key authenticated) at every power cycle, as `Card::reset`
//! does. So the board watches the CCID bulk-OUT endpoint underneath usbd-ccid: [`PowerWatch`]
//! wraps the USB bus driver, follows the CCID message framing of what usbd-ccid reads, and
//! raises a [`PowerFlag`] when a message is IccPowerOn or IccPowerOff, or when the host
//! resets the bus. The applet's loop takes the flag before it handles the next command.
//! Following that framing, it also refuses the XfrBlock headers that would make usbd-ccid
//! panic (see [`crate::framing`]).

use core::sync::atomic::{AtomicBool, Ordering};

use usb_device::UsbDirection;
use usb_device::bus::{PollResult, UsbBus};
use usb_device::endpoint::{EndpointAddress, EndpointType};

use crate::framing::CcidFraming;

/// bMessageType of PC_to_RDR_IccPowerOn (CCID 1.1, 6.1.1).
pub const ICC_POWER_ON: u8 = 0x62;
/// bMessageType of PC_to_RDR_IccPowerOff (CCID 1.1, 6.1.2).
pub const ICC_POWER_OFF: u8 = 0x63;

/// "The card lost power": set by the USB side, taken by the applet's loop.
#[derive(Debug, Default)]
pub struct PowerFlag(AtomicBool);

impl PowerFlag {
    /// A flag that is down.
    pub const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// Records a power event.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a power event happened since the last call; lowers the flag.
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// A USB bus driver that watches the CCID bulk-OUT endpoint for power commands and raises
/// `flag` on IccPowerOn, IccPowerOff and bus reset. Everything else passes through, but for
/// the XfrBlock headers [`CcidFraming`] refuses.
///
/// The endpoint watched is the first bulk OUT endpoint allocated: usbd-ccid's, the only one
/// on this device.
#[derive(Debug)]
pub struct PowerWatch<'a, B: UsbBus> {
    bus: B,
    ccid_out: Option<EndpointAddress>,
    framing: CcidFraming,
    flag: &'a PowerFlag,
}

impl<'a, B: UsbBus> PowerWatch<'a, B> {
    /// Wraps `bus`; power events raise `flag`.
    pub const fn new(bus: B, flag: &'a PowerFlag) -> Self {
        Self {
            bus,
            ccid_out: None,
            framing: CcidFraming::new(),
            flag,
        }
    }
}

impl<B: UsbBus> UsbBus for PowerWatch<'_, B> {
    const QUIRK_SET_ADDRESS_BEFORE_STATUS: bool = B::QUIRK_SET_ADDRESS_BEFORE_STATUS;

    fn alloc_ep(
        &mut self,
        ep_dir: UsbDirection,
        ep_addr: Option<EndpointAddress>,
        ep_type: EndpointType,
        max_packet_size: u16,
        interval: u8,
    ) -> usb_device::Result<EndpointAddress> {
        let address = self
            .bus
            .alloc_ep(ep_dir, ep_addr, ep_type, max_packet_size, interval)?;
        if self.ccid_out.is_none() && ep_dir == UsbDirection::Out && ep_type == EndpointType::Bulk {
            self.ccid_out = Some(address);
        }
        Ok(address)
    }

    fn enable(&mut self) {
        self.bus.enable();
    }

    fn reset(&self) {
        // usbd-ccid keeps assembling its message through a bus reset, so the framing does too.
        self.flag.raise();
        self.bus.reset();
    }

    fn set_device_address(&self, addr: u8) {
        self.bus.set_device_address(addr);
    }

    fn write(&self, ep_addr: EndpointAddress, buf: &[u8]) -> usb_device::Result<usize> {
        self.bus.write(ep_addr, buf)
    }

    fn read(&self, ep_addr: EndpointAddress, buf: &mut [u8]) -> usb_device::Result<usize> {
        let len = self.bus.read(ep_addr, buf)?;
        if Some(ep_addr) == self.ccid_out {
            let kind = buf
                .get_mut(..len)
                .and_then(|packet| self.framing.packet(packet));
            if matches!(kind, Some(ICC_POWER_ON | ICC_POWER_OFF)) {
                self.flag.raise();
            }
        }
        Ok(len)
    }

    fn set_stalled(&self, ep_addr: EndpointAddress, stalled: bool) {
        self.bus.set_stalled(ep_addr, stalled);
    }

    fn is_stalled(&self, ep_addr: EndpointAddress) -> bool {
        self.bus.is_stalled(ep_addr)
    }

    fn suspend(&self) {
        self.bus.suspend();
    }

    fn resume(&self) {
        self.bus.resume();
    }

    fn poll(&self) -> PollResult {
        self.bus.poll()
    }

    fn force_reset(&self) -> usb_device::Result<()> {
        self.bus.force_reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::tests::header;
    use crate::framing::{REFUSED, XFR_BLOCK};

    #[test]
    fn the_flag_is_taken_once() {
        let flag = PowerFlag::new();
        assert!(!flag.take());
        flag.raise();
        flag.raise();
        assert!(flag.take());
        assert!(!flag.take());
    }

    /// A bus whose endpoints each hold the next packet the host sent.
    struct FakeBus {
        next_out: std::sync::atomic::AtomicUsize,
        packets: std::sync::Mutex<Vec<(u8, Vec<u8>)>>,
    }

    impl UsbBus for FakeBus {
        fn alloc_ep(
            &mut self,
            ep_dir: UsbDirection,
            _ep_addr: Option<EndpointAddress>,
            _ep_type: EndpointType,
            _max_packet_size: u16,
            _interval: u8,
        ) -> usb_device::Result<EndpointAddress> {
            let index = self.next_out.fetch_add(1, Ordering::Relaxed);
            Ok(EndpointAddress::from_parts(index, ep_dir))
        }
        fn enable(&mut self) {}
        fn reset(&self) {}
        fn set_device_address(&self, _addr: u8) {}
        fn write(&self, _ep: EndpointAddress, buf: &[u8]) -> usb_device::Result<usize> {
            Ok(buf.len())
        }
        fn read(&self, ep: EndpointAddress, buf: &mut [u8]) -> usb_device::Result<usize> {
            let mut packets = self.packets.lock().unwrap();
            let at = packets
                .iter()
                .position(|(index, _)| usize::from(*index) == ep.index())
                .ok_or(usb_device::UsbError::WouldBlock)?;
            let (_, packet) = packets.remove(at);
            buf[..packet.len()].copy_from_slice(&packet);
            Ok(packet.len())
        }
        fn set_stalled(&self, _ep: EndpointAddress, _stalled: bool) {}
        fn is_stalled(&self, _ep: EndpointAddress) -> bool {
            false
        }
        fn suspend(&self) {}
        fn resume(&self) {}
        fn poll(&self) -> PollResult {
            PollResult::None
        }
    }

    #[test]
    fn the_watch_raises_the_flag_for_power_commands_on_the_ccid_endpoint_only() {
        let flag = PowerFlag::new();
        let bus = FakeBus {
            next_out: 1.into(),
            packets: Vec::new().into(),
        };
        let mut watch = PowerWatch::new(bus, &flag);
        let interrupt_out = watch
            .alloc_ep(UsbDirection::Out, None, EndpointType::Interrupt, 8, 1)
            .unwrap();
        let ccid_out = watch
            .alloc_ep(UsbDirection::Out, None, EndpointType::Bulk, 64, 0)
            .unwrap();
        let send = |ep: EndpointAddress, packet: Vec<u8>| {
            watch
                .bus
                .packets
                .lock()
                .unwrap()
                .push((ep.index() as u8, packet));
            let mut buf = [0; 64];
            let len = watch.read(ep, &mut buf).unwrap();
            buf[..len].to_vec()
        };
        send(interrupt_out, header(ICC_POWER_OFF, 0));
        assert!(!flag.take(), "another endpoint");
        send(ccid_out, header(0x65, 0));
        assert!(!flag.take(), "GetSlotStatus");
        send(ccid_out, header(ICC_POWER_ON, 0));
        assert!(flag.take(), "IccPowerOn");
        send(ccid_out, header(ICC_POWER_OFF, 0));
        assert!(flag.take(), "IccPowerOff");
        let finding = send(ccid_out, header(XFR_BLOCK, 35));
        assert_eq!(
            finding[..5],
            [REFUSED, 0, 0, 0, 0],
            "XfrBlock short of its data"
        );
        assert_eq!(
            send(interrupt_out, header(XFR_BLOCK, 35)),
            header(XFR_BLOCK, 35)
        );
        watch.reset();
        assert!(flag.take(), "bus reset");
    }
}
