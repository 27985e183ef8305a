//! The ukey card edge as numbers: what the token and every host program must agree on, byte
//! for byte. The contract itself is `card-edge.md` (the PIV card edge of NIST SP 800-73-4
//! with SM2 and a few vendor objects); this crate holds its wire values once, for the
//! firmware (`ukey-firmware`) and the host driver (`ukey-host`) alike.
//!
//! What each side does with them (the token's parsing and policies, the host's typed API,
//! errors and display names) stays in that side's crate. `no_std`, allocation-free, no
//! dependencies.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod algorithm;
mod application;
mod instruction;
mod object;
mod policy;
mod reference;
#[cfg(test)]
mod round_trips;
mod status;
pub mod tlv;

pub use algorithm::{Algorithm, LEGACY_TRIPLE_DES_ID, ManagementKeyAlgorithm};
pub use application::{PIV_AID, PIV_RID_LEN};
pub use instruction::{CLA_CHAINING, Instruction};
pub use object::ObjectId;
pub use policy::{KeyOrigin, POLICY_DEFAULT, PinPolicy, TouchPolicy};
pub use reference::{MANAGEMENT_KEY_REFERENCE, PIN_REFERENCE, PUK_REFERENCE, Slot};
pub use status::StatusWord;
