//! Power events for the applet. usbd-ccid 0.5 answers PC_to_RDR_IccPowerOn and IccPowerOff
//! itself and tells the application nothing, yet a card must forget its security state (the
//! PIN verified, the management key authenticated) at every power cycle, as `Card::reset`
//! does. So the board watches the CCID bulk-OUT endpoint underneath usbd-ccid: [`PowerWatch`]
//! wraps the USB bus driver, follows the CCID message framing of what usbd-ccid reads, and
//! raises a [`PowerFlag`] when a message is IccPowerOn or IccPowerOff, or when the host
//! resets the bus. The applet's loop takes the flag before it handles the next command.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use usb_device::UsbDirection;
use usb_device::bus::{PollResult, UsbBus};
use usb_device::endpoint::{EndpointAddress, EndpointType};

/// bMessageType of PC_to_RDR_IccPowerOn (CCID 1.1, 6.1.1).
pub const ICC_POWER_ON: u8 = 0x62;
/// bMessageType of PC_to_RDR_IccPowerOff (CCID 1.1, 6.1.2).
pub const ICC_POWER_OFF: u8 = 0x63;

/// Bytes of a CCID message header: type, dwLength, slot, sequence, three specific bytes.
const HEADER_LEN: u32 = 10;

/// Largest bulk packet at full speed, as usbd-ccid uses it; a shorter packet ends a transfer.
const PACKET_SIZE: usize = 64;

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

/// Where the bulk-OUT stream is in its CCID messages: the bytes still due of the current
/// message, 0 between messages. A message is its 10-byte header plus dwLength bytes, sent as
/// one transfer of 64-byte packets (CCID 1.1, 5.2.5 and 6.1).
#[derive(Debug, Default)]
pub struct CcidFraming {
    remaining: AtomicU32,
}

impl CcidFraming {
    /// Between messages.
    pub const fn new() -> Self {
        Self {
            remaining: AtomicU32::new(0),
        }
    }

    /// Follows one bulk-OUT packet; gives the message type if the packet starts a message.
    /// A packet too short for a header starts nothing (usbd-ccid drops it too); a short
    /// packet ends the transfer whatever its header announced, so a host that lied about a
    /// length is followed again from its next transfer.
    pub fn packet(&self, packet: &[u8]) -> Option<u8> {
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let remaining = self.remaining.load(Ordering::Relaxed);
        let (started, left) = if remaining == 0 {
            match packet {
                [kind, l0, l1, l2, l3, ..] if len >= HEADER_LEN => {
                    let data = u32::from_le_bytes([*l0, *l1, *l2, *l3]);
                    let total = HEADER_LEN.saturating_add(data);
                    (Some(*kind), total.saturating_sub(len))
                }
                _ => (None, 0),
            }
        } else {
            (None, remaining.saturating_sub(len))
        };
        let left = if packet.len() < PACKET_SIZE { 0 } else { left };
        self.remaining.store(left, Ordering::Relaxed);
        started
    }

    /// Back to "between messages", as after a bus reset.
    pub fn reset(&self) {
        self.remaining.store(0, Ordering::Relaxed);
    }
}

/// A USB bus driver that watches the CCID bulk-OUT endpoint for power commands and raises
/// `flag` on IccPowerOn, IccPowerOff and bus reset. Everything else passes through.
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
        self.framing.reset();
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
                .get(..len)
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

    fn header(kind: u8, data_len: u32) -> Vec<u8> {
        let mut h = vec![kind];
        h.extend_from_slice(&data_len.to_le_bytes());
        h.extend_from_slice(&[0, 7, 0, 0, 0]);
        h
    }

    #[test]
    fn power_commands_start_messages() {
        let f = CcidFraming::new();
        assert_eq!(f.packet(&header(ICC_POWER_ON, 0)), Some(ICC_POWER_ON));
        assert_eq!(f.packet(&header(0x65, 0)), Some(0x65));
        assert_eq!(f.packet(&header(ICC_POWER_OFF, 0)), Some(ICC_POWER_OFF));
    }

    #[test]
    fn data_packets_of_a_long_message_are_not_headers() {
        let f = CcidFraming::new();
        // An XfrBlock of 150 data bytes: 64 + 64 + 32 bytes on the wire.
        let mut first = header(0x6F, 150);
        first.resize(64, ICC_POWER_OFF);
        assert_eq!(f.packet(&first), Some(0x6F));
        assert_eq!(f.packet(&[ICC_POWER_OFF; 64]), None);
        assert_eq!(f.packet(&[ICC_POWER_ON; 32]), None);
        assert_eq!(f.packet(&header(ICC_POWER_OFF, 0)), Some(ICC_POWER_OFF));
    }

    #[test]
    fn a_message_of_whole_packets_ends_without_a_short_one() {
        let f = CcidFraming::new();
        // 10 + 118 = 128 bytes: two full packets and no zero-length packet.
        let mut first = header(0x6F, 118);
        first.resize(64, 0);
        assert_eq!(f.packet(&first), Some(0x6F));
        assert_eq!(f.packet(&[ICC_POWER_ON; 64]), None);
        assert_eq!(f.packet(&header(ICC_POWER_ON, 0)), Some(ICC_POWER_ON));
    }

    #[test]
    fn runts_and_short_transfers_resynchronise() {
        let f = CcidFraming::new();
        assert_eq!(f.packet(&[ICC_POWER_ON; 9]), None);
        assert_eq!(f.packet(&[]), None);
        // A header announcing more than the transfer carried: its short packet ends it.
        assert_eq!(f.packet(&header(0x6F, 1000)), Some(0x6F));
        assert_eq!(f.packet(&header(ICC_POWER_OFF, 0)), Some(ICC_POWER_OFF));
        // A huge announced length in a full packet is followed until reset.
        let mut first = header(0x6F, u32::MAX);
        first.resize(64, 0);
        assert_eq!(f.packet(&first), Some(0x6F));
        assert_eq!(f.packet(&[0; 64]), None);
        f.reset();
        assert_eq!(f.packet(&header(ICC_POWER_ON, 0)), Some(ICC_POWER_ON));
    }

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
        let mut buf = [0; 64];
        let mut send = |ep: EndpointAddress, packet: Vec<u8>| {
            watch
                .bus
                .packets
                .lock()
                .unwrap()
                .push((ep.index() as u8, packet));
            watch.read(ep, &mut buf).unwrap();
        };
        send(interrupt_out, header(ICC_POWER_OFF, 0));
        assert!(!flag.take(), "another endpoint");
        send(ccid_out, header(0x65, 0));
        assert!(!flag.take(), "GetSlotStatus");
        send(ccid_out, header(ICC_POWER_ON, 0));
        assert!(flag.take(), "IccPowerOn");
        send(ccid_out, header(ICC_POWER_OFF, 0));
        assert!(flag.take(), "IccPowerOff");
        watch.reset();
        assert!(flag.take(), "bus reset");
    }
}
