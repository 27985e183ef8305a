//! The `F` frame: the profile a blank store is made into, sent by the host before the card is
//! opened (a store that already holds a token keeps its own). README.md gives the layout:
//!
//! ```text
//! serial (u32, big-endian) | PIN tries | PUK tries | management key algorithm id
//! | PIN length | PIN | PUK length | PUK | key length | key | label length | label
//! ```

use heapless::Vec;
use ukey_firmware::{ManagementKey, ManagementKeyAlgorithm, Profile};

/// Reads the profile in `payload`; `None` unless it is well formed and keeps the card edge's
/// rules (`Profile::validate`).
pub fn decode(payload: &[u8]) -> Option<Profile> {
    let (serial, rest) = payload.split_first_chunk::<4>()?;
    let (&[pin_tries, puk_tries, algorithm], mut rest) = rest.split_first_chunk::<3>()?;
    let mut field = || {
        let (&len, after) = rest.split_first()?;
        let (value, after) = after.split_at_checked(usize::from(len))?;
        rest = after;
        Some(value)
    };
    let pin = field()?;
    let puk = field()?;
    let key = field()?;
    let label = field()?;
    if !rest.is_empty() {
        return None;
    }
    let algorithm = ManagementKeyAlgorithm::from_id(algorithm)?;
    let profile = Profile {
        serial: u32::from_be_bytes(*serial),
        label: Vec::from_slice(label).ok()?,
        pin: Vec::from_slice(pin).ok()?,
        puk: Vec::from_slice(puk).ok()?,
        pin_tries,
        puk_tries,
        management_key: ManagementKey::new(algorithm, key)?,
    };
    profile.validate().ok()?;
    Some(profile)
}
