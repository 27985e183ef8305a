//! The CCID message framing of the bulk-OUT stream exactly as usbd-ccid 0.5 assembles it, and
//! the guard against the one message shape that makes usbd-ccid panic.
//!
//! usbd-ccid (`Pipe::handle_packet`) takes a packet of at least 10 bytes as a message header
//! when it is not assembling a long message. If the header's dwLength is at most 54 the
//! packet is the whole message; otherwise it keeps appending the next packets, whatever
//! their length, until it has appended dwLength - 54 bytes, or drops the message when the
//! 3072-byte buffer would overflow. For an XfrBlock it then slices dwLength data bytes
//! (at most 3062) after the header (`PacketWithData::data`), and panics when fewer arrived.
//!
//! With 64-byte packets the assembled message is short of its declared data only when its
//! first packet is short (a full first packet plus dwLength - 54 more bytes always holds
//! them), so the guard looks at first packets only: an XfrBlock whose short first packet
//! carries fewer data bytes than its dwLength declares. A short packet ends a USB transfer,
//! so such a message has lost its declared data for good (CCID 1.1, 5.2.5). The guard
//! rewrites that header in place before usbd-ccid reads it: an unsupported message type and
//! the dwLength the packet really carries. usbd-ccid then answers it as it answers any
//! unsupported command, with a failed slot status for the same sequence number, and reads
//! the host's next transfer as a new message.

use core::sync::atomic::{AtomicU32, Ordering};

/// bMessageType of PC_to_RDR_XfrBlock (CCID 1.1, 6.1.4).
pub const XFR_BLOCK: u8 = 0x6F;

/// The message type a refused header gets: no CCID command has it, so usbd-ccid answers
/// "command not supported".
pub const REFUSED: u8 = 0x00;

/// Bytes of a CCID message header: type, dwLength, slot, sequence, three specific bytes.
const HEADER_LEN: usize = 10;

/// Largest bulk packet at full speed, as usbd-ccid uses it.
const PACKET_SIZE: usize = 64;

/// usbd-ccid's buffer for one assembled message (its `MAX_MSG_LENGTH`).
const MAX_MESSAGE_LEN: usize = 3072;

/// Where usbd-ccid is in the bulk-OUT stream: between messages, or assembling a long one
/// with `missing` bytes still to append to the `assembled` it holds.
#[derive(Debug, Default)]
pub struct CcidFraming {
    missing: AtomicU32,
    assembled: AtomicU32,
}

impl CcidFraming {
    /// Between messages.
    pub const fn new() -> Self {
        Self {
            missing: AtomicU32::new(0),
            assembled: AtomicU32::new(0),
        }
    }

    /// Follows one bulk-OUT packet as usbd-ccid will read it, after refusing in place an
    /// XfrBlock header that declares more data than its short packet carries. Gives the
    /// message type usbd-ccid will see if the packet starts a message.
    pub fn packet(&self, packet: &mut [u8]) -> Option<u8> {
        let missing = self.missing.load(Ordering::Relaxed) as usize;
        if missing == 0 {
            self.header(packet)
        } else {
            self.continuation(packet.len(), missing);
            None
        }
    }

    /// A packet usbd-ccid reads as the start of a message.
    fn header(&self, packet: &mut [u8]) -> Option<u8> {
        let len = packet.len();
        if len < HEADER_LEN {
            return None;
        }
        refuse_if_short_of_data(packet);
        let declared = declared_len(packet);
        if declared > PACKET_SIZE - HEADER_LEN {
            let missing = declared - (PACKET_SIZE - HEADER_LEN);
            self.store(missing, len);
        }
        Some(packet[0])
    }

    /// A packet usbd-ccid appends to the long message it is assembling.
    fn continuation(&self, len: usize, missing: usize) {
        let assembled = self.assembled.load(Ordering::Relaxed) as usize;
        if assembled + len > MAX_MESSAGE_LEN {
            self.store(0, 0);
        } else {
            self.store(missing.saturating_sub(len), assembled + len);
        }
    }

    fn store(&self, missing: usize, assembled: usize) {
        let missing = u32::try_from(missing).unwrap_or(u32::MAX);
        let assembled = u32::try_from(assembled).unwrap_or(u32::MAX);
        self.missing.store(missing, Ordering::Relaxed);
        self.assembled.store(assembled, Ordering::Relaxed);
    }
}

/// dwLength of a header of at least [`HEADER_LEN`] bytes.
fn declared_len(header: &[u8]) -> usize {
    let declared = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    usize::try_from(declared).unwrap_or(usize::MAX)
}

