//! The CCID message framing of the bulk-OUT stream exactly as usbd-ccid 0.5 assembles it, and
//! the guard against the one message shape that makes usbd-ccid panic: the simulated bus's
//! copy of the nRF52840 board's `framing` module (firmware/boards/nrf52840/src/framing.rs),
//! which the simulator cannot depend on. The two follow one rule; keep them in step.
//!
//! usbd-ccid (`Pipe::handle_packet`) takes a packet of at least 10 bytes as a message header
//! when it is not assembling a long message. If the header's dwLength is at most 54 the
//! packet is the whole message; otherwise it keeps appending the next packets, whatever
//! their length, until it has appended dwLength - 54 bytes, or drops the message when the
//! 3072-byte buffer would overflow. For an XfrBlock it then slices dwLength data bytes
//! (at most 3062) after the header (`PacketWithData::data`), and panics when fewer arrived,
//! which with 64-byte packets only a short first packet can cause. So an XfrBlock header in
//! a short packet that carries fewer data bytes than its dwLength declares is rewritten
//! before usbd-ccid reads it: an unsupported message type and the dwLength the packet
//! carries. usbd-ccid answers it with a failed slot status, as any unsupported command.

/// bMessageType of PC_to_RDR_XfrBlock (CCID 1.1, 6.1.4).
const XFR_BLOCK: u8 = 0x6F;

/// The message type a refused header gets: no CCID command has it.
const REFUSED: u8 = 0x00;

/// Bytes of a CCID message header: type, dwLength, slot, sequence, three specific bytes.
const HEADER_LEN: usize = 10;

/// Largest bulk packet at full speed, as usbd-ccid uses it.
const PACKET_SIZE: usize = 64;

/// usbd-ccid's buffer for one assembled message (its `MAX_MSG_LENGTH`).
const MAX_MESSAGE_LEN: usize = 3072;

/// Where usbd-ccid is in the bulk-OUT stream: between messages (`missing` 0), or assembling
/// a long one with `missing` bytes still to append to the `assembled` it holds.
#[derive(Debug, Default)]
pub(crate) struct CcidFraming {
    missing: usize,
    assembled: usize,
}

impl CcidFraming {
    /// Follows one bulk-OUT packet as usbd-ccid will read it, after refusing in place an
    /// XfrBlock header that declares more data than its short packet carries.
    pub(crate) fn packet(&mut self, packet: &mut [u8]) {
        let len = packet.len();
        if self.missing != 0 {
            if self.assembled + len > MAX_MESSAGE_LEN {
                *self = Self::default();
            } else {
                self.missing = self.missing.saturating_sub(len);
                self.assembled += len;
            }
        } else if len >= HEADER_LEN {
            refuse_if_short_of_data(packet);
            let declared = declared_len(packet);
            if declared > PACKET_SIZE - HEADER_LEN {
                self.missing = declared - (PACKET_SIZE - HEADER_LEN);
                self.assembled = len;
            }
        }
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
mod tests {
    use super::*;

    fn header(kind: u8, data_len: u32) -> Vec<u8> {
        let mut h = vec![kind];
        h.extend_from_slice(&data_len.to_le_bytes());
        h.extend_from_slice(&[0, 7, 0, 0, 0]);
        h
    }

    /// Sends `packet` through `f`; gives what usbd-ccid reads.
    fn through(f: &mut CcidFraming, mut packet: Vec<u8>) -> Vec<u8> {
        f.packet(&mut packet);
        packet
    }

    #[test]
    fn an_xfr_block_short_of_its_declared_data_is_refused_with_what_it_carries() {
        let mut f = CcidFraming::default();
        let mut finding = header(XFR_BLOCK, 35);
        finding.extend_from_slice(&[0x00, 0xA4, 0x04, 0x00]);
        let read = through(&mut f, finding);
        assert_eq!(read[..5], [REFUSED, 4, 0, 0, 0]);
        let mut long = header(XFR_BLOCK, 100);
        long.resize(40, 0);
        assert_eq!(through(&mut f, long)[..5], [REFUSED, 30, 0, 0, 0]);
        assert_eq!(through(&mut f, header(0x65, 35)), header(0x65, 35));
    }

    #[test]
    fn packets_usbd_ccid_appends_to_a_long_message_stay_as_they_are() {
        let mut f = CcidFraming::default();
        let mut first = header(XFR_BLOCK, 118);
        first.resize(64, 0);
        assert_eq!(through(&mut f, first.clone()), first);
        // usbd-ccid appends these 10 + 54 bytes, a short packet included, to the message.
        assert_eq!(
            through(&mut f, header(XFR_BLOCK, 35)),
            header(XFR_BLOCK, 35)
        );
        assert_eq!(through(&mut f, vec![0; 54]), vec![0; 54]);
        assert_eq!(through(&mut f, header(XFR_BLOCK, 35))[0], REFUSED);
    }

    #[test]
    fn an_overflowing_message_is_dropped_where_usbd_ccid_drops_it() {
        let mut f = CcidFraming::default();
        let mut first = header(XFR_BLOCK, u32::MAX);
        first.resize(64, 0);
        through(&mut f, first);
        for _ in 0..48 {
            assert_eq!(through(&mut f, vec![0; 64]), vec![0; 64]);
        }
        assert_eq!(through(&mut f, header(XFR_BLOCK, 35))[0], REFUSED);
    }
}
