//! The ukey card applet: the PIV card edge of NIST SP 800-73-4 with SM2, as specified in
//! the project's `card-edge.md`.
//!
//! The applet is `no_std` and allocation-free. A platform gives it two things: a NOR flash
//! (`embedded_storage::nor_flash::{NorFlash, MultiwriteNorFlash}`) for the power-fail-safe store, and a
//! cryptographic RNG (`rand_core::CryptoRng`). Everything else (the USB CCID class, a vpcd
//! socket, a UART) lives outside and hands APDUs to [`Card::process`].
//!
//! ```text
//! link (vpcd / CCID / UART) ─► Card::process ─► apdu (lengths, chaining, GET RESPONSE)
//!                                              └► command (parse) ─► command/<family>.rs
//!                                                                    └► state ─► store ─► flash
//! ```
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![forbid(unsafe_code)]

mod apdu;
mod card;
mod command;
mod context;
pub mod crypto;
pub mod flash;
mod opened;
mod profile;
mod state;
mod store;

pub use apdu::{MAX_COMMAND_DATA, MAX_RESPONSE_DATA};
pub use card::{Card, ProvisionError};
pub use opened::{Damage, OpenError, Opened, SecurityRecord};
pub use profile::{ManagementKey, ManagementKeyAlgorithm, Profile, ProfileError};
pub use state::MAX_OBJECT;

/// Card issuer's data carried in the ATR's historical bytes (at most 13 bytes, as
/// `usbd_ccid::Ccid::new` accepts them).
pub const ATR_ISSUER_DATA: &[u8] = b"ukey";

/// The Answer-to-Reset, the same on every link: TS, T0 (historical byte count), TD1 = T=1
/// only, historical bytes `80 5n <issuer data>` (no status indicator; compact-TLV tag 5, the
/// card issuer's data), then TCK. Byte for byte what `usbd-ccid` builds from
/// [`ATR_ISSUER_DATA`], so the vpcd, CCID and UART links all answer the same ATR.
pub const ATR: [u8; ATR_LEN] = atr();

const ATR_LEN: usize = 5 + ATR_ISSUER_DATA.len() + 1;

const fn atr() -> [u8; ATR_LEN] {
    let data = ATR_ISSUER_DATA;
    let mut atr = [0u8; ATR_LEN];
    atr[0] = 0x3B;
    atr[1] = 0x80 | (2 + data.len() as u8);
    atr[2] = 0x01;
    atr[3] = 0x80;
    atr[4] = 0x50 | data.len() as u8;
    let mut i = 0;
    while i < data.len() {
        atr[5 + i] = data[i];
        i += 1;
    }
    let mut tck = 0u8;
    let mut j = 1;
    while j < ATR_LEN - 1 {
        tck ^= atr[j];
        j += 1;
    }
    atr[ATR_LEN - 1] = tck;
    atr
}
