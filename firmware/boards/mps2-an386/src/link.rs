//! The UART framing: `type (1 byte) | length (2 bytes, big-endian) | payload`, both ways.
//! README.md lists the frame types.

use crate::clock::Deadline;
use crate::uart::Uart;

/// Longest payload the board takes: an extended-length APDU carrying the applet's largest
/// command data (header 4, Lc 3, data, Le 2).
pub const MAX_PAYLOAD: usize = 4 + 3 + ukey_firmware::MAX_COMMAND_DATA + 2;

/// How long the board waits for each further byte of a started frame. A host that lost track
/// of the framing stays quiet this long; the board then drops the partial frame.
const BYTE_TIMEOUT_MS: u64 = 500;

/// Why a received frame is refused; its code is the payload of the `E` frame the board answers.
#[derive(Clone, Copy)]
pub enum LinkError {
    /// The type byte is none the board knows; that single byte was dropped.
    UnknownType = 1,
    /// The payload is longer than [`MAX_PAYLOAD`]; it was read and dropped.
    TooLong = 2,
    /// The frame stopped arriving for [`BYTE_TIMEOUT_MS`]; what came was dropped.
    Timeout = 3,
    /// The payload length is wrong for this frame type.
    BadLength = 4,
    /// Power-on before the DRBG was seeded.
    NotSeeded = 5,
    /// A profile or a store image after the card was opened.
    AlreadyOpen = 6,
    /// An APDU or reset before power-on.
    NotPowered = 7,
    /// The applet could not open its store.
    OpenFailed = 8,
    /// The profile is malformed or breaks a rule of the card edge.
    BadProfile = 9,
    /// A load or dump outside the store, unaligned, or a load onto a part already loaded.
    OutOfStore = 10,
    /// While the board waits for the host to store a flash operation (`W`, `X`), a type byte
    /// other than that acknowledgement's; that single byte was dropped.
    NotAnAcknowledgement = 11,
}

/// One received frame, its payload in the caller's buffer.
pub struct Frame {
    /// The frame type, an ASCII letter.
    pub kind: u8,
    /// Payload length.
    pub len: usize,
}

/// Whether `kind` is a frame type the host may send.
fn known(kind: u8) -> bool {
    matches!(
        kind,
        b'S' | b'F' | b'L' | b'J' | b'D' | b'P' | b'R' | b'A' | b'H' | b'T' | b'Q'
    )
}

/// What the receive loop hands to the board.
pub enum Received {
    /// A well-formed frame, its payload in the caller's buffer.
    Frame(Frame),
    /// A frame of a known type whose payload did not fit [`MAX_PAYLOAD`]; it was read and
    /// dropped. The board answers it: an APDU gets a status word, other types `E 02`.
    TooLong {
        /// The frame type.
        kind: u8,
    },
}

/// Waits for the next well-formed or oversized frame, answering `E` for each other
/// malformed one.
pub fn receive(uart: &mut Uart, payload: &mut [u8; MAX_PAYLOAD]) -> Received {
    loop {
        match receive_one(uart, payload) {
            Ok(frame) => return Received::Frame(frame),
            Err((kind, LinkError::TooLong)) => return Received::TooLong { kind },
            Err((_, error)) => send(uart, b'E', &[error as u8]),
        }
    }
}

/// Reads one frame; on a timeout or an oversized frame, what was read is dropped. An error
/// comes with the type byte read.
fn receive_one(uart: &mut Uart, payload: &mut [u8; MAX_PAYLOAD]) -> Result<Frame, (u8, LinkError)> {
    let kind = uart.read_byte();
    if !known(kind) {
        return Err((kind, LinkError::UnknownType));
    }
    let len = receive_payload(uart, payload).map_err(|error| (kind, error))?;
    Ok(Frame { kind, len })
}

/// Waits for the host's acknowledgement of a `kind` frame the board sent: a `kind` frame
/// whose payload is empty (stored) or one byte (refused). Anything else is answered with an
/// `E` frame and dropped. Gives whether the host stored it.
pub fn acknowledgement(uart: &mut Uart, kind: u8) -> bool {
    loop {
        let answer = if uart.read_byte() == kind {
            let mut code = [0u8; 1];
            receive_payload(uart, &mut code).map(|len| len == 0)
        } else {
            Err(LinkError::NotAnAcknowledgement)
        };
        match answer {
            Ok(stored) => return stored,
            Err(error) => send(uart, b'E', &[error as u8]),
        }
    }
}

/// Reads a frame's length and its payload into `payload`; gives the length. A payload that
/// does not fit is read and dropped.
fn receive_payload(uart: &mut Uart, payload: &mut [u8]) -> Result<usize, LinkError> {
    let mut next = || uart.read_byte_until(Deadline::after_millis(BYTE_TIMEOUT_MS));
    let high = next().ok_or(LinkError::Timeout)?;
    let low = next().ok_or(LinkError::Timeout)?;
    let len = usize::from(u16::from_be_bytes([high, low]));
    match payload.get_mut(..len) {
        Some(buf) => {
            for byte in buf {
                *byte = next().ok_or(LinkError::Timeout)?;
            }
            Ok(len)
        }
        None => {
            for _ in 0..len {
                next().ok_or(LinkError::Timeout)?;
            }
            Err(LinkError::TooLong)
        }
    }
}

/// Sends one frame. Payloads never exceed 64 KiB here (the longest is a response APDU).
pub fn send(uart: &mut Uart, kind: u8, payload: &[u8]) {
    let len = send_header(uart, kind, payload.len());
    uart.write_all(&payload[..len]);
}

/// Sends a frame's type and length, for a payload the caller then writes itself; gives the
/// length sent (at most 64 KiB - 1).
pub fn send_header(uart: &mut Uart, kind: u8, len: usize) -> usize {
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    uart.write_all(&[kind]);
    uart.write_all(&len.to_be_bytes());
    usize::from(len)
}