/// Turns an XfrBlock header in a short packet that declares more data than the packet holds
/// into an unsupported message of the data it holds.
fn refuse_if_short_of_data(header: &mut [u8]) {
    let len = header.len();
    let carried = len - HEADER_LEN;
    if header[0] == XFR_BLOCK && len < PACKET_SIZE && declared_len(header) > carried {
        header[0] = REFUSED;
        let carried = u32::try_from(carried).unwrap_or(u32::MAX);
        header[1..5].copy_from_slice(&carried.to_le_bytes());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A CCID header of `kind` declaring `data_len` data bytes, sequence 7.
    pub(crate) fn header(kind: u8, data_len: u32) -> Vec<u8> {
        let mut h = vec![kind];
        h.extend_from_slice(&data_len.to_le_bytes());
        h.extend_from_slice(&[0, 7, 0, 0, 0]);
        h
    }

    #[test]
    fn an_xfr_block_short_of_its_declared_data_is_refused_with_what_it_carries() {
        let f = CcidFraming::new();
        // The fuzzing finding: dwLength 35, 4 data bytes.
        let mut packet = header(XFR_BLOCK, 35);
        packet.extend_from_slice(&[0x00, 0xA4, 0x04, 0x00]);
        assert_eq!(f.packet(&mut packet), Some(REFUSED));
        assert_eq!(packet[..5], [REFUSED, 4, 0, 0, 0]);
        assert_eq!(packet[5..], [0, 7, 0, 0, 0, 0x00, 0xA4, 0x04, 0x00]);
        // usbd-ccid reads the next transfer as a message.
        assert_eq!(f.packet(&mut header(0x65, 0)), Some(0x65));
    }

    #[test]
    fn a_short_first_packet_of_a_long_xfr_block_is_refused() {
        let f = CcidFraming::new();
        let mut packet = header(XFR_BLOCK, 100);
        packet.resize(40, 0xAA);
        assert_eq!(f.packet(&mut packet), Some(REFUSED));
        assert_eq!(packet[1..5], 30u32.to_le_bytes());
        assert_eq!(f.packet(&mut header(0x65, 0)), Some(0x65));
    }

    #[test]
    fn sound_and_non_xfr_messages_pass_unchanged() {
        let f = CcidFraming::new();
        let mut exact = header(XFR_BLOCK, 4);
        exact.extend_from_slice(&[1, 2, 3, 4]);
        let mut longer = exact.clone();
        longer.push(5);
        // usbd-ccid does not slice the data of other messages, so their lengths are theirs.
        let mut status = header(0x65, 35);
        for packet in [&mut exact, &mut longer, &mut status] {
            let before = packet.clone();
            assert_eq!(f.packet(packet), Some(before[0]));
            assert_eq!(*packet, before);
        }
    }

    #[test]
    fn data_packets_of_a_long_message_are_not_headers() {
        let f = CcidFraming::new();
        // An XfrBlock of 150 data bytes: 64 + 64 + 32 bytes on the wire.
        let mut first = header(XFR_BLOCK, 150);
        first.resize(64, 0x63);
        assert_eq!(f.packet(&mut first), Some(XFR_BLOCK));
        let mut middle = [0x63; 64];
        assert_eq!(f.packet(&mut middle), None);
        // A last packet shaped like a refusable header is data, and stays as it is.
        let mut last = header(XFR_BLOCK, 35);
        last.resize(32, 0);
        let before = last.clone();
        assert_eq!(f.packet(&mut last), None);
        assert_eq!(last, before);
        assert_eq!(f.packet(&mut header(0x63, 0)), Some(0x63));
    }

    #[test]
    fn a_long_message_goes_on_through_short_packets_as_usbd_ccid_reads_it() {
        let f = CcidFraming::new();
        let mut first = header(XFR_BLOCK, 118);
        first.resize(64, 0);
        assert_eq!(f.packet(&mut first), Some(XFR_BLOCK));
        // usbd-ccid appends these 10 + 54 bytes to the message.
        assert_eq!(f.packet(&mut header(0x62, 0)), None);
        let mut rest = [0; 54];
        assert_eq!(f.packet(&mut rest), None);
        assert_eq!(f.packet(&mut header(0x62, 0)), Some(0x62));
    }

    #[test]
    fn an_overflowing_message_is_dropped_where_usbd_ccid_drops_it() {
        let f = CcidFraming::new();
        let mut first = header(XFR_BLOCK, u32::MAX);
        first.resize(64, 0);
        assert_eq!(f.packet(&mut first), Some(XFR_BLOCK));
        // 64 + 47 * 64 = 3072 bytes fit usbd-ccid's buffer; the next packet does not, and
        // usbd-ccid drops it with the message, so the one after is a header again.
        for _ in 0..47 {
            assert_eq!(f.packet(&mut [0; 64]), None);
        }
        assert_eq!(f.packet(&mut [0; 64]), None);
        let mut finding = header(XFR_BLOCK, 35);
        assert_eq!(f.packet(&mut finding), Some(REFUSED));
    }

    #[test]
    fn runts_start_nothing() {
        let f = CcidFraming::new();
        assert_eq!(f.packet(&mut [XFR_BLOCK; 9]), None);
        assert_eq!(f.packet(&mut []), None);
        assert_eq!(f.packet(&mut header(0x62, 0)), Some(0x62));
    }
}
