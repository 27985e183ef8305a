//! What a token says about itself before it is played: its serial, asked in process
//! through its link, so that the readiness line can name it.

use crate::error::{Error, Result};
use crate::link::Link;

/// SELECT the PIV application by its AID (NIST SP 800-73-4).
const SELECT_PIV: [u8; 10] = [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
/// GET SERIAL (card edge: 4 bytes, big-endian).
const GET_SERIAL: [u8; 5] = [0x00, 0xF8, 0x00, 0x00, 0x00];
const OK: [u8; 2] = [0x90, 0x00];

/// The token's serial: powers it on, selects PIV, asks GET SERIAL and powers it off again,
/// so that pcscd later finds it as freshly inserted.
pub fn serial(link: &mut (impl Link + ?Sized)) -> Result<u32> {
    link.power_on()?;
    let answer = ask(link, &SELECT_PIV).and_then(|_| ask(link, &GET_SERIAL));
    link.power_off()?;
    let bytes: [u8; 4] = answer?
        .as_slice()
        .try_into()
        .map_err(|_| Error::Open("GET SERIAL did not answer 4 bytes".into()))?;
    Ok(u32::from_be_bytes(bytes))
}

/// Sends `command`; the response data if the status word is 90 00.
fn ask(link: &mut (impl Link + ?Sized), command: &[u8]) -> Result<Vec<u8>> {
    let mut response = link.transmit(command)?;
    let status = response.split_off(response.len().saturating_sub(2));
    if status != OK {
        return Err(Error::Open(format!(
            "the token answered {status:02X?} to {command:02X?}"
        )));
    }
    Ok(response)
}
